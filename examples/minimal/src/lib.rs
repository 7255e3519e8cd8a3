//! The smallest worker on edge-session: a per-visitor counter. `GET /`
//! counts this browser's visits in its session; `POST /reset` destroys the
//! session. The session lives in Upstash Redis under `sess:<id>` as the
//! JSON document express-session + connect-redis write, so an Express app
//! on the same database sees the same counter.
//!
//! Configure it like any edge-session worker: `SESSION_SECRET`,
//! `UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN` (README
//! "Configuration" lists the options).
// A worker exists only on wasm32; natively (cargo test --workspace) this
// crate is empty.
#![cfg(target_arch = "wasm32")]

use edge_session::workers::{EdgeSessions, Error};
use worker::{event, Context, Env, Method, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    match visit(req, &env, &ctx).await {
        Ok(resp) => Ok(resp),
        // The one place the layer's errors become answers: 503 when the
        // store fails, 500 naming a misconfigured variable, 400 for an
        // oversized Cookie header.
        Err(e) => e.into_response(),
    }
}

async fn visit(req: Request, env: &Env, ctx: &Context) -> std::result::Result<Response, Error> {
    // One layer per isolate: it keeps Upstash's read-your-writes token.
    let layer = EdgeSessions::for_isolate(env)?;
    let mut session = layer.load(&req).await?;
    let reset = req.method() == Method::Post && req.path() == "/reset";
    if reset {
        layer.destroy(&mut session).await?;
    } else {
        // An update, not get + insert: if a parallel request of the same
        // browser saves first, the commit runs it again on that count.
        session.update(|s| {
            let count = s.get::<i64>("count")?.unwrap_or(0);
            s.insert("count", &(count + 1))
        })?;
    }
    // The answer shows the count as saved (a touch, had there been one,
    // would go after it, with ctx.wait_until).
    layer
        .respond(ctx, session, |s| {
            let count = if reset { 0 } else { s.get::<i64>("count")?.unwrap_or(0) };
            Response::from_json(&serde_json::json!({ "count": count })).map_err(Error::Runtime)
        })
        .await
}
