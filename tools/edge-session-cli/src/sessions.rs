//! `edge-session sessions list | show | end`.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal};

use edge_session::accounts::Accounts;
use edge_session::keys;
use serde_json::{json, Value};

use crate::db::{names_after, Db, Stored};
use crate::error::CliError;
use crate::output::{cell, Out};
use crate::report::{expires_iso, session_json, summarize, ttl_seconds, Summary};
use crate::settings::Settings;

/// A stored session as the commands see it.
pub struct Found {
    /// The session id (the key without the prefix).
    pub id: String,
    /// The key's bytes and TTL.
    pub stored: Stored,
    /// The summary, or why the document would not load.
    pub summary: Result<Summary, String>,
}

impl Found {
    fn new(prefix: &str, stored: Stored, user_field: Option<&str>) -> Option<Self> {
        let id = stored.key.strip_prefix(prefix).unwrap_or(&stored.key).to_owned();
        let summary = match (&stored.bytes, &stored.problem) {
            (Some(bytes), _) => summarize(bytes, user_field),
            (None, Some(problem)) => Err(format!("not a string value: {problem}")),
            (None, None) => return None,
        };
        Some(Self { id, stored, summary })
    }

    fn bytes(&self) -> usize {
        self.stored.bytes.as_ref().map_or(0, Vec::len)
    }

    /// The user, when the document loads and has one.
    pub fn user(&self) -> Option<&str> {
        self.summary.as_ref().ok().and_then(|s| s.user.as_deref())
    }

    fn json(&self) -> Value {
        session_json(&self.id, self.bytes(), self.stored.pttl_ms, &self.summary)
    }
}

/// Reads the sessions `ids` (those still stored).
///
/// # Errors
///
/// As [`Db::read_many`].
pub async fn read(db: &Db, settings: &Settings, ids: &[String]) -> Result<Vec<Found>, CliError> {
    let prefix = settings.prefix();
    let keys: Vec<String> = ids.iter().map(|id| keys::session(&prefix, id)).collect();
    let field = settings.passport_user_field();
    let stored = db.read_many(&keys, "reading sessions").await?;
    Ok(stored.into_iter().filter_map(|s| Found::new(&prefix, s, field.as_deref())).collect())
}

/// Every session id under `SESSION_PREFIX`, sorted.
///
/// # Errors
///
/// As [`Db::scan_prefix`].
pub async fn all_ids(db: &Db, settings: &Settings) -> Result<Vec<String>, CliError> {
    let prefix = settings.prefix();
    let keys = db.scan_prefix(&prefix, "scanning sessions").await?;
    Ok(names_after(&prefix, keys))
}

/// `sessions list [--user NAME] [--limit N]`.
///
/// # Errors
///
/// [`CliError::NotFound`] when there is no session to list; store errors.
pub async fn list(
    db: &Db,
    settings: &Settings,
    out: &mut Out,
    user: Option<&str>,
    limit: Option<usize>,
) -> Result<(), CliError> {
    let mut ids = match (user, limit) {
        (Some(name), _) => {
            let indexes: Vec<String> = crate::users::spellings(name).iter().map(|n| keys::user_sessions(n)).collect();
            db.members_many(&indexes).await?.into_iter().flatten().collect::<BTreeSet<_>>().into_iter().collect()
        }
        // With a limit the scan stops once it has found that many keys,
        // so `--limit` stays cheap on a large database.
        (None, Some(limit)) => {
            let prefix = settings.prefix();
            let keys = db.scan_sample(&prefix, limit).await?;
            names_after(&prefix, keys)
        }
        (None, None) => all_ids(db, settings).await?,
    };
    if let Some(limit) = limit {
        ids.truncate(limit);
    }
    let found = read(db, settings, &ids).await?;
    if found.is_empty() {
        return Err(CliError::NotFound(match user {
            Some(name) => format!("no live session of user {name} in its index {}", keys::user_sessions(name)),
            None => format!("no sessions under the prefix {:?} (SESSION_PREFIX)", settings.prefix()),
        }));
    }
    if out.is_json() {
        for f in &found {
            out.line(&f.json())?;
        }
        return Ok(());
    }
    let rows = found
        .iter()
        .map(|f| {
            let (user, views, writer) = match &f.summary {
                Ok(s) => (s.user.clone(), s.views.clone(), s.writer),
                Err(_) => (None, None, None),
            };
            vec![
                f.id.clone(),
                cell(user),
                ttl_seconds(f.stored.pttl_ms).map_or_else(|| "none".to_owned(), |t| format!("{t} s")),
                cell(views),
                f.bytes().to_string(),
                cell(writer),
                match &f.summary {
                    Ok(_) => "yes".to_owned(),
                    Err(why) => format!("no: {why}"),
                },
            ]
        })
        .collect();
    out.table(&["id", "user", "ttl", "beers viewed", "bytes", "written by", "loads"], 2, rows)?;
    out.text(&format!("{} session(s)", found.len()))?;
    Ok(())
}

