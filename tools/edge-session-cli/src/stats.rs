//! `edge-session stats`: how many sessions, logged in or not, users,
//! index entries pointing at nothing, documents that would not load, and
//! sizes and TTLs as small histograms. One scan per key family, documents
//! read in pipelines.

use edge_session::keys;
use serde_json::json;

use crate::db::Db;
use crate::error::CliError;
use crate::output::Out;
use crate::report::{ttl_seconds, Histogram};
use crate::settings::Settings;
use crate::{sessions, users};

/// Upper bounds of the size buckets, bytes.
const SIZE_BOUNDS: [u64; 4] = [256, 1024, 4096, 16384];
/// Upper bounds of the TTL buckets, seconds: a minute, an hour, a day, a
/// week, thirty days.
const TTL_BOUNDS: [u64; 5] = [60, 3600, 86_400, 604_800, 2_592_000];

/// `stats`.
///
/// # Errors
///
/// [`CliError::NotFound`] (after printing the counts) when there is no
/// session under `SESSION_PREFIX`: usually a misspelt prefix; store errors.
pub async fn stats(db: &Db, settings: &Settings, out: &mut Out) -> Result<(), CliError> {
    let prefix = settings.prefix();
    let accounts = settings.accounts()?;
    let found = sessions::read(db, settings, &sessions::all_ids(db, settings).await?).await?;
    let user_count = users::all_names(db, &accounts).await?.len();
    let indexes = db.scan_prefix(&keys::user_sessions(""), "scanning session indexes").await?;
    let members: Vec<String> = db.members_many(&indexes).await?.into_iter().flatten().collect();
    let member_keys: Vec<String> = members.iter().map(|id| keys::session(&prefix, id)).collect();
    let dangling = db.exist_many(&member_keys).await?.into_iter().filter(|e| !e).count();

    let mut sizes = Histogram::new(&SIZE_BOUNDS);
    let mut ttls = Histogram::new(&TTL_BOUNDS);
    let (mut logged_in, mut corrupt, mut no_ttl, mut total_bytes, mut max_bytes) = (0, 0, 0, 0u64, 0u64);
    for f in &found {
        let bytes = f.stored.bytes.as_ref().map_or(0, Vec::len) as u64;
        sizes.add(bytes);
        total_bytes += bytes;
        max_bytes = max_bytes.max(bytes);
        match ttl_seconds(f.stored.pttl_ms) {
            Some(t) => ttls.add(t.max(0) as u64),
            None => no_ttl += 1,
        }
        match &f.summary {
            Ok(s) if s.user.is_some() => logged_in += 1,
            Ok(_) => {}
            Err(_) => corrupt += 1,
        }
    }
    let anonymous = found.len() - logged_in - corrupt;
    if out.is_json() {
        out.line(&json!({
            "sessions": found.len(),
            "logged_in": logged_in,
            "anonymous": anonymous,
            "users": user_count,
            "index_entries": members.len(),
            "dangling_index_entries": dangling,
            "corrupt": corrupt,
            "bytes": {"total": total_bytes, "max": max_bytes, "histogram": sizes.to_json()},
            "ttl_seconds": {"no_ttl": no_ttl, "histogram": ttls.to_json()},
        }))?;
        return any_sessions(&found, &prefix);
    }
    out.table(
        &["what", "count"],
        1,
        vec![
            vec![format!("sessions under {prefix:?}"), found.len().to_string()],
            vec!["  logged in".into(), logged_in.to_string()],
            vec!["  anonymous".into(), anonymous.to_string()],
            vec!["  would not load".into(), corrupt.to_string()],
            vec!["users".into(), user_count.to_string()],
            vec!["index entries".into(), members.len().to_string()],
            vec!["  pointing at nothing".into(), dangling.to_string()],
            vec!["bytes stored (total / largest)".into(), format!("{total_bytes} / {max_bytes}")],
        ],
    )?;
    let bars = |rows: Vec<(String, u64)>| -> Vec<Vec<String>> {
        let most = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
        rows.into_iter()
            .map(|(label, n)| vec![label, n.to_string(), "#".repeat((n * 30).div_ceil(most) as usize)])
            .collect()
    };
    out.table(&["size, bytes", "sessions", "share"], 1, bars(sizes.rows()))?;
    let mut ttl_rows = ttls.rows();
    ttl_rows.push(("no TTL".into(), no_ttl));
    out.table(&["TTL, seconds", "sessions", "share"], 1, bars(ttl_rows))?;
    any_sessions(&found, &prefix)
}

/// No session at all under the prefix is worth an exit code: a deployment
/// that has users has sessions, so it is most likely a wrong
/// `SESSION_PREFIX` (or database).
fn any_sessions(found: &[sessions::Found], prefix: &str) -> Result<(), CliError> {
    if found.is_empty() {
        return Err(CliError::NotFound(format!("no sessions under the prefix {prefix:?} (SESSION_PREFIX)")));
    }
    Ok(())
}
