//! Where sessions live: the `SessionStore` trait the session layer talks to,
//! the Upstash REST client that implements it for real, and an in-memory
//! store for unit tests of pure logic.

pub mod command;
#[doc(hidden)]
pub mod conformance;
pub mod memory;
pub mod transport;
pub mod upstash;

pub use memory::MemoryStore;
pub use transport::{HttpTransport, TransportError};
pub use upstash::UpstashClient;

/// Why the store could not do what was asked. Every variant means "the
/// store's state is unknown or unchanged", never "the session is gone":
/// callers answer 503 and write nothing.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The request did not reach the store or its answer did not arrive
    /// (connection refused, DNS, timeout).
    #[error("session store unreachable")]
    Unreachable(#[source] TransportError),
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
    Protocol(#[from] command::CommandError),
    /// The answer was not JSON at all.
    #[error("session store answered something that is not JSON")]
    NotJson(#[source] serde_json::Error),
}

/// The operations the session layer needs, in connect-redis's terms.
///
/// The futures are not `Send`: on wasm32 everything is single-threaded and
/// `worker::Fetch` futures cannot be sent, so the trait does not ask for it.
#[allow(async_fn_in_trait)]
pub trait SessionStore {
    /// `GET key`: the stored bytes, or `None` when the key does not exist.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// `SET key value [EX ttl]`.
    async fn set(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError>;
    /// `EXPIRE key ttl`: whether the key existed.
    async fn expire(&self, key: &str, ttl: u64) -> Result<bool, StoreError>;
    /// `DEL key...`: how many keys were removed.
    async fn del(&self, keys: &[String]) -> Result<u64, StoreError>;
}


/// What user accounts need beyond sessions: records without TTL, counters
/// with a fixed window, and a set per user. Each call is one round trip.
#[allow(async_fn_in_trait)]
pub trait AccountStore: SessionStore {
    /// `SET key value NX` without TTL: whether the key was created.
    async fn create(&self, key: &str, value: &str) -> Result<bool, StoreError>;
    /// `SET key value` without TTL.
    async fn put(&self, key: &str, value: &str) -> Result<(), StoreError>;
    /// `INCR` each key (a key's first increment starts a `window`-second
    /// TTL) and return each new value with the milliseconds left in its
    /// window (`PTTL`). Counting before acting is what makes a limit hold
    /// against parallel requests.
    async fn hit_counters(&self, keys: &[String], window: u64) -> Result<Vec<(i64, i64)>, StoreError>;
    /// `DEL` the keys in `delete` and `DECR` those in `decrement`, in one
    /// round trip: forgives failures and takes back hits that did not count.
    async fn settle_counters(&self, delete: &[String], decrement: &[String]) -> Result<(), StoreError>;
    /// `INCR key`: the new value.
    async fn incr(&self, key: &str) -> Result<i64, StoreError>;
    /// `SADD set member`, `EXPIRE set ttl` and `SMEMBERS set` in one round
    /// trip: adds `member` and returns every member.
    async fn add_to_set(&self, set: &str, member: &str, ttl: u64) -> Result<Vec<String>, StoreError>;
    /// `SMEMBERS set`.
    async fn members(&self, set: &str) -> Result<Vec<String>, StoreError>;
    /// Which of `keys` exist.
    async fn exist(&self, keys: &[String]) -> Result<Vec<bool>, StoreError>;
    /// `SREM set member...`.
    async fn remove_from_set(&self, set: &str, members: &[String]) -> Result<(), StoreError>;
}
