//! `edge-session doctor`: a deployment's configuration checked against its
//! database, one line per check (ok / warn / fail / skip) with what to do.
//! It never writes: the write-access probe deletes a key that cannot exist
//! and loading a script changes no key.

use edge_session::config::{config_warnings, secret_verdict, Environment, SecretVerdict, MIN_SECRET_BYTES};
use edge_session::store::script::{END_SESSIONS, PRUNE_INDEX, REGISTER, SAVE};
use serde_json::json;

use crate::db::Db;
use crate::error::CliError;
use crate::output::Out;
use crate::report::{cookie_problems, Status};
use crate::settings::Settings;

/// How many stored documents the `documents` check reads.
pub const SAMPLE: usize = 100;

/// One check's line.
#[derive(Debug, Clone)]
pub struct Check {
    /// `config`, `url`, `token`, `write_access`, `scripts`, `secret`,
    /// `documents` or `cookie`.
    pub name: &'static str,
    /// The verdict.
    pub status: Status,
    /// What was found.
    pub message: String,
    /// What to do, when something should be done.
    pub fix: Option<String>,
}

fn check(name: &'static str, status: Status, message: impl Into<String>, fix: Option<&str>) -> Check {
    Check { name, status, message: message.into(), fix: fix.map(str::to_owned) }
}

/// Runs every check, in order; later store checks are skipped once the
/// store cannot be reached or refuses the token.
pub async fn checks(settings: &Settings) -> Vec<Check> {
    let mut out = Vec::new();
    let upstash = settings.upstash();
    let session = settings.session();
    match (&upstash, &session) {
        (Ok(_), Ok(_)) => out.push(check("config", Status::Ok, "the worker's variables are set and valid", None)),
        (Err(e), _) | (_, Err(e)) => out.push(check(
            "config",
            Status::Fail,
            e.to_string(),
            Some("set it as the worker has it: wrangler secret put / .dev.vars (see the README's Configuration)"),
        )),
    }
    // One client for every check that needs the store.
    let db = upstash.as_ref().ok().map(|u| Db::new(&u.url, &u.token, u.timeout));
    out.extend(store_checks(db.as_ref()).await);
    out.push(secret_check(settings));
    let last = document_check(settings, db.as_ref(), &out).await;
    out.push(last);
    out.push(match &session {
        Ok(config) => {
            let problems = cookie_problems(&config.cookie_name, &config.cookie, config.secure_auto);
            let worst = if problems.iter().any(|(s, _)| *s == Status::Fail) { Status::Fail } else { Status::Warn };
            match problems.first().map(|_| worst) {
                None => check("cookie", Status::Ok, format!("{}: options browsers accept", config.cookie_name), None),
                Some(worst) => check(
                    "cookie",
                    worst,
                    problems.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join("; "),
                    Some("fix the SESSION_COOKIE_* variables"),
                ),
            }
        }
        Err(_) => check("cookie", Status::Skip, "the session options do not load (see config)", None),
    });
    out
}

async fn store_checks(db: Option<&Db>) -> Vec<Check> {
    let names = ["url", "token", "write_access", "scripts"];
    let Some(db) = db else {
        return names.iter().map(|n| check(n, Status::Skip, "no store configured (see config)", None)).collect();
    };
    let mut out = Vec::new();
    match db.ping().await {
        Ok(()) => {
            out.push(check("url", Status::Ok, format!("{} answers", db.url()), None));
            out.push(check("token", Status::Ok, "the token is accepted", None));
        }
        Err(CliError::Unauthorized(e)) => {
            out.push(check("url", Status::Ok, format!("{} answers", db.url()), None));
            out.push(check(
                "token",
                Status::Fail,
                format!("the store refused the token: {}", edge_session::error_chain(&e)),
                Some("copy UPSTASH_REDIS_REST_TOKEN again from the database's REST API section"),
            ));
            out.extend(names[2..].iter().map(|n| check(n, Status::Skip, "the token is refused", None)));
            return out;
        }
        Err(e) => {
            out.push(check(
                "url",
                Status::Fail,
                format!("{} does not answer: {e}", db.url()),
                Some("check UPSTASH_REDIS_REST_URL (the REST URL, https://<name>.upstash.io) and the network"),
            ));
            out.extend(names[1..].iter().map(|n| check(n, Status::Skip, "the store does not answer", None)));
            return out;
        }
    }
    match db.can_write().await {
        Ok(true) => out.push(check("write_access", Status::Ok, "the token may write (probed without writing)", None)),
        Ok(false) => {
            out.push(check(
                "write_access",
                Status::Fail,
                "the token is read-only: the worker could not save a session",
                Some("use the database's read-write token, not the read-only one"),
            ));
            out.push(check("scripts", Status::Skip, "a read-only token may not load scripts", None));
            return out;
        }
        Err(e) => out.push(check("write_access", Status::Fail, e.to_string(), None)),
    }
    let mut loaded = Vec::new();
    let mut failed = Vec::new();
    for script in [SAVE, END_SESSIONS, PRUNE_INDEX, REGISTER] {
        match db.load_script(&script).await {
            Ok(sha) if sha == script.sha1() => loaded.push(script.name),
            Ok(sha) => {
                failed.push(format!("{}: the store computed SHA-1 {sha}, ours is {}", script.name, script.sha1()))
            }
            Err(e) => failed.push(format!("{}: {e}", script.name)),
        }
    }
    out.push(if failed.is_empty() {
        check("scripts", Status::Ok, format!("{} scripts load ({})", loaded.len(), loaded.join(", ")), None)
    } else {
        check("scripts", Status::Fail, failed.join("; "), Some("the store must run Lua scripts (EVAL/EVALSHA)"))
    });
    out
}

