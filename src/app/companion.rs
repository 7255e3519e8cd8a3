//! The two cookies the worker sends beside the session's own, named after
//! it (`<name>.user`, `<name>.sync`) and with its attributes. Neither is
//! trusted for anything: each only says what to send with the next
//! request's store call, so that a request makes one round trip to read
//! (docs/PROTOCOL.md §12).
//!
//! - `<name>.user` names the user the session was logged in as when the
//!   browser last heard. The next request reads that user's data (the
//!   lifetime count, the session index) in the same round trip as the
//!   session, and uses it only when the session's `passport.user` is that
//!   same name; otherwise it reads again. A browser-session cookie, cleared
//!   at logout.
//! - `<name>.sync` carries Upstash's `upstash-sync-token` of the request's
//!   last write, for [`SYNC_COOKIE_SECONDS`]: the next request's reads
//!   carry it, so a read replica that has not caught up waits for that
//!   write (read-your-writes across requests).

use edge_session::accounts::username;
use edge_session::session::cookie::{cookie_header, find_cookie};
use edge_session::session::decide;
use edge_session::session::document::{Millis, SessionCookie};

use crate::config::Config;

/// How long the browser keeps a write's sync token, in seconds: replication
/// to Upstash's read replicas takes milliseconds to a second or two; past
/// that the token only costs header bytes.
pub const SYNC_COOKIE_SECONDS: u64 = 30;

/// The name of the cookie that names the logged-in user.
pub fn user_cookie_name(config: &Config) -> String {
    format!("{}.user", config.session.cookie_name)
}

/// The name of the cookie that carries the last write's sync token.
pub fn sync_cookie_name(config: &Config) -> String {
    format!("{}.sync", config.session.cookie_name)
}

/// The user a request's `<name>.user` cookie names, if it is a canonical
/// username (anything else is ignored: it never becomes part of a key).
pub fn hinted_user(cookie_header: Option<&str>, config: &Config) -> Option<String> {
    let hint = find_cookie(cookie_header?, &user_cookie_name(config))?;
    username::normalize(&hint).ok().filter(|canonical| *canonical == hint)
}

/// Whether the user a request's lookups were made for is the session's:
/// only then is what they found this user's to show.
pub fn hint_holds(hint: Option<&str>, user: Option<&str>) -> bool {
    hint.is_some() && hint == user
}

/// The `<name>.user` value a request sent, as sent (canonical or not).
pub fn sent_user_cookie(cookie_header: Option<&str>, config: &Config) -> Option<String> {
    find_cookie(cookie_header?, &user_cookie_name(config))
}

/// The `Set-Cookie` line that brings the browser's `<name>.user` (`sent`:
/// the value it sent, if any) up to date with `user` (the session's user
/// after the commit): set when it names another user or none, cleared when
/// the session has none; `None` when it is right already or may not be
/// sent (a Secure cookie over http).
pub fn user_cookie(
    config: &Config,
    sent: Option<&str>,
    user: Option<&str>,
    session_cookie: &SessionCookie,
    request_secure: bool,
) -> Option<String> {
    if sent == user || !decide::may_send_cookie(session_cookie.secure == Some(true), request_secure) {
        return None;
    }
    let name = user_cookie_name(config);
    Some(match user {
        // A browser-session cookie: it outlives no browser.
        Some(user) => cookie_header(&name, user, session_cookie, None),
        None => cookie_header(&name, "", session_cookie, Some(0)),
    })
}

/// The longest sync token taken from a browser, in bytes (Upstash's are a
/// few dozen).
pub const MAX_SYNC_TOKEN_BYTES: usize = 256;

/// The sync token a request brought back, if it can be one: at most
/// [`MAX_SYNC_TOKEN_BYTES`] of letters, digits and `-._:+/=`. Anything else
/// is ignored: it becomes a request header to the store, and a value that
/// is no valid header value would fail the call (or, worse, read as the
/// store refusing our credentials).
pub fn sync_token(cookie_header: Option<&str>, config: &Config) -> Option<String> {
    find_cookie(cookie_header?, &sync_cookie_name(config)).filter(|t| is_token_text(t))
}

/// Whether `t` has the shape a sync token may have ([`sync_token`]).
pub fn is_token_text(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= MAX_SYNC_TOKEN_BYTES
        && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:+/=".contains(&b))
}

/// The `Set-Cookie` line that makes the browser drop its `<name>.sync`
/// (the store refused the token it carried).
pub fn clear_sync_cookie(config: &Config) -> String {
    cookie_header(&sync_cookie_name(config), "", &config.session.cookie, Some(0))
}

