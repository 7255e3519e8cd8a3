//! Gateway mode: the worker in front of an existing origin (an Express app,
//! say), so that routes can move to the edge one by one. The worker verifies
//! the session cookie and loads the session, answers the routes it owns, and
//! forwards every other request to `ORIGIN_URL` with what it resolved in
//! headers the origin can check ([`Identity`], signed with `GATEWAY_SECRET`).
//!
//! Platform-free: which paths need a login ([`PathRule`], [`gate`]), which
//! headers go to the origin and come back ([`request_headers`],
//! [`dropped_response_headers`], RFC 9110 §7.6.1), and the signature
//! ([`signature`], [`verify`]). The forwarding itself, with bodies streamed
//! both ways, is the workers adapter's (`workers::forward`).
//!
//! # The headers the origin gets
//!
//! Every forwarded request carries the visitor's `Cookie` untouched, so an
//! express-session origin reads the same session itself, and:
//!
//! - `X-Session-Id`: the verified session id (no `s:` prefix, no
//!   signature) when the cookie names a session the store holds; absent
//!   otherwise.
//! - `X-Session-User`: Passport's `passport.user` as text
//!   (`encodeURIComponent` of it; [`crate::session::passport`]), absent when
//!   the session is not logged in.
//! - `X-Session-Signature`: `t=<unix seconds>,v1=<base64url HMAC-SHA256>`
//!   over [`signed_text`], always sent, so that an origin can tell a request
//!   that came through the gateway (and whose missing `X-Session-User` means
//!   "anonymous") from one sent to it directly.
//!
//! Any `X-Session-*` header the visitor sends is dropped before these are
//! added: only the gateway speaks for the session.

use std::time::Duration;

use base64ct::{Base64UrlUnpadded, Encoding as _};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{ConfigError, Environment, Vars, MIN_SECRET_BYTES};
use crate::session::cookie::{encode_uri_component, HmacKey};
use crate::session::Session;

/// The header with the verified session id.
pub const SESSION_ID_HEADER: &str = "X-Session-Id";
/// The header with the logged-in user, `encodeURIComponent`-encoded.
pub const SESSION_USER_HEADER: &str = "X-Session-User";
/// The header with the signature over the others ([`signature`]).
pub const SIGNATURE_HEADER: &str = "X-Session-Signature";
/// What every header the gateway speaks for starts with (lowercase): the
/// visitor's own are dropped.
pub const GATEWAY_HEADER_PREFIX: &str = "x-session-";
/// The first line of [`signed_text`]: the format's name and version.
pub const SIGNATURE_CONTEXT: &str = "edge-session-gateway/1";
/// How far a signature's time may be from the origin's clock, in seconds,
/// by default (the companion package's `maxSkewSeconds`).
pub const DEFAULT_MAX_SKEW_SECONDS: u64 = 60;

/// Gateway mode's options (`ORIGIN_URL` and the `GATEWAY_*` variables).
#[derive(Clone)]
pub struct GatewayConfig {
    /// `ORIGIN_URL`: the origin's scheme, host and port, without a path
    /// (`https://origin.example.com`); the request's path and query are
    /// appended unchanged.
    pub origin: String,
    /// `GATEWAY_SECRET`: the HMAC key of [`SIGNATURE_HEADER`], shared with
    /// the origin, made ready once with the configuration.
    key: HmacKey,
    /// `GATEWAY_REQUIRE_LOGIN`: paths refused at the edge without a login.
    pub require_login: Vec<PathRule>,
    /// `GATEWAY_LOGIN_URL`: where a browser asking for a protected page is
    /// sent instead of a 401 (with `next=<path>`), if set.
    pub login_url: Option<String>,
    /// `GATEWAY_ORIGIN_TIMEOUT_MS`: how long the origin may take to send its
    /// status and headers to a request without a body (its answer's body
    /// then streams with no limit; a request with a body waits as long as
    /// the origin takes, since its upload time counts too).
    pub origin_timeout: Duration,
}

/// The default of `GATEWAY_ORIGIN_TIMEOUT_MS`: 100 s, as long as
/// Cloudflare's own proxy waits for an origin before its 524.
pub const DEFAULT_ORIGIN_TIMEOUT: Duration = Duration::from_secs(100);

impl std::fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret is a credential: never in a log line.
        f.debug_struct("GatewayConfig")
            .field("origin", &self.origin)
            .field("secret", &"(redacted)")
            .field("require_login", &self.require_login)
            .field("login_url", &self.login_url)
            .field("origin_timeout", &self.origin_timeout)
            .finish()
    }
}

