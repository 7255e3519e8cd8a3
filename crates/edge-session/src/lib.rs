//! Sessions for Cloudflare Workers that an Express app can share:
//! express-session's signed cookie and connect-redis's `sess:<sid>` JSON
//! document, byte for byte, stored in Upstash Redis over its REST API.
//! docs/PROTOCOL.md is the wire contract.
//!
//! # Layers
//!
//! Each imports only those below it:
//!
//! - `workers` (feature `worker`, default, wasm32 only: build the docs with
//!   `--target wasm32-unknown-unknown` to see it): the thin workers-rs
//!   adapter, `EdgeSessions`: configuration from `Env`, a session loaded
//!   from a `worker::Request`, committed onto a `worker::Response`, and the
//!   one place its errors become HTTP answers.
//! - [`config`]: every option, read and validated once, one reader per part
//!   (it builds the configurations of the layers below).
//! - `accounts` (feature `accounts`): users, password hashes, login limits,
//!   the per-user session index for "log out everywhere", per-user
//!   counters that outlive sessions.
//! - [`session`]: the request cycle (load → read and write fields →
//!   commit), cookie signing, the stored document, expiry and the
//!   save/touch/set-cookie decisions; platform-free, tested natively.
//! - [`store`]: the [`store::SessionStore`] trait, the Upstash REST client
//!   and its one network type, the wire format and each Redis command.
//! - [`keys`]: every Redis key name.
//!
//! # Defaults
//!
//! Unset options take the craft-beer seed demo's values (cookie
//! `_redisDemo`, `maxAge` 60 s, `secure: false`); an app that shares
//! sessions with a stock express-session sets `SESSION_COOKIE_NAME` and
//! `SESSION_MAX_AGE_MS` to its own (README "Configuration").
//!
//! # A request's session
//!
//! The same cycle the workers adapter (`workers::EdgeSessions`: `from_env`,
//! `load`, `commit`, `regenerate`, `destroy`) runs on a Workers request,
//! here against the in-memory store of the `test-support` feature:
//!
//! ```
//! use edge_session::config::Vars;
//! use edge_session::session::{SessionConfig, Sessions};
//! use edge_session::store::MemoryStore;
//! use edge_session::testing::block_on;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // At least 32 bytes: a shorter signing secret is refused in production.
//! let vars = |name: &str| (name == "SESSION_SECRET").then(|| "a-32-byte-or-longer-random-secret".to_owned());
//! let config = SessionConfig::from_vars(&Vars::new(&vars))?;
//! let store = MemoryStore::new();
//! let sessions = Sessions::new(&config, &store);
//! let now_ms = 1_795_414_947_103;
//!
//! // A first visit: no cookie, a new session.
//! let mut session = block_on(sessions.load(None, now_ms, false))?;
//! session.insert("views", &1)?;
//! let set_cookie = block_on(sessions.commit(&mut session, now_ms))?.pop().expect("a new session sends its cookie");
//! assert!(set_cookie.starts_with("_redisDemo=s%3A"));
//!
//! // The next request sends the cookie back and finds the same session.
//! let cookie = set_cookie.split(';').next().unwrap();
//! let mut session = block_on(sessions.load(Some(cookie), now_ms + 1_000, false))?;
//! assert_eq!(session.get::<i64>("views")?, Some(1));
//!
//! // update: a change that is made again on a newer document if another
//! // request saved the session meanwhile (compare-and-set at commit).
//! session.update(|s| {
//!     let views = s.get::<i64>("views")?.unwrap_or(0);
//!     s.insert("views", &(views + 1))
//! })?;
//! block_on(sessions.commit(&mut session, now_ms + 1_000))?;
//! assert_eq!(session.get::<i64>("views")?, Some(2));
//! let mut session = block_on(sessions.load(Some(cookie), now_ms + 1_500, false))?;
//!
//! // regenerate: a fresh id and an empty document; the old key is deleted
//! // by the save that writes the new one, in one step.
//! let old_id = session.id().clone();
//! block_on(sessions.regenerate(&mut session, now_ms + 2_000))?;
//! assert_ne!(session.id(), &old_id);
//! assert_eq!(session.get::<i64>("views")?, None);
//! let set_cookie = block_on(sessions.commit(&mut session, now_ms + 2_000))?.pop().expect("the new id's cookie");
//! assert_eq!(store.entry(&format!("sess:{old_id}")), None);
//!
//! // destroy: the key is deleted, and commit clears the browser's cookie.
//! let cookie = set_cookie.split(';').next().unwrap();
//! let mut session = block_on(sessions.load(Some(cookie), now_ms + 3_000, false))?;
//! block_on(sessions.destroy(&mut session))?;
//! let cleared = block_on(sessions.commit(&mut session, now_ms + 3_000))?.pop().expect("a clearing cookie");
//! assert!(cleared.contains("Expires=Thu, 01 Jan 1970 00:00:00 GMT"));
//! # Ok(())
//! # }
//! ```

// The public API documents itself: every item, and every fallible call's
// errors (`# Errors`), checked by `cargo clippy -D warnings` in `make test`.
#![warn(missing_docs, clippy::missing_errors_doc)]

#[cfg(feature = "accounts")]
pub mod accounts;

/// An error and its sources, joined with ": ": the whole story for a log
/// line (upstream replies, Redis messages), never for a visitor.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}

/// Gives each error type named a `Debug` on wasm32 that writes its
/// `Display`; natively the type derives `Debug` as usual, with
/// `#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]` on it. Every
/// error type of this crate and of the demo worker does this, and a crate
/// building on this one may do the same for its own.
///
/// Why: `std::error::Error` requires `Debug`, and an error that becomes a
/// `dyn Error` (every `#[source]`, [`error_chain`]) keeps its `Debug` in
/// the wasm through the trait object's vtable, though a worker only ever
/// logs `Display` ([`error_chain`]). The derived impls, their variant and
/// field names, and the `Debug` of what they hold (`Duration`, `str` with
/// its escapes) were ~2.2 KB of the gzipped worker (issue 14, target 1).
/// Natively, where tests and the command line print `{:?}`, nothing changes.
///
/// ```
/// #[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
/// #[derive(thiserror::Error)]
/// #[error("the beer ran out")]
/// pub struct OutOfBeer;
/// edge_session::debug_is_display!(OutOfBeer);
///
/// assert_eq!(edge_session::error_chain(&OutOfBeer), "the beer ran out");
/// ```
#[macro_export]
macro_rules! debug_is_display {
    ($($error:ty),+ $(,)?) => {$(
        #[cfg(target_arch = "wasm32")]
        impl ::core::fmt::Debug for $error {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::core::fmt::Display::fmt(self, f)
            }
        }
    )+};
}

/// Headers every JSON answer carries, errors included (OWASP ASVS V3.4.4,
/// V3.4.5, V3.4.6; the static page's `_headers` has the same): the browser
/// must not guess another content type (`nosniff`), no other site may frame
/// it, and no URL of it leaves in a `Referer`.
pub const API_RESPONSE_HEADERS: [(&str, &str); 3] = [
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", "frame-ancestors 'none'"),
    ("Referrer-Policy", "no-referrer"),
];

mod builtins;
pub mod config;
#[cfg(target_arch = "wasm32")]
pub mod driver;
pub mod gateway;
pub mod keys;
pub mod request_url;
pub mod session;
pub mod store;
#[cfg(feature = "test-support")]
pub mod testing;
#[cfg(all(feature = "worker", target_arch = "wasm32"))]
pub mod workers;