/// The worker's own judgement of the secrets: refused where it would not
/// start (`secret_verdict`), warned about as its log line warns
/// (`config_warnings`).
fn secret_check(settings: &Settings) -> Check {
    let secrets = settings.secrets();
    let fix = Some("make a strong one with `openssl rand -base64 48`");
    let Some(first) = secrets.first() else {
        return check("secret", Status::Fail, "SESSION_SECRET is not set", fix);
    };
    let environment = settings.with_vars(Environment::from_vars).unwrap_or_default();
    if secret_verdict(environment, true, first.len()) == SecretVerdict::Refuse {
        return check(
            "secret",
            Status::Fail,
            format!(
                "the signing secret has {} bytes, fewer than {MIN_SECRET_BYTES}: the worker refuses it in production",
                first.len()
            ),
            fix,
        );
    }
    let warnings = settings.with_vars(config_warnings);
    if warnings.is_empty() {
        check("secret", Status::Ok, format!("{} secret(s), the signing one {} bytes", secrets.len(), first.len()), None)
    } else {
        check("secret", Status::Warn, warnings.join("; "), fix)
    }
}

async fn document_check(settings: &Settings, db: Option<&Db>, done: &[Check]) -> Check {
    let Some(db) = db.filter(|_| done.iter().all(|c| !matches!(c.name, "url" | "token") || c.status == Status::Ok))
    else {
        return check("documents", Status::Skip, "the store is not usable", None);
    };
    let prefix = settings.prefix();
    let result = async {
        let keys = db.scan_sample(&prefix, SAMPLE).await?;
        let ids: Vec<String> = crate::db::names_after(&prefix, keys);
        crate::sessions::read(db, settings, &ids).await
    }
    .await;
    match result {
        Err(e) => check("documents", Status::Fail, e.to_string(), None),
        Ok(found) if found.is_empty() => check(
            "documents",
            Status::Warn,
            format!("no sessions under {prefix:?}"),
            Some(
                "right for a new deployment; otherwise check SESSION_PREFIX (connect-redis's prefix, sess: by default)",
            ),
        ),
        Ok(found) => {
            let bad: Vec<&str> = found.iter().filter(|f| f.summary.is_err()).map(|f| f.id.as_str()).collect();
            if bad.is_empty() {
                check(
                    "documents",
                    Status::Ok,
                    format!("{} of {} sampled documents load", found.len(), found.len()),
                    None,
                )
            } else {
                check(
                    "documents",
                    Status::Warn,
                    format!("{} of {} sampled documents would not load (e.g. {})", bad.len(), found.len(), bad[0]),
                    Some("see why with `edge-session sessions show <id>`; their visitors get a new session"),
                )
            }
        }
    }
}

/// `doctor`: prints every check.
///
/// # Errors
///
/// [`CliError::CheckFailed`] when a check failed (after printing them all).
pub async fn doctor(settings: &Settings, out: &mut Out) -> Result<(), CliError> {
    let checks = checks(settings).await;
    for c in &checks {
        if out.is_json() {
            out.line(&json!({"check": c.name, "status": c.status.as_str(), "message": c.message, "fix": c.fix}))?;
        } else {
            out.text(&format!("{:<5} {:<13} {}", c.status.as_str(), c.name, c.message))?;
            if let Some(fix) = &c.fix {
                out.text(&format!("{:<19} → {fix}", ""))?;
            }
        }
    }
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if failed > 0 {
        return Err(CliError::CheckFailed(format!("{failed} check(s) failed")));
    }
    Ok(())
}
