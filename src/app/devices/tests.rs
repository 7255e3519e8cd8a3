//! The device label as a truth table over real `User-Agent` strings, the
//! list's filtering and order, and the routes against the in-memory store.

use super::*;
use crate::app::tests::{config_with, handle, header, json, req, NOW};
use crate::app::{Request, Response};
use crate::config::Config;
use edge_session::store::MemoryStore;
use edge_session::testing::block_on;

/// Current browsers' own strings (late 2024 – 2025 releases), each with the
/// label it gets.
const AGENTS: &[(&str, &str)] = &[
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on Windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on macOS"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on Linux"),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome on Android"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "Chrome on iOS"),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on ChromeOS"),
    // Playwright's headless Chromium.
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.6778.33 Safari/537.36", "Chrome on Linux"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "Safari on macOS"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari on iOS"),
    ("Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari on iOS"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Windows"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Linux"),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Linux"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on macOS"),
    ("Mozilla/5.0 (Android 15; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", "Firefox on Android"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15", "Firefox on iOS"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86", "Edge on Windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86", "Edge on macOS"),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.2903.87", "Edge on Android"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 EdgiOS/131.2903.87 Mobile/15E148 Safari/605.1.15", "Edge on iOS"),
    ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36", "Samsung Internet on Android"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0", "Opera on Windows"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Vivaldi/7.0.3495.18", "Vivaldi on Linux"),
    // No OS token: the browser alone.
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome"),
    // Not a browser, or nothing to go on.
    ("curl/8.11.0", "Unknown browser"),
    ("node", "Unknown browser"),
    ("Googlebot/2.1 (+http://www.google.com/bot.html)", "Unknown browser"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "Unknown browser"),
    ("", "Unknown browser"),
];

#[test]
fn device_labels_of_current_browsers() {
    for (agent, want) in AGENTS {
        assert_eq!(device_label(Some(agent)), *want, "{agent}");
    }
    assert_eq!(device_label(None), "Unknown browser");
}

const SECRET: &str = "keyboard cat";

fn secrets() -> Secrets {
    Secrets::new(vec![SECRET.into()]).unwrap()
}

