//! The craft-beer session demo, a Cloudflare Worker built on the
//! `edge-session` library (crates/edge-session): the seed's session panel
//! and Pour button, accounts the way Passport does them, log out
//! everywhere, and lifetime beers that outlive a session.
//!
//! Layers, each importing only those below it:
//!
//! - `entry` (wasm32 only): the exported `fetch` handler, thin: Workers
//!   types in and out, run as a task of `edge_session::driver`.
//! - [`app`]: the demo's routes (one route table), platform-free.
//! - [`config`]: the library's configuration parts, read once.
//! - `edge_session`: sessions, accounts, the store.

// Talc instead of the standard library's dlmalloc on wasm32: 2.9 KB gzip
// smaller a module, the same CPU per request (docs/BENCHMARKS.md, "Size").
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

pub mod app;
pub mod config;

#[cfg(target_arch = "wasm32")]
mod entry;
