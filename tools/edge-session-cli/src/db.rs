//! The command line's reads and writes, on the library's Upstash client
//! (`edge_session::store::UpstashClient`, the worker's own, over REST):
//! every command is one of `edge_session::store::command`'s or a script of
//! `edge_session::store::script`, so the wire format is the one the worker
//! and upstash-local share. Scans read in steps of [`SCAN_COUNT`] keys and
//! read documents in pipelines of [`PIPELINE_KEYS`] keys (two commands each).

use edge_session::store::command::{glob_escape, Command, Del, Exists, Get, PTtl, Ping, SMembers, SRem, Scan};
use edge_session::store::script::{PruneIndex, Script, ScriptCall};
use edge_session::store::wire::{CommandError, Encoding};
use edge_session::store::{StoreError, UpstashClient};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::error::CliError;

/// Redis's `COUNT` hint per `SCAN` step.
pub const SCAN_COUNT: u32 = 1000;

/// Keys read per pipeline (`GET` + `PTTL` each): a few hundred KB of
/// documents at most per call, well under Upstash's request limits.
pub const PIPELINE_KEYS: usize = 250;

/// A key's bytes and its TTL as one pipeline read them.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The key.
    pub key: String,
    /// The value, `None` when the key is gone.
    pub bytes: Option<Vec<u8>>,
    /// `PTTL`: ms left, -1 for no TTL, -2 for no key.
    pub pttl_ms: i64,
    /// Redis's error for this key's `GET` (e.g. `WRONGTYPE`: not a string).
    pub problem: Option<String>,
}

/// The store of one deployment.
pub struct Db {
    client: UpstashClient,
    url: String,
}

impl Db {
    /// A client of `url` with `token`, each call limited to `timeout`.
    pub fn new(url: &str, token: &str, timeout: std::time::Duration) -> Self {
        Self { client: UpstashClient::new(url, token, timeout), url: url.to_owned() }
    }

    fn fail(&self, e: StoreError) -> CliError {
        CliError::from_store(&self.url, e)
    }

    /// Runs one command.
    ///
    /// # Errors
    ///
    /// [`CliError`] sorted by [`CliError::from_store`].
    pub async fn run<C: Command>(&self, cmd: &C) -> Result<C::Output, CliError> {
        self.client.run(cmd).await.map_err(|e| self.fail(e))
    }

    /// Runs a script (`EVALSHA`, `EVAL` after `NOSCRIPT`).
    ///
    /// # Errors
    ///
    /// As [`Db::run`].
    pub async fn script<C: ScriptCall>(&self, call: &C) -> Result<C::Output, CliError> {
        self.client.run_script(call).await.map_err(|e| self.fail(e))
    }

    /// `PING`: the URL answers and the token is accepted.
    ///
    /// # Errors
    ///
    /// As [`Db::run`].
    pub async fn ping(&self) -> Result<(), CliError> {
        self.run(&Ping).await.map(|_| ())
    }

