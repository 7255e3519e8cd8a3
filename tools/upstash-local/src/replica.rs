//! Replica mode (`--replica <redis-url>`): upstash-local in front of a
//! primary redis-server and a second one that replicates it, as an Upstash
//! "Global" database serves reads from a read replica and writes from the
//! primary. Tests use it to show a stale read and read-your-writes.
//!
//! - A request whose every command only reads ([`READS`]) is served by the
//!   replica; everything else (writes, scripts, `/multi-exec`) by the primary.
//! - Every answer of a command endpoint carries an `upstash-sync-token`
//!   ([`SyncToken::Offset`]): after a call served by the primary, the
//!   primary's replication offset after it (`INFO replication` →
//!   `master_repl_offset`); after one served by the replica, the offset its
//!   data is known to reach (at least the token the request sent).
//! - A read that sends a token waits (polling every [`POLL`], up to
//!   [`SYNC_WAIT`]) until the replica has processed the stream up to it; if
//!   it is still behind, the primary serves it. Either way the read never
//!   sees data older than its token.
//! - `POST /_replication {"hold": true}` holds replication back: the replica
//!   stops following (`REPLICAOF NO ONE`) and keeps its data, so a read
//!   without a token is stale. `{"hold": false}` makes it follow again and
//!   answers once it has caught up. Redis 7.0 cannot continue such a replica
//!   with a partial resync (it became a primary with a replication ID of its
//!   own), so the release is a full resync: at least the primary's
//!   `repl-diskless-sync-delay` (5 s by default; tests start the primary
//!   with 0).
//!
//! While the replica is held its own offset is not trusted: a replica that
//! became a primary expires keys itself and counts those deletions in its
//! offset, so its offset is taken to be the one it had when it was held.
//! While it catches up after a release no read goes to it (it may be
//! loading a snapshot).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::{ConnectionAddr, InfoDict};
use serde_json::{json, Value};

/// The commands that only read, served by the replica when a request holds
/// nothing else; upper case. Kept explicit: a command not listed goes to the
/// primary, which is never wrong, only not a replica read. `EVAL_RO` and
/// `EVALSHA_RO` are not here: the script cache (`script`) lives with the
/// primary.
pub const READS: &[&str] = &[
    // strings
    "GET",
    "GETRANGE",
    "MGET",
    "STRLEN",
    // keys
    "EXISTS",
    "EXPIRETIME",
    "PEXPIRETIME",
    "PTTL",
    "TTL",
    "TYPE",
    // hashes
    "HEXISTS",
    "HGET",
    "HGETALL",
    "HKEYS",
    "HLEN",
    "HMGET",
    "HSTRLEN",
    "HVALS",
    // sets
    "SCARD",
    "SDIFF",
    "SINTER",
    "SISMEMBER",
    "SMEMBERS",
    "SMISMEMBER",
    "SUNION",
    // lists
    "LINDEX",
    "LLEN",
    "LRANGE",
    // sorted sets
    "ZCARD",
    "ZCOUNT",
    "ZMSCORE",
    "ZRANGE",
    "ZRANK",
    "ZREVRANGE",
    "ZREVRANK",
    "ZSCORE",
];

/// How long a read that sent a token waits for the replica to reach it
/// before the primary serves it.
pub const SYNC_WAIT: Duration = Duration::from_millis(500);

/// How often a waiting read asks the replica how far it got.
pub const POLL: Duration = Duration::from_millis(2);

/// How long the start waits for the replica to be in sync with the primary,
/// and a release for it to catch up again (a full resync: the primary's
/// `repl-diskless-sync-delay` and the transfer).
pub const CATCH_UP_WAIT: Duration = Duration::from_secs(30);

/// The channel upstash-local publishes a probe on to see the replica
/// catch up (at the start and at a release). Redis propagates a `PUBLISH`
/// to its replicas, so it moves the primary's replication offset without
/// changing data; nothing subscribes to it, but MONITOR shows it.
pub const PROBE_CHANNEL: &str = "upstash-local:replica-probe";

