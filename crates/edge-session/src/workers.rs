//! The thin workers-rs adapter (feature `worker`, wasm32 only): the session
//! layer bound to the configuration in a worker's `Env` and to an Upstash
//! client, taking a `worker::Request` and committing onto a
//! `worker::Response`. Every decision is the platform-free
//! [`crate::session`]'s; this module only reads headers and the clock and
//! writes `Set-Cookie`.
//!
//! ```no_run
//! use edge_session::workers::{EdgeSessions, Error};
//! use worker::{Context, Env, Request, Response};
//!
//! async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
//!     match visit(req, &env, &ctx).await {
//!         Ok(resp) => Ok(resp),
//!         // The one boundary where the layer's errors become answers.
//!         Err(e) => e.into_response(),
//!     }
//! }
//!
//! async fn visit(req: Request, env: &Env, ctx: &Context) -> Result<Response, Error> {
//!     let layer = EdgeSessions::for_isolate(env)?;
//!     let mut session = layer.load(&req).await?;
//!     // A change that can run again: if another request saves the session
//!     // first, the commit applies it to that newer document.
//!     session.update(|s| {
//!         let count = s.get::<i64>("count")?.unwrap_or(0);
//!         s.insert("count", &(count + 1))
//!     })?;
//!     // Saved first, then answered from the session as saved.
//!     layer
//!         .respond(ctx, session, |s| {
//!             let count = s.get::<i64>("count")?.unwrap_or(0);
//!             Response::ok(format!("visit {count}")).map_err(Error::Runtime)
//!         })
//!         .await
//! }
//! ```

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use worker::{Context, Date, Env, Request, Response};

use crate::config::{var_type, ConfigError, UpstashConfig, VarType, VarValue, Vars};
use crate::gateway;
use crate::request_url::RequestUrl;
use crate::session::cookie::{check_cookie_header, CookieHeaderError};
use crate::session::document::{FieldError, Millis};
use crate::session::{decide, run_deferred, Session, SessionConfig, SessionError, Sessions};
use crate::store::transport::js_message;
use crate::store::{HttpTransport, TransportError, UpstashClient};

