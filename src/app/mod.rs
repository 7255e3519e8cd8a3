//! The worker's routes: the craft-beer demo (`GET /api/session`, `POST
//! /api/pour`) and the account routes (`app::accounts`) on top of the session
//! and account layers, behind the CSRF check. Platform-free: it takes a plain request, a store and the
//! time, and returns a plain response, so it is tested natively; the worker
//! entry only converts to and from the Workers types.

mod accounts;
pub mod beer;
pub mod csrf;
#[cfg(feature = "lab")]
pub mod lab;

use serde::Serialize;
use serde_json::Value;

use crate::accounts::{AccountError, Accounts};
use crate::config::{Config, MAX_COOKIE_HEADER_BYTES};
use crate::session::document::Millis;
use crate::session::{Session, SessionError, Sessions};
use crate::store::AccountStore;

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
    /// The body (empty for GET).
    pub body: &'a [u8],
}

impl Request<'_> {
    /// express-session's `issecure`: the request's own scheme, or, when the
    /// proxy is trusted (`SESSION_PROXY`), the first `X-Forwarded-Proto`
    /// value. A Secure cookie is only ever sent when this is true.
    pub fn is_secure(&self, trust_proxy: bool) -> bool {
        if self.https {
            return true;
        }
        trust_proxy
            && self
                .forwarded_proto
                .and_then(|v| v.split(',').next())
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
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
    /// answer (upstream replies, Redis messages).
    pub detail: Option<String>,
}

/// Why a request could not be served; each maps to one HTTP answer in
/// [`AppError::into_response`].
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The body is longer than [`MAX_BODY_BYTES`].
    #[error("the request body is {0} bytes long; at most {MAX_BODY_BYTES} are accepted")]
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
    /// The `Cookie` header is longer than [`MAX_COOKIE_HEADER_BYTES`].
    #[error("the Cookie header is {0} bytes long; at most {MAX_COOKIE_HEADER_BYTES} are accepted")]
    CookieTooLarge(usize),
    /// A known route was asked with another method.
    #[error("{method} is not allowed on {path}; use {allow}")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The route.
        path: String,
        /// The methods the route takes.
        allow: &'static str,
    },
    /// No such route.
    #[error("no route for {0}")]
    NotFound(String),
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

impl AppError {
    /// The one place errors become HTTP answers.
    pub fn into_response(self) -> Response {
        let plain = |status: u16| (status, self.to_string(), vec![]);
        let (status, message, mut headers) = match &self {
            AppError::Session(SessionError::Store(_)) | AppError::Account(AccountError::Store(_)) => (
                503,
                "the session store is unavailable; try again in a few seconds".to_owned(),
                vec![("Retry-After", "5".to_string())],
            ),
            AppError::CookieTooLarge(_) | AppError::BadRequest(_) => plain(400),
            AppError::Account(AccountError::Username(_) | AccountError::Password) => plain(400),
            AppError::NotLoggedIn | AppError::Account(AccountError::BadCredentials) => plain(401),
            AppError::CrossSite => plain(403),
            AppError::NotFound(_) => plain(404),
            AppError::MethodNotAllowed { allow, .. } => (405, self.to_string(), vec![("Allow", allow.to_string())]),
            AppError::ViewsNotCountable | AppError::Account(AccountError::Taken) => plain(409),
            AppError::Session(SessionError::NotFound { .. }) => (409, chain(&self), vec![]),
            AppError::BodyTooLarge(_) => plain(413),
            AppError::Account(AccountError::RateLimited(wait)) => {
                (429, self.to_string(), vec![("Retry-After", wait.to_string())])
            }
            AppError::Session(SessionError::Field(_) | SessionError::Corrupt { .. })
            | AppError::Account(AccountError::Hash(_) | AccountError::Record(_)) => (500, chain(&self), vec![]),
        };
        headers.insert(0, ("Content-Type", "application/json; charset=utf-8".into()));
        headers.push(("Cache-Control", "no-store".into()));
        let body = serde_json::json!({ "error": message }).to_string();
        Response { status, headers, body, detail: Some(chain(&self)) }
    }
}

/// An error and its sources, joined with ": ".
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
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
    beer_style: Option<&'static str>,
    error: Option<String>,
    /// The logged-in user (absent when anonymous).
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    /// The user's beers over all sessions (absent when anonymous).
    #[serde(skip_serializing_if = "Option::is_none")]
    lifetime_beers: Option<i64>,
}

/// Serves one request of the demo.
pub async fn handle<S: AccountStore>(config: &Config, store: &S, req: &Request<'_>, now: Millis) -> Response {
    match route(config, store, req, now).await {
        Ok(resp) => resp,
        Err(err) => err.into_response(),
    }
}

