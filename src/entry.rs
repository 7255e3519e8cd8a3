//! The Workers entry point: read the configuration once, build the Upstash
//! client, hand the request to the app and convert its answer. Nothing here
//! makes a session decision.

use std::cell::OnceCell;
use std::rc::Rc;

use edge_session::driver;
use edge_session::gateway::{Gate, GatewayConfig};
use edge_session::session::run_deferred;
use edge_session::store::transport::read_body as read_limited;
use edge_session::store::{HttpTransport, StoreError, TransportError, UpstashClient};
use edge_session::workers::{forward_request, now_ms, EnvVars};
use wasm_bindgen::{JsCast, JsValue};
use worker::{console_error, console_warn, js_sys, web_sys, Context, Env};

use crate::app;
use crate::config::{Config, DEFAULT_BEER_API_TIMEOUT};
use edge_session::request_url::RequestUrl;

#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/fill.js")]
extern "C" {
    /// The static page fetched from `assets` (the `ASSETS` binding) at
    /// `url`, with the edits (JSON of `[app::page::Edit]`) applied by the
    /// runtime's `HTMLRewriter`, as a new answer of `status` without
    /// headers; streamed, never buffered here. Resolves with a string
    /// (why) when the assets did not answer 200.
    #[wasm_bindgen(js_name = fillPage)]
    fn fill_page(assets: &JsValue, url: &str, edits: &str, status: u16) -> js_sys::Promise;
}

/// What every request of an isolate shares.
struct State {
    config: Config,
    store: UpstashClient,
    /// The beer API's network (`BEER_API_TIMEOUT_MS`); unused when
    /// `BEER_API_URL` is unset.
    beer_api: HttpTransport,
}

thread_local! {
    /// The configuration and client, built on the first request of this
    /// isolate: the env of a deployed worker never changes while it lives.
    /// Shared by reference (`Rc`) with each request: nothing is copied per request.
    static STATE: OnceCell<std::result::Result<Rc<State>, String>> = const { OnceCell::new() };
}

/// The worker's `fetch` handler, on the runtime's own request and answer
/// (`web_sys`): `worker::Request` would read the request's `cf` object
/// (built by the runtime for each request, never used here) and copy every
/// answer into a `worker::Response` first, CPU that every request is billed
/// for (docs/BENCHMARKS.md, "CPU per request"). The gateway's forward alone
/// takes a `worker::Request`.
///
/// Exported as the module's `fetch` (worker-build's entry calls it with
/// the runtime's request, env and context) and run as a
/// [`driver::Task`](edge_session::driver): the promises it awaits are
/// awaited by JavaScript, not by `wasm_bindgen_futures`' executor
/// (docs/BENCHMARKS.md, "CPU per request").
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn fetch(req: web_sys::Request, env: Env, ctx: worker::worker_sys::Context) -> js_sys::Promise {
    driver::spawn(async move {
        match handle(req, env, Context::new(ctx)).await {
            Ok(answer) => answer.into(),
            Err(e) => {
                console_error!("edge-session: {e}");
                let body = app::error_body("internal error");
                json_response(500, &body, &[]).map_or(JsValue::UNDEFINED, JsValue::from)
            }
        }
    })
}