    /// Whether the token may write, found without writing: a `DEL` of a key
    /// that cannot exist (a random name) changes nothing, and a read-only
    /// token is refused it before it runs (Redis checks a user's command
    /// permissions first: `NOPERM`).
    ///
    /// # Errors
    ///
    /// As [`Db::run`], except that a refusal of the command is the answer
    /// `false`.
    pub async fn can_write(&self) -> Result<bool, CliError> {
        let probe = format!("edge-session-doctor:{}", uuid::Uuid::new_v4());
        match self.client.run(&Del { keys: vec![probe] }).await {
            Ok(_) => Ok(true),
            Err(StoreError::Protocol(CommandError::Redis(m))) if m.to_ascii_uppercase().contains("NOPERM") => Ok(false),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Loads `script` into the store's script cache (no key changes) and
    /// answers the SHA-1 the store computed.
    ///
    /// # Errors
    ///
    /// As [`Db::run`].
    pub async fn load_script(&self, script: &Script) -> Result<String, CliError> {
        use edge_session::store::command::ScriptLoad;
        self.run(&ScriptLoad { source: script.source.to_owned() }).await
    }

    /// Every key that starts with `prefix`, sorted and without duplicates
    /// (`SCAN` may repeat one), with a spinner on a terminal.
    ///
    /// # Errors
    ///
    /// As [`Db::run`].
    pub async fn scan_prefix(&self, prefix: &str, what: &str) -> Result<Vec<String>, CliError> {
        let bar = spinner(what);
        let keys = self.scan(prefix, usize::MAX, &bar).await;
        bar.finish_and_clear();
        keys
    }

    /// Up to `n` keys that start with `prefix`, for a sample: the scan
    /// stops after the step that reached `n`.
    ///
    /// # Errors
    ///
    /// As [`Db::run`].
    pub async fn scan_sample(&self, prefix: &str, n: usize) -> Result<Vec<String>, CliError> {
        let mut keys = self.scan(prefix, n, &ProgressBar::hidden()).await?;
        keys.truncate(n);
        Ok(keys)
    }

    /// `SCAN` steps until the cursor comes back to `0` or `limit` keys
    /// came; sorted, without duplicates.
    async fn scan(&self, prefix: &str, limit: usize, bar: &ProgressBar) -> Result<Vec<String>, CliError> {
        let pattern = format!("{}*", glob_escape(prefix));
        let mut cursor = "0".to_owned();
        let mut keys = Vec::new();
        let mut not_utf8 = Vec::new();
        loop {
            let step = self.run(&Scan { cursor, pattern: pattern.clone(), count: SCAN_COUNT }).await?;
            keys.extend(step.keys);
            not_utf8.extend(step.not_utf8);
            bar.set_position(keys.len() as u64);
            if step.cursor == "0" || keys.len() >= limit {
                break;
            }
            cursor = step.cursor;
        }
        not_utf8.sort_unstable();
        not_utf8.dedup();
        if !not_utf8.is_empty() {
            // The REST API names keys in JSON strings: these cannot be
            // read or ended through it, only reported.
            let names: Vec<String> = not_utf8.iter().map(|k| k.escape_ascii().to_string()).collect();
            warn(&format!(
                "skipped {} key(s) under {prefix:?} whose names are not UTF-8 (the REST API cannot name them; use redis-cli): {}",
                names.len(),
                names.join(", ")
            ));
        }
        keys.sort_unstable();
        keys.dedup();
        Ok(keys)
    }

    /// `GET` and `PTTL` of each key, in pipelines, with a progress bar on a
    /// terminal.
    ///
    /// # Errors
    ///
    /// As [`Db::run`]; a command's own error (e.g. `WRONGTYPE` for a key
    /// that is not a string) fails the read.
    pub async fn read_many(&self, keys: &[String], what: &str) -> Result<Vec<Stored>, CliError> {
        let bar = progress(keys.len() as u64, what);
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(PIPELINE_KEYS) {
            let commands: Vec<Vec<String>> =
                chunk.iter().flat_map(|k| [Get { key: k.clone() }.args(), PTtl { key: k.clone() }.args()]).collect();
            let mut results = self.client.pipeline(&commands).await.map_err(|e| self.fail(e))?.into_iter();
            for key in chunk {
                // One key's Redis error (a set under the prefix, say) is
                // that key's problem, not the whole listing's.
                let (bytes, problem) = match results.next() {
                    Some(Err(CommandError::Redis(m))) => (None, Some(m)),
                    other => (parse::<Get>(other)?, None),
                };
                let pttl_ms = parse::<PTtl>(results.next())?;
                out.push(Stored { key: key.clone(), bytes, pttl_ms, problem });
            }
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
        Ok(out)
    }

    /// One command per key (`make(key)`), in pipelines of
    /// `2 × PIPELINE_KEYS` commands; each key's own result, in order.
    async fn per_key<C: Command>(
        &self,
        keys: &[String],
        make: impl Fn(&str) -> C,
    ) -> Result<Vec<Result<Value, CommandError>>, CliError> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(PIPELINE_KEYS * 2) {
            let commands: Vec<Vec<String>> = chunk.iter().map(|k| make(k).args()).collect();
            out.extend(self.client.pipeline(&commands).await.map_err(|e| self.fail(e))?);
        }
        if out.len() != keys.len() {
            return Err(CliError::Store(edge_session::store::batch::short_batch()));
        }
        Ok(out)
    }

    /// Whether each key exists, in pipelines.
    ///
    /// # Errors
    ///
    /// As [`Db::run`].
    pub async fn exist_many(&self, keys: &[String]) -> Result<Vec<bool>, CliError> {
        let results = self.per_key(keys, |k| Exists { key: k.to_owned() }).await?;
        results.into_iter().map(|r| parse::<Exists>(Some(r))).collect()
    }

    /// The members of each set, sorted, in pipelines.
    ///
    /// # Errors
    ///
    /// As [`Db::run`].
    pub async fn members_many(&self, keys: &[String]) -> Result<Vec<Vec<String>>, CliError> {
        let results = self.per_key(keys, |k| SMembers { key: k.to_owned() }).await?;
        keys.iter()
            .zip(results)
            .map(|(key, r)| {
                let mut members = match r {
                    // A key of another type where an index should be: that
                    // key's problem, reported, not the whole command's.
                    Err(CommandError::Redis(m)) => {
                        warn(&format!("{key} is not a set of session ids ({m}); read as empty"));
                        Vec::new()
                    }
                    other => parse::<SMembers>(Some(other))?,
                };
                members.sort_unstable();
                Ok(members)
            })
            .collect()
    }

    /// Ends one session as the worker ends another session of a user
    /// (docs/PROTOCOL.md §14.3): `DEL` of its key and, when it belongs to a
    /// user, `SREM` of its id from that user's index, in one pipeline.
    ///
    /// # Errors
    ///
    /// As [`Db::run`].
    /// Answers whether the key was deleted and how many index entries went.
    pub async fn end_one(&self, key: &str, index: Option<(&str, &str)>) -> Result<(bool, u64), CliError> {
        let mut commands = vec![Del { keys: vec![key.to_owned()] }.args()];
        if let Some((index, id)) = index {
            commands.push(SRem { key: index.to_owned(), members: vec![id.to_owned()] }.args());
        }
        let mut results = self.client.pipeline(&commands).await.map_err(|e| self.fail(e))?.into_iter();
        let deleted = parse::<Del>(results.next())? > 0;
        let unindexed = match index {
            Some(_) => u64::try_from(parse::<SRem>(results.next())?).unwrap_or(0),
            None => 0,
        };
        Ok((deleted, unindexed))
    }

    /// Forgets the members of `index` whose session keys are gone, atomically
    /// (the worker's `prune_index` script); answers how many.
    ///
    /// # Errors
    ///
    /// As [`Db::run`].
    pub async fn prune(&self, index: &str, members: Vec<String>, prefix: &str) -> Result<u64, CliError> {
        if members.is_empty() {
            return Ok(0);
        }
        let member_keys = members.iter().map(|id| edge_session::keys::session(prefix, id)).collect();
        self.script(&PruneIndex { index: index.to_owned(), members, member_keys }).await
    }

    /// The library's client, for the account operations that take a store.
    pub fn client(&self) -> &UpstashClient {
        &self.client
    }

    /// `UPSTASH_REDIS_REST_URL`, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// The names after `prefix` of `keys` a scan for `prefix*` answered. Trust
/// boundary: a key that does not start with it (a store answering what it
/// was not asked) is left out rather than cut at a wrong place.
pub fn names_after(prefix: &str, keys: Vec<String>) -> Vec<String> {
    keys.into_iter().filter_map(|k| k.strip_prefix(prefix).map(str::to_owned)).collect()
}

/// Decodes one pipeline result as `C` answers.
fn parse<C: Command>(result: Option<Result<Value, CommandError>>) -> Result<C::Output, CliError> {
    let result = result.ok_or_else(|| CliError::Store(edge_session::store::batch::short_batch()))?;
    result.and_then(|v| C::parse(v, Encoding::Base64)).map_err(|e| CliError::Store(StoreError::Protocol(e)))
}

/// A warning on stderr, beside the output (which stays clean for `--json`).
pub fn warn(message: &str) {
    eprintln!("edge-session: warning: {message}");
}

/// A spinner counting keys, on stderr, drawn only on a terminal.
fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}: {pos} keys")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(what.to_owned());
    bar
}

/// A bar of `len` items, on stderr, drawn only on a terminal.
fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} ({per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_owned());
    bar
}

#[cfg(test)]
mod tests {
    use super::names_after;

    #[test]
    fn names_after_leaves_out_keys_without_the_prefix() {
        let keys = vec!["sess:a".to_owned(), "other:b".to_owned(), "sess:".to_owned(), "ses".to_owned()];
        assert_eq!(names_after("sess:", keys), ["a", ""]);
    }
}
