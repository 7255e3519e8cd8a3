//! The worker's routes: the craft-beer demo (`GET /api/session`, `POST
//! /api/pour`) and the account routes (`app::accounts`) on top of the session
//! and account layers, behind the CSRF check. Routes are declared once, in
//! [`ROUTES`]; dispatch and the `Allow` header are derived from that table.
//! Platform-free: it takes a plain request, a store and the time, and
//! returns a plain response, so it is tested natively; the worker entry only
//! converts to and from the Workers types.

mod accounts;
pub mod beer;
pub mod beer_api;
pub mod companion;
pub mod csrf;
pub mod devices;
#[cfg(feature = "lab")]
pub mod lab;
pub mod page;
pub mod web_url;

use serde::Serialize;
use serde_json::Value;

use edge_session::accounts::{counter_value, AccountError, Accounts};
use edge_session::error_chain;
use edge_session::gateway::{gate, identity_of, wants_html, Gate, GatewayConfig, Identity};
use edge_session::keys;
use edge_session::session::cookie::{check_cookie_header, CookieHeaderError};
use edge_session::session::decide;
use edge_session::session::document::Millis;
use edge_session::session::flash;
use edge_session::session::js_json;
use edge_session::session::passport;
use edge_session::session::{Deferred, LoadOutcome, Session, SessionError, Sessions};
use edge_session::store::{AccountStore, Found, Lookup};

use crate::config::{Config, Routes};
use beer_api::{BeerSource, Upstream};

/// The per-user counter of lifetime beers (Redis `user-beers:<name>`).
pub const BEERS: &str = "beers";

/// The largest request body read, in bytes (the account forms are tiny).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// What the app needs of an HTTP request.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The URL path, e.g. `/api/pour`.
    pub path: &'a str,
    /// The query string without `?`, if any.
    pub query: Option<&'a str>,
    /// The `Cookie` header, if any.
    pub cookie: Option<&'a str>,
    /// Whether the request URL is https (on Cloudflare: the visitor's scheme).
    pub https: bool,
    /// The `X-Forwarded-Proto` header, if any.
    pub forwarded_proto: Option<&'a str>,
    /// The origin the request was sent to, e.g. `https://example.com`.
    pub self_origin: &'a str,
    /// The `Origin` header, if any.
    pub origin: Option<&'a str>,
    /// The `Sec-Fetch-Site` header, if any.
    pub sec_fetch_site: Option<&'a str>,
    /// `CF-Connecting-IP`: the visitor's address as Cloudflare saw it.
    pub client_ip: Option<&'a str>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The `Accept` header, if any: `text/html` among its types makes a
    /// POST a browser form's ([`Request::is_form`]).
    pub accept: Option<&'a str>,
    /// The `User-Agent` header, if any: only a login reads it, for the
    /// coarse device label it records ([`devices::device_label`]).
    pub user_agent: Option<&'a str>,
    /// The body (empty for GET).
    pub body: &'a [u8],
}

impl Request<'_> {
    /// express-session's `issecure`: the request's own scheme, or, when the
    /// proxy is trusted (`SESSION_PROXY`), the first `X-Forwarded-Proto`
    /// value. A Secure cookie is only ever sent when this is true.
    pub fn is_secure(&self, trust_proxy: bool) -> bool {
        decide::is_secure(self.https, self.forwarded_proto, trust_proxy)
    }

    /// Whether this is a browser's form submission (a POST whose `Accept`
    /// asks for a page): answered with `303 See Other` to `/` and the
    /// outcome in a flash message, rather than with JSON.
    pub fn is_form(&self) -> bool {
        self.method == "POST" && wants_html(self.accept)
    }

    /// The value of query parameter `name`, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query?.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }
}

/// An HTTP response, ready to be converted to the platform's type.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers in order; `Set-Cookie` may appear.
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub body: String,
    /// For the log only, never sent: the whole error chain behind an error
    /// answer (upstream replies, Redis messages), or, on a successful
    /// answer, what failed without failing it (the beer API a pour fell
    /// back from), logged as a warning ([`answer_log_level`]).
    pub detail: Option<String>,
    /// How the session layer fared, for `Server-Timing` ([`server_timing`]):
    /// `new`, `hit`, `miss`, `tampered`, `expired`, `unreadable`,
    /// `conflict-retry` or `store-error`; `None` when the request was
    /// answered before its session was looked for.
    pub outcome: Option<&'static str>,
    /// Writes to send after the answer (the touch of an unmodified session),
    /// with [`edge_session::session::run_deferred`]: the entry hands them to
    /// the platform's `waitUntil`.
    pub deferred: Vec<Deferred>,
    /// For the page (`GET /`): the edits that fill the static page in
    /// ([`page::edits`]); the entry applies them to the `ASSETS` file and
    /// `body` is unused.
    pub page: Option<Vec<page::Edit>>,
}