impl GatewayConfig {
    /// Reads `ORIGIN_URL`, `GATEWAY_SECRET`, `GATEWAY_REQUIRE_LOGIN`,
    /// `GATEWAY_LOGIN_URL` and `GATEWAY_ORIGIN_TIMEOUT_MS`. `None` when
    /// `ORIGIN_URL` is unset (no gateway).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the variable: an `ORIGIN_URL` that is not
    /// `http(s)://host[:port]`, a missing `GATEWAY_SECRET` (or, in
    /// production, one under [`MIN_SECRET_BYTES`]), a rule that does not
    /// start with `/` or has `*` anywhere but a final `/*`, a login URL
    /// with a control character; and any `GATEWAY_*` variable set without
    /// `ORIGIN_URL`, which would otherwise be ignored without a word.
    pub fn from_vars(v: &Vars<'_>) -> Result<Option<Self>, ConfigError> {
        let Some(origin) = v.text("ORIGIN_URL") else {
            v.refuse_set(
                &["GATEWAY_SECRET", "GATEWAY_REQUIRE_LOGIN", "GATEWAY_LOGIN_URL", "GATEWAY_ORIGIN_TIMEOUT_MS"],
                "only with ORIGIN_URL (gateway mode); set ORIGIN_URL or remove it",
            )?;
            return Ok(None);
        };
        let origin = parse_origin(origin.trim()).ok_or_else(|| ConfigError::Invalid {
            name: "ORIGIN_URL",
            value: origin.clone(),
            expected: "http(s)://host[:port] with no path, query or credentials, e.g. https://origin.example.com",
        })?;
        let secret = v.required("GATEWAY_SECRET")?;
        if Environment::from_vars(v)? == Environment::Production && secret.len() < MIN_SECRET_BYTES {
            return Err(ConfigError::Invalid {
                name: "GATEWAY_SECRET",
                value: format!("({} bytes)", secret.len()),
                expected: "at least 32 bytes of random text in production (e.g. `openssl rand -base64 48`)",
            });
        }
        let require_login = match v.text("GATEWAY_REQUIRE_LOGIN") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|rule| !rule.is_empty())
                .map(|rule| {
                    PathRule::parse(rule).ok_or_else(|| ConfigError::Invalid {
                        name: "GATEWAY_REQUIRE_LOGIN",
                        value: list.clone(),
                        expected: "comma-separated paths such as /account/*,/admin/*,/settings: each starts with /, and * only as a final /*",
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let login_url = v.attribute("GATEWAY_LOGIN_URL")?;
        let timeout_ms = v.number(
            "GATEWAY_ORIGIN_TIMEOUT_MS",
            DEFAULT_ORIGIN_TIMEOUT.as_millis() as u64,
            600_000,
            "milliseconds, 1 to 600000",
        )?;
        let origin_timeout = Duration::from_millis(timeout_ms);
        let key = HmacKey::new(secret.as_bytes());
        Ok(Some(Self { origin, key, require_login, login_url, origin_timeout }))
    }

    /// A configuration from its parts (tests, and workers that configure
    /// themselves); `origin` as [`GatewayConfig::from_vars`] accepts it.
    pub fn new(origin: &str, secret: &[u8], require_login: Vec<PathRule>, login_url: Option<String>) -> Option<Self> {
        let origin = parse_origin(origin)?;
        let key = HmacKey::new(secret);
        Some(Self { origin, key, require_login, login_url, origin_timeout: DEFAULT_ORIGIN_TIMEOUT })
    }

    /// Whether `path` (the request's, as received) needs a login
    /// ([`requires_login`] over [`GatewayConfig::require_login`]).
    pub fn requires_login(&self, path: &str) -> bool {
        requires_login(&self.require_login, path)
    }

    /// The URL a request for `path_and_query` is forwarded to.
    pub fn target_url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.origin, path_and_query)
    }

    /// The headers that tell the origin who is asking ([`Identity`]),
    /// signed at `now_seconds` for this `method`, `path_and_query` and
    /// `Cookie` header ([`signed_text`]).
    pub fn identity_headers(
        &self,
        identity: &Identity,
        method: &str,
        path_and_query: &str,
        cookie: Option<&str>,
        now_seconds: u64,
    ) -> Vec<(String, String)> {
        let mut out = Vec::with_capacity(3);
        if let Some(id) = &identity.session_id {
            out.push((SESSION_ID_HEADER.to_owned(), id.clone()));
        }
        if let Some(user) = &identity.user {
            out.push((SESSION_USER_HEADER.to_owned(), encode_uri_component(user)));
        }
        let text = signed_text(now_seconds, method, path_and_query, cookie, identity);
        out.push((SIGNATURE_HEADER.to_owned(), keyed_signature(&self.key, now_seconds, &text)));
        out
    }

    /// Where a browser is sent for a protected `path_and_query` without a
    /// login: [`GatewayConfig::login_url`] with `next=<path_and_query>`.
    pub fn login_redirect(&self, path_and_query: &str) -> Option<String> {
        let base = self.login_url.as_deref()?;
        let joiner = if base.contains('?') { '&' } else { '?' };
        Some(format!("{base}{joiner}next={}", encode_uri_component(path_and_query)))
    }
}

/// `http(s)://host[:port]` with one trailing `/` allowed, returned without
/// it; anything with a path, query, fragment, credentials or whitespace is
/// refused. Checked by hand rather than with a URL parser: the rule is
/// "nothing after the authority", which a parser would only normalize away.
fn parse_origin(text: &str) -> Option<String> {
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"))?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    let bad = |c: char| matches!(c, '/' | '?' | '#' | '@' | '\\') || c.is_whitespace() || c.is_control();
    (!authority.is_empty() && !authority.chars().any(bad)).then(|| text.strip_suffix('/').unwrap_or(text).to_owned())
}

/// Who the gateway found behind the request's cookie.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The verified id of a session the store holds.
    pub session_id: Option<String>,
    /// The session's Passport user, as text.
    pub user: Option<String>,
}