/// A stored document as express-session writes it: saved at `saved`
/// with a day's maxAge, with `extra` fields after the cookie.
fn doc(saved: Millis, extra: &str) -> String {
    let expires = edge_session::session::document::format_iso(saved + 86_400_000);
    format!(r#"{{"cookie":{{"originalMaxAge":86400000,"expires":"{expires}","httpOnly":true,"path":"/"}}{extra}}}"#)
}

#[test]
fn a_stored_session_is_listed_only_while_it_is_the_users() {
    let s = secrets();
    let alice = r#","passport":{"user":"alice"}"#;
    let with_device = r#","passport":{"user":"alice"},"device":{"label":"Firefox on Linux","signedInAt":1000}"#;
    let express = r#","passport":{"user":"alice"},"authenticatedAt":2000"#;
    let saved = NOW - 60_000;
    // (document, Some((device, signedInAt)) when listed)
    type Listed<'a> = Option<(Option<&'a str>, Option<Millis>)>;
    let cases: &[(String, Listed)] = &[
        (doc(saved, with_device), Some((Some("Firefox on Linux"), Some(1000)))),
        (doc(saved, alice), Some((None, None))),
        (doc(saved, express), Some((None, Some(2000)))),
        // A device field an Express app uses for something else: no device.
        (doc(saved, r#","passport":{"user":"alice"},"device":"mine""#), Some((None, None))),
        // Logged out, another user's, anonymous, expired, unreadable.
        (doc(saved, r#","passport":{}"#), None),
        (doc(saved, r#","passport":{"user":"bob"}"#), None),
        (doc(saved, ""), None),
        (doc(NOW - 86_400_000, alice), None),
        ("not json".to_owned(), None),
    ];
    for (stored, want) in cases {
        let got = stored_device(&s, "alice", "sid-1", stored.as_bytes(), NOW);
        let got_view = got.as_ref().map(|d| (d.view.device.as_deref(), d.view.signed_in_at));
        assert_eq!(got_view, *want, "{stored}");
        if let Some(d) = got {
            assert_eq!(d.sid, "sid-1");
            assert_eq!(d.view.handle, s.device_handle("sid-1"));
            assert_eq!(d.view.last_active_at, Some(saved), "expires − originalMaxAge");
            assert!(!d.view.current);
        }
    }
    // A browser-session cookie (no expiry) is listed, with no last activity.
    let session_cookie =
        r#"{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"passport":{"user":"alice"}}"#;
    let d = stored_device(&s, "alice", "sid-2", session_cookie.as_bytes(), NOW).unwrap();
    assert_eq!(d.view.last_active_at, None);
}

#[test]
fn the_list_is_most_recent_first_then_by_handle() {
    let device = |handle: &str, last: Option<Millis>, current: bool| Device {
        sid: handle.to_owned(),
        view: DeviceView { handle: handle.to_owned(), device: None, signed_in_at: None, last_active_at: last, current },
    };
    let mut list = vec![
        device("c", None, false),
        device("b", Some(1), false),
        device("a", Some(1), false),
        device("d", Some(5), false),
        device("z", Some(5), true),
    ];
    sort_devices(&mut list);
    let order: Vec<&str> = list.iter().map(|d| d.view.handle.as_str()).collect();
    assert_eq!(order, ["z", "d", "a", "b", "c"]);
}

#[test]
fn end_writes_delete_the_documents_and_unindex_them() {
    assert!(end_writes("alice", "sess:", &[]).is_empty());
    assert_eq!(
        end_writes("alice", "sess:", &["a", "b"]),
        [
            Write::Del(vec!["sess:a".into(), "sess:b".into()]),
            Write::SRem { set: "user-sessions:alice".into(), member: "a".into() },
            Write::SRem { set: "user-sessions:alice".into(), member: "b".into() },
        ]
    );
}

// ---------------------------------------------------------------------------
// The routes, against the in-memory store

const IP: &str = "203.0.113.9";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

fn config() -> Config {
    config_with(&[("AUTH_PBKDF2_ITERATIONS", "10")])
}

/// A browser: its cookies (every pair its answers set, in order).
#[derive(Default, Clone)]
struct Browser {
    cookies: Vec<(String, String)>,
    agent: Option<&'static str>,
}

impl Browser {
    fn new(agent: &'static str) -> Self {
        Self { cookies: Vec::new(), agent: Some(agent) }
    }

    fn header(&self) -> Option<String> {
        let pairs: Vec<String> = self.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    fn send(&mut self, cfg: &Config, store: &MemoryStore, method: &str, path: &str, body: &[u8]) -> Response {
        let cookie = self.header();
        let r = Request {
            content_type: Some("application/json"),
            body,
            client_ip: Some(IP),
            user_agent: self.agent,
            sec_fetch_site: Some("same-origin"),
            ..req(method, path, cookie.as_deref())
        };
        let r = block_on(handle(cfg, store, &r, NOW));
        for (name, value) in r.headers.iter().filter(|(n, _)| *n == "Set-Cookie") {
            let _ = name;
            let pair = value.split(';').next().unwrap();
            let (n, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != n);
            if !value.contains("Expires=Thu, 01 Jan 1970") {
                self.cookies.push((n.to_owned(), v.to_owned()));
            }
        }
        r
    }
}

fn creds(name: &str) -> Vec<u8> {
    serde_json::json!({ "username": name, "password": "correct horse" }).to_string().into_bytes()
}

/// Every key and value of the store (sets as their sorted members).
fn snapshot(store: &MemoryStore, keys: &[String]) -> Vec<(String, Option<String>, Vec<String>)> {
    keys.iter()
        .map(|k| {
            let value = store.entry(k).map(|(b, _)| String::from_utf8(b).unwrap());
            let mut members = block_on(store.members(k)).unwrap();
            members.sort();
            (k.clone(), value, members)
        })
        .collect()
}

#[test]
fn register_logs_in_with_the_device() {
    let (cfg, store) = (config(), MemoryStore::new());
    let mut one = Browser::new(FIREFOX);
    let r = one.send(&cfg, &store, "POST", "/api/register", &creds("alice"));
    assert_eq!(r.status, 201, "{}", r.body);
    let view = json(&r);
    assert_eq!((view["user"].as_str(), view["lifetimeBeers"].as_i64()), (Some("alice"), Some(0)));
    let sid = view["sessionID"].as_str().unwrap().to_owned();
    let stored = store.entry(&keys::session("sess:", &sid)).map(|(b, _)| String::from_utf8(b).unwrap()).unwrap();
    assert!(
        stored.contains(r#""passport":{"user":"alice"},"device":{"label":"Firefox on Linux","signedInAt":"#),
        "{stored}"
    );
    assert!(!stored.contains("Gecko"), "never the raw User-Agent");
    assert_eq!(block_on(store.members(&keys::user_sessions("alice"))).unwrap(), std::slice::from_ref(&sid));
    assert!(one.cookies.iter().any(|(n, v)| n == "_redisDemo.user" && v == "alice"), "{:?}", one.cookies);
    let r = one.send(&cfg, &store, "GET", "/api/session", b"");
    assert_eq!((json(&r)["user"].as_str(), json(&r)["sessionID"].as_str()), (Some("alice"), Some(sid.as_str())));
}

#[test]
fn a_taken_name_logs_nobody_in_and_leaves_the_session_alone() {
    let (cfg, store) = (config(), MemoryStore::new());
    assert_eq!(Browser::new(FIREFOX).send(&cfg, &store, "POST", "/api/register", &creds("scope")).status, 201);
    let mut two = Browser::new(SAFARI);
    let before = json(&two.send(&cfg, &store, "POST", "/api/pour", b""))["sessionID"].as_str().unwrap().to_owned();
    // Taken, taken in other capitals, a Cyrillic look-alike.
    for name in ["scope", "SCOPE", "ѕсоре"] {
        let r = two.send(&cfg, &store, "POST", "/api/register", &creds(name));
        assert_eq!(r.status, 409, "{name}: {}", r.body);
        assert!(header(&r, "Set-Cookie").is_none());
    }
    let r = two.send(&cfg, &store, "GET", "/api/session", b"");
    assert_eq!(json(&r)["sessionID"], before.as_str(), "the same anonymous session");
    assert!(json(&r).get("user").is_none());
    assert_eq!(block_on(store.members(&keys::user_sessions("scope"))).unwrap().len(), 1);
}

#[test]
fn two_browsers_list_end_and_log_out_others() {
    let (cfg, store) = (config(), MemoryStore::new());
    let mut one = Browser::new(FIREFOX);
    let mut two = Browser::new(SAFARI);
    let mut three = Browser::new(FIREFOX);
    assert_eq!(one.send(&cfg, &store, "POST", "/api/register", &creds("alice")).status, 201);
    assert_eq!(two.send(&cfg, &store, "POST", "/api/login", &creds("alice")).status, 200);
    assert_eq!(three.send(&cfg, &store, "POST", "/api/login", &creds("alice")).status, 200);
    let mut bob = Browser::new(SAFARI);
    assert_eq!(bob.send(&cfg, &store, "POST", "/api/register", &creds("bob")).status, 201);

    let r = one.send(&cfg, &store, "GET", "/api/sessions", b"");
    assert_eq!(r.status, 200, "{}", r.body);
    let list = json(&r)["sessions"].as_array().unwrap().clone();
    assert_eq!(list.len(), 3, "{list:?}");
    assert_eq!(list[0]["current"], true, "the current one is the most recent");
    assert_eq!(list[0]["device"], "Firefox on Linux");
    assert_eq!(list.iter().filter(|d| d["current"] == true).count(), 1);
    assert!(list.iter().any(|d| d["device"] == "Safari on iOS"));
    assert!(!r.body.contains(&one.header().unwrap()[..20]), "no cookie in the list");
    let two_sid = json(&two.send(&cfg, &store, "GET", "/api/session", b""))["sessionID"].as_str().unwrap().to_owned();
    assert!(!r.body.contains(&two_sid), "no session id in the list");
    let two_handle = cfg.session.secrets.device_handle(&two_sid);
    assert!(list.iter().any(|d| d["handle"] == two_handle.as_str()));

    // A forged handle, and one from bob's list: 404, nothing written.
    let bob_list = json(&bob.send(&cfg, &store, "GET", "/api/sessions", b""));
    let bob_handle = bob_list["sessions"][0]["handle"].as_str().unwrap().to_owned();
    let keys = store.keys();
    let before = snapshot(&store, &keys);
    for handle in ["0123456789abcdef0123456789abcdef", bob_handle.as_str(), &two_sid] {
        let r = one.send(&cfg, &store, "POST", &format!("/api/sessions/{handle}/logout"), b"");
        assert_eq!(r.status, 404, "{handle}: {}", r.body);
        assert!(json(&r)["error"].is_string());
    }
    assert_eq!(snapshot(&store, &keys), before, "nothing written");
    // Anonymous: 401.
    assert_eq!(Browser::new(SAFARI).send(&cfg, &store, "GET", "/api/sessions", b"").status, 401);

    // One ends two by its handle (in capitals too: paths are case-insensitive).
    let path = format!("/api/sessions/{}/logout", two_handle.to_uppercase());
    let r = one.send(&cfg, &store, "POST", &path, b"");
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"sessionsEnded":1}"#));
    let r = two.send(&cfg, &store, "GET", "/api/session", b"");
    assert!(json(&r).get("user").is_none(), "two is anonymous: {}", r.body);
    let r = one.send(&cfg, &store, "POST", &format!("/api/sessions/{two_handle}/logout"), b"");
    assert_eq!(r.status, 404, "ended already");

    // Logout-others: three ends, one stays.
    let r = one.send(&cfg, &store, "POST", "/api/logout-others", b"");
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"sessionsEnded":1}"#));
    assert!(json(&three.send(&cfg, &store, "GET", "/api/session", b"")).get("user").is_none());
    assert_eq!(json(&one.send(&cfg, &store, "GET", "/api/session", b""))["user"], "alice");
    let r = one.send(&cfg, &store, "GET", "/api/sessions", b"");
    assert_eq!(json(&r)["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(block_on(store.members(&keys::user_sessions("alice"))).unwrap().len(), 1);
    // Bob was not touched.
    assert_eq!(json(&bob.send(&cfg, &store, "GET", "/api/session", b""))["user"], "bob");

    // Its own handle: a logout of this browser.
    let own = json(&r)["sessions"][0]["handle"].as_str().unwrap().to_owned();
    let r = one.send(&cfg, &store, "POST", &format!("/api/sessions/{own}/logout"), b"");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(json(&one.send(&cfg, &store, "GET", "/api/session", b"")).get("user").is_none());
    assert!(block_on(store.members(&keys::user_sessions("alice"))).unwrap().is_empty());
}