/// `sessions show ID`.
///
/// # Errors
///
/// [`CliError::NotFound`] for an unknown id, [`CliError::Corrupt`] (after
/// printing it) for a document that would not load; store errors.
pub async fn show(db: &Db, settings: &Settings, out: &mut Out, id: &str) -> Result<(), CliError> {
    let prefix = settings.prefix();
    let Some(found) = read(db, settings, &[id.to_owned()]).await?.pop() else {
        return Err(CliError::NotFound(format!("no session {id} (no key {})", keys::session(&prefix, id))));
    };
    let bytes = found.stored.bytes.clone().unwrap_or_default();
    let document: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let summary = found.summary.as_ref().ok();
    if out.is_json() {
        let mut line = found.json();
        if let Value::Object(map) = &mut line {
            map.insert("key".into(), json!(found.stored.key));
            map.insert("cookie_expires".into(), json!(summary.and_then(expires_iso)));
            map.insert("cookie_max_age_ms".into(), json!(summary.and_then(|s| s.original_max_age)));
            map.insert("document".into(), document.clone());
            map.insert("text".into(), json!(text));
        }
        out.line(&line)?;
    } else {
        let ttl = ttl_seconds(found.stored.pttl_ms)
            .map_or_else(|| "none (the key does not expire)".to_owned(), |t| format!("{t} s"));
        out.text(&format!("session      {}", found.id))?;
        out.text(&format!("key          {}", found.stored.key))?;
        out.text(&format!("key TTL      {ttl}"))?;
        out.text(&format!("cookie       expires {}", cell(summary.and_then(expires_iso))))?;
        out.text(&format!("user         {}", cell(found.user())))?;
        out.text(&format!("written by   {}", cell(summary.and_then(|s| s.writer))))?;
        out.text(&format!("size         {} bytes", bytes.len()))?;
        match &found.summary {
            Ok(_) => out.text("loads        yes")?,
            Err(why) => out.text(&format!("loads        no: {why}"))?,
        }
        out.text("")?;
        match serde_json::to_string_pretty(&document) {
            Ok(pretty) if !document.is_null() => out.text(&pretty)?,
            _ => out.text(&text)?,
        }
    }
    match found.summary {
        Ok(_) => Ok(()),
        Err(why) => Err(CliError::Corrupt(format!(
            "session {id} would not load: {why}; it was left as it is (the worker starts a new session for its cookie)"
        ))),
    }
}

/// What `sessions end` ends.
pub enum Target {
    /// These session ids.
    Ids(Vec<String>),
    /// Every session of this user: its index and a scan for the rest.
    User(String),
    /// The members of every user's index whose session is gone.
    DanglingIndexEntries,
}

/// `sessions end ID… | --user NAME | --all-expired-index-entries`.
///
/// # Errors
///
/// [`CliError::NotFound`] for an unknown id or a user without sessions,
/// [`CliError::NotConfirmed`] when not confirmed; store errors.
pub async fn end(
    db: &Db,
    settings: &Settings,
    out: &mut Out,
    target: Target,
    dry_run: bool,
    yes: bool,
) -> Result<(), CliError> {
    match target {
        Target::Ids(ids) => end_ids(db, settings, out, ids, dry_run, yes).await,
        Target::User(name) => end_user(db, settings, out, &name, dry_run, yes).await,
        Target::DanglingIndexEntries => end_dangling(db, out, &settings.prefix(), dry_run, yes).await,
    }
}