/// Why a request could not be served; each maps to one HTTP answer in
/// [`AppError::into_response`].
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(thiserror::Error)]
pub enum AppError {
    /// The body is longer than [`MAX_BODY_BYTES`]: at least this many
    /// bytes (its declared length, or what was read of a chunked one before
    /// it was abandoned).
    #[error("the request body is at least {0} bytes long; at most {MAX_BODY_BYTES} are accepted")]
    BodyTooLarge(usize),
    /// A state-changing request sent from another site.
    #[error("cross-site request refused: state-changing requests must come from this site's own pages")]
    CrossSite,
    /// The route needs a logged-in user.
    #[error("log in first")]
    NotLoggedIn,
    /// An account operation failed.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// The `Cookie` header is over one of its limits: its length, its
    /// number of cookies or the size of one cookie.
    #[error(transparent)]
    CookieTooLarge(#[from] CookieHeaderError),
    /// A known route was asked with another method.
    #[error("{method} is not allowed on {path}; use {allow}")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The route.
        path: String,
        /// The methods the route takes, as the `Allow` header lists them.
        allow: String,
    },
    /// No such route.
    #[error("no route for {0}")]
    NotFound(String),
    /// A session handle that is not one of the user's live sessions
    /// (made up, another user's, or ended already).
    #[error("none of your signed-in sessions has that handle (it may have ended already)")]
    UnknownSession,
    /// Registration is off (`ACCOUNTS_REGISTRATION=false`).
    #[error("registration is closed on this site")]
    RegistrationClosed,
    /// The request's path is outside the session cookie's Path, where
    /// express-session gives a request no session.
    #[error("{path} has no session: it is outside the session cookie's Path={cookie_path} (SESSION_COOKIE_PATH); the demo's routes are under /api, so set it to / or /api")]
    OutsideCookiePath {
        /// The request's path.
        path: String,
        /// The configured cookie Path.
        cookie_path: String,
    },
    /// The request's parameters or body are unusable.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The stored `views` is an object or array, which the counter cannot
    /// add one to.
    #[error("the session's `views` field is not a number; it was left unchanged")]
    ViewsNotCountable,
    /// The session layer failed (the store, or a field of the wrong type).
    #[error(transparent)]
    Session(#[from] SessionError),
}
edge_session::debug_is_display!(AppError);

impl AppError {
    /// The one place errors become HTTP answers.
    pub fn into_response(self) -> Response {
        let (status, message, mut headers) = self.answer_parts();
        // The page reads the wait from the body, not from the message text.
        let retry_after: Option<u64> =
            headers.iter().find(|(name, _)| *name == "Retry-After").and_then(|(_, v)| v.parse().ok());
        headers.insert(0, ("Content-Type", "application/json; charset=utf-8".into()));
        headers.push(("Cache-Control", "no-store".into()));
        let body = match retry_after {
            Some(seconds) => json_text(&serde_json::json!({ "error": message, "retryAfter": seconds })),
            None => error_body(&message),
        };
        Response {
            status,
            headers,
            body,
            detail: Some(error_chain(&self)),
            outcome: None,
            deferred: Vec::new(),
            page: None,
        }
    }

    /// Whether the store failed (503): nothing can be saved, not even a
    /// flash message saying so.
    pub fn is_store_failure(&self) -> bool {
        matches!(self, AppError::Session(SessionError::Store(_)) | AppError::Account(AccountError::Store(_)))
    }

    /// The status, the message the visitor reads and the extra headers.
    fn answer_parts(&self) -> (u16, String, Vec<(&'static str, String)>) {
        let plain = |status: u16| (status, self.to_string(), vec![]);
        match self {
            AppError::Session(SessionError::Store(e)) | AppError::Account(AccountError::Store(e)) => {
                (503, e.visitor_message().to_owned(), vec![("Retry-After", "5".to_string())])
            }
            AppError::CookieTooLarge(_) | AppError::BadRequest(_) => plain(400),
            AppError::Account(AccountError::Username(_) | AccountError::Password | AccountError::WeakPassword(_)) => {
                plain(400)
            }
            AppError::NotLoggedIn | AppError::Account(AccountError::BadCredentials) => plain(401),
            AppError::CrossSite | AppError::RegistrationClosed => plain(403),
            AppError::NotFound(_) | AppError::OutsideCookiePath { .. } | AppError::UnknownSession => plain(404),
            AppError::MethodNotAllowed { allow, .. } => (405, self.to_string(), vec![("Allow", allow.to_string())]),
            AppError::ViewsNotCountable | AppError::Account(AccountError::Taken | AccountError::LookAlike) => {
                plain(409)
            }
            // Other requests kept saving the session (or logging in) first:
            // nothing was written, and trying again is safe.
            AppError::Session(SessionError::Conflict { .. } | SessionError::ChangeRefused(_))
            | AppError::Account(AccountError::Conflict { .. }) => {
                (409, error_chain(self), vec![("Retry-After", "1".to_string())])
            }
            AppError::Session(SessionError::NotFound { .. } | SessionError::Stale { .. }) => {
                (409, error_chain(self), vec![])
            }
            AppError::BodyTooLarge(_) => plain(413),
            AppError::Account(AccountError::RateLimited { retry_after_seconds, .. }) => {
                (429, self.to_string(), vec![("Retry-After", retry_after_seconds.to_string())])
            }
            AppError::Session(
                SessionError::Field(_) | SessionError::Corrupt { .. } | SessionError::DocumentTooLarge { .. },
            )
            | AppError::Account(AccountError::Hash(_) | AccountError::Record(_)) => (500, error_chain(self), vec![]),
        }
    }
}

/// A non-negative `x` with `places` decimals (`fixed(3.04159, 1)` is
/// `3.0`; a negative `x` or NaN is 0), for durations shown to people:
/// `x × 10^places` rounded half away from zero, so a tie, or a value just
/// below one that the multiplication rounds up (0.35 → `0.4`), goes up
/// where `{:.1}` and `toFixed` look at the exact double.
/// Integer arithmetic rather than `format!("{:.1}")`: formatting a float
/// pulls Rust's float printing (`<f64 as Display>`, ~14 KB) into the wasm,
/// which nothing else there needs (issue 14).
pub fn fixed(x: f64, places: u32) -> String {
    let scale = 10u64.pow(places);
    // `as` saturates: a huge duration (or +∞) shows as u64::MAX units.
    let units = (x.max(0.0) * scale as f64).round() as u64;
    match places {
        0 => units.to_string(),
        _ => format!("{}.{:0width$}", units / scale, units % scale, width = places as usize),
    }
}

/// The `Server-Timing` header value (W3C Server Timing) of an answer: how
/// the session was found (`outcome`, see [`Response::outcome`]), the store
/// round trips it took before the answer with their total milliseconds,
/// and how many writes wait until after it (`deferred`, left out when 0),
/// e.g. `session;desc="hit", store;desc="1 round trip";dur=3.1,
/// deferred;desc="1"`, so that a browser's network panel shows what the
/// session layer cost.
pub fn server_timing(outcome: Option<&str>, round_trips: u32, millis: f64, deferred: usize) -> String {
    let trips = if round_trips == 1 { "1 round trip".to_owned() } else { format!("{round_trips} round trips") };
    let mut value = format!("store;desc=\"{trips}\";dur={}", fixed(millis, 1));
    if let Some(o) = outcome {
        value = format!("session;desc=\"{o}\", {value}");
    }
    if deferred > 0 {
        value.push_str(&format!(", deferred;desc=\"{deferred}\""));
    }
    value
}

/// What one answer of 400 or more (or a successful one with a warning,
/// [`answer_log_level`]) is logged as: one JSON object a line,
/// which Workers Logs (`[observability]`) indexes field by field and
/// `wrangler tail` prints as it is. Nothing of the visitor's is in it but
/// the method and path (no query, cookie, address or body), and `message`
/// is the whole error chain (upstream replies, Redis messages), never a
/// credential: configuration errors name the variable, not its value.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogLine<'a> {
    /// Always `edge-session`: what to filter on.
    pub source: &'static str,
    /// `warn` for 4xx and warnings, `error` for 5xx (also the console
    /// method used).
    pub level: &'static str,
    /// The status answered.
    pub status: u16,
    /// The request's method.
    pub method: &'a str,
    /// The request's path, without its query.
    pub path: &'a str,
    /// How the session was found ([`Response::outcome`]), if it was looked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<&'a str>,
    /// Store round trips before the answer.
    pub round_trips: u32,
    /// Their milliseconds.
    pub store_ms: f64,
    /// Cloudflare's `CF-Ray` of the request, to find it in the dashboard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ray: Option<&'a str>,
    /// What went wrong.
    pub message: &'a str,
}

impl LogLine<'_> {
    /// The line.
    pub fn render(&self) -> String {
        json_text(self)
    }
}

