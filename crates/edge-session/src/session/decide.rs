//! The end-of-request decisions, written as express-session writes them
//! (`shouldSave`, `shouldTouch`, `shouldSetCookie`) so that the same request
//! leads to the same Redis traffic and the same Set-Cookie on both sides.

use super::document::SessionCookie;

/// express-session's options that take part in the decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// `resave`: save a loaded session even when it was not modified.
    pub resave: bool,
    /// `saveUninitialized`: save (and send a cookie for) a new session even
    /// when the app put nothing in it.
    pub save_uninitialized: bool,
    /// `rolling`: send the cookie on every response.
    pub rolling: bool,
}

impl Default for Policy {
    /// express-session's defaults, which the seed demo uses.
    fn default() -> Self {
        Self { resave: false, save_uninitialized: true, rolling: false }
    }
}

/// What is known about a session when its response is about to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The request's verified cookie named this very session id
    /// (`cookieId === req.sessionID`): false for a new session, after a
    /// regenerate, or when the store did not know the cookie's id.
    pub cookie_matches: bool,
    /// The id changed or the document minus `cookie` differs from what was
    /// loaded (`isModified`).
    pub modified: bool,
    /// A saved state is on record for this request (`savedHash` is set):
    /// loaded without `resave`, or saved explicitly.
    pub has_saved_state: bool,
    /// The current state equals the saved one and the id is unchanged
    /// (`isSaved`).
    pub saved: bool,
    /// The cookie has an expiry (not a browser-session cookie).
    pub expires_set: bool,
}

/// `shouldSave`: write the whole document with SET.
pub fn should_save(p: Policy, f: Facts) -> bool {
    if !p.save_uninitialized && !f.has_saved_state && !f.cookie_matches {
        f.modified
    } else {
        !f.saved
    }
}

/// `shouldTouch`: only refresh the key's TTL with EXPIRE.
pub fn should_touch(p: Policy, f: Facts) -> bool {
    f.cookie_matches && !should_save(p, f)
}

/// `touchAfter` (connect-mongo's option, `SESSION_TOUCH_AFTER_SECONDS`):
/// whether an unmodified session's touch is due. The store set the key's
/// TTL to `lifetime_seconds` at its last write or touch, so `pttl_ms` (what
/// is left, read with the session) tells how long ago that was. Always due
/// with `touch_after_seconds` 0 (connect-redis's every-request touch), and
/// when the TTL is unknown or absent (`None`, -1, -2).
pub fn touch_due(touch_after_seconds: u64, lifetime_seconds: i64, pttl_ms: Option<i64>) -> bool {
    let Some(pttl) = pttl_ms.filter(|p| *p >= 0) else { return true };
    let since_ms = lifetime_seconds.saturating_mul(1000).saturating_sub(pttl);
    touch_after_seconds == 0 || since_ms >= (touch_after_seconds as i64).saturating_mul(1000)
}

/// `shouldSetCookie`: send Set-Cookie on this response.
pub fn should_set_cookie(p: Policy, f: Facts) -> bool {
    if !f.cookie_matches {
        p.save_uninitialized || f.modified
    } else {
        p.rolling || (f.expires_set && f.modified)
    }
}

/// Whether a login made at `authenticated_at_ms` (the session's
/// `authenticatedAt`, `None` when it has none) is past the absolute
/// lifetime `timeout_seconds` at `now_ms` (`None`: no limit). A session
/// without the field (anonymous, or logged in before the limit was
/// configured, or by an app that does not record it) is not limited.
pub fn login_expired(authenticated_at_ms: Option<f64>, timeout_seconds: Option<u64>, now_ms: i64) -> bool {
    match (authenticated_at_ms, timeout_seconds) {
        // A login time in the future is no login time: ended, not forever.
        (Some(at), Some(limit)) if at.is_finite() => at > now_ms as f64 || now_ms as f64 >= at + limit as f64 * 1000.0,
        _ => false,
    }
}