/// Whether `name` (a command name, any case) is in [`READS`].
pub fn is_read(name: &[u8]) -> bool {
    READS.iter().any(|r| r.as_bytes().eq_ignore_ascii_case(name))
}

/// Whether a request with these command names may be served by the
/// replica: at least one command, every one of them a read, not atomic
/// (`/multi-exec` always goes to the primary).
pub fn replica_may_serve<'a>(mut names: impl Iterator<Item = &'a [u8]>, atomic: bool) -> bool {
    let mut any = false;
    let all = names.all(|n| {
        any = true;
        is_read(n)
    });
    !atomic && any && all
}

/// Which redis-server served a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// The one upstash-local was given with `--redis-url`.
    Primary,
    /// The one given with `--replica`.
    Replica,
}

impl Server {
    /// The name the counts of `--stats` use: `"primary"` or `"replica"`.
    pub fn name(self) -> &'static str {
        match self {
            Server::Primary => "primary",
            Server::Replica => "replica",
        }
    }
}

/// The prefix of the tokens of replica mode.
const OFFSET_PREFIX: &str = "rpl.";

/// A read-your-writes token as upstash-local hands it out in
/// `upstash-sync-token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncToken {
    /// Without `--replica`: a counter of answers, in decimal digits
    /// (`"42"`). One Redis is never behind itself, so it asks for nothing.
    Counter(u64),
    /// With `--replica`: the primary's replication offset (bytes of its
    /// replication stream) the answer reflects, written `rpl.` and 16
    /// lower-case hex digits (`"rpl.00000000000004d2"`).
    Offset(u64),
}

/// Text in `upstash-sync-token` that is no token of upstash-local's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a sync token: {0:?}")]
pub struct NotASyncToken(pub String);

impl SyncToken {
    /// Reads a request's `upstash-sync-token` (surrounding blanks ignored).
    /// An empty one is no token (`Ok(None)`): the official `@upstash/redis`
    /// SDK sends `""` until it has received one.
    ///
    /// # Errors
    ///
    /// [`NotASyncToken`] for any other text that is neither form.
    pub fn parse(text: &str) -> Result<Option<SyncToken>, NotASyncToken> {
        let text = text.trim();
        let bad = || NotASyncToken(text.to_owned());
        if text.is_empty() {
            return Ok(None);
        }
        if let Some(hex) = text.strip_prefix(OFFSET_PREFIX) {
            // from_str_radix alone would take a sign; 16 hex digits exactly.
            if hex.len() != 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            return u64::from_str_radix(hex, 16).map(|n| Some(SyncToken::Offset(n))).map_err(|_| bad());
        }
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        text.parse().map(|n| Some(SyncToken::Counter(n))).map_err(|_| bad())
    }

    /// The primary's offset a read with this token must see: 0 for a
    /// counter, which asks for nothing.
    pub fn offset(self) -> u64 {
        match self {
            SyncToken::Counter(_) => 0,
            SyncToken::Offset(n) => n,
        }
    }
}

impl std::fmt::Display for SyncToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyncToken::Counter(n) => write!(f, "{n}"),
            SyncToken::Offset(n) => write!(f, "{OFFSET_PREFIX}{n:016x}"),
        }
    }
}

/// Why replica mode could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// `--redis-url` is not a plain TCP address the replica could follow.
    #[error("--replica needs a primary at a plain redis://host:port address, not {0}")]
    PrimaryAddress(String),
    /// A command to one of the servers failed.
    #[error("the {} redis-server: {source}", server.name())]
    Redis {
        /// Which one.
        server: Server,
        /// What went wrong.
        #[source]
        source: redis::RedisError,
    },
    /// `INFO replication` lacks a field upstash-local needs.
    #[error("INFO replication of the {} redis-server has no {field}", server.name())]
    Info {
        /// Which server answered it.
        server: Server,
        /// The field.
        field: &'static str,
    },
    /// The replica was not in sync with the primary within [`CATCH_UP_WAIT`]
    /// (at once when it follows no one): at the start (it does not replicate
    /// this primary, or is held back), or after a release.
    #[error(
        "the replica is not in sync with the primary (role {role}, link {link}, offset {replica} of {primary}, same history: {same_history}; waited at most {} s); it must be started with --replicaof <primary host> <primary port>",
        CATCH_UP_WAIT.as_secs()
    )]
    NotCaughtUp {
        /// The replica's role (`slave` when it follows a primary).
        role: String,
        /// Its `master_link_status` (`up`, `down`, or `none`).
        link: String,
        /// Its processed offset.
        replica: u64,
        /// The primary's offset.
        primary: u64,
        /// Whether both report the same replication ID.
        same_history: bool,
    },
}