/// The text [`signature`] signs, one field a line: [`SIGNATURE_CONTEXT`],
/// the time in unix seconds, the method, the path and query as forwarded,
/// the `Cookie` header as forwarded, as base64url (no padding) of its
/// SHA-256 (empty when there is none), the session id and the user
/// header's value (empty when absent). The method and path tie a signature
/// to its request, the cookie to the visitor who sent it (copied onto a
/// request without that cookie, the headers do not verify), the time
/// bounds its replay.
pub fn signed_text(
    now_seconds: u64,
    method: &str,
    path_and_query: &str,
    cookie: Option<&str>,
    identity: &Identity,
) -> String {
    let user = identity.user.as_deref().map(encode_uri_component).unwrap_or_default();
    let id = identity.session_id.as_deref().unwrap_or("");
    let cookie = cookie.map(|c| Base64UrlUnpadded::encode_string(&Sha256::digest(c.as_bytes()))).unwrap_or_default();
    format!("{SIGNATURE_CONTEXT}\n{now_seconds}\n{method}\n{path_and_query}\n{cookie}\n{id}\n{user}")
}

/// The [`SIGNATURE_HEADER`] value: `t=<seconds>,v1=<base64url without
/// padding of HMAC-SHA256(secret, text)>`.
pub fn signature(secret: &[u8], now_seconds: u64, text: &str) -> String {
    keyed_signature(&HmacKey::new(secret), now_seconds, text)
}

/// [`signature`] under a key made ready once ([`GatewayConfig`]'s).
fn keyed_signature(key: &HmacKey, now_seconds: u64, text: &str) -> String {
    format!("t={now_seconds},v1={}", Base64UrlUnpadded::encode_string(&key.tag(text.as_bytes())))
}

/// Why a signature header was not accepted ([`verify`]).
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No header, or not `t=…,v1=…`.
    #[error("no gateway signature, or not t=<seconds>,v1=<mac>")]
    Malformed,
    /// The time is further than the allowed skew from now.
    #[error("the gateway signature is too old or from the future")]
    Expired,
    /// The MAC does not match.
    #[error("the gateway signature does not match")]
    Mismatch,
}
crate::debug_is_display!(SignatureError);

/// Checks a [`SIGNATURE_HEADER`] value as the origin does (the companion
/// package's `verifyGatewayHeaders` follows this): the time within
/// `max_skew_seconds` of `now_seconds`, and the MAC, compared in constant
/// time, that of [`signed_text`] for what the origin received: `request`
/// is its method, path and query, and `Cookie` header.
///
/// # Errors
///
/// [`SignatureError`] saying which check failed.
pub fn verify(
    secret: &[u8],
    header: &str,
    now_seconds: u64,
    max_skew_seconds: u64,
    request: (&str, &str, Option<&str>),
    identity: &Identity,
) -> Result<(), SignatureError> {
    let (method, path_and_query, cookie) = request;
    let (t, mac) = header
        .split_once(',')
        .and_then(|(t, mac)| Some((t.trim().strip_prefix("t=")?, mac.trim().strip_prefix("v1=")?)))
        .ok_or(SignatureError::Malformed)?;
    let t: u64 = t.parse().map_err(|_| SignatureError::Malformed)?;
    if t.abs_diff(now_seconds) > max_skew_seconds {
        return Err(SignatureError::Expired);
    }
    let want = signature(secret, t, &signed_text(t, method, path_and_query, cookie, identity));
    let got = format!("t={t},v1={mac}");
    match bool::from(want.as_bytes().ct_eq(got.as_bytes())) {
        true => Ok(()),
        false => Err(SignatureError::Mismatch),
    }
}

/// One entry of `GATEWAY_REQUIRE_LOGIN`: a path (`/settings`) or a path and
/// everything under it (`/account/*`, which also covers `/account`),
/// matched as Express routes match by default: without regard to case, one
/// trailing slash ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathRule {
    /// Exactly this path (lowercase, no trailing slash).
    Exact(String),
    /// This path and everything under it (lowercase, no trailing slash).
    Under(String),
}