/// Whether a loaded session gets `authenticatedAt` = now: it is logged in
/// (`logged_in`), has no login time (`stamped` is false: an Express login,
/// or one made before the limit was configured) and an absolute lifetime
/// is configured (`limited`). Its lifetime then counts from the first
/// request the worker sees, instead of never ending.
pub fn stamp_login_time(logged_in: bool, stamped: bool, limited: bool) -> bool {
    logged_in && !stamped && limited
}

/// Why a cookie name's prefix cannot be used with these attributes
/// (RFC 6265bis §4.1.3, browsers match the prefixes in any case): a
/// `__Secure-` cookie must be `Secure` (always, not "auto"); a `__Host-`
/// cookie must also have `Path=/` and no `Domain`. `None` when the name has
/// neither prefix or keeps the rules. A browser drops a cookie that breaks
/// them, so the configuration is refused instead.
pub fn cookie_prefix_violation(
    name: &str,
    always_secure: bool,
    path: Option<&str>,
    domain: Option<&str>,
) -> Option<&'static str> {
    let has = |prefix: &str| name.len() >= prefix.len() && name[..prefix.len()].eq_ignore_ascii_case(prefix);
    let host = has("__Host-");
    if !(host || has("__Secure-")) {
        return None;
    }
    if !always_secure {
        return Some("a __Secure- or __Host- cookie needs SESSION_COOKIE_SECURE=true");
    }
    match (host, path, domain) {
        (true, p, _) if p != Some("/") => Some("a __Host- cookie needs SESSION_COOKIE_PATH=/"),
        (true, _, Some(_)) => Some("a __Host- cookie has no Domain: unset SESSION_COOKIE_DOMAIN"),
        _ => None,
    }
}

/// A `Secure` cookie is never sent over a plain-http request: the browser
/// would drop it, and express-session refuses to send it too.
pub fn may_send_cookie(cookie_secure: bool, request_secure: bool) -> bool {
    !cookie_secure || request_secure
}

/// Whether the browser keeps a cookie after a new one of the same name is
/// set: it replaces only a cookie with the same Domain and Path (RFC 6265
/// §5.3 step 11), so an ended session's cookie stored under another Domain
/// or Path must be expired on its own.
pub fn ended_cookie_survives(ended: &SessionCookie, new: &SessionCookie) -> bool {
    let path = |c: &SessionCookie| c.path.clone().unwrap_or_else(|| "/".into());
    ended.domain != new.domain || path(ended) != path(new)
}

/// Whether a request has a session at all: express-session skips every
/// request whose path does not start with the cookie's Path (`cookie.path`,
/// default `/`), a plain prefix test as `originalPath.indexOf(path) === 0`:
/// no session, no store call, no cookie, since the browser would never send
/// that cookie back on that path.
pub fn in_cookie_path(request_path: &str, cookie_path: Option<&str>) -> bool {
    request_path.starts_with(cookie_path.unwrap_or("/"))
}