/// Why the adapter could not serve a session.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(thiserror::Error)]
pub enum Error {
    /// The `Env` lacks a required variable or has an invalid one.
    #[error("worker misconfigured: {}", .0.public_message())]
    Config(#[source] ConfigError),
    /// The session layer failed (the store is unreachable, slow, or
    /// refused us); nothing was written after the failure.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The `Cookie` header is over one of its limits: its length, its
    /// number of cookies or the size of one cookie ([`CookieHeaderError`]).
    #[error(transparent)]
    CookieTooLarge(#[from] CookieHeaderError),
    /// The request's path is outside the session cookie's Path
    /// (`SESSION_COOKIE_PATH`): as express-session, no session there, and
    /// nothing was read or written.
    #[error("{path} is outside the session cookie's Path={cookie_path}")]
    OutsideCookiePath {
        /// The request's path.
        path: String,
        /// The cookie's Path.
        cookie_path: String,
    },
    /// The runtime refused a header or URL operation.
    #[error("workers runtime error")]
    Runtime(#[source] worker::Error),
}
crate::debug_is_display!(Error);

impl Error {
    /// The HTTP status this error should be answered with: 500 for a
    /// misconfiguration, 503 for a store failure, 409 when other requests
    /// kept changing the session, 400 for a `Cookie` header over a limit.
    pub fn status(&self) -> u16 {
        match self {
            Error::Config(_) | Error::Runtime(_) => 500,
            Error::Session(SessionError::Store(_)) => 503,
            Error::Session(
                SessionError::Conflict { .. } | SessionError::ChangeRefused(_) | SessionError::Stale { .. },
            ) => 409,
            Error::Session(_) => 500,
            Error::CookieTooLarge(_) => 400,
            Error::OutsideCookiePath { .. } => 404,
        }
    }
}

/// A field of the wrong type (or one that does not serialize) is a session
/// error like any other, so handlers can use `?` on `get` and `insert`.
impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Error::Session(SessionError::Field(e))
    }
}

impl Error {
    /// The answer for this error: [`Error::status`], a JSON body
    /// `{"error": "<message>"}` (with `"retryAfter": 5` and `Retry-After: 5`
    /// for a store failure, `1` for a conflict, as the demo answers), never
    /// cached. The message
    /// names a misconfigured variable but never its value, and carries no
    /// upstream detail; 5xx errors are logged whole with `console_error!`.
    ///
    /// There is deliberately no `From<Error> for worker::Error`: `?` into
    /// `worker::Result` would answer every failure with a bare 500.
    ///
    /// # Errors
    ///
    /// A `worker::Error` only if the runtime refuses to build the response.
    pub fn into_response(self) -> worker::Result<Response> {
        let status = self.status();
        if status >= 500 {
            worker::console_error!("edge-session: {}", crate::error_chain(&self));
        }
        let message = match &self {
            Error::Session(SessionError::Store(e)) => e.visitor_message().to_owned(),
            Error::Session(
                SessionError::Conflict { .. } | SessionError::ChangeRefused(_) | SessionError::Stale { .. },
            ) => self.to_string(),
            Error::Runtime(_) | Error::Session(_) => "internal error".to_owned(),
            Error::Config(_) | Error::CookieTooLarge(_) | Error::OutsideCookiePath { .. } => self.to_string(),
        };
        let retry_after = match status {
            503 => Some(5),
            409 => Some(1),
            _ => None,
        };
        let body = match retry_after {
            Some(seconds) => serde_json::json!({ "error": message, "retryAfter": seconds }),
            None => serde_json::json!({ "error": message }),
        };
        let mut resp = Response::ok(body.to_string())?.with_status(status);
        let headers = resp.headers_mut();
        headers.set("Content-Type", "application/json; charset=utf-8")?;
        headers.set("Cache-Control", "no-store")?;
        for (name, value) in crate::API_RESPONSE_HEADERS {
            headers.set(name, value)?;
        }
        if let Some(seconds) = retry_after {
            headers.set("Retry-After", &seconds.to_string())?;
        }
        Ok(resp)
    }
}

/// A variable's value from a worker's `Env`: a secret (`wrangler secret
/// put`) first, then a `[vars]` entry, read whatever its JSON type
/// ([`crate::config::VarValue`]): workers-rs's `Env::var` takes strings
/// only, so an unquoted number or boolean would otherwise read as unset and
/// the option would fall back to its default without a word. `kind` is the
/// variable's type ([`crate::config::var_type`]).
///
/// # Errors
///
/// [`ConfigError::WrongType`] for a table or array, or a number or boolean
/// where the option takes neither ([`crate::config::VarValue::into_text`]).
pub fn env_var(env: &Env, name: &str, kind: Option<VarType>) -> Result<Option<String>, ConfigError> {
    if let Ok(secret) = env.secret(name) {
        return Ok(Some(secret.to_string()));
    }
    let Ok(raw) = js_sys::Reflect::get(env, &wasm_bindgen::JsValue::from_str(name)) else {
        return Ok(None);
    };
    let value = match (raw.as_string(), raw.as_f64(), raw.as_bool()) {
        (Some(text), _, _) => VarValue::Text(text),
        (_, Some(n), _) => VarValue::Number(n),
        (_, _, Some(b)) => VarValue::Bool(b),
        _ if js_sys::Array::is_array(&raw) => VarValue::Other("an array"),
        _ if raw.is_object() => VarValue::Other("a table"),
        _ => return Ok(None),
    };
    value.into_text(name, kind).map(Some)
}

/// A worker's variables, read for the configuration readers
/// (`Vars`): each through [`env_var`] with its type from the library's
/// [`crate::config::VARIABLES`] and the worker's own `extra` table. A value
/// of the wrong type reads as unset to the reader and is kept, so that
/// [`EnvVars::check`] reports it instead of whatever the reader made of
/// its absence.
pub struct EnvVars<'a> {
    env: &'a Env,
    extra: &'a [(&'a str, VarType)],
    refused: RefCell<Option<ConfigError>>,
}