async fn route<S: AccountStore>(config: &Config, store: &S, req: &Request<'_>, now: Millis) -> Result<Response, AppError> {
    // Express routes ignore case and one trailing slash by default.
    let path = match req.path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => req.path,
    }
    .to_ascii_lowercase();
    let route = match (path.as_str(), req.method) {
        ("/api/session", "GET" | "HEAD") => Route::Session,
        ("/api/pour", "POST") => Route::Pour,
        ("/api/register", "POST") => Route::Register,
        ("/api/login", "POST") => Route::Login,
        ("/api/logout", "POST") => Route::Logout,
        ("/api/logout-all", "POST") => Route::LogoutAll,
        ("/api/session", m) => return Err(not_allowed(m, req.path, "GET")),
        ("/api/pour" | "/api/register" | "/api/login" | "/api/logout" | "/api/logout-all", m) => {
            return Err(not_allowed(m, req.path, "POST"))
        }
        #[cfg(feature = "lab")]
        (p, _) if p.starts_with("/lab/") => Route::Lab,
        (p, _) => return Err(AppError::NotFound(p.into())),
    };
    let cookie_len = req.cookie.map_or(0, str::len);
    if cookie_len > MAX_COOKIE_HEADER_BYTES {
        return Err(AppError::CookieTooLarge(cookie_len));
    }
    if req.body.len() > MAX_BODY_BYTES {
        return Err(AppError::BodyTooLarge(req.body.len()));
    }
    if !matches!(req.method, "GET" | "HEAD") && !csrf::same_origin(req) {
        return Err(AppError::CrossSite);
    }

    let secure = req.is_secure(config.trust_proxy);
    let sessions = Sessions::new(&config.session, store);
    let mut session = sessions.load(req.cookie, now, secure).await?;
    let accounts = Accounts::new(&config.accounts, store);
    let user = session.passport_user::<String>().ok().flatten();
    let mut view = view_of(&session, user.clone(), now);
    match route {
        Route::Session => {
            if let Some(name) = &user {
                view.lifetime_beers = Some(accounts.lifetime_beers(name).await?);
            }
        }
        Route::Pour => {
            let current = session.get::<Value>("views").map_err(SessionError::from)?;
            let views = next_views(current).ok_or(AppError::ViewsNotCountable)?;
            session.insert("views", &views).map_err(SessionError::from)?;
            if let Some(name) = &user {
                view.lifetime_beers = Some(accounts.add_beer(name).await?);
            }
            let beer = beer::random();
            view.beers_viewed = Some(views);
            view.beer_name = Some(beer.name);
            view.beer_style = Some(beer.style);
        }
        Route::Register | Route::Login | Route::Logout | Route::LogoutAll => {
            return accounts::route(route, config, &sessions, &accounts, session, req, now, secure).await;
        }
        #[cfg(feature = "lab")]
        Route::Lab => return lab::route(&sessions, session, req, &path["/lab/".len()..], now, secure).await,
    }
    // The answer waits for the store: what the browser sees next is what
    // Redis holds.
    let set_cookie = sessions.commit(session, now, secure).await?;
    Ok(json_ok(&view, set_cookie))
}

/// The routes of the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Session,
    Pour,
    Register,
    Login,
    Logout,
    LogoutAll,
    #[cfg(feature = "lab")]
    Lab,
}

/// A 200 JSON answer, never cached, with the session's Set-Cookie if any.
fn json_ok<T: Serialize>(body: &T, set_cookie: Option<String>) -> Response {
    let mut headers = vec![
        ("Content-Type", "application/json; charset=utf-8".to_string()),
        ("Cache-Control", "no-store".to_string()),
    ];
    if let Some(c) = set_cookie {
        headers.push(("Set-Cookie", c));
    }
    let body = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    Response { status: 200, headers, body, detail: None }
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

fn view_of(session: &Session, user: Option<String>, now: Millis) -> SessionView {
    SessionView {
        session_id: session.id().to_owned(),
        session_expire_time: session.cookie().remaining_ms(now).map(|ms| ms as f64 / 1000.0),
        beers_viewed: session.get::<Value>("views").ok().flatten(),
        beer_name: None,
        beer_style: None,
        error: session.notice().map(str::to_owned),
        user,
        lifetime_beers: None,
    }
}

fn not_allowed(method: &str, path: &str, allow: &'static str) -> AppError {
    AppError::MethodNotAllowed { method: method.into(), path: path.into(), allow }
}

#[cfg(test)]
mod tests;