impl PathRule {
    /// Parses `/a/b` or `/a/b/*`; `None` for anything else.
    pub fn parse(rule: &str) -> Option<Self> {
        if !rule.starts_with('/') {
            return None;
        }
        let (path, under) = match rule.strip_suffix("/*") {
            Some(path) => (path, true),
            None => (rule, false),
        };
        if path.contains('*') {
            return None;
        }
        let path = canonical_path(path);
        Some(if under { PathRule::Under(path) } else { PathRule::Exact(path) })
    }

    fn matches(&self, path: &str) -> bool {
        match self {
            PathRule::Exact(p) => path == p,
            // "/" with /* covers every path.
            PathRule::Under(p) if p == "/" => true,
            PathRule::Under(p) => path == p || path.strip_prefix(p.as_str()).is_some_and(|rest| rest.starts_with('/')),
        }
    }
}

/// Lowercase, runs of `/` as one, no trailing `/` (except the root).
fn canonical_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    // Whole-string lowercase applies the final-sigma rule (Σ → ς at the
    // end of a word); one σ for both keeps `/ΑΣ/x` under a rule `/ασ/*`.
    let mut out = crate::builtins::lowercase(&out).replace('ς', "σ");
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

/// Whether any rule covers `path`, as received (already free of `.` and
/// `..` segments: the URL parser resolved them). Origins decode before
/// they route or open a file (`express.static` serves
/// `/x/..%2Faccount/invoice.txt` as `/account/invoice.txt`), and not all
/// alike, so the path is checked as sent and after each round of
/// percent-decoding (up to [`MAX_DECODING_ROUNDS`]), each read several
/// ways: `\` kept or read as `/`, runs of `/` merged before or after `.`
/// and `..` are resolved (RFC 3986 §5.2.4). And a decoded path with a `.`
/// or `..` segment is covered outright: the URL parser resolves the dot
/// segments a browser sends, so an encoded one is never honest, and no
/// list of readings can be sure to match every origin's. Refusing a
/// strange spelling costs nothing, letting it through would open the page.
pub fn requires_login(rules: &[PathRule], path: &str) -> bool {
    if rules.is_empty() {
        return false;
    }
    let mut spelling = path.to_owned();
    for round in 0..=MAX_DECODING_ROUNDS {
        for variant in [spelling.clone(), spelling.replace('\\', "/")] {
            if round > 0 && has_dot_segment(&variant) {
                return true;
            }
            let readings = [remove_dot_segments(&merge_slashes(&variant)), remove_dot_segments(&variant)];
            if readings.iter().any(|p| {
                let p = canonical_path(p);
                rules.iter().any(|rule| rule.matches(&p))
            }) {
                return true;
            }
        }
        let decoded = percent_encoding::percent_decode_str(&spelling).decode_utf8_lossy().into_owned();
        if decoded == spelling {
            return false;
        }
        spelling = decoded;
    }
    // Still changing after that many rounds: no honest path looks like this.
    true
}

/// How many times [`requires_login`] percent-decodes a path: an origin
/// that decodes twice (a proxy, then the app) is covered too.
pub const MAX_DECODING_ROUNDS: usize = 3;

/// Whether a path has a `.` or `..` segment.
fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| segment == "." || segment == "..")
}

/// Runs of `/` as one (what Node's `path.normalize` does before `..`).
fn merge_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

/// RFC 3986 §5.2.4's remove_dot_segments for an absolute path: `.`
/// segments dropped, `..` removing the one before (never above the root).
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." | ".." if i == last => {
                if *segment == ".." && out.len() > 1 {
                    out.pop();
                }
                out.push("");
            }
            "." => {}
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

/// What the gateway does with a request ([`gate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Send it to the origin.
    Forward,
    /// Answer 401 at the edge.
    Refuse,
    /// Send the browser to the login page (303).
    RedirectToLogin,
}

/// The gateway's decision: a path that needs a login is forwarded only
/// with one; without, a browser asking for a page (`Accept: text/html`) is
/// sent to the login page when there is one, anything else gets a 401.
pub fn gate(protected: bool, logged_in: bool, wants_html: bool, has_login_url: bool) -> Gate {
    match (protected && !logged_in, wants_html && has_login_url) {
        (false, _) => Gate::Forward,
        (true, true) => Gate::RedirectToLogin,
        (true, false) => Gate::Refuse,
    }
}

/// Whether an `Accept` header asks for a page: `text/html` among its
/// types, with a weight above 0 (RFC 9110 §12.5.1: `q=0` means "not
/// acceptable").
pub fn wants_html(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        a.split(',').any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let html = parts.next().is_some_and(|t| t.eq_ignore_ascii_case("text/html"));
            let refused = parts.any(|p| {
                p.split_once('=').is_some_and(|(k, v)| k.trim().eq_ignore_ascii_case("q") && is_zero_weight(v.trim()))
            });
            html && !refused
        })
    })
}