impl<'a> EnvVars<'a> {
    /// Reads `env`, knowing the worker's own variables `extra`.
    pub fn new(env: &'a Env, extra: &'a [(&'a str, VarType)]) -> Self {
        Self { env, extra, refused: RefCell::new(None) }
    }

    /// Variable `name`, or `None` when unset or refused.
    pub fn get(&self, name: &str) -> Option<String> {
        let kind = var_type(name, &[crate::config::VARIABLES, self.extra]);
        env_var(self.env, name, kind).unwrap_or_else(|e| {
            self.refused.borrow_mut().get_or_insert(e);
            None
        })
    }

    /// `result`, unless a value was refused while it was read: then that.
    ///
    /// # Errors
    ///
    /// The first refused value's [`ConfigError::WrongType`], else `result`'s error.
    pub fn check<T>(&self, result: Result<T, ConfigError>) -> Result<T, ConfigError> {
        match self.refused.borrow_mut().take() {
            Some(refused) => Err(refused),
            None => result,
        }
    }
}

/// The session layer of one worker: its configuration and store client.
/// Build it once per isolate ([`EdgeSessions::for_isolate`]): the `Env`
/// does not change while an isolate lives, and the client keeps Upstash's
/// read-your-writes token from one request to the next, which a layer built
/// per request would lose.
#[derive(Debug)]
pub struct EdgeSessions {
    config: SessionConfig,
    store: UpstashClient,
}

impl EdgeSessions {
    /// Reads [`SessionConfig::from_vars`]'s and [`UpstashConfig::from_vars`]'s
    /// variables from `env` (secrets first, then `[vars]`).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the first missing or invalid variable.
    pub fn from_env(env: &Env) -> Result<Self, Error> {
        let env_vars = EnvVars::new(env, &[]);
        let read = |name: &str| env_vars.get(name);
        let vars = Vars::new(&read);
        let config = env_vars.check(SessionConfig::from_vars(&vars)).map_err(Error::Config)?;
        let upstash = env_vars.check(UpstashConfig::from_vars(&vars)).map_err(Error::Config)?;
        for warning in crate::config::config_warnings(&vars) {
            worker::console_warn!("edge-session configuration warning: {warning}");
        }
        Ok(Self::new(config, UpstashClient::new(&upstash.url, &upstash.token, upstash.timeout)))
    }

    /// The layer of this isolate: built from `env` on its first call
    /// ([`EdgeSessions::from_env`]) and shared by every later request of
    /// the isolate (Workers run one isolate per thread, so a thread-local
    /// is one per isolate).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the first missing or invalid variable; the
    /// next call tries again.
    pub fn for_isolate(env: &Env) -> Result<Rc<Self>, Error> {
        thread_local! {
            static LAYER: OnceCell<Rc<EdgeSessions>> = const { OnceCell::new() };
        }
        if let Some(layer) = LAYER.with(|cell| cell.get().cloned()) {
            return Ok(layer);
        }
        let layer = Rc::new(Self::from_env(env)?);
        Ok(LAYER.with(|cell| cell.get_or_init(|| layer).clone()))
    }

    /// Binds an already-built configuration and client.
    pub fn new(config: SessionConfig, store: UpstashClient) -> Self {
        Self { config, store }
    }

    /// The platform-free session layer, for calls this adapter does not
    /// wrap (`save`, `reload`, Passport's `login`/`logout`).
    pub fn sessions(&self) -> Sessions<'_, UpstashClient> {
        Sessions::new(&self.config, &self.store)
    }

    /// The store client, shared with other layers (accounts).
    pub fn store(&self) -> &UpstashClient {
        &self.store
    }

    /// The request's session: the one its verified cookie names, or a new
    /// one (express-session's request start). One store read at most.
    ///
    /// # Errors
    ///
    /// [`Error::OutsideCookiePath`] for a path outside the cookie's Path
    /// and [`Error::CookieTooLarge`] for a `Cookie` header over 8 KiB, with
    /// more than 180 cookies or a cookie over 4 KiB
    /// (nothing is read either way), [`Error::Session`] when the store fails.
    pub async fn load(&self, req: &Request) -> Result<Session, Error> {
        let headers = req.headers();
        let cookie = headers.get("Cookie").map_err(Error::Runtime)?;
        cookie.as_deref().map_or(Ok(()), check_cookie_header)?;
        let url = req.url().map_err(Error::Runtime)?;
        let cookie_path = self.config.cookie.path.as_deref();
        if !decide::in_cookie_path(url.path(), cookie_path) {
            let cookie_path = cookie_path.unwrap_or("/").to_owned();
            return Err(Error::OutsideCookiePath { path: url.path().to_owned(), cookie_path });
        }
        let https = url.scheme() == "https";
        let forwarded = headers.get("X-Forwarded-Proto").map_err(Error::Runtime)?;
        let secure = decide::is_secure(https, forwarded.as_deref(), self.config.trust_proxy);
        Ok(self.sessions().load(cookie.as_deref(), now_ms(), secure).await?)
    }

    /// Ends the request: writes the session as express-session decides, and
    /// appends its `Set-Cookie` lines (if any) to `resp`. Answer only after
    /// this returns: what the browser sees next is what the store holds.
    /// The touch of an unmodified session (connect-redis's `EXPIRE`; with
    /// `resave`, the rewrite of an unchanged document) changes nothing the
    /// browser sees, so it is sent after the answer, with `ctx.wait_until`
    /// (a read then waits for one store call); a touch that fails is
    /// logged and loses nothing (the session keeps its TTL until the next).
    ///
    /// # Errors
    ///
    /// [`Error::Session`] when the store fails (503), when other requests
    /// kept saving the session first or an update no longer applies (409),
    /// or when the document is over 1 MiB (500); `resp` is dropped then, so
    /// no cookie for an unsaved session reaches the browser.
    pub async fn commit(&self, ctx: &Context, session: Session, resp: Response) -> Result<Response, Error> {
        self.respond(ctx, session, |_| Ok(resp)).await
    }

    /// Ends the request as [`EdgeSessions::commit`] does, then builds the
    /// answer from the session as saved: after a conflict the saved fields
    /// are this request's changes applied to another request's newer
    /// document, and after a logout elsewhere the session is a new one, so
    /// an answer that shows the session is built here rather than before.
    ///
    /// # Errors
    ///
    /// As [`EdgeSessions::commit`], and `build`'s own error.
    pub async fn respond<F>(&self, ctx: &Context, mut session: Session, build: F) -> Result<Response, Error>
    where
        F: FnOnce(&Session) -> Result<Response, Error>,
    {
        let sessions = self.sessions().deferring_writes();
        let set_cookies = sessions.commit(&mut session, now_ms()).await?;
        for write in sessions.take_deferred() {
            let store = self.store.clone();
            ctx.wait_until(async move {
                if let Err(e) = run_deferred(&store, &write).await {
                    worker::console_error!(
                        "edge-session: the deferred touch of {} failed: {}",
                        write.key(),
                        crate::error_chain(&e)
                    );
                }
            });
        }
        let mut resp = build(&session)?;
        for set_cookie in set_cookies {
            resp.headers_mut().append("Set-Cookie", &set_cookie).map_err(Error::Runtime)?;
        }
        Ok(resp)
    }

    /// express-session's `regenerate`: the session gets a fresh id and an
    /// empty document, saved at commit, and the old key is deleted by that
    /// same save (in one step: a failing store leaves the old session as it
    /// was).
    ///
    /// # Errors
    ///
    /// [`Error::Session`] when the store fails.
    pub async fn regenerate(&self, session: &mut Session) -> Result<(), Error> {
        Ok(self.sessions().regenerate(session, now_ms()).await?)
    }

    /// express-session's `destroy`: the key is deleted now; commit writes
    /// nothing and clears the browser's cookie.
    ///
    /// # Errors
    ///
    /// [`Error::Session`] when the store fails.
    pub async fn destroy(&self, session: &mut Session) -> Result<(), Error> {
        Ok(self.sessions().destroy(session).await?)
    }
}

/// Why a request could not be forwarded to the origin ([`forward`]).
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(thiserror::Error)]
pub enum ForwardError {
    /// The runtime refused to build the request (a header value, say),
    /// with what it said.
    #[error("the request to the origin could not be built: {0}")]
    Request(String),
    /// The origin did not answer (refused connection, DNS, TLS, reset).
    #[error("the origin did not answer")]
    Unreachable(#[source] TransportError),
    /// The origin's status and headers did not arrive within
    /// `GATEWAY_ORIGIN_TIMEOUT_MS`.
    #[error("the origin did not answer in time")]
    TimedOut(#[source] TransportError),
    /// The origin's answer cannot be passed on as a Workers answer (a
    /// status outside 200–599, such as `101` without an upgrade or a
    /// `103`), with what the runtime said.
    #[error("the origin's answer could not be passed on: {0}")]
    BadAnswer(String),
}
crate::debug_is_display!(ForwardError);

impl ForwardError {
    /// The status to answer: 504 when the origin was too slow, 502 when it
    /// did not answer or answered what cannot be passed on, 500 when the
    /// request could not be built.
    pub fn status(&self) -> u16 {
        match self {
            ForwardError::TimedOut(_) => 504,
            ForwardError::Unreachable(_) | ForwardError::BadAnswer(_) => 502,
            ForwardError::Request(_) => 500,
        }
    }
}

/// Sends `req` on to the gateway's origin ([`crate::gateway`]) and returns
/// its answer: the path and query unchanged under `ORIGIN_URL`, the headers
/// of [`gateway::request_headers`] (the visitor's `Cookie` untouched, no
/// hop-by-hop or `X-Session-*` ones, `X-Forwarded-*` with the visitor's
/// scheme as the caller decided it (`secure`: express-session's
/// `issecure`, `SESSION_PROXY` included), and `identity` signed for this
/// method, path and cookie at `now_seconds`), the body streamed as it
/// arrives (never read into memory, so uploads of any size pass), and
/// redirects handed back to the browser rather than followed. The answer
/// streams back with its status and headers as the origin sent them, less
/// the hop-by-hop ones; its `Set-Cookie` lines pass unchanged.
///
/// WebSocket upgrades are not forwarded: `Upgrade` is hop-by-hop.
///
/// # Errors
///
/// [`ForwardError::Unreachable`] when the origin does not answer (the
/// caller answers 502), [`ForwardError::TimedOut`] when its status and
/// headers take longer than `GATEWAY_ORIGIN_TIMEOUT_MS` (504; a request
/// with a body waits as long as the origin takes: [`HttpTransport::send`]),
/// [`ForwardError::Request`] when the runtime refuses the request,
/// [`ForwardError::BadAnswer`] when the origin's answer cannot be passed
/// on (502).
pub async fn forward(
    req: &Request,
    config: &gateway::GatewayConfig,
    identity: &gateway::Identity,
    secure: bool,
    now_seconds: u64,
) -> Result<Response, ForwardError> {
    Ok(forward_request(req.inner(), config, identity, secure, now_seconds).await?.into())
}

/// [`forward`] on the runtime's own request and answer (`web_sys`), for a
/// worker whose fetch handler takes those (the demo's: `worker::Request`
/// reads the request's `cf` object and more on every conversion).
///
/// # Errors
///
/// As [`forward`].
pub async fn forward_request(
    req: &web_sys::Request,
    config: &gateway::GatewayConfig,
    identity: &gateway::Identity,
    secure: bool,
    now_seconds: u64,
) -> Result<web_sys::Response, ForwardError> {
    // The runtime's serialized URL, split (not parsed again with the `url`
    // crate: crate::request_url says why).
    let raw_url = req.url();
    let url =
        RequestUrl::split(&raw_url).ok_or_else(|| ForwardError::Request(format!("not an http(s) URL: {raw_url}")))?;
    let (host, path_and_query) = (url.host, url.path_and_query);
    let incoming = header_entries(&req.headers());
    let client_ip = req.headers().get("CF-Connecting-IP").ok().flatten();
    let forwarded =
        gateway::Forwarded { proto: if secure { "https" } else { "http" }, host, client_ip: client_ip.as_deref() };
    let method = req.method();
    let cookie = incoming.iter().find(|(k, _)| k.eq_ignore_ascii_case("cookie")).map(|(_, v)| v.as_str());
    // The value as the runtime sends it: a header value without its
    // surrounding white space (the Fetch standard's normalize), which is
    // what the origin receives and hashes.
    let cookie = cookie.map(|c| c.trim_matches([' ', '\t']));
    let identity = config.identity_headers(identity, &method, path_and_query, cookie, now_seconds);
    // The runtime's own Headers, RequestInit and Request: worker's
    // `Request::new_with_init` converts every option a request can carry
    // (~12 KB of the wasm, issue 14) for the four set here.
    let refused = |e: wasm_bindgen::JsValue| ForwardError::Request(js_message(&e));
    let headers = web_sys::Headers::new().map_err(refused)?;
    for (name, value) in gateway::request_headers(&incoming, forwarded, identity) {
        headers.append(&name, &value).map_err(refused)?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(&method);
    init.set_headers(&headers);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    let content_length =
        incoming.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.as_str());
    let body = match gateway::sends_body(&method, content_length) {
        false => None,
        // The visitor's body as a stream: the runtime pipes it to the
        // origin as it arrives.
        true => req.body(),
    };
    let uploading = body.is_some();
    if let Some(body) = &body {
        init.set_body(body);
    }
    let outbound =
        web_sys::Request::new_with_str_and_init(&config.target_url(path_and_query), &init).map_err(refused)?;
    let answer = HttpTransport::new(config.origin_timeout).send(outbound, uploading).await.map_err(|e| match e {
        TransportError::Timeout(_) => ForwardError::TimedOut(e),
        // `send` reads no body, so never TooLarge; an unreadable answer if it did.
        TransportError::Failed(_) | TransportError::TooLarge { .. } => ForwardError::Unreachable(e),
    })?;
    // A fetched answer's headers are immutable: a new answer on the same
    // body with a copy of them (each Set-Cookie stays its own line), less
    // the hop-by-hop ones, and the origin's status and reason phrase. Its
    // `webSocket` is not carried over: `Upgrade` is hop-by-hop and never
    // forwarded, so no upgrade can come back.
    let bad_answer = |e: wasm_bindgen::JsValue| ForwardError::BadAnswer(js_message(&e));
    let copied = web_sys::Headers::new_with_headers(&answer.headers()).map_err(bad_answer)?;
    for name in gateway::dropped_response_headers(&header_entries(&answer.headers())) {
        copied.delete(&name).map_err(bad_answer)?;
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(answer.status());
    init.set_status_text(&answer.status_text());
    init.set_headers(&copied);
    web_sys::Response::new_with_opt_readable_stream_and_init(answer.body().as_ref(), &init).map_err(bad_answer)
}

/// A `Headers` object's entries as pairs, in its own order (names lower
/// case; each `Set-Cookie` line its own pair, as the runtime iterates them).
fn header_entries(headers: &web_sys::Headers) -> Vec<(String, String)> {
    let Ok(Some(entries)) = js_sys::try_iter(headers) else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let pair = js_sys::Array::from(&entry);
            Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
        })
        .collect()
}

/// The Workers clock, in milliseconds since the epoch.
pub fn now_ms() -> Millis {
    Date::now().as_millis() as Millis
}