/// What the replica is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// It follows the primary; its offset is what it processed.
    Following,
    /// Held back by `POST /_replication {"hold": true}`: it follows no one,
    /// and its data reaches the primary's offset `at`.
    Held { at: u64 },
    /// Released but not yet caught up (a release that timed out leaves it
    /// here): no read goes to it.
    CatchingUp,
}

/// Where a call's commands go, and what the replica's data was known to
/// reach when the call was sent there.
#[derive(Clone)]
pub struct Route {
    /// The server that serves the call.
    pub server: Server,
    /// A connection to it.
    pub conn: ConnectionManager,
    /// For the replica: the primary's offset its data reached at least.
    seen: u64,
}

impl Route {
    /// The primary serves the call.
    pub fn primary(conn: ConnectionManager) -> Route {
        Route { server: Server::Primary, conn, seen: 0 }
    }
}

/// One server's `INFO replication`, read for what replica mode needs.
struct Replication {
    role: String,
    link: String,
    replid: String,
    /// What it processed of its primary's stream (a replica), or what it
    /// wrote to its own (a primary).
    offset: u64,
}

/// The replica, the primary it follows, and whether it is held back.
pub struct Replica {
    primary: ConnectionManager,
    replica: ConnectionManager,
    /// Where the replica follows the primary again after a hold:
    /// `--redis-url`'s host and port.
    primary_host: String,
    primary_port: u16,
    link: Mutex<Link>,
    /// One hold or release at a time.
    switching: tokio::sync::Mutex<()>,
}

impl Replica {
    /// Connects to the replica at `replica_url` and waits (up to
    /// [`CATCH_UP_WAIT`]) until it follows the primary (`primary`, at
    /// `primary_url`) and has caught up with it.
    ///
    /// # Errors
    ///
    /// [`ReplicaError::PrimaryAddress`] when `primary_url` is not host and
    /// port; [`ReplicaError::Redis`] when the replica cannot be reached;
    /// [`ReplicaError::NotCaughtUp`] when it does not replicate the primary.
    pub async fn connect(
        primary: ConnectionManager,
        primary_url: &str,
        replica_url: &str,
    ) -> Result<Replica, ReplicaError> {
        let as_replica = |source| ReplicaError::Redis { server: Server::Replica, source };
        let primary_info =
            redis::Client::open(primary_url).map_err(|_| ReplicaError::PrimaryAddress(primary_url.into()))?;
        let ConnectionAddr::Tcp(host, port) = primary_info.get_connection_info().addr().clone() else {
            return Err(ReplicaError::PrimaryAddress(primary_url.into()));
        };
        let client = redis::Client::open(replica_url).map_err(as_replica)?;
        let replica = ConnectionManager::new(client).await.map_err(as_replica)?;
        let this = Replica {
            primary,
            replica,
            primary_host: host,
            primary_port: port,
            link: Mutex::new(Link::Following),
            switching: tokio::sync::Mutex::new(()),
        };
        this.wait_caught_up().await?;
        Ok(this)
    }