/// The answer to one request, every I/O of it awaited through the task
/// [`fetch`] runs it in.
async fn handle(req: web_sys::Request, env: Env, ctx: Context) -> Result<web_sys::Response> {
    let state = STATE.with(|cell| cell.get_or_init(|| init(&env)).clone());
    let state = match state {
        Ok(state) => state,
        Err(message) => {
            console_error!("edge-session configuration error: {message}");
            let body = app::error_body(&format!("worker misconfigured: {message}"));
            return json_response(500, &body, &[]);
        }
    };

    let raw_url = req.url();
    let Some(url) = RequestUrl::split(&raw_url) else {
        return json_response(400, &app::error_body("the request's URL is not an http(s) URL"), &[]);
    };
    // Gateway mode: what the worker does not answer itself goes to the
    // origin, its body unread.
    if let Some(gateway) = &state.config.gateway {
        if !app::owns(state.config.routes, url.path) {
            return through_gateway(req, &state, gateway, url).await;
        }
    }
    let seen = Seen::read(&req.headers());
    let method = req.method();
    // Bodies are only read for POST, not at all when they announce more than
    // the app accepts, and never past that limit (read_body).
    let declared = seen.content_length.as_deref().and_then(|v| v.trim().parse::<usize>().ok()).unwrap_or(0);
    if declared > app::MAX_BODY_BYTES {
        let answer = app::AppError::BodyTooLarge(declared).into_response();
        return json_response(answer.status, &answer.body, &answer.headers);
    }
    let body = if method == "POST" {
        match read_body(req, seen.content_length.is_some()).await {
            Ok(body) => body,
            Err(answer) => return json_response(answer.status, &answer.body, &answer.headers),
        }
    } else {
        Vec::new()
    };
    let request = seen.request(&method, url, &body);
    // A client of this request's own: its meter counts only this request's
    // store calls, though other requests of the isolate run meanwhile.
    // The browser brings the sync token of its last write, so this
    // request's reads see that write even on a read replica.
    let store = state.store.for_request(app::companion::sync_token(request.cookie, &state.config));
    let now = now_ms();
    let mut answer = app::handle(&state.config, &store, &state.beer_api, &request, now).await;
    // ... and takes this request's, when it wrote before answering.
    let secure = request.is_secure(state.config.session.trust_proxy);
    let token = store.written_sync_token().filter(|_| answer.status < 400);
    if let Some(line) = token.and_then(|t| app::companion::sync_cookie(&state.config, &t, now, secure)) {
        answer.headers.push(("Set-Cookie", line));
    } else if store.sync_token_refused() && answer.status < 400 {
        // The token it brought is refused: it would cost a call every time.
        answer.headers.push(("Set-Cookie", app::companion::clear_sync_cookie(&state.config)));
    }
    let meter = store.meter();
    let deferred = answer.deferred.len();
    let timing = app::server_timing(answer.outcome, meter.round_trips(), meter.millis(), deferred);
    answer.headers.push(("Server-Timing", timing));
    // The touch of an unmodified session goes after the answer: the
    // visitor does not wait for a write to the store's primary. A failure is
    // logged and loses nothing (the session stays; only its TTL was not
    // renewed this time).
    for write in std::mem::take(&mut answer.deferred) {
        let store = state.store.clone();
        let touch = driver::spawn(async move {
            if let Err(e) = run_deferred(&store, &write).await {
                console_error!(
                    "edge-session: the deferred touch of {} failed: {}",
                    write.key(),
                    edge_session::error_chain(&e)
                );
            }
            JsValue::UNDEFINED
        });
        let _ = ctx.as_ref().wait_until(&touch);
    }
    log_answer(&answer, &method, url.path, meter.round_trips(), meter.millis(), seen.ray.as_deref());
    if let Some(mut edits) = answer.page.take() {
        edits.push(app::page::cost_edit(meter.round_trips(), meter.millis(), deferred));
        return page_response(&env, url.origin, &answer, &edits).await;
    }
    if answer.status == 303 {
        return empty_response(303, &answer.headers);
    }
    json_response(answer.status, &answer.body, &answer.headers)
}