/// Whether and how an answer is logged ([`LogLine::level`]): `error` for
/// 5xx, `warn` for 4xx and for an answer under 400 with a warning in its
/// [`Response::detail`] (`warned`), `None` otherwise (not logged).
pub fn answer_log_level(status: u16, warned: bool) -> Option<&'static str> {
    match (status, warned) {
        (500.., _) => Some("error"),
        (400.., _) | (_, true) => Some("warn"),
        _ => None,
    }
}

/// The JSON of `/api/session` and `/api/pour`, with the seed demo's names.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionView {
    #[serde(rename = "sessionID")]
    session_id: String,
    /// Seconds from now until the loaded document's `cookie.expires`.
    session_expire_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    beers_viewed: Option<Value>,
    beer_name: Option<String>,
    beer_style: Option<String>,
    error: Option<String>,
    /// The logged-in user (absent when anonymous).
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    /// The user's beers over all sessions (absent when anonymous).
    #[serde(skip_serializing_if = "Option::is_none")]
    lifetime_beers: Option<i64>,
    /// Where the pour's beer came from (pour only): after the seed's
    /// members, which keep their order.
    #[serde(skip_serializing_if = "Option::is_none")]
    beer_source: Option<BeerSource>,
}

/// The routes of the demo, one variant per entry of [`ROUTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /`: the demo page, filled in ([`page`]).
    Page,
    /// `GET /api/session`: the session panel.
    Session,
    /// `POST /api/pour`: one more beer in this session.
    Pour,
    /// `POST /api/register`.
    Register,
    /// `POST /api/login`.
    Login,
    /// `POST /api/logout`.
    Logout,
    /// `POST /api/logout-all`.
    LogoutAll,
    /// `POST /api/password`.
    Password,
    /// `GET /api/sessions`: the user's signed-in sessions.
    Sessions,
    /// `POST /api/sessions/{handle}/logout`: ends one of them.
    EndSession,
    /// `POST /api/logout-others`: ends all but this one.
    LogoutOthers,
    /// `/lab/<ops>` (feature `lab` only; any method).
    #[cfg(feature = "lab")]
    Lab,
}

/// The groups routes are switched on and off by ([`crate::config::Routes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteGroup {
    /// The craft-beer demo (`DEMO_ROUTES`).
    Demo,
    /// Accounts (`ACCOUNTS_ROUTES`).
    Accounts,
}

/// One route: its path (lowercase, no trailing slash; a segment in braces,
/// like `{handle}`, stands for any one non-empty segment: [`match_path`])
/// and the methods it answers, in the order the `Allow` header lists them.
#[derive(Debug)]
pub struct RouteEntry {
    /// The path.
    pub path: &'static str,
    /// The methods served.
    pub methods: &'static [&'static str],
    /// The handler.
    pub route: Route,
    /// The switch it is under.
    pub group: RouteGroup,
}