async fn end_ids(
    db: &Db,
    settings: &Settings,
    out: &mut Out,
    ids: Vec<String>,
    dry_run: bool,
    yes: bool,
) -> Result<(), CliError> {
    // Each id once, however often it was given.
    let ids: Vec<String> = ids.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
    let found = read(db, settings, &ids).await?;
    let known: BTreeSet<&str> = found.iter().map(|f| f.id.as_str()).collect();
    let unknown: Vec<&String> = ids.iter().filter(|id| !known.contains(id.as_str())).collect();
    if !unknown.is_empty() {
        let list: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
        return Err(CliError::NotFound(format!("no session {}; nothing was ended", list.join(", "))));
    }
    confirm(&format!("End {} session(s)?", found.len()), dry_run, yes)?;
    let (mut ended, mut index_entries) = (0, 0);
    for f in &found {
        let index = f.user().map(keys::user_sessions);
        if dry_run {
            ended += 1;
            index_entries += u64::from(index.is_some());
        } else {
            let (deleted, unindexed) = db.end_one(&f.stored.key, index.as_deref().map(|i| (i, f.id.as_str()))).await?;
            ended += u64::from(deleted);
            index_entries += unindexed;
        }
    }
    let ids: Vec<&str> = found.iter().map(|f| f.id.as_str()).collect();
    report_end(out, dry_run, ended, None, &ids, index_entries)
}

async fn end_user(
    db: &Db,
    settings: &Settings,
    out: &mut Out,
    name: &str,
    dry_run: bool,
    yes: bool,
) -> Result<(), CliError> {
    let prefix = settings.prefix();
    let accounts_config = settings.accounts()?;
    // NAME as typed and in its canonical form (`ALICE` is alice), as
    // `sessions list --user` reads them: each spelling's index, and the
    // sessions whose passport.user is either.
    let spellings = crate::users::spellings(name);
    let index_keys: Vec<String> = spellings.iter().map(|n| keys::user_sessions(n)).collect();
    let indexes = db.members_many(&index_keys).await?;
    let indexed: BTreeSet<&str> = indexes.iter().flatten().map(String::as_str).collect();
    // The index lists what the worker (and the Express integration) logged
    // in; an Express app without it leaves its sessions out, so every
    // session is read to find the rest.
    let all = read(db, settings, &all_ids(db, settings).await?).await?;
    let live_indexed = all.iter().filter(|f| indexed.contains(f.id.as_str())).count() as u64;
    let scanned: Vec<&Found> = all
        .iter()
        .filter(|f| f.user().is_some_and(|u| spellings.iter().any(|s| s == u)) && !indexed.contains(f.id.as_str()))
        .collect();
    if indexed.is_empty() && scanned.is_empty() {
        return Err(CliError::NotFound(format!(
            "user {name} has no sessions (none in its index, none found by a scan)"
        )));
    }
    let mut ids: Vec<&str> = all.iter().filter(|f| indexed.contains(f.id.as_str())).map(|f| f.id.as_str()).collect();
    ids.extend(scanned.iter().map(|f| f.id.as_str()));
    confirm(
        &format!(
            "End {} session(s) of {name} ({live_indexed} from its index, {} found by a scan)?",
            ids.len(),
            scanned.len()
        ),
        dry_run,
        yes,
    )?;
    let index_entries: u64 = indexes.iter().map(|m| m.len() as u64).sum();
    let mut ended = if dry_run { ids.len() as u64 } else { 0 };
    if !dry_run {
        let mut also: Vec<String> = scanned.iter().map(|f| f.stored.key.clone()).collect();
        for (spelling, members) in spellings.iter().zip(indexes) {
            if members.is_empty() && also.is_empty() {
                continue;
            }
            // Exactly the worker's "log out everywhere": one atomic script
            // that deletes the indexed sessions, the index and the others
            // (those go with the first call).
            ended += Accounts::new(&accounts_config, db.client())
                .logout_everywhere(spelling, &prefix, &std::mem::take(&mut also), Some(members))
                .await
                .map_err(|e| CliError::from_account(db.url(), e))?;
        }
    }
    report_end(out, dry_run, ended, Some((live_indexed, scanned.len() as u64)), &ids, index_entries)
}