/// The demo page: `www/index.html` from the `ASSETS` binding, filled in
/// with `edits` as it streams out, answered with `status` (an error shown
/// on the page keeps its own), with the page's own headers
/// ([`app::page::PAGE_HEADERS`]: its Content-Security-Policy, `no-store`)
/// and the answer's (`Set-Cookie`, `Server-Timing`).
async fn page_response(
    env: &Env,
    self_origin: &str,
    answer: &app::Response,
    edits: &[app::page::Edit],
) -> Result<web_sys::Response> {
    let (status, headers) = (answer.status, &answer.headers);
    let missing = |why: String| {
        if status >= 400 {
            // An error meant for the page: its JSON, as to any client.
            let mut headers = headers.clone();
            headers.insert(0, ("Content-Type", "application/json; charset=utf-8".into()));
            return json_response(status, &answer.body, &headers);
        }
        console_error!("edge-session: the page is unavailable: {why}");
        let body = app::error_body(
            "the page is unavailable: the worker has no ASSETS binding with index.html (see wrangler.toml [assets])",
        );
        json_response(500, &body, &[])
    };
    // The binding as the runtime gives it (a Fetcher): `Env::assets` would
    // wrap it only for it to be unwrapped again for fill.js.
    let assets = match js_sys::Reflect::get(env, &JsValue::from_str("ASSETS")) {
        Ok(assets) if assets.is_object() => assets,
        _ => return missing("no ASSETS binding".into()),
    };
    let edits = edge_session::session::js_json::to_string(edits).unwrap_or_else(|_| "[]".into());
    let filled = match driver::wait(fill_page(&assets, &format!("{self_origin}/"), &edits, status)).await {
        Ok(filled) => match filled.dyn_into::<web_sys::Response>() {
            Ok(filled) => filled,
            Err(why) => return missing(why.as_string().unwrap_or_default()),
        },
        Err(e) => return missing(format!("{e:?}")),
    };
    let page_headers = app::page::PAGE_HEADERS.iter().map(|(k, v)| (*k, (*v).to_owned()));
    let all: Vec<(&'static str, String)> = page_headers.chain(headers.iter().cloned()).collect();
    with_headers(filled, &all)
}

/// The request headers the app reads, taken off the request once.
struct Seen {
    cookie: Option<String>,
    forwarded_proto: Option<String>,
    origin: Option<String>,
    sec_fetch_site: Option<String>,
    client_ip: Option<String>,
    content_type: Option<String>,
    user_agent: Option<String>,
    content_length: Option<String>,
    accept: Option<String>,
    ray: Option<String>,
}

impl Seen {
    fn read(headers: &web_sys::Headers) -> Self {
        let header = |name: &str| headers.get(name).ok().flatten();
        Self {
            cookie: header("Cookie"),
            forwarded_proto: header("X-Forwarded-Proto"),
            origin: header("Origin"),
            sec_fetch_site: header("Sec-Fetch-Site"),
            client_ip: header("CF-Connecting-IP"),
            content_type: header("Content-Type"),
            user_agent: header("User-Agent"),
            content_length: header("Content-Length"),
            accept: header("Accept"),
            ray: header("CF-Ray"),
        }
    }

    /// The app's view of the request.
    fn request<'a>(&'a self, method: &'a str, url: RequestUrl<'a>, body: &'a [u8]) -> app::Request<'a> {
        app::Request {
            method,
            path: url.path,
            query: url.query,
            cookie: self.cookie.as_deref(),
            // The scheme the worker was reached with; behind Cloudflare this is
            // the visitor's scheme, so X-Forwarded-Proto is only consulted when
            // SESSION_PROXY says so.
            https: url.https,
            forwarded_proto: self.forwarded_proto.as_deref(),
            self_origin: url.origin,
            origin: self.origin.as_deref(),
            sec_fetch_site: self.sec_fetch_site.as_deref(),
            client_ip: self.client_ip.as_deref(),
            content_type: self.content_type.as_deref(),
            accept: self.accept.as_deref(),
            user_agent: self.user_agent.as_deref(),
            body,
        }
    }
}

/// Logs an answer of 400 or more, or one with a warning, as one structured
/// line ([`app::LogLine`]): `console.warn` for 4xx and warnings,
/// `console.error` for 5xx ([`app::answer_log_level`]).
fn log_answer(answer: &app::Response, method: &str, path: &str, round_trips: u32, store_ms: f64, ray: Option<&str>) {
    let Some(level) = app::answer_log_level(answer.status, answer.detail.is_some()) else {
        return;
    };
    let detail = answer.detail.as_deref().unwrap_or(&answer.body);
    // A refused token is no outage: no retry helps until it is fixed.
    let message = match refused_token(detail) {
        true => {
            format!("edge-session configuration error: the session store refused UPSTASH_REDIS_REST_TOKEN; {detail}")
        }
        false => detail.to_owned(),
    };
    let line = app::LogLine {
        source: "edge-session",
        level,
        status: answer.status,
        method,
        path,
        outcome: answer.outcome,
        round_trips,
        store_ms,
        ray,
        message: &message,
    };
    match level {
        "error" => console_error!("{}", line.render()),
        _ => console_warn!("{}", line.render()),
    }
}

/// Gateway mode for a request the worker does not answer itself: the
/// session resolved ([`app::gateway_check`]: one store read, no write), a
/// protected path refused or redirected at the edge, anything else
/// forwarded with the body streamed ([`forward`]) and the origin's answer
/// passed back, with this layer's `Server-Timing` added.
async fn through_gateway(
    req: web_sys::Request,
    state: &State,
    gateway: &GatewayConfig,
    url: RequestUrl<'_>,
) -> Result<web_sys::Response> {
    let seen = Seen::read(&req.headers());
    let method = req.method();
    let request = seen.request(&method, url, &[]);
    let store = state.store.for_request(app::companion::sync_token(request.cookie, &state.config));
    let now = now_ms();
    let verdict = app::gateway_check(&state.config, gateway, &store, &request, seen.accept.as_deref(), now).await;
    let meter = store.meter();
    let ray = &seen.ray;
    let verdict = match verdict {
        Ok(verdict) => verdict,
        Err(answer) => {
            log_answer(&answer, &method, url.path, meter.round_trips(), meter.millis(), ray.as_deref());
            return json_response(answer.status, &answer.body, &answer.headers);
        }
    };
    let timing = app::server_timing(verdict.outcome, meter.round_trips(), meter.millis(), 0);
    match verdict.gate {
        Gate::Forward => {}
        Gate::Refuse => {
            let mut answer = app::AppError::NotLoggedIn.into_response();
            answer.outcome = verdict.outcome;
            answer.headers.push(("Server-Timing", timing));
            log_answer(&answer, &method, url.path, meter.round_trips(), meter.millis(), ray.as_deref());
            return json_response(answer.status, &answer.body, &answer.headers);
        }
        Gate::RedirectToLogin => {
            let location = gateway.login_redirect(url.path_and_query).unwrap_or_else(|| "/".into());
            let headers = [("Location", location), ("Cache-Control", "no-store".into()), ("Server-Timing", timing)];
            return empty_response(303, &headers);
        }
    }
    let secure = request.is_secure(state.config.session.trust_proxy);
    match forward_request(&req, gateway, &verdict.identity, secure, (now / 1000) as u64).await {
        Ok(resp) => {
            resp.headers().append("Server-Timing", &timing).map_err(js_error)?;
            Ok(resp)
        }
        Err(e) => {
            // The origin is down, refused or too slow: 502 or 504, and the
            // whole story in the log.
            let message = match e.status() {
                504 => "the origin server did not answer in time; try again shortly",
                _ => "the origin server did not answer; try again shortly",
            };
            let body = app::error_body(message);
            let answer = app::Response {
                status: e.status(),
                headers: vec![
                    ("Content-Type", "application/json; charset=utf-8".into()),
                    ("Cache-Control", "no-store".into()),
                    ("Retry-After", "5".into()),
                    ("Server-Timing", timing),
                ],
                body,
                detail: Some(edge_session::error_chain(&e)),
                outcome: verdict.outcome,
                deferred: Vec::new(),
                page: None,
            };
            log_answer(&answer, &method, url.path, meter.round_trips(), meter.millis(), ray.as_deref());
            json_response(answer.status, &answer.body, &answer.headers)
        }
    }
}

/// Whether an answer's log detail says the store refused our credentials
/// ([`StoreError::Unauthorized`], whose text is matched as the library
/// writes it: the app hands over only the error chain's text).
fn refused_token(detail: &str) -> bool {
    [400, 401, 403].into_iter().any(|status| detail.contains(&StoreError::Unauthorized { status }.to_string()))
}

/// The body, never past the app's limit. One that declared its length
/// (already checked against the limit) is read in one `arrayBuffer()`;
/// a chunked upload without `Content-Length` is read chunk by chunk and
/// abandoned past the limit, so it cannot make us buffer more.
async fn read_body(req: web_sys::Request, declared: bool) -> std::result::Result<Vec<u8>, app::Response> {
    let unreadable = |e: String| app::AppError::BadRequest(format!("unreadable body: {e}")).into_response();
    if req.body().is_none() {
        return Ok(Vec::new()); // no body at all
    }
    if declared {
        let read = req.array_buffer().map_err(|e| unreadable(format!("{e:?}")))?;
        let buffer = driver::wait(read).await.map_err(|e| unreadable(format!("{e:?}")))?;
        let body = js_sys::Uint8Array::new(&buffer).to_vec();
        return match body.len() > app::MAX_BODY_BYTES {
            // A body longer than it said: the runtime should refuse it first.
            true => Err(app::AppError::BodyTooLarge(body.len()).into_response()),
            false => Ok(body),
        };
    }
    // A chunked body is abandoned once past the limit, so its length is
    // not known: "at least" one byte over.
    read_limited(req.body(), app::MAX_BODY_BYTES).await.map_err(|e| match e {
        TransportError::TooLarge { .. } => app::AppError::BodyTooLarge(app::MAX_BODY_BYTES + 1).into_response(),
        TransportError::Failed(why) => unreadable(why),
        other => unreadable(other.to_string()),
    })
}

fn init(env: &Env) -> std::result::Result<Rc<State>, String> {
    let env_vars = EnvVars::new(env, crate::config::DEMO_VARIABLES);
    let read = |name: &str| env_vars.get(name);
    let config = env_vars.check(Config::from_vars(read)).map_err(|e| {
        // The log gets the bad value; the visitor only the variable's name.
        console_error!("edge-session configuration error: {e}");
        e.public_message()
    })?;
    // Once per isolate: what is accepted but weak (a short secret in development).
    for warning in edge_session::config::config_warnings(&edge_session::config::Vars::new(&read)) {
        console_warn!("edge-session configuration warning: {warning}");
    }
    let upstash = &config.upstash;
    let store = UpstashClient::new(&upstash.url, &upstash.token, upstash.timeout);
    let beer_api = HttpTransport::new(config.beer_api.as_ref().map_or(DEFAULT_BEER_API_TIMEOUT, |api| api.timeout));
    Ok(Rc::new(State { config, store, beer_api }))
}

/// An answer without a body (a redirect), with every answer's headers.
fn empty_response(status: u16, headers: &[(&'static str, String)]) -> Result<web_sys::Response> {
    answer(status, None, headers)
}

fn json_response(status: u16, body: &str, headers: &[(&'static str, String)]) -> Result<web_sys::Response> {
    answer(status, Some(body), headers)
}

/// A new answer of `status` with `body` (JSON, unless `headers` name
/// another Content-Type) and every answer's headers, built on the runtime's
/// own objects in one go.
fn answer(status: u16, body: Option<&str>, headers: &[(&'static str, String)]) -> Result<web_sys::Response> {
    let h = web_sys::Headers::new().map_err(js_error)?;
    if body.is_some() && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("Content-Type")) {
        h.set("Content-Type", "application/json; charset=utf-8").map_err(js_error)?;
    }
    add_headers(&h, headers)?;
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    init.set_headers(&h);
    web_sys::Response::new_with_opt_str_and_init(body, &init).map_err(js_error)
}

/// `headers` on `resp` (the page, whose headers can still change), after
/// the headers every answer carries.
fn with_headers(resp: web_sys::Response, headers: &[(&'static str, String)]) -> Result<web_sys::Response> {
    add_headers(&resp.headers(), headers)?;
    Ok(resp)
}

/// The headers every answer carries, then `headers`.
fn add_headers(h: &web_sys::Headers, headers: &[(&'static str, String)]) -> Result<()> {
    // Every answer, an error before any routing included.
    for (name, value) in edge_session::API_RESPONSE_HEADERS {
        h.set(name, value).map_err(js_error)?;
    }
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("Server-Timing")) {
        // Answered before any store call (a bad body, a misconfiguration).
        h.set("Server-Timing", &app::server_timing(None, 0, 0.0, 0)).map_err(js_error)?;
    }
    for (k, v) in headers {
        // Set-Cookie is the one header that may legitimately repeat.
        match k.eq_ignore_ascii_case("Set-Cookie") {
            true => h.append(k, v).map_err(js_error)?,
            false => h.set(k, v).map_err(js_error)?,
        }
    }
    Ok(())
}

/// What went wrong while an answer was built: the runtime's exception,
/// as text for the log. (Not `worker::Error`, whose `Display` of every
/// binding's failures would stay in the wasm for it.)
type Result<T> = std::result::Result<T, String>;

/// A JavaScript exception as [`Result`]'s error.
fn js_error(e: JsValue) -> String {
    format!("{e:?}")
}