/// Every route of the demo, declared once: dispatch and the `Allow` header
/// of a 405 both come from here.
pub const ROUTES: &[RouteEntry] = &[
    RouteEntry { path: "/", methods: &["GET", "HEAD"], route: Route::Page, group: RouteGroup::Demo },
    RouteEntry { path: "/api/session", methods: &["GET", "HEAD"], route: Route::Session, group: RouteGroup::Demo },
    RouteEntry { path: "/api/pour", methods: &["POST"], route: Route::Pour, group: RouteGroup::Demo },
    RouteEntry { path: "/api/register", methods: &["POST"], route: Route::Register, group: RouteGroup::Accounts },
    RouteEntry { path: "/api/login", methods: &["POST"], route: Route::Login, group: RouteGroup::Accounts },
    RouteEntry { path: "/api/logout", methods: &["POST"], route: Route::Logout, group: RouteGroup::Accounts },
    RouteEntry { path: "/api/logout-all", methods: &["POST"], route: Route::LogoutAll, group: RouteGroup::Accounts },
    RouteEntry { path: "/api/password", methods: &["POST"], route: Route::Password, group: RouteGroup::Accounts },
    RouteEntry {
        path: "/api/sessions",
        methods: &["GET", "HEAD"],
        route: Route::Sessions,
        group: RouteGroup::Accounts,
    },
    RouteEntry {
        path: "/api/sessions/{handle}/logout",
        methods: &["POST"],
        route: Route::EndSession,
        group: RouteGroup::Accounts,
    },
    RouteEntry {
        path: "/api/logout-others",
        methods: &["POST"],
        route: Route::LogoutOthers,
        group: RouteGroup::Accounts,
    },
];

/// Whether the normalized `path` is a route's `pattern`, whose segments in
/// braces stand for any one non-empty segment: `None` when it is not, else
/// the last such segment of `path` (`None` inside when there is none).
/// Handles are lowercase hex, so the lowercased path keeps them.
pub fn match_path<'a>(pattern: &str, path: &'a str) -> Option<Option<&'a str>> {
    let (mut want, mut got) = (pattern.split('/'), path.split('/'));
    let mut param = None;
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(param),
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') && !g.is_empty() => param = Some(g),
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

/// The segment of the normalized `path` that `route`'s `{…}` stands for.
fn route_param(route: Route, path: &str) -> Option<&str> {
    ROUTES.iter().filter(|e| e.route == route).find_map(|e| match_path(e.path, path)).flatten()
}

/// Whether a group's routes are on.
fn group_on(routes: Routes, group: RouteGroup) -> bool {
    match group {
        RouteGroup::Demo => routes.demo,
        RouteGroup::Accounts => routes.accounts,
    }
}

/// Whether the worker answers `path` itself (with any method: a known path
/// asked with another method is its 405), rather than leaving it to the
/// origin in gateway mode.
pub fn owns(routes: Routes, path: &str) -> bool {
    let path = normalize_path(path);
    #[cfg(feature = "lab")]
    if path.starts_with("/lab/") {
        return true;
    }
    ROUTES.iter().any(|e| match_path(e.path, &path).is_some() && group_on(routes, e.group))
}

/// The route for `path` (already normalized) and `method`, among those
/// `routes` switches on.
///
/// # Errors
///
/// [`AppError::MethodNotAllowed`] (with the route's methods for `Allow`)
/// when the path is known but the method is not, [`AppError::NotFound`]
/// when the path is not (or its route is off).
pub fn resolve(routes: Routes, path: &str, method: &str, original_path: &str) -> Result<Route, AppError> {
    #[cfg(feature = "lab")]
    if path.starts_with("/lab/") {
        return Ok(Route::Lab);
    }
    let entry = ROUTES
        .iter()
        .find(|e| match_path(e.path, path).is_some() && group_on(routes, e.group))
        .ok_or_else(|| AppError::NotFound(path.into()))?;
    if entry.methods.contains(&method) {
        return Ok(entry.route);
    }
    Err(AppError::MethodNotAllowed {
        method: method.into(),
        path: original_path.into(),
        allow: entry.methods.join(", "),
    })
}

/// Express's routing: case-insensitive, one trailing slash ignored.
fn normalize_path(path: &str) -> String {
    match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => path,
    }
    .to_ascii_lowercase()
}

/// What every handler gets: the request, the layers bound to the
/// configuration and store, and the time.
pub struct Ctx<'a, S> {
    /// The whole configuration.
    pub config: &'a Config,
    /// The request.
    pub req: &'a Request<'a>,
    /// The session layer.
    pub sessions: Sessions<'a, S>,
    /// The account layer.
    pub accounts: Accounts<'a, S>,
    /// The store both layers use.
    pub store: &'a S,
    /// The time the request is served at.
    pub now: Millis,
    /// The normalized path.
    pub path: String,
    /// The user the request's `<name>.user` cookie names (untrusted: see
    /// [`companion`]).
    pub hint: Option<String>,
    /// That cookie's value as sent (canonical or not), to put it right.
    pub hint_sent: Option<String>,
}

impl<S: AccountStore> Ctx<'_, S> {
    /// For a browser's form ([`Request::is_form`]): `message` kept in the
    /// session as a connect-flash message of type `kind`, for the page the
    /// form's `303` leads to. A JSON request gets nothing: its answer says it.
    /// A `flash` field another app filled with something else than an object
    /// is left alone, and the message goes unshown rather than the request failing.
    fn flash(&self, session: &mut Session, kind: &str, message: &str) {
        if self.req.is_form() {
            let _ = flash::push(session, kind, message);
        }
    }

    /// Loads the request's session with `lookups` in the same round trip.
    async fn load(&self, lookups: &[Lookup]) -> Result<(Session, Vec<Found>), AppError> {
        let secure = self.req.is_secure(self.config.session.trust_proxy);
        Ok(self.sessions.load_with(self.req.cookie, self.now, secure, lookups).await?)
    }

    /// The `Set-Cookie` line that brings the browser's `<name>.user` up to
    /// date with the session as committed, if it needs one.
    fn user_cookie(&self, session: &Session) -> Option<String> {
        let user = session.passport_user::<String>().ok().flatten().filter(|_| !session.is_ended());
        let secure = self.req.is_secure(self.config.session.trust_proxy);
        companion::user_cookie(self.config, self.hint_sent.as_deref(), user.as_deref(), session.cookie(), secure)
    }
}

