//! Where sessions live: the `SessionStore` trait the session layer talks to,
//! the Upstash REST client that implements it for real (`upstash`, over the
//! one network type in `transport`, speaking `wire` + `command`), and, with
//! the `test-support` feature, an in-memory store and the conformance suite
//! every store must pass.

pub mod batch;
pub mod command;
#[cfg(feature = "test-support")]
pub mod conformance;
#[cfg(feature = "test-support")]
pub mod memory;
pub mod script;
pub mod transport;
pub mod upstash;
pub mod wire;

pub use batch::{Found, Lookup, Write, Written};
#[cfg(feature = "test-support")]
pub use memory::MemoryStore;
pub use script::{
    Digest, EndOutcome, EndSessions, Guard, IndexEntry, Loaded, PruneIndex, Register, RegisterOutcome, Save,
    SaveOutcome, Ttl,
};
pub use transport::{HttpTransport, TransportError};
pub use upstash::UpstashClient;

/// Why the store could not do what was asked. Every variant means "the
/// store's state is unknown or unchanged", never "the session is gone":
/// callers answer 503 and write nothing more.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(thiserror::Error)]
pub enum StoreError {
    /// The request did not reach the store, or the exchange failed before
    /// an answer (connection refused, DNS, reset). Usually nothing was
    /// applied, but a connection that broke after the request was sent may
    /// have delivered it: the transport cannot tell the two apart.
    #[error("session store unreachable")]
    Unreachable(#[source] TransportError),
    /// No answer within the configured time. The request may have reached
    /// the store and been applied (a write it received may still land), so
    /// the outcome is unknown, unlike [`StoreError::Unreachable`].
    #[error("session store timed out after {} ms; outcome unknown (a write it received may still land)", transport::whole_ms(*.after))]
    TimedOut {
        /// The configured limit (`SESSION_STORE_TIMEOUT_MS`).
        after: std::time::Duration,
    },
    /// The store refused the token (HTTP 401) or got none (HTTP 400 without
    /// a Redis error).
    #[error("session store refused our credentials (HTTP {status})")]
    Unauthorized {
        /// The HTTP status.
        status: u16,
    },
    /// The store answered an HTTP status that is not part of the protocol.
    #[error("session store answered HTTP {status}: {body}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The start of the body, for the log.
        body: String,
    },
    /// The answer was not the JSON the protocol promises, or a command's
    /// result had the wrong shape, or Redis answered an error.
    #[error("session store answered something unusable")]
    Protocol(#[from] wire::CommandError),
    /// The answer was not JSON at all.
    #[error("session store answered something that is not JSON")]
    NotJson(#[source] crate::session::js_json::de::Error),
    /// A command could not be written as JSON (a body whose map keys are
    /// not strings; never one of this crate's commands).
    #[error("a store command could not be written as JSON")]
    Encode(#[source] serde_json::Error),
}
crate::debug_is_display!(StoreError);

impl StoreError {
    /// What a visitor may be told (no upstream detail). A timeout says the
    /// change may have been saved: the store may have applied it and
    /// answered too late.
    pub fn visitor_message(&self) -> &'static str {
        match self {
            StoreError::TimedOut { .. } => {
                "the session store did not answer in time; your change may or may not have been saved, so reload before trying again"
            }
            _ => "the session store is unavailable; try again in a few seconds",
        }
    }
}

/// The operations the session layer needs, in connect-redis's terms.
///
/// The futures are not `Send`: on wasm32 everything is single-threaded and
/// futures holding JavaScript values cannot be sent, so the trait does not
/// ask for it.
#[allow(async_fn_in_trait)]
pub trait SessionStore {
    /// `GET key`: the stored bytes, or `None` when the key does not exist.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// One round trip that reads (docs/PROTOCOL.md §12): the session
    /// document at `session_key` (`GET`, with `PTTL` when `with_pttl`: what
    /// `touchAfter` decides with) and every [`Lookup`] in `lookups`, in one
    /// pipeline. No `session_key` (no valid cookie): the lookups only; no
    /// lookups either: no call at all.
    async fn read(&self, session_key: Option<&str>, with_pttl: bool, lookups: &[Lookup])
        -> Result<Fetched, StoreError>;
    /// One round trip that writes: the compare-and-set save of one session
    /// ([`script::SAVE`]: written only where the loaded key still holds the
    /// bytes the request loaded, or, for a new session, where the key does
    /// not exist) and every [`Write`] in `also`, in one pipeline (the
    /// writes are not atomic with the save: each stands on its own; those
    /// of [`Write::before_save`] are sent before it, the others after it,
    /// and what they did is answered in `also`'s order). Every
    /// write of a session document goes through here: there is no
    /// unconditional `SET` of a session. Neither: no call.
    async fn write(&self, save: Option<&Save>, also: &[Write]) -> Result<Wrote, StoreError>;
    /// [`SessionStore::write`] of a save alone.
    async fn save(&self, save: &Save) -> Result<SaveOutcome, StoreError> {
        self.write(Some(save), &[]).await?.saved.ok_or_else(batch::short_batch)
    }
    /// `EXPIRE key ttl_seconds`: whether the key existed. (A touch cannot
    /// bring back a key that is gone: `EXPIRE` of a missing key does nothing.)
    async fn expire(&self, key: &str, ttl_seconds: u64) -> Result<bool, StoreError>;
    /// `DEL key...`: how many keys were removed.
    async fn del(&self, keys: &[String]) -> Result<u64, StoreError>;
    /// Waits `wait` before the next attempt of a save that met a conflict,
    /// so that parallel requests on one session spread out. Stores without
    /// a clock (the in-memory test store) return at once.
    async fn backoff(&self, wait: std::time::Duration);
}

/// What [`SessionStore::read`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    /// The session document's bytes and, when asked for, its PTTL
    /// (milliseconds left, -1 without a TTL); `None` when the key does not
    /// exist or none was asked for.
    pub session: Option<(Vec<u8>, Option<i64>)>,
    /// What each lookup found, in order.
    pub found: Vec<Found>,
}

/// What [`SessionStore::write`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wrote {
    /// The save's outcome, when there was a save.
    pub saved: Option<SaveOutcome>,
    /// What each write did, in order.
    pub written: Vec<Written>,
}

/// One rate-limit counter after this attempt's `INCR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterHit {
    /// The counter's value, this attempt included.
    pub count: i64,
    /// What is left of its window (`PTTL`): milliseconds, or -1 for a
    /// counter without a TTL.
    pub pttl_ms: i64,
}

/// What user accounts need beyond sessions and the [`Lookup`]s and
/// [`Write`]s that travel with them: counters, a set per user and its
/// atomic end. Each call is one round trip.
#[allow(async_fn_in_trait)]
pub trait AccountStore: SessionStore {
    /// `INCR key`: the new value.
    async fn incr(&self, key: &str) -> Result<i64, StoreError>;
    /// `SMEMBERS set`.
    async fn members(&self, set: &str) -> Result<Vec<String>, StoreError>;
    /// Logout everywhere ([`script::END_SESSIONS`]): deletes the index set
    /// and the sessions it names in one step, if the set still holds the
    /// members read.
    async fn end_sessions(&self, call: &EndSessions) -> Result<EndOutcome, StoreError>;
    /// `PTTL key`: milliseconds left; -1 for a key without a TTL, -2 for a
    /// missing key.
    async fn pttl(&self, key: &str) -> Result<i64, StoreError>;
}