/// Whether a `q` parameter's value is a weight of 0 or less (RFC 9110
/// §12.4.2: `0`, `0.`, `0.000`; and, beyond its grammar, what a float
/// parser reads as 0 or below: `-0`, `.0`, `0e5`, `+0`, `-1`), read by its
/// characters rather than with a float parser (not in the worker,
/// crate::builtins). Anything else, a malformed value included, is not.
fn is_zero_weight(q: &str) -> bool {
    let (negative, unsigned) = match q.as_bytes().first() {
        Some(b'-') => (true, &q[1..]),
        Some(b'+') => (false, &q[1..]),
        _ => (false, q),
    };
    let (mantissa, exponent) = unsigned.split_once(['e', 'E']).unwrap_or((unsigned, "0"));
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    let digits = || mantissa.bytes().filter(|&b| b != b'.');
    let number = digits().next().is_some()
        && digits().all(|b| b.is_ascii_digit())
        && mantissa.matches('.').count() <= 1
        && !exponent.is_empty()
        && exponent.bytes().all(|b| b.is_ascii_digit());
    number && (negative || digits().all(|b| b == b'0'))
}

/// Whether a request to the origin carries the visitor's body: not for
/// `GET` or `HEAD`, nor when `Content-Length` says 0 (RFC 9110 §8.6; fetch
/// sends `Content-Length: 0` with a bodyless `POST`). The runtime gives
/// such a request an empty, non-null body; counted as an upload it would
/// never be timed by `GATEWAY_ORIGIN_TIMEOUT_MS` (an upload waits as long
/// as the origin takes), so an origin that hangs on an empty `POST` would
/// hold the visitor forever.
pub fn sends_body(method: &str, content_length: Option<&str>) -> bool {
    let empty = content_length.is_some_and(|v| v.trim().parse::<u64>() == Ok(0));
    !(method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD") || empty)
}

/// Headers that describe one connection, not the message (RFC 9110
/// §7.6.1; `Proxy-Connection` and `Keep-Alive` from older practice), which
/// a gateway must not pass on.
pub const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
];

/// Whether header `name` stays on this hop: one of [`HOP_BY_HOP`], or named
/// by the message's `Connection` header (`connection_options`, lowercase).
pub fn is_hop_by_hop(name: &str, connection_options: &[String]) -> bool {
    let name = name.to_ascii_lowercase();
    HOP_BY_HOP.contains(&name.as_str()) || connection_options.contains(&name)
}

/// The options a `Connection` header lists (RFC 9110 §7.6.1), lowercase.
pub fn connection_options<'a>(headers: impl IntoIterator<Item = &'a (String, String)>) -> Vec<String> {
    headers
        .into_iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, v)| v.split(','))
        .map(|o| o.trim().to_ascii_lowercase())
        .filter(|o| !o.is_empty())
        .collect()
}

/// How the visitor reached the gateway, for the `X-Forwarded-*` headers.
#[derive(Debug, Clone, Copy)]
pub struct Forwarded<'a> {
    /// The visitor's scheme (`https` or `http`).
    pub proto: &'a str,
    /// The `Host` the visitor asked for.
    pub host: &'a str,
    /// The visitor's address (`CF-Connecting-IP`), if known.
    pub client_ip: Option<&'a str>,
}