/// The session layer of one request. The touch of an unmodified session
/// waits until the answer is sent ([`Response::deferred`]), except in the
/// `lab` build, whose requests the golden tests compare with
/// express-session's command by command.
fn sessions<'a, S: AccountStore>(config: &'a Config, store: &'a S) -> Sessions<'a, S> {
    let sessions = Sessions::new(&config.session, store);
    if cfg!(feature = "lab") {
        sessions
    } else {
        sessions.deferring_writes()
    }
}

/// Serves one request of the demo; `upstream` is the network the beer API
/// (`BEER_API_URL`) is called through, when one is configured.
pub async fn handle<S: AccountStore, U: Upstream>(
    config: &Config,
    store: &S,
    upstream: &U,
    req: &Request<'_>,
    now: Millis,
) -> Response {
    let resp = match serve(config, store, upstream, req, now).await {
        Ok(resp) => resp,
        Err(err) => err.into_response(),
    };
    // A browser that asked for a page gets its errors on the page (a
    // failing store, a refused form), not as raw JSON.
    let page = matches!(req.method, "GET" | "HEAD") && normalize_path(req.path) == "/";
    match (page && config.routes.demo) || req.is_form() {
        true => page::as_error_page(resp),
        false => resp,
    }
}

async fn serve<S: AccountStore, U: Upstream>(
    config: &Config,
    store: &S,
    upstream: &U,
    req: &Request<'_>,
    now: Millis,
) -> Result<Response, AppError> {
    let path = normalize_path(req.path);
    let route = resolve(config.routes, &path, req.method, req.path)?;
    req.cookie.map_or(Ok(()), check_cookie_header)?;
    if req.body.len() > MAX_BODY_BYTES {
        return Err(AppError::BodyTooLarge(req.body.len()));
    }
    if !matches!(req.method, "GET" | "HEAD") && !csrf::same_origin(req) {
        return Err(AppError::CrossSite);
    }
    let cookie_path = config.session.cookie.path.as_deref();
    if !decide::in_cookie_path(req.path, cookie_path) {
        return Err(AppError::OutsideCookiePath {
            path: req.path.into(),
            cookie_path: cookie_path.unwrap_or("/").into(),
        });
    }

    let ctx = Ctx {
        config,
        req,
        sessions: sessions(config, store),
        accounts: Accounts::new(&config.accounts, store),
        store,
        now,
        path,
        hint: companion::hinted_user(req.cookie, config),
        hint_sent: companion::sent_user_cookie(req.cookie, config),
    };
    let result = route_session(&ctx, upstream, route).await;
    let result = match req.is_form() {
        true => form_answer(&ctx, route, result).await,
        false => result,
    };
    // Once the session was looked for, every answer says how that went.
    let store_failed =
        matches!(&result, Err(AppError::Session(SessionError::Store(_)) | AppError::Account(AccountError::Store(_))));
    let outcome = match (store_failed, ctx.sessions.conflicts(), ctx.sessions.outcome()) {
        (true, _, _) => Some("store-error"),
        (false, n, _) if n > 0 => Some("conflict-retry"),
        (false, _, loaded) => loaded.map(LoadOutcome::as_str),
    };
    let mut resp = result.unwrap_or_else(AppError::into_response);
    resp.outcome = outcome;
    resp.deferred = ctx.sessions.take_deferred();
    Ok(resp)
}

/// Runs the route's handler; each loads the request's session with the
/// reads it needs in the same round trip.
async fn route_session<S: AccountStore, U: Upstream>(
    ctx: &Ctx<'_, S>,
    upstream: &U,
    route: Route,
) -> Result<Response, AppError> {
    match route {
        Route::Page => show_page(ctx).await,
        Route::Session => show_session(ctx).await,
        Route::Pour => pour(ctx, upstream).await,
        Route::Register => accounts::register(ctx).await,
        Route::Login => accounts::login(ctx).await,
        Route::Logout => accounts::logout(ctx, ctx.load(&[]).await?.0).await,
        Route::LogoutAll => accounts::logout_all(ctx).await,
        Route::Password => accounts::change_password(ctx).await,
        Route::Sessions => devices::list_sessions(ctx).await,
        Route::EndSession => {
            let handle = route_param(route, &ctx.path).ok_or_else(|| AppError::NotFound(ctx.path.clone()))?;
            devices::end_session(ctx, handle).await
        }
        Route::LogoutOthers => devices::logout_others(ctx).await,
        #[cfg(feature = "lab")]
        Route::Lab if ctx.path == "/lab/unicode" => lab::unicode(ctx.req),
        #[cfg(feature = "lab")]
        Route::Lab => lab::route(ctx, ctx.load(&[]).await?.0).await,
    }
}

/// `GET /api/session`: the panel, with lifetime beers when logged in. The
/// count is read with the session, in one round trip, for the user the
/// browser's `<name>.user` cookie names; it is shown only when that is the
/// session's user (otherwise it is read again, and the cookie put right).
async fn show_session<S: AccountStore>(ctx: &Ctx<'_, S>) -> Result<Response, AppError> {
    let (mut session, found) = ctx.load(&user_lookups(ctx, ctx.hint.as_deref())).await?;
    let expires_in = expires_in(&session, ctx.now);
    // Read before the commit: a failing store then leaves no session behind.
    let lifetime_beers = logged_in_user(ctx, &mut session, found).await?.map(|u| u.lifetime_beers);
    let mut set_cookies = ctx.sessions.commit(&mut session, ctx.now).await?;
    set_cookies.extend(ctx.user_cookie(&session));
    // A session that was logged out meanwhile is a new, anonymous one now.
    let user = session.passport_user::<String>().ok().flatten();
    let mut view = view_of(&session, user.clone(), expires_in);
    view.lifetime_beers = lifetime_beers.filter(|_| user.is_some());
    Ok(json_ok(&view, set_cookies))
}