/// The `Set-Cookie` line that hands the browser the sync token of this
/// request's last write, for [`SYNC_COOKIE_SECONDS`] from `now`, with the
/// configured cookie's attributes; `None` where it may not be sent.
pub fn sync_cookie(config: &Config, token: &str, now: Millis, request_secure: bool) -> Option<String> {
    let mut attributes = config.session.cookie.clone();
    if config.session.secure_auto {
        attributes.secure = Some(request_secure);
    }
    if !decide::may_send_cookie(attributes.secure == Some(true), request_secure) {
        return None;
    }
    let expires = now + (SYNC_COOKIE_SECONDS * 1000) as Millis;
    Some(cookie_header(&sync_cookie_name(config), token, &attributes, Some(expires)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let vars = |name: &str| match name {
            "SESSION_SECRET" => Some("keyboard cat".to_owned()),
            "SESSION_ENVIRONMENT" => Some("development".to_owned()),
            "UPSTASH_REDIS_REST_URL" => Some("http://127.0.0.1:1".to_owned()),
            "UPSTASH_REDIS_REST_TOKEN" => Some("t".to_owned()),
            _ => None,
        };
        Config::from_vars(vars).unwrap()
    }

    #[test]
    fn hint_holds_truth_table() {
        // (hint, session's user) → use what was read for the hint
        assert!(hint_holds(Some("al"), Some("al")));
        assert!(!hint_holds(Some("al"), Some("bo")), "another user's data is never shown");
        assert!(!hint_holds(Some("al"), None), "a logged-out session shows nothing");
        assert!(!hint_holds(None, Some("al")), "no hint: read again");
        assert!(!hint_holds(None, None));
    }

    #[test]
    fn hinted_user_takes_only_canonical_names() {
        let cfg = config();
        let with = |v: &str| hinted_user(Some(&format!("_redisDemo=x; _redisDemo.user={v}")), &cfg);
        assert_eq!(with("alice").as_deref(), Some("alice"));
        assert_eq!(with("Alice"), None, "not canonical");
        assert_eq!(with("a%3Ab"), None, "not a username");
        assert_eq!(with(""), None);
        assert_eq!(hinted_user(None, &cfg), None);
    }

    #[test]
    fn user_cookie_truth_table() {
        let cfg = config();
        let attrs = SessionCookie { path: Some("/".into()), http_only: Some(true), ..SessionCookie::default() };
        let line = |hint, user| user_cookie(&cfg, hint, user, &attrs, false);
        assert_eq!(line(Some("al"), Some("al")), None, "right already");
        assert_eq!(line(None, None), None);
        assert_eq!(line(None, Some("al")).as_deref(), Some("_redisDemo.user=al; Path=/; HttpOnly"));
        assert_eq!(line(Some("bo"), Some("al")).as_deref(), Some("_redisDemo.user=al; Path=/; HttpOnly"));
        assert!(line(Some("Garbage"), None).is_some_and(|l| l.contains("1970")), "a junk cookie is cleared too");
        assert_eq!(
            line(Some("al"), None).as_deref(),
            Some("_redisDemo.user=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly")
        );
        let secure = SessionCookie { secure: Some(true), ..attrs };
        assert_eq!(user_cookie(&cfg, None, Some("al"), &secure, false), None, "no Secure cookie over http");
    }

    #[test]
    fn sync_cookie_lives_thirty_seconds() {
        let cfg = config();
        let line = sync_cookie(&cfg, "12:34", 0, false).unwrap();
        assert!(line.starts_with("_redisDemo.sync=12%3A34; Path=/; Expires=Thu, 01 Jan 1970 00:00:30 GMT"), "{line}");
        assert_eq!(sync_token(Some("_redisDemo.sync=12%3A34"), &cfg).as_deref(), Some("12:34"));
        assert_eq!(sync_token(Some("_redisDemo.sync="), &cfg), None);
        assert_eq!(
            sync_token(Some("_redisDemo.sync=rpl.00000000000004d2"), &cfg).as_deref(),
            Some("rpl.00000000000004d2")
        );
        for junk in ["%00", "%7F", "a%0Ab", "%C3%A9", "a b", "a%3Bb"] {
            assert_eq!(sync_token(Some(&format!("_redisDemo.sync={junk}")), &cfg), None, "{junk}");
        }
        assert_eq!(sync_token(Some(&format!("_redisDemo.sync={}", "a".repeat(257))), &cfg), None, "too long");
    }
}
