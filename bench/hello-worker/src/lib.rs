//! The smallest Rust worker workers-rs makes: every request is answered
//! `hello`. The benchmark (`bench/twin.mjs`, part of `make bench`) starts
//! it beside the demo worker and its JavaScript twin to show what a Rust
//! worker costs before any session code: its module size and its cold
//! start. Built by `scripts/bench.sh` only (with `wasm-opt`, as the demo
//! worker is deployed), never by `make test`.
// A worker exists only on wasm32; natively (cargo test --workspace) this
// crate is empty.
#![cfg(target_arch = "wasm32")]

use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    Response::ok("hello")
}