async fn end_dangling(db: &Db, out: &mut Out, prefix: &str, dry_run: bool, yes: bool) -> Result<(), CliError> {
    let index_prefix = keys::user_sessions("");
    let indexes = db.scan_prefix(&index_prefix, "scanning session indexes").await?;
    let members = db.members_many(&indexes).await?;
    let mut plan: Vec<(String, Vec<String>)> = Vec::new();
    for (index, ids) in indexes.iter().zip(members) {
        let session_keys: Vec<String> = ids.iter().map(|id| keys::session(prefix, id)).collect();
        let exists = db.exist_many(&session_keys).await?;
        let gone: Vec<String> = ids.into_iter().zip(exists).filter(|(_, e)| !e).map(|(id, _)| id).collect();
        if !gone.is_empty() {
            plan.push((index.clone(), gone));
        }
    }
    let count: usize = plan.iter().map(|(_, g)| g.len()).sum();
    let mut removed = count as u64;
    if count > 0 {
        confirm(&format!("Remove {count} index entries that point at no session?"), dry_run, yes)?;
        if !dry_run {
            removed = 0;
            for (index, gone) in &plan {
                // The script checks again, atomically: a session saved
                // since the scan keeps its entry.
                removed += db.prune(index, gone.clone(), prefix).await?;
            }
        }
    }
    let users: Vec<&str> = plan.iter().filter_map(|(index, _)| index.strip_prefix(&index_prefix)).collect();
    if out.is_json() {
        out.line(&json!({"dry_run": dry_run, "index_entries_removed": removed, "users": users}))?;
    } else {
        let verb = if dry_run { "would remove" } else { "removed" };
        out.text(&format!(
            "{verb} {removed} index entries pointing at no session ({} users: {})",
            users.len(),
            users.join(", ")
        ))?;
    }
    Ok(())
}

/// `ways`: for `--user`, how many came from the index and from the scan
/// (`None` for ids given by hand: both 0 in the JSON).
fn report_end(
    out: &mut Out,
    dry_run: bool,
    ended: u64,
    ways: Option<(u64, u64)>,
    ids: &[&str],
    index_entries: u64,
) -> Result<(), CliError> {
    let (from_index, from_scan) = ways.unwrap_or((0, 0));
    if out.is_json() {
        out.line(&json!({
            "dry_run": dry_run,
            "ended": ended,
            "from_index": from_index,
            "from_scan": from_scan,
            "ids": ids,
            "index_entries_removed": index_entries,
        }))?;
    } else {
        let verb = if dry_run { "would end" } else { "ended" };
        let entries = if dry_run { "index entries to remove" } else { "index entries removed" };
        out.text(&match ways {
            Some(_) => format!(
                "{verb} {ended} session(s): {from_index} from the user's index, {from_scan} found by a scan; {index_entries} {entries}"
            ),
            None => format!("{verb} {ended} session(s) by id; {index_entries} {entries}"),
        })?;
        for id in ids {
            out.text(&format!("  {id}"))?;
        }
    }
    Ok(())
}

/// Asks on the terminal unless `--yes` or `--dry-run`; without a terminal
/// it refuses rather than guess.
fn confirm(question: &str, dry_run: bool, yes: bool) -> Result<(), CliError> {
    if dry_run || yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError::NotConfirmed(format!(
            "{question} Not confirmed: stdin is not a terminal; pass --yes (or --dry-run to see what would be ended). Nothing was written."
        )));
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(CliError::NotConfirmed("not confirmed; nothing was written".into()))
    }
}
