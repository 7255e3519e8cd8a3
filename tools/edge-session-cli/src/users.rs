//! `edge-session users list | show NAME`: accounts without their password
//! hashes.

use edge_session::accounts::{counter_value, AccountsConfig};
use edge_session::keys;
use serde_json::{json, Value};

use crate::db::Db;
use crate::error::CliError;
use crate::output::{cell, Out};
use crate::report::ttl_seconds;
use crate::settings::Settings;

/// What `users` tells about one account.
#[derive(Debug, Clone)]
pub struct Account {
    /// The canonical name.
    pub name: String,
    /// The record without its `password` member.
    pub record: Value,
    /// The record's TTL (an account nobody has logged into yet expires).
    pub ttl_seconds: Option<i64>,
    /// `user-beers:<name>`.
    pub lifetime_beers: i64,
    /// Ids in `user-sessions:<name>` whose session key exists.
    pub live_sessions: Vec<String>,
    /// `login-fail:user:<name>` within the window.
    pub failed_logins: i64,
    /// Seconds until that counter's window ends.
    pub failures_ttl_seconds: Option<i64>,
}

/// Whether a name's failed logins have reached its soft limit: from then
/// on, until the window ends, only addresses that have logged in as it
/// before are let through (`accounts::login_gate`).
pub fn is_rate_limited(failed_logins: i64, config: &AccountsConfig) -> bool {
    failed_logins >= config.max_failures_per_user
}

impl Account {
    fn json(&self, config: &AccountsConfig, full: bool) -> Value {
        let limited = is_rate_limited(self.failed_logins, config);
        let mut line = json!({
            "name": self.name,
            "verified": self.ttl_seconds.is_none(),
            "lifetime_beers": self.lifetime_beers,
            "live_sessions": self.live_sessions.len(),
            "rate_limited": limited,
        });
        if full {
            if let Value::Object(map) = &mut line {
                map.insert("record".into(), self.record.clone());
                map.insert("ttl_seconds".into(), json!(self.ttl_seconds));
                map.insert("session_ids".into(), json!(self.live_sessions));
                map.insert("failed_logins".into(), json!(self.failed_logins));
                map.insert("retry_after_seconds".into(), json!(limited.then_some(self.failures_ttl_seconds).flatten()));
            }
        }
        line
    }
}

/// Reads the accounts `names` (those with a record): the records, lifetime
/// counters and failure counters in one pipelined pass, the indexes and
/// their sessions' existence in two more.
///
/// # Errors
///
/// Store errors.
pub async fn read(
    db: &Db,
    settings: &Settings,
    config: &AccountsConfig,
    names: &[String],
) -> Result<Vec<Account>, CliError> {
    let prefix = settings.prefix();
    // Per name: its record, its lifetime beers and its failed logins, read
    // together and taken apart again in that order.
    let per_name: Vec<String> = names
        .iter()
        .flat_map(|n| {
            [keys::user(&config.user_prefix, n), keys::user_counter("beers", n), keys::login_failures_for_user(n)]
        })
        .collect();
    let mut stored = db.read_many(&per_name, "reading users").await?.into_iter();
    let indexes = db.members_many(&names.iter().map(|n| keys::user_sessions(n)).collect::<Vec<_>>()).await?;
    let member_keys: Vec<String> = indexes.iter().flatten().map(|id| keys::session(&prefix, id)).collect();
    let mut exists = db.exist_many(&member_keys).await?.into_iter();
    let mut out = Vec::new();
    for (name, members) in names.iter().zip(indexes) {
        let live: Vec<String> = members.into_iter().filter(|_| exists.next().unwrap_or(false)).collect();
        let (Some(record), Some(beers), Some(failures)) = (stored.next(), stored.next(), stored.next()) else {
            break;
        };
        let Some(bytes) = record.bytes else { continue };
        let mut record_json: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({"unreadable": true}));
        // Never shown, never printed: the password hash stays in the store.
        if let Value::Object(map) = &mut record_json {
            map.remove("password");
        }
        out.push(Account {
            name: name.clone(),
            record: record_json,
            ttl_seconds: ttl_seconds(record.pttl_ms),
            lifetime_beers: counter_value(beers.bytes),
            live_sessions: live,
            failed_logins: counter_value(failures.bytes),
            failures_ttl_seconds: ttl_seconds(failures.pttl_ms),
        });
    }
    Ok(out)
}