/// `GET /`: the page, with what `/api/session` shows, the last beer poured,
/// the flash messages left by a form (taken out of the session, as
/// connect-flash's `req.flash()` does), where the user is signed in
/// ([`devices::devices`]) and the stored document, as [`page::Edit`]s for
/// the entry to apply to the static file. One store round trip (two for a
/// logged-in user with other sessions: their documents), and a save only
/// when there were messages to take.
async fn show_page<S: AccountStore>(ctx: &Ctx<'_, S>) -> Result<Response, AppError> {
    // With the hinted user's count and record, their session index: the
    // devices list then costs one more round trip (none without others).
    let mut lookups = user_lookups(ctx, ctx.hint.as_deref());
    lookups.extend(ctx.hint.iter().map(|name| Lookup::Members(keys::user_sessions(name))));
    let (mut session, mut found) = ctx.load(&lookups).await?;
    let members = ctx.hint.as_ref().and_then(|_| found.pop()).and_then(Found::into_members);
    let loaded = session.stored_document();
    let expires_before = expires_in(&session, ctx.now);
    let lifetime_beers = logged_in_user(ctx, &mut session, found).await?.map(|u| u.lifetime_beers);
    // Read before the commit: a failing store then leaves nothing behind.
    let devices = match session.passport_user::<String>().ok().flatten() {
        Some(name) => {
            let members = members.filter(|_| companion::hint_holds(ctx.hint.as_deref(), Some(&name)));
            Some(devices::devices(ctx, &session, &name, members).await?)
        }
        None => None,
    };
    // A HEAD shows nothing: it leaves the messages for the page.
    let messages = if ctx.req.method == "GET" { flash::take_all(&mut session) } else { Default::default() };
    let mut set_cookies = ctx.sessions.commit(&mut session, ctx.now).await?;
    // The cookie's real expiry: the one just sent, or the stored one the
    // browser already has (a touch renews only the key's TTL).
    let sent = set_cookies.iter().any(|c| c.starts_with(&format!("{}=", ctx.config.session.cookie_name)));
    let expires_in_s = if sent { expires_in(&session, ctx.now) } else { expires_before };
    set_cookies.extend(ctx.user_cookie(&session));
    let user = session.passport_user::<String>().ok().flatten();
    let document = session.stored_document().or(loaded).map(|json| (ctx.sessions.key(session.id()), json));
    // With SESSION_SAVE_UNINITIALIZED=false a new session is not stored:
    // its id is no one's, and a pour from this page is not a return.
    let stored = !session.is_new() || sent;
    let view = page::PageView {
        session_id: stored.then(|| session.id().to_string()),
        expires_in_s,
        views: session.get::<Value>("views").ok().flatten(),
        lifetime_beers: lifetime_beers.filter(|_| user.is_some()),
        user,
        last_beer: session.get::<page::LastBeer>(page::LAST_BEER).ok().flatten(),
        flash: messages,
        notice: session.notice().map(str::to_owned),
        document,
        express_url: ctx.config.express_url.clone(),
        devices,
    };
    let mut resp = json_ok(&serde_json::json!({}), set_cookies);
    resp.headers.retain(|(name, _)| *name != "Content-Type");
    resp.headers.push(("Content-Type", "text/html; charset=utf-8".into()));
    resp.body = String::new();
    resp.page = Some(page::edits(&view));
    Ok(resp)
}

/// A browser form's answer ([`Request::is_form`]): `303 See Other` to `/`
/// with the handler's `Set-Cookie` lines; the page it leads to shows the
/// outcome from the flash message the handler left in the session. A
/// refusal (a wrong password, a closed registration, a cross-site form)
/// becomes a flash message of its own, in the account panel for the
/// account routes, saved with one more load and save. A failing store
/// keeps its 503: there is nowhere to keep the message.
async fn form_answer<S: AccountStore>(
    ctx: &Ctx<'_, S>,
    route: Route,
    result: Result<Response, AppError>,
) -> Result<Response, AppError> {
    // A success's warning (a pour whose beer API failed) is still logged.
    let (set_cookies, detail) = match result {
        Ok(resp) if resp.status < 400 => {
            let cookies = resp.headers.into_iter().filter(|(name, _)| *name == "Set-Cookie").map(|(_, v)| v);
            (cookies.collect(), resp.detail)
        }
        Ok(resp) => return Ok(resp),
        Err(e) if e.is_store_failure() => return Err(e),
        Err(e) => {
            let kind = match route {
                Route::Page | Route::Session | Route::Pour => page::FLASH_ERROR,
                _ => page::FLASH_ACCOUNT_ERROR,
            };
            let (_, message, _) = e.answer_parts();
            let (mut session, _) = ctx.load(&[]).await?;
            ctx.flash(&mut session, kind, &message);
            let mut set_cookies = ctx.sessions.commit(&mut session, ctx.now).await?;
            set_cookies.extend(ctx.user_cookie(&session));
            (set_cookies, None)
        }
    };
    let mut headers = vec![("Location", "/".to_owned()), ("Cache-Control", "no-store".to_owned())];
    headers.extend(set_cookies.into_iter().map(|c| ("Set-Cookie", c)));
    Ok(Response { status: 303, headers, body: String::new(), detail, outcome: None, deferred: Vec::new(), page: None })
}