    fn link(&self) -> Link {
        *self.link.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_link(&self, link: Link) {
        *self.link.lock().unwrap_or_else(|e| e.into_inner()) = link;
    }

    async fn info(&self, server: Server) -> Result<Replication, ReplicaError> {
        let mut conn = match server {
            Server::Primary => self.primary.clone(),
            Server::Replica => self.replica.clone(),
        };
        let info: InfoDict = redis::cmd("INFO")
            .arg("replication")
            .query_async(&mut conn)
            .await
            .map_err(|source| ReplicaError::Redis { server, source })?;
        let field = |field: &'static str| info.get::<String>(field).ok_or(ReplicaError::Info { server, field });
        // A replica's processed offset is slave_repl_offset; a primary (or a
        // replica that is held) only has master_repl_offset.
        let offset = match info.get::<u64>("slave_repl_offset") {
            Some(n) => n,
            None => info
                .get::<u64>("master_repl_offset")
                .ok_or(ReplicaError::Info { server, field: "master_repl_offset" })?,
        };
        Ok(Replication {
            role: field("role")?,
            link: info.get::<String>("master_link_status").unwrap_or_else(|| "none".into()),
            replid: field("master_replid")?,
            offset,
        })
    }

    /// The primary's replication offset now: the token of an answer it
    /// served.
    ///
    /// # Errors
    ///
    /// [`ReplicaError`] when the primary cannot be asked.
    pub async fn primary_offset(&self) -> Result<u64, ReplicaError> {
        Ok(self.info(Server::Primary).await?.offset)
    }

    /// The primary's offset the replica's data reaches now, or `None` while
    /// it catches up (no read goes to it then).
    async fn replica_offset(&self) -> Result<Option<u64>, ReplicaError> {
        match self.link() {
            Link::Held { at } => Ok(Some(at)),
            Link::CatchingUp => Ok(None),
            Link::Following => Ok(Some(self.info(Server::Replica).await?.offset)),
        }
    }

    /// Where a request goes: the replica when [`replica_may_serve`] says so
    /// and the replica's data reaches `wanted` (a token's offset; 0 for
    /// none), waited for up to [`SYNC_WAIT`]; the primary otherwise.
    ///
    /// # Errors
    ///
    /// [`ReplicaError`] when the replica cannot be asked how far it got.
    pub async fn route<'a>(
        &self,
        names: impl Iterator<Item = &'a [u8]>,
        atomic: bool,
        wanted: u64,
    ) -> Result<Route, ReplicaError> {
        if !replica_may_serve(names, atomic) {
            return Ok(Route::primary(self.primary.clone()));
        }
        let deadline = Instant::now() + SYNC_WAIT;
        loop {
            match self.replica_offset().await? {
                Some(seen) if seen >= wanted => {
                    return Ok(Route { server: Server::Replica, conn: self.replica.clone(), seen });
                }
                // Without a token there is nothing to wait for.
                None if wanted == 0 => return Ok(Route::primary(self.primary.clone())),
                _ if Instant::now() >= deadline => return Ok(Route::primary(self.primary.clone())),
                _ => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// The token of an answer served along `route` to a request that sent
    /// a token for `sent` (0 for none): the primary's offset after the call,
    /// or what the replica's data was known to reach.
    ///
    /// # Errors
    ///
    /// [`ReplicaError`] when the primary cannot be asked its offset.
    pub async fn token_after(&self, route: &Route, sent: u64) -> Result<SyncToken, ReplicaError> {
        let offset = match route.server {
            Server::Primary => self.primary_offset().await?,
            Server::Replica => route.seen,
        };
        Ok(SyncToken::Offset(offset.max(sent)))
    }

    /// Waits up to [`CATCH_UP_WAIT`] until the replica follows the primary
    /// with its link up, in the same replication history, and has processed
    /// the primary's stream up to a probe published when the wait began
    /// ([`PROBE_CHANNEL`]). A replica that follows no one fails at once:
    /// waiting changes nothing.
    ///
    /// The probe is what proves the stream flows: after a full sync the
    /// primary holds the stream back until the replica's first
    /// acknowledgement, which can come up to a second later, while both
    /// already report the link up at the same offset.
    async fn wait_caught_up(&self) -> Result<(), ReplicaError> {
        redis::cmd("PUBLISH")
            .arg(PROBE_CHANNEL)
            .arg("catch-up")
            .query_async::<i64>(&mut self.primary.clone())
            .await
            .map_err(|source| ReplicaError::Redis { server: Server::Primary, source })?;
        let target = self.primary_offset().await?;
        let deadline = Instant::now() + CATCH_UP_WAIT;
        loop {
            let primary = self.info(Server::Primary).await?;
            let replica = self.info(Server::Replica).await?;
            let same_history = replica.replid == primary.replid;
            if replica.role == "slave" && replica.link == "up" && same_history && replica.offset >= target {
                return Ok(());
            }
            if replica.role != "slave" || Instant::now() >= deadline {
                return Err(ReplicaError::NotCaughtUp {
                    role: replica.role,
                    link: replica.link,
                    replica: replica.offset,
                    primary: primary.offset,
                    same_history,
                });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// `POST /_replication`: holds replication back (`hold`) or lets the
    /// replica follow again and waits until it has caught up; answers
    /// [`Replica::report`].
    ///
    /// # Errors
    ///
    /// [`ReplicaError`] when a server cannot be reached, or the replica does
    /// not catch up within [`CATCH_UP_WAIT`] (then no read goes to it until
    /// a later release succeeds).
    pub async fn set_hold(&self, hold: bool) -> Result<Value, ReplicaError> {
        let _one_at_a_time = self.switching.lock().await;
        let as_replica = |source| ReplicaError::Redis { server: Server::Replica, source };
        let mut conn = self.replica.clone();
        match (hold, self.link()) {
            (true, Link::Held { .. }) | (false, Link::Following) => {}
            (true, before) => {
                // What its data reaches, read before it stops following: it
                // may process a little more, never less. A replica of
                // another history (a release that did not finish) reaches
                // nothing of this one.
                let primary = self.info(Server::Primary).await?;
                let replica = self.info(Server::Replica).await?;
                let at = if replica.replid == primary.replid { replica.offset } else { 0 };
                self.set_link(Link::Held { at });
                let stopped: Result<(), _> = redis::cmd("REPLICAOF").arg("NO").arg("ONE").query_async(&mut conn).await;
                if let Err(e) = stopped {
                    self.set_link(before);
                    return Err(as_replica(e));
                }
            }
            (false, _) => {
                self.set_link(Link::CatchingUp);
                redis::cmd("REPLICAOF")
                    .arg(&self.primary_host)
                    .arg(self.primary_port)
                    .query_async::<()>(&mut conn)
                    .await
                    .map_err(as_replica)?;
            }
        }
        if !hold {
            self.wait_caught_up().await?;
            self.set_link(Link::Following);
        }
        self.report().await
    }

    /// `GET /_replication`: `{"hold": bool, "state":
    /// "following"|"held"|"catching-up", "primary_offset": N,
    /// "replica_offset": N}`, offsets in bytes of the primary's replication
    /// stream (while held, the one the replica's data reaches).
    ///
    /// # Errors
    ///
    /// [`ReplicaError`] when a server cannot be asked.
    pub async fn report(&self) -> Result<Value, ReplicaError> {
        let link = self.link();
        let primary_offset = self.primary_offset().await?;
        let replica_offset = match link {
            Link::Held { at } => at,
            Link::Following | Link::CatchingUp => self.info(Server::Replica).await?.offset,
        };
        let state = match link {
            Link::Following => "following",
            Link::Held { .. } => "held",
            Link::CatchingUp => "catching-up",
        };
        Ok(json!({
            "hold": matches!(link, Link::Held { .. }),
            "state": state,
            "primary_offset": primary_offset,
            "replica_offset": replica_offset,
        }))
    }
}

/// Reads `POST /_replication`'s body: `{"hold": true}` or `{"hold": false}`.
///
/// # Errors
///
/// A message saying what is wrong with the body.
pub fn hold_from_json(v: &Value) -> Result<bool, String> {
    let obj = v.as_object().ok_or("the body must be a JSON object")?;
    if let Some(key) = obj.keys().find(|k| *k != "hold") {
        return Err(format!("unknown member {key:?}"));
    }
    obj.get("hold").and_then(Value::as_bool).ok_or_else(|| "\"hold\" must be true or false".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reads_are_a_truth_table() {
        // Every listed read, in any case, goes to the replica alone or in a batch.
        for name in READS {
            assert!(is_read(name.as_bytes()), "{name}");
            assert!(is_read(name.to_ascii_lowercase().as_bytes()), "{name}");
        }
        let table: &[(&str, bool)] = &[
            ("GET", true),
            ("get", true),
            ("MGET", true),
            ("PTTL", true),
            ("TTL", true),
            ("EXISTS", true),
            ("SMEMBERS", true),
            ("SISMEMBER", true),
            ("SCARD", true),
            ("STRLEN", true),
            ("HGET", true),
            ("HGETALL", true),
            ("HMGET", true),
            ("TYPE", true),
            ("ZRANGE", true),
            // writes
            ("SET", false),
            ("DEL", false),
            ("EXPIRE", false),
            ("PERSIST", false),
            ("INCR", false),
            ("DECR", false),
            ("SADD", false),
            ("SREM", false),
            ("HSET", false),
            // reads that write, or may
            ("GETEX", false),
            ("GETDEL", false),
            ("GETSET", false),
            ("SORT", false),
            ("SINTERSTORE", false),
            ("ZRANGESTORE", false),
            ("SPOP", false),
            // scripts and the rest: the primary
            ("EVAL", false),
            ("EVALSHA", false),
            ("EVAL_RO", false),
            ("EVALSHA_RO", false),
            ("SCRIPT", false),
            ("MULTI", false),
            ("EXEC", false),
            ("PING", false),
            ("INFO", false),
            ("KEYS", false),
            ("FLUSHDB", false),
            ("", false),
            ("GET ", false),
        ];
        for (name, read) in table {
            assert_eq!(is_read(name.as_bytes()), *read, "{name:?}");
        }
        let names = |list: &'static [&'static str]| list.iter().map(|n| n.as_bytes());
        assert!(replica_may_serve(names(&["GET"]), false));
        assert!(replica_may_serve(names(&["GET", "PTTL", "smembers"]), false));
        assert!(!replica_may_serve(names(&["GET", "SET"]), false), "one write sends all to the primary");
        assert!(!replica_may_serve(names(&["GET"]), true), "multi-exec: the primary");
        assert!(!replica_may_serve(names(&[]), false));
        assert!(READS.iter().all(|r| *r == r.to_ascii_uppercase()), "upper case");
        let mut unique = READS.to_vec();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), READS.len(), "no name twice");
    }

    #[test]
    fn tokens_are_written_and_read_back() {
        for token in [
            SyncToken::Counter(0),
            SyncToken::Counter(u64::MAX),
            SyncToken::Offset(0),
            SyncToken::Offset(1234),
            SyncToken::Offset(u64::MAX),
        ] {
            assert_eq!(SyncToken::parse(&token.to_string()), Ok(Some(token)), "{token}");
        }
        assert_eq!(SyncToken::Offset(1234).to_string(), "rpl.00000000000004d2");
        assert_eq!(SyncToken::Counter(42).to_string(), "42");
        assert_eq!(SyncToken::parse(" rpl.00000000000004D2 "), Ok(Some(SyncToken::Offset(1234))));
        assert_eq!(SyncToken::Counter(7).offset(), 0, "a counter asks for nothing");
        assert_eq!(SyncToken::Offset(7).offset(), 7);
        for empty in ["", " ", "\t"] {
            assert_eq!(SyncToken::parse(empty), Ok(None), "{empty:?}");
        }
        for bad in [
            "abc",
            "-1",
            "+1",
            "1.5",
            "18446744073709551616",
            "rpl.",
            "rpl.4d2",
            "rpl.+0000000000004d2",
            "rpl.00000000000004d2x",
            "rpl.0000000000000g00",
            "RPL.00000000000004d2",
            "rpl:00000000000004d2",
        ] {
            assert!(SyncToken::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_hold_switch_reads_true_or_false_only() {
        assert_eq!(hold_from_json(&json!({"hold": true})), Ok(true));
        assert_eq!(hold_from_json(&json!({"hold": false})), Ok(false));
        for body in [json!({}), json!([]), json!({"hold": "yes"}), json!({"hold": 1}), json!({"hold": true, "x": 1})] {
            assert!(hold_from_json(&body).is_err(), "{body}");
        }
    }
}