/// express-session's `issecure`: whether a request counts as https. The
/// request's own scheme (`https`), or, only when the proxy is trusted
/// (`proxy` / `SESSION_PROXY`), the first `X-Forwarded-Proto` value: a
/// client can send that header itself, so it is believed only behind a
/// proxy that overwrites it.
pub fn is_secure(https: bool, forwarded_proto: Option<&str>, trust_proxy: bool) -> bool {
    https
        || trust_proxy
            && forwarded_proto.and_then(|v| v.split(',').next()).is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod lifetime_tests {
    use super::login_expired;

    #[test]
    fn stamp_login_time_truth_table() {
        use super::stamp_login_time;
        for (logged_in, stamped, limited, want) in [
            (true, false, true, true),
            (true, true, true, false),
            (false, false, true, false),
            (true, false, false, false),
            (false, true, false, false),
        ] {
            assert_eq!(stamp_login_time(logged_in, stamped, limited), want, "{logged_in} {stamped} {limited}");
        }
    }

    #[test]
    fn login_expired_truth_table() {
        // (authenticatedAt ms, limit s, now ms) → ended?
        assert!(!login_expired(Some(1_000.0), Some(10), 10_999), "within the lifetime");
        assert!(login_expired(Some(1_000.0), Some(10), 11_000), "at its end");
        assert!(login_expired(Some(1_000.0), Some(10), 99_999));
        assert!(!login_expired(Some(1_000.0), None, 99_999), "no limit configured");
        assert!(!login_expired(None, Some(10), 99_999), "no login time recorded");
        assert!(!login_expired(Some(f64::NAN), Some(10), 99_999), "not a time");
        assert!(login_expired(Some(9e15), Some(10), 99_999), "a login in the future ends");
        assert!(login_expired(Some(1e308), Some(10), 99_999));
    }
}

#[cfg(test)]
mod prefix_tests {
    use super::cookie_prefix_violation as v;

    #[test]
    fn cookie_prefix_truth_table() {
        // (name, Secure always, Path, Domain) → allowed?
        assert_eq!(v("sid", false, Some("/api"), Some("example.com")), None, "no prefix: anything");
        assert_eq!(v("__Secure-sid", true, Some("/api"), Some("example.com")), None);
        assert!(v("__Secure-sid", false, Some("/"), None).is_some(), "__Secure- without Secure");
        assert_eq!(v("__Host-sid", true, Some("/"), None), None);
        assert!(v("__Host-sid", false, Some("/"), None).is_some(), "__Host- without Secure");
        assert!(v("__Host-sid", true, Some("/api"), None).is_some(), "__Host- with another Path");
        assert!(v("__Host-sid", true, None, None).is_some(), "__Host- without Path");
        assert!(v("__Host-sid", true, Some("/"), Some("example.com")).is_some(), "__Host- with a Domain");
        assert!(v("__host-sid", false, Some("/"), None).is_some(), "browsers match the prefix in any case");
        assert_eq!(v("__Hostile", false, Some("/"), None), None, "not the prefix");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn touch_due_truth_table() {
        use super::touch_due;
        // (touchAfter s, lifetime s, PTTL ms) → due
        let rows = [
            (0, 60, Some(59_000), true),   // every request, as connect-redis
            (10, 60, None, true),          // TTL not read
            (10, 60, Some(-1), true),      // no TTL: a touch sets one
            (10, 60, Some(-2), true),      // gone: the touch does nothing anyway
            (10, 60, Some(55_000), false), // touched 5 s ago
            (10, 60, Some(50_000), true),  // 10 s ago
            (10, 60, Some(49_999), true),
            (10, 60, Some(60_000), false), // just written
            (10, 60, Some(90_000), false), // a longer TTL than the lifetime (set elsewhere)
        ];
        for (after, lifetime, pttl, due) in rows {
            assert_eq!(touch_due(after, lifetime, pttl), due, "{after} {lifetime} {pttl:?}");
        }
    }

    use super::*;

    #[test]
    fn ended_cookie_survives_truth_table() {
        let cookie = |domain: Option<&str>, path: Option<&str>| SessionCookie {
            domain: domain.map(str::to_owned),
            path: path.map(str::to_owned),
            ..SessionCookie::default()
        };
        // (ended domain, ended path, new domain, new path) -> must be expired on its own
        let table = [
            (None, Some("/"), None, Some("/"), false),
            (None, None, None, Some("/"), false), // no path is express-session's "/"
            (None, Some("/api"), None, Some("/"), true),
            (Some("beer.localhost"), Some("/"), None, Some("/"), true),
            (Some("beer.localhost"), Some("/api"), None, Some("/"), true),
            (Some("beer.localhost"), Some("/"), Some("beer.localhost"), Some("/"), false),
        ];
        for (d1, p1, d2, p2, want) in table {
            assert_eq!(ended_cookie_survives(&cookie(d1, p1), &cookie(d2, p2)), want, "{d1:?} {p1:?} → {d2:?} {p2:?}");
        }
    }

    #[test]
    fn in_cookie_path_truth_table() {
        let table = [
            ("/api/session", None, true),
            ("/api/session", Some("/"), true),
            ("/api/session", Some("/api"), true),
            ("/api", Some("/api"), true),
            ("/api/session", Some("/app"), false),
            ("/application", Some("/app"), true), // a plain prefix, as express-session tests it
            ("/API/session", Some("/api"), false), // case-sensitive, as indexOf is
            ("/", Some("/app"), false),
        ];
        for (path, cookie_path, want) in table {
            assert_eq!(in_cookie_path(path, cookie_path), want, "{path} {cookie_path:?}");
        }
    }

    #[test]
    fn is_secure_truth_table() {
        // (https, X-Forwarded-Proto, trust proxy) -> secure
        let table = [
            (true, None, false, true),
            (true, Some("http"), true, true),
            (false, None, false, false),
            (false, None, true, false),
            (false, Some("https"), false, false),
            (false, Some("https"), true, true),
            (false, Some("HTTPS"), true, true),
            (false, Some(" https , http"), true, true),
            (false, Some("http, https"), true, false),
            (false, Some(""), true, false),
        ];
        for (https, proto, trust, want) in table {
            assert_eq!(is_secure(https, proto, trust), want, "{https} {proto:?} {trust}");
        }
    }

    const T: bool = true;
    const F: bool = false;

    fn facts(cookie_matches: bool, modified: bool, has_saved_state: bool, saved: bool) -> Facts {
        Facts { cookie_matches, modified, has_saved_state, saved, expires_set: true }
    }

    fn policy(resave: bool, save_uninitialized: bool, rolling: bool) -> Policy {
        Policy { resave, save_uninitialized, rolling }
    }

    /// The situations a request can end in, with the facts the session
    /// layer computes for them.
    fn situations(resave: bool) -> [(&'static str, Facts); 6] {
        [
            // generate(): no saved state, nothing matches the cookie.
            ("new, untouched", facts(F, F, F, F)),
            ("new, modified", facts(F, T, F, F)),
            // inflate(): savedHash = originalHash unless resave.
            ("loaded, unmodified", facts(T, F, !resave, !resave)),
            ("loaded, modified", facts(T, T, !resave, F)),
            // regenerate(): fresh id, cookie no longer matches.
            ("regenerated", facts(F, T, F, F)),
            // explicit save() after modifying a loaded session.
            ("loaded, modified, saved", facts(T, T, T, T)),
        ]
    }

    /// Each row: situation → (save, touch, set-cookie) for one policy.
    fn check(p: Policy, expected: [(bool, bool, bool); 6]) {
        for ((name, f), want) in situations(p.resave).into_iter().zip(expected) {
            let got = (should_save(p, f), should_touch(p, f), should_set_cookie(p, f));
            assert_eq!(got, want, "{name} under {p:?}");
        }
    }

    #[test]
    fn defaults_of_the_seed() {
        // resave false, saveUninitialized true, rolling false (docs/PROTOCOL.md §4).
        check(policy(F, T, F), [(T, F, T), (T, F, T), (F, T, F), (T, F, T), (T, F, T), (F, T, T)]);
    }

    #[test]
    fn save_uninitialized_false() {
        check(policy(F, F, F), [(F, F, F), (T, F, T), (F, T, F), (T, F, T), (T, F, T), (F, T, T)]);
    }

    #[test]
    fn resave_true() {
        check(policy(T, T, F), [(T, F, T), (T, F, T), (T, F, F), (T, F, T), (T, F, T), (F, T, T)]);
    }

    #[test]
    fn rolling_true() {
        check(policy(F, T, T), [(T, F, T), (T, F, T), (F, T, T), (T, F, T), (T, F, T), (F, T, T)]);
    }

    #[test]
    fn browser_session_cookie_is_not_resent_when_modified() {
        let f = Facts { expires_set: false, ..facts(T, T, T, F) };
        assert!(!should_set_cookie(policy(F, T, F), f));
        assert!(should_set_cookie(policy(F, T, T), f));
    }

    #[test]
    fn secure_cookie_only_over_https() {
        assert!(may_send_cookie(F, F));
        assert!(may_send_cookie(F, T));
        assert!(!may_send_cookie(T, F));
        assert!(may_send_cookie(T, T));
    }
}