/// What the gateway decided about a request it does not answer itself
/// ([`gateway_check`]).
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayVerdict {
    /// Forward, refuse or redirect.
    pub gate: Gate,
    /// Who the origin is told is asking.
    pub identity: Identity,
    /// How the session was found (`Server-Timing`), if it was looked for.
    pub outcome: Option<&'static str>,
}

/// Gateway mode's look at a request bound for the origin: the session
/// loaded (one store read, nothing
/// written: the origin's own express-session touches and saves it), the
/// identity the origin gets ([`edge_session::gateway::identity_of`]) and
/// whether a path in `GATEWAY_REQUIRE_LOGIN` may pass ([`gate`]). A path
/// outside the cookie's Path has no session, as in express-session.
///
/// # Errors
///
/// The answer to send instead: 503 when the store fails (an Express origin on the same store could not
/// serve the request either; forwarding it as anonymous would log the
/// visitor out at the origin).
pub async fn gateway_check<S: AccountStore>(
    config: &Config,
    gateway: &GatewayConfig,
    store: &S,
    req: &Request<'_>,
    accept: Option<&str>,
    now: Millis,
) -> Result<GatewayVerdict, Response> {
    // No Cookie header limits here (the worker's own routes have them): the
    // origin decides what it accepts, and reading one cookie of a long
    // header costs little.
    let (identity, logged_in, outcome) = match decide::in_cookie_path(req.path, config.session.cookie.path.as_deref()) {
        false => (Identity::default(), false, None),
        true => {
            let sessions = Sessions::new(&config.session, store);
            let session = sessions.load(req.cookie, now, req.is_secure(config.session.trust_proxy)).await;
            let session = session.map_err(|e| {
                let mut answer = AppError::Session(e).into_response();
                answer.outcome = Some("store-error");
                answer
            })?;
            let outcome = sessions.outcome();
            let stored = matches!(outcome, Some(LoadOutcome::Hit | LoadOutcome::Expired));
            let identity = identity_of(&session, stored, config.session.passport_user_field.as_deref());
            // Logged in whatever Passport serialized, even without a text for it.
            let user = session.passport_user::<Value>().ok().flatten();
            let logged_in = stored && user.as_ref().is_some_and(passport::counts_as_user);
            (identity, logged_in, outcome.map(LoadOutcome::as_str))
        }
    };
    let protected = gateway.requires_login(req.path);
    let gate = gate(protected, logged_in, wants_html(accept), gateway.login_url.is_some());
    Ok(GatewayVerdict { gate, identity, outcome })
}

/// What a logged-in request reads of its user, in the session's round trip
/// when `name` (the `<name>.user` cookie's) is given: the lifetime count
/// and the user record (whether the account still exists).
fn user_lookups<S>(ctx: &Ctx<'_, S>, name: Option<&str>) -> Vec<Lookup> {
    name.map_or_else(Vec::new, |name| {
        vec![
            Lookup::Get(keys::user_counter(BEERS, name)),
            Lookup::Get(keys::user(&ctx.config.accounts.user_prefix, name)),
        ]
    })
}

/// The logged-in user of a loaded session, as [`user_lookups`] found it.
struct LoggedIn {
    lifetime_beers: i64,
}

/// The session's user, from what was read with it (`found`, for the hinted
/// user), or read now (one round trip more) when the hint was not the
/// session's user. A session logged in as a user whose record no longer
/// exists (a deleted account) is logged out here, as Passport's logout
/// does (a new id): it must not go on acting as that user.
async fn logged_in_user<S: AccountStore>(
    ctx: &Ctx<'_, S>,
    session: &mut Session,
    found: Vec<Found>,
) -> Result<Option<LoggedIn>, AppError> {
    let Some(name) = session.passport_user::<String>().ok().flatten() else {
        return Ok(None);
    };
    let found = match companion::hint_holds(ctx.hint.as_deref(), Some(&name)) {
        true => found,
        false => ctx.store.read(None, false, &user_lookups(ctx, Some(&name))).await.map_err(SessionError::from)?.found,
    };
    let mut found = found.into_iter();
    let lifetime_beers = counter_value(found.next().and_then(Found::into_value));
    if found.next().and_then(Found::into_value).is_none() {
        ctx.sessions.logout(session, ctx.now).await?;
        return Ok(None);
    }
    // Each save and touch of a logged-in session keeps its user's index
    // alive at least as long as the session (issue: the index outlived
    // nothing, or everything).
    session.keep_index(keys::user_sessions(&name));
    Ok(Some(LoggedIn { lifetime_beers }))
}

