//! edge-session: express-session + connect-redis compatible sessions for
//! Cloudflare Workers, stored in Upstash Redis over its REST API.
//!
//! Layers, each importing only those below it:
//!
//! - [`entry`] (wasm32 only): the `#[event(fetch)]` handler, thin.
//! - [`app`]: the craft-beer demo's routes, platform-free.
//! - [`accounts`]: users, password hashes, login rate limits, the session
//!   index for "log out everywhere", lifetime counts.
//! - [`session`]: cookie signing, the stored document, expiry and the
//!   save/touch/set-cookie decisions; platform-free and tested natively.
//! - [`store`]: the `SessionStore` trait, the Redis command codec, the
//!   Upstash REST client and its one network type, `HttpTransport`.
//! - [`config`]: every option, read and validated once.

pub mod accounts;
pub mod app;
pub mod config;
pub mod session;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod entry;

#[cfg(test)]
mod test_util;