/// The headers of the request to the origin: the visitor's, without
/// hop-by-hop headers, `Host` (the origin's is set from its URL) or any
/// `X-Session-*`; `X-Forwarded-For` with the visitor's address appended,
/// `X-Forwarded-Proto` and `X-Forwarded-Host` set (so an Express origin
/// with `trust proxy` sees the visitor's scheme, and a `secure` cookie is
/// still sent), then `identity` (from [`GatewayConfig::identity_headers`]).
pub fn request_headers(
    incoming: &[(String, String)],
    forwarded: Forwarded<'_>,
    identity: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let options = connection_options(incoming);
    let replaced = ["host", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-for"];
    let mut out: Vec<(String, String)> = incoming
        .iter()
        .filter(|(k, _)| {
            let lower = k.to_ascii_lowercase();
            !is_hop_by_hop(&lower, &options)
                && !lower.starts_with(GATEWAY_HEADER_PREFIX)
                && !replaced.contains(&lower.as_str())
        })
        .cloned()
        .collect();
    let earlier = incoming.iter().filter(|(k, _)| k.eq_ignore_ascii_case("x-forwarded-for")).map(|(_, v)| v.trim());
    let chain: Vec<&str> = earlier.chain(forwarded.client_ip).filter(|v| !v.is_empty()).collect();
    if !chain.is_empty() {
        out.push(("X-Forwarded-For".into(), chain.join(", ")));
    }
    out.push(("X-Forwarded-Proto".into(), forwarded.proto.into()));
    out.push(("X-Forwarded-Host".into(), forwarded.host.into()));
    out.extend(identity);
    out
}

/// The headers of the origin's answer that are not passed back to the
/// visitor: the hop-by-hop ones (lowercase). Everything else passes as the
/// origin sent it, `Set-Cookie` lines unchanged, each on its own.
pub fn dropped_response_headers(incoming: &[(String, String)]) -> Vec<String> {
    let options = connection_options(incoming);
    let mut out: Vec<String> =
        incoming.iter().map(|(k, _)| k.to_ascii_lowercase()).filter(|k| is_hop_by_hop(k, &options)).collect();
    out.dedup();
    out
}

/// Who is behind a loaded session, for the origin: its id when the store
/// held it (`stored`: the load found it, expired or not, rather than
/// starting a new one) and its Passport user as text
/// ([`Session::passport_user_text`] with `SESSION_PASSPORT_USER_FIELD`).
pub fn identity_of(session: &Session, stored: bool, user_field: Option<&str>) -> Identity {
    if !stored || session.is_new() {
        return Identity::default();
    }
    Identity { session_id: Some(session.id().to_string()), user: session.passport_user_text(user_field) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn vars(pairs: &[(&str, &str)]) -> Result<Option<GatewayConfig>, ConfigError> {
        let read = |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
        GatewayConfig::from_vars(&Vars::new(&read))
    }

    const SECRET: &str = "a-32-byte-or-longer-random-secret";

    #[test]
    fn sends_body_truth_table() {
        // (method, Content-Length) → whether the body is forwarded
        for (method, length, want) in [
            ("GET", None, false),
            ("HEAD", Some("12"), false),
            ("get", Some("3"), false),
            ("POST", None, true),
            ("POST", Some("12"), true),
            ("POST", Some("0"), false),
            ("PUT", Some(" 0 "), false),
            ("PATCH", Some("00"), false),
            ("DELETE", Some("0"), false),
            ("POST", Some("garbage"), true),
        ] {
            assert_eq!(sends_body(method, length), want, "{method} {length:?}");
        }
    }

    #[test]
    fn gate_truth_table() {
        use Gate::{Forward, RedirectToLogin, Refuse};
        // (protected, logged in, wants html, has login url) → gate
        for (protected, logged_in, html, login_url, want) in [
            (false, false, false, false, Forward),
            (false, false, true, true, Forward),
            (false, true, false, false, Forward),
            (true, true, false, false, Forward),
            (true, true, true, true, Forward),
            (true, false, false, false, Refuse),
            (true, false, false, true, Refuse),
            (true, false, true, false, Refuse),
            (true, false, true, true, RedirectToLogin),
        ] {
            assert_eq!(gate(protected, logged_in, html, login_url), want, "{protected} {logged_in} {html} {login_url}");
        }
    }

    #[test]
    fn path_rules_match_as_express_routes_and_every_spelling() {
        let rules: Vec<PathRule> =
            ["/account/*", "/Admin/*", "/settings"].iter().map(|r| PathRule::parse(r).unwrap()).collect();
        for (path, want) in [
            ("/account", true),
            ("/account/", true),
            ("/account/profile", true),
            ("/ACCOUNT/profile", true),
            ("//account/profile", true),
            ("/%61ccount/profile", true),
            ("/account%2Fprofile", true),
            // Decoded, then resolved, as express.static opens files.
            ("/x%2F..%2Faccount/invoice.txt", true),
            ("/x/..%2Faccount/invoice.txt", true),
            ("/x/%2e%2e/account/invoice.txt", true),
            ("/x/..%5Caccount/invoice.txt", true),
            ("/x/%252e%252e/account/x", true),
            ("/account/./x", true),
            ("/a/b/../../account", true),
            ("/x/..%2F..%2F..%2Faccount", true),
            // Empty segments and backslashes, read each way an origin might.
            ("/x//..%2Faccount/invoice.txt", true),
            ("/x%2F%2F..%2Faccount/invoice.txt", true),
            ("/public//..%2Faccount/invoice.txt", true),
            ("/x%5Cy/..%2Faccount/invoice.txt", true),
            ("/x%5C/..%2Faccount/invoice.txt", true),
            // An encoded dot segment is never honest: covered wherever it leads.
            ("/x/..%2Fpublic/x", true),
            ("/public/%2e/x", true),
            // Honest paths elsewhere pass, sloppy slashes included.
            ("/public//x", false),
            ("/public/a..b/x", false),
            ("/accountx/../public", false),
            ("/admin/users", true),
            ("/settings", true),
            ("/settings/", true),
            ("/Settings", true),
            ("/settings/x", false),
            ("/accounts", false),
            ("/accountant/x", false),
            ("/", false),
            ("/api/session", false),
        ] {
            assert_eq!(requires_login(&rules, path), want, "{path}");
        }
        assert!(requires_login(&[PathRule::parse("/*").unwrap()], "/anything"));
        assert!(!requires_login(&[], "/account/x"));
        for bad in ["account/*", "/a*", "/a/*/b", "*"] {
            assert_eq!(PathRule::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn configuration_names_the_variable_and_never_ignores_one() {
        assert!(vars(&[]).unwrap().is_none());
        let err = vars(&[("GATEWAY_SECRET", SECRET)]).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "GATEWAY_SECRET", .. }), "{err}");
        assert!(!err.to_string().contains(SECRET), "never echoed: {err}");
        let err = vars(&[("ORIGIN_URL", "https://o.example")]).unwrap_err();
        assert_eq!(err, ConfigError::Missing { name: "GATEWAY_SECRET" });
        for bad in [
            "o.example",
            "ftp://o.example",
            "https://o.example/app",
            "https://u:p@o.example",
            "https://o.example?x",
            "https://",
            "https://o .example",
        ] {
            let err = vars(&[("ORIGIN_URL", bad), ("GATEWAY_SECRET", SECRET)]).unwrap_err();
            assert!(matches!(err, ConfigError::Invalid { name: "ORIGIN_URL", .. }), "{bad}: {err}");
        }
        let short = vars(&[("ORIGIN_URL", "https://o.example"), ("GATEWAY_SECRET", "short")]).unwrap_err();
        assert!(
            matches!(short, ConfigError::Invalid { name: "GATEWAY_SECRET", .. })
                && !short.to_string().contains("short\"")
        );
        let dev = vars(&[
            ("ORIGIN_URL", "http://127.0.0.1:3000/"),
            ("GATEWAY_SECRET", "short"),
            ("SESSION_ENVIRONMENT", "development"),
        ]);
        let dev = dev.unwrap().unwrap();
        assert_eq!(dev.origin, "http://127.0.0.1:3000");
        assert_eq!(dev.target_url("/a?b=1"), "http://127.0.0.1:3000/a?b=1");
        let err = vars(&[
            ("ORIGIN_URL", "https://o.example"),
            ("GATEWAY_SECRET", SECRET),
            ("GATEWAY_REQUIRE_LOGIN", "/a/*, admin"),
        ])
        .unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "GATEWAY_REQUIRE_LOGIN", .. }));
        let ok = vars(&[
            ("ORIGIN_URL", "https://o.example"),
            ("GATEWAY_SECRET", SECRET),
            ("GATEWAY_REQUIRE_LOGIN", " /account/* , /admin/*,"),
            ("GATEWAY_LOGIN_URL", "/login"),
        ]);
        let ok = ok.unwrap().unwrap();
        assert_eq!(ok.require_login, vec![PathRule::Under("/account".into()), PathRule::Under("/admin".into())]);
        assert_eq!(ok.login_redirect("/account/x?y=1").as_deref(), Some("/login?next=%2Faccount%2Fx%3Fy%3D1"));
        assert!(!format!("{ok:?}").contains(SECRET));
    }

    #[test]
    fn signature_binds_time_method_path_cookie_and_identity() {
        let gw = GatewayConfig::new("https://o.example", SECRET.as_bytes(), vec![], None).unwrap();
        let who = Identity { session_id: Some("abc".into()), user: Some("zoë smith".into()) };
        let cookie = Some("sid=s%3Aabc.sig");
        let headers = gw.identity_headers(&who, "GET", "/a?b=1", cookie, 1_000);
        assert_eq!(headers[0], (SESSION_ID_HEADER.into(), "abc".into()));
        assert_eq!(headers[1], (SESSION_USER_HEADER.into(), "zo%C3%AB%20smith".into()));
        let sig = &headers[2].1;
        assert!(sig.starts_with("t=1000,v1="), "{sig}");
        let check = |secret: &str, now, request, who: &Identity| verify(secret.as_bytes(), sig, now, 60, request, who);
        let asked = ("GET", "/a?b=1", cookie);
        assert_eq!(check(SECRET, 1_030, asked, &who), Ok(()));
        assert_eq!(check(SECRET, 1_061, asked, &who), Err(SignatureError::Expired));
        assert_eq!(check(SECRET, 1_000, ("POST", "/a?b=1", cookie), &who), Err(SignatureError::Mismatch));
        assert_eq!(check(SECRET, 1_000, ("GET", "/a?b=2", cookie), &who), Err(SignatureError::Mismatch));
        // Copied onto a request without the visitor's cookie, or with another.
        assert_eq!(check(SECRET, 1_000, ("GET", "/a?b=1", None), &who), Err(SignatureError::Mismatch));
        assert_eq!(check(SECRET, 1_000, ("GET", "/a?b=1", Some("sid=other")), &who), Err(SignatureError::Mismatch));
        assert_eq!(check("another-secret-of-32-bytes-or-more", 1_000, asked, &who), Err(SignatureError::Mismatch));
        let other = Identity { user: Some("admin".into()), ..who.clone() };
        assert_eq!(check(SECRET, 1_000, asked, &other), Err(SignatureError::Mismatch));
        assert_eq!(check(SECRET, 1_000, asked, &Identity::default()), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET.as_bytes(), "v1=x", 1_000, 60, asked, &who), Err(SignatureError::Malformed));
        // Anonymous: no id or user header, a signature all the same.
        let anon = gw.identity_headers(&Identity::default(), "GET", "/", None, 5);
        assert_eq!(anon.len(), 1);
        assert_eq!(verify(SECRET.as_bytes(), &anon[0].1, 5, 60, ("GET", "/", None), &Identity::default()), Ok(()));
    }

    /// The test vectors the README gives for checking a signature in
    /// another language ("Checking the signature without Express").
    #[test]
    fn the_readmes_signature_vectors() {
        let gw = GatewayConfig::new("https://origin.example.com", SECRET.as_bytes(), vec![], None).unwrap();
        let who = Identity {
            session_id: Some("0b1c1d7e-6a3e-4c1f-9d0e-2f6a8b7c5d4e".into()),
            user: Some("zoë smith".into()),
        };
        let cookie = Some("connect.sid=s%3A0b1c1d7e-6a3e-4c1f-9d0e-2f6a8b7c5d4e.x; theme=dark");
        let headers = gw.identity_headers(&who, "GET", "/account/orders?page=2", cookie, 1_700_000_000);
        assert_eq!(headers[1].1, "zo%C3%AB%20smith");
        let anonymous = gw.identity_headers(&Identity::default(), "POST", "/cart", None, 1_700_000_000);
        println!("README vectors: {} | {}", headers[2].1, anonymous[0].1);
        let readme = include_str!("../../../README.md");
        assert!(
            readme.contains(&headers[2].1) && readme.contains(&anonymous[0].1),
            "{} {}",
            headers[2].1,
            anonymous[0].1
        );
    }

    #[test]
    fn visitor_headers_are_cleaned_and_forwarded_ones_added() {
        let incoming = h(&[
            ("Host", "www.example.com"),
            ("Cookie", "sid=s%3Aabc.sig"),
            ("Connection", "keep-alive, X-Secret-Hop"),
            ("X-Secret-Hop", "1"),
            ("Keep-Alive", "timeout=5"),
            ("TE", "trailers"),
            ("Upgrade", "h2c"),
            ("X-Session-User", "admin"),
            ("x-session-id", "forged"),
            ("X-Session-Signature", "t=1,v1=x"),
            ("X-Forwarded-For", "10.0.0.1"),
            ("X-Forwarded-Proto", "http"),
            ("Accept", "text/html"),
        ]);
        let forwarded = Forwarded { proto: "https", host: "www.example.com", client_ip: Some("203.0.113.9") };
        let out = request_headers(&incoming, forwarded, vec![("X-Session-Id".into(), "real".into())]);
        assert_eq!(
            out,
            h(&[
                ("Cookie", "sid=s%3Aabc.sig"),
                ("Accept", "text/html"),
                ("X-Forwarded-For", "10.0.0.1, 203.0.113.9"),
                ("X-Forwarded-Proto", "https"),
                ("X-Forwarded-Host", "www.example.com"),
                ("X-Session-Id", "real"),
            ])
        );
        let dropped = dropped_response_headers(&h(&[
            ("Set-Cookie", "a=1; Path=/"),
            ("Set-Cookie", "b=2; Path=/"),
            ("Transfer-Encoding", "chunked"),
            ("Connection", "close, X-Internal"),
            ("X-Internal", "1"),
            ("Content-Type", "text/html"),
        ]));
        assert_eq!(dropped, ["transfer-encoding", "connection", "x-internal"]);
    }

    #[test]
    fn a_final_sigma_is_the_same_letter_in_paths() {
        assert_eq!(canonical_path("/ΑΣ/x"), canonical_path("/ασ/x"));
        assert_eq!(canonical_path("/ΑΣ"), "/ασ");
        assert_eq!(canonical_path("/ας//"), "/ασ");
    }

    #[test]
    fn html_is_asked_for_by_accept() {
        for (accept, want) in [
            (Some("text/html,application/xhtml+xml,*/*;q=0.8"), true),
            (Some("TEXT/HTML; q=0.9"), true),
            (Some("text/html;q=0"), false),
            (Some("text/html; q=0.000, application/json"), false),
            (Some("text/html;q=0."), false),
            (Some("text/html;q=1"), true),
            (Some("text/html;q=0.001"), true),
            // Beyond RFC 9110's grammar, what reads as 0 or below.
            (Some("text/html;q=-0"), false),
            (Some("text/html;q=.0"), false),
            (Some("text/html;q=0e5"), false),
            (Some("text/html;q=+0"), false),
            (Some("text/html;q=-1"), false),
            (Some("text/html;q=00"), false),
            // A malformed weight is not 0.
            (Some("text/html;q=zero"), true),
            (Some("text/html;q="), true),
            (Some("text/html;q=0.0.0"), true),
            (Some("application/json, text/html;level=1;q=0.1"), true),
            (Some("application/json"), false),
            (Some("*/*"), false),
            (None, false),
        ] {
            assert_eq!(wants_html(accept), want, "{accept:?}");
        }
    }
}