/// `POST /api/pour`: `views + 1` as the seed's JavaScript counts, applied to
/// the session as saved (an update: a parallel pour that saves first is
/// counted too), and one more lifetime beer, in the same step, when the
/// session is logged in. The beer is named by [`beer_api::choose`]: with
/// `BEER_API_URL` set, its cache key is read with the session (same round
/// trip), and a list fetched now is cached with the session's save (same
/// round trip), so the API costs no store round trip of its own.
async fn pour<S: AccountStore, U: Upstream>(ctx: &Ctx<'_, S>, upstream: &U) -> Result<Response, AppError> {
    let api = ctx.config.beer_api.as_ref();
    let mut lookups = user_lookups(ctx, ctx.hint.as_deref());
    // Last, so the user lookups keep their places for `logged_in_user`.
    lookups.extend(api.map(|api| Lookup::Get(keys::beer_cache(&api.url))));
    let (mut session, mut found) = ctx.load(&lookups).await?;
    let cached = match api {
        Some(_) => found.pop().and_then(Found::into_value),
        None => None,
    };
    let expires_in = expires_in(&session, ctx.now);
    // A login whose account was deleted pours no more as that user.
    logged_in_user(ctx, &mut session, found).await?;
    // The page's pour form names the session it showed: when that one is
    // gone (expired while the page was open), the page says this pour
    // started a new one.
    if session.is_new() && shown_session(ctx.req).is_some() {
        ctx.flash(
            &mut session,
            page::FLASH_INFO,
            "Your session had ended, so this pour started a new one: a new session id, counting from 1.",
        );
    }
    let mut poured = beer_api::choose(api, upstream, cached.as_deref(), beer::random_numbers()[0]).await;
    if let Some(write) = poured.cache_write.take() {
        session.also_write(write);
    }
    // A form's pour keeps its beer in the session (an assignment), for the
    // page its 303 leads to. The JSON API's document stays the seed's, byte
    // for byte the one its Express app writes: its answer carries the beer.
    if ctx.req.is_form() {
        let style = poured.beer.style.clone().unwrap_or_default();
        session
            .insert(
                page::LAST_BEER,
                &page::LastBeer { name: poured.beer.name.clone(), style, source: Some(poured.source) },
            )
            .map_err(SessionError::from)?;
    }
    session.update(|s| {
        let current = s.get::<Value>("views").map_err(SessionError::from)?;
        let views = next_views(current).ok_or(AppError::ViewsNotCountable)?;
        s.insert("views", &views).map_err(|e| AppError::Session(e.into()))?;
        // A logged-in pour also counts a lifetime beer, in the same step as
        // the session's save: both land or neither does. Decided here, so
        // that it is decided again if another request (a logout on an
        // Express app, say) saved the session first.
        if let Some(name) = s.passport_user::<String>().ok().flatten() {
            s.count_on_save(keys::user_counter(BEERS, &name));
        }
        Ok::<(), AppError>(())
    })?;
    let set_cookies = ctx.sessions.commit(&mut session, ctx.now).await?;
    let user = session.passport_user::<String>().ok().flatten();
    let mut view = view_of(&session, user.clone(), expires_in);
    view.lifetime_beers = session.counted().filter(|_| user.is_some());
    view.beer_name = Some(poured.beer.name);
    view.beer_style = poured.beer.style;
    view.beer_source = Some(poured.source);
    let mut resp = json_ok(&view, set_cookies);
    resp.detail = poured
        .failure
        .map(|e| format!("the pour's beer came from the built-in generator: {}", edge_session::error_chain(&e)));
    Ok(resp)
}

/// The session id the page's pour form says it showed (its `shown` field),
/// if the body is that form and the field is not empty.
fn shown_session(req: &Request<'_>) -> Option<String> {
    let form = req.content_type.is_some_and(|t| {
        t.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    form.then(|| form_urlencoded::parse(req.body).find(|(k, _)| k == "shown").map(|(_, v)| v.into_owned()))
        .flatten()
        .filter(|v| !v.is_empty())
}

/// Seconds from `now` until the loaded document's `cookie.expires`, as the
/// panel shows it (read before the commit resets the expiry).
fn expires_in(session: &Session, now: Millis) -> Option<f64> {
    session.cookie().remaining_ms(now).map(|ms| ms as f64 / 1000.0)
}

/// JSON text of an answer or log line as `JSON.stringify` writes it
/// ([`js_json::to_string`]); `{}` for what has no JSON form (a map with
/// non-string keys), which the app's own types never are.
pub fn json_text<T: Serialize + ?Sized>(body: &T) -> String {
    js_json::to_string(body).unwrap_or_else(|_| "{}".into())
}

/// The body of an error answer, `{"error":message}`.
pub fn error_body(message: &str) -> String {
    json_text(&serde_json::json!({ "error": message }))
}

/// A 200 JSON answer, never cached, with the session's Set-Cookie lines.
fn json_ok<T: Serialize>(body: &T, set_cookies: Vec<String>) -> Response {
    let mut headers = vec![
        ("Content-Type", "application/json; charset=utf-8".to_string()),
        ("Cache-Control", "no-store".to_string()),
    ];
    headers.extend(set_cookies.into_iter().map(|c| ("Set-Cookie", c)));
    let body = json_text(body);
    Response { status: 200, headers, body, detail: None, outcome: None, deferred: Vec::new(), page: None }
}

/// The seed's `views = views ? views + 1 : 1` with JavaScript's meaning, so
/// a session shared with the Express app counts the same on both sides:
/// falsy values (absent, `null`, `false`, `0`, `""`) restart at 1, numbers
/// add one, `true` becomes 2 and a string gets "1" appended. Objects and
/// arrays are refused rather than turned into "[object Object]1".
pub fn next_views(current: Option<Value>) -> Option<Value> {
    Some(match current {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Value::from(1),
        Some(Value::Bool(true)) => Value::from(2),
        Some(Value::String(s)) if s.is_empty() => Value::from(1),
        Some(Value::String(s)) => Value::from(s + "1"),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (_, Some(f)) if f == 0.0 || f.is_nan() => Value::from(1),
            (Some(i), _) if i < (1 << 53) => Value::from(i + 1),
            (_, Some(f)) => serde_json::Number::from_f64(f + 1.0).map(Value::Number)?,
            _ => return None,
        },
        Some(Value::Array(_)) | Some(Value::Object(_)) => return None,
    })
}

fn view_of(session: &Session, user: Option<String>, expires_in: Option<f64>) -> SessionView {
    SessionView {
        session_id: session.id().to_string(),
        session_expire_time: expires_in,
        beers_viewed: session.get::<Value>("views").ok().flatten(),
        beer_name: None,
        beer_style: None,
        beer_source: None,
        error: session.notice().map(str::to_owned),
        user,
        lifetime_beers: None,
    }
}

#[cfg(test)]
mod accounts_tests;
#[cfg(test)]
mod tests;