/// Every account name (the record keys under `AUTH_USER_PREFIX`), sorted.
///
/// # Errors
///
/// Store errors.
pub async fn all_names(db: &Db, config: &AccountsConfig) -> Result<Vec<String>, CliError> {
    let keys = db.scan_prefix(&config.user_prefix, "scanning users").await?;
    Ok(crate::db::names_after(&config.user_prefix, keys))
}

/// `users list`.
///
/// # Errors
///
/// [`CliError::NotFound`] when there is no account; store errors.
pub async fn list(db: &Db, settings: &Settings, out: &mut Out) -> Result<(), CliError> {
    let config = settings.accounts()?;
    let names = all_names(db, &config).await?;
    let accounts = read(db, settings, &config, &names).await?;
    if accounts.is_empty() {
        return Err(CliError::NotFound(format!(
            "no accounts under the prefix {:?} (AUTH_USER_PREFIX)",
            config.user_prefix
        )));
    }
    if out.is_json() {
        for a in &accounts {
            out.line(&a.json(&config, false))?;
        }
        return Ok(());
    }
    let rows = accounts
        .iter()
        .map(|a| {
            vec![
                a.name.clone(),
                if a.ttl_seconds.is_none() { "yes".into() } else { "not yet (no sign-in since registering)".into() },
                a.lifetime_beers.to_string(),
                a.live_sessions.len().to_string(),
                if is_rate_limited(a.failed_logins, &config) { "yes".into() } else { "no".into() },
            ]
        })
        .collect();
    out.table(&["name", "verified", "lifetime beers", "live sessions", "rate limited"], 1, rows)?;
    out.text(&format!("{} account(s)", accounts.len()))?;
    Ok(())
}

/// NAME as typed, and its canonical form (the registration's
/// normalization: `ALICE` → `alice`) when that differs: the accounts'
/// keys and indexes use the canonical one, an app of its own may not.
pub fn spellings(name: &str) -> Vec<String> {
    let mut names = vec![name.to_owned()];
    if let Ok(canonical) = edge_session::accounts::username::normalize(name) {
        if canonical != name {
            names.push(canonical);
        }
    }
    names
}

/// `users show NAME`: NAME as typed or in its canonical form (the
/// registration's normalization).
///
/// # Errors
///
/// [`CliError::NotFound`] for an unknown name; store errors.
pub async fn show(db: &Db, settings: &Settings, out: &mut Out, name: &str) -> Result<(), CliError> {
    let config = settings.accounts()?;
    let names = spellings(name);
    let Some(account) = read(db, settings, &config, &names).await?.into_iter().next() else {
        return Err(CliError::NotFound(format!(
            "no account {name} (no key {})",
            keys::user(&config.user_prefix, name)
        )));
    };
    if out.is_json() {
        out.line(&account.json(&config, true))?;
        return Ok(());
    }
    let limited = is_rate_limited(account.failed_logins, &config);
    out.text(&format!("user            {}", account.name))?;
    out.text(&format!(
        "verified        {}",
        match account.ttl_seconds {
            None => "yes".to_owned(),
            Some(t) => format!(
                "not yet: the account expires in {t} s unless someone signs in to it (registering does not count)"
            ),
        }
    ))?;
    out.text(&format!("lifetime beers  {}", account.lifetime_beers))?;
    out.text(&format!("live sessions   {}", account.live_sessions.len()))?;
    for id in &account.live_sessions {
        out.text(&format!("  {id}"))?;
    }
    out.text(&format!(
        "failed logins   {} in the window (soft limit {}){}",
        account.failed_logins,
        config.max_failures_per_user,
        if limited {
            format!(": rate limited for new addresses for {} more s", cell(account.failures_ttl_seconds))
        } else {
            String::new()
        }
    ))?;
    out.text(&format!("record          {}", account.record))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use edge_session::config::Vars;

    #[test]
    fn rate_limited_at_the_soft_limit() {
        let read = |name: &str| (name == "AUTH_MAX_FAILURES_PER_USER").then(|| "3".to_owned());
        let config = AccountsConfig::from_vars(&Vars::new(&read)).unwrap();
        for (failures, want) in [(0, false), (2, false), (3, true), (9, true)] {
            assert_eq!(is_rate_limited(failures, &config), want, "{failures}");
        }
    }
}
