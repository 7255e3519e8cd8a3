//! The account routes natively, against the in-memory store: what each
//! answers, what it leaves in the store, and the Set-Cookie it sends. The
//! end-to-end tests (tests/e2e/accounts.test.mjs) repeat the important
//! cases against the real worker, Redis and Express.

use super::tests::{config_with, handle, header, json, req, NOW};
use super::*;
use edge_session::keys;
use edge_session::store::{MemoryStore, SessionStore};
use edge_session::testing::block_on;

const IP: &str = "203.0.113.7";

fn config() -> Config {
    // A low PBKDF2 cost: these tests are about the routes, not the hash.
    config_with(&[("AUTH_PBKDF2_ITERATIONS", "10"), ("AUTH_MAX_FAILURES_PER_USER", "3")])
}

fn post<'a>(path: &'a str, cookie: Option<&'a str>, content_type: &'a str, body: &'a [u8]) -> Request<'a> {
    Request { content_type: Some(content_type), body, client_ip: Some(IP), ..req("POST", path, cookie) }
}

fn creds(name: &str, password: &str) -> Vec<u8> {
    serde_json::json!({ "username": name, "password": password }).to_string().into_bytes()
}

/// The `name=value` pair of a response's Set-Cookie.
fn cookie_pair(r: &Response) -> String {
    header(r, "Set-Cookie").expect("a Set-Cookie").split(';').next().unwrap().to_owned()
}

fn stored(store: &MemoryStore, key: &str) -> Option<String> {
    store.entry(key).map(|(bytes, _)| String::from_utf8(bytes).unwrap())
}

/// Registers `name` (the first time) and logs in, as a browser does that
/// registers (which logs it in) and logs in again; returns the login's
/// answer. The browser keeps one session: the login replaces the
/// registration's.
fn login(cfg: &Config, store: &MemoryStore, name: &str, password: &str) -> Response {
    let body = creds(name, password);
    let r = block_on(handle(cfg, store, &post("/api/register", None, "application/json", &body), NOW));
    assert!(r.status == 201 || r.status == 409, "register: {} {}", r.status, r.body);
    let registered = (r.status == 201).then(|| cookie_pair(&r));
    block_on(handle(cfg, store, &post("/api/login", registered.as_deref(), "application/json", &body), NOW))
}

#[test]
fn register_creates_the_user_and_answers_201() {
    let (cfg, store) = (config(), MemoryStore::new());
    let body = creds("Zoë", "correct horse");
    let r = block_on(handle(&cfg, &store, &post("/api/register", None, "application/json", &body), NOW));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(json(&r)["user"], "zoë");
    let record = stored(&store, &keys::user("user:", "zoë")).expect("a user record");
    assert!(record.contains(r#""username":"zoë","password":"pbkdf2-sha256$10$"#), "{record}");
    // The same name again, any case: 409.
    let again = creds("ZOË", "another password");
    let r = block_on(handle(&cfg, &store, &post("/api/register", None, "application/json", &again), NOW));
    assert_eq!(r.status, 409);
}

#[test]
fn register_accepts_a_form_and_refuses_bad_input() {
    let (cfg, store) = (config(), MemoryStore::new());
    let form = b"username=alice&password=correct+horse";
    let r =
        block_on(handle(&cfg, &store, &post("/api/register", None, "application/x-www-form-urlencoded", form), NOW));
    assert_eq!(r.status, 201, "{}", r.body);
    for (content_type, body) in [
        ("application/json", &b"{\"username\":\"bob\"}"[..]),
        ("text/plain", &b"username=bob&password=correct+horse"[..]),
        ("application/json", &creds("bob", "short")[..]),
        ("application/json", &creds("b", "correct horse")[..]),
    ] {
        let r = block_on(handle(&cfg, &store, &post("/api/register", None, content_type, body), NOW));
        assert_eq!(r.status, 400, "{content_type} {}", String::from_utf8_lossy(body));
        assert!(json(&r)["error"].is_string());
    }
}

#[test]
fn login_regenerates_the_session_and_indexes_it() {
    let (cfg, store) = (config(), MemoryStore::new());
    // An anonymous session first: its id must not survive the login.
    let first = block_on(handle(&cfg, &store, &req("POST", "/api/pour", None), NOW));
    let before = json(&first)["sessionID"].as_str().unwrap().to_owned();
    let body = creds("alice", "correct horse");
    // Registered (and logged in) from another browser.
    let other = block_on(handle(&cfg, &store, &post("/api/register", None, "application/json", &body), NOW));
    let other = json(&other)["sessionID"].as_str().unwrap().to_owned();
    let pair = cookie_pair(&first);
    let r = block_on(handle(&cfg, &store, &post("/api/login", Some(&pair), "application/json", &body), NOW));
    assert_eq!(r.status, 200, "{}", r.body);
    let view = json(&r);
    let after = view["sessionID"].as_str().unwrap();
    assert_ne!(after, before, "a fresh id at login");
    assert_eq!((view["user"].as_str(), view["lifetimeBeers"].as_i64()), (Some("alice"), Some(0)));
    assert_eq!(stored(&store, &keys::session("sess:", &before)), None, "the pre-login key is deleted");
    let doc = stored(&store, &keys::session("sess:", after)).expect("the new session is saved");
    assert!(doc.contains(r#""passport":{"user":"alice"}"#), "{doc}");
    assert!(cookie_pair(&r).starts_with("_redisDemo=s%3A"));
    let mut index = block_on(store.members(&keys::user_sessions("alice"))).unwrap();
    index.sort();
    let mut want = [after.to_owned(), other];
    want.sort();
    assert_eq!(index, want);
}

#[test]
fn wrong_passwords_are_401_then_429_with_retry_after() {
    let (cfg, store) = (config(), MemoryStore::new());
    assert_eq!(login(&cfg, &store, "alice", "correct horse").status, 200);
    let wrong = creds("alice", "wrong password");
    for _ in 0..3 {
        let r = block_on(handle(&cfg, &store, &post("/api/login", None, "application/json", &wrong), NOW));
        assert_eq!((r.status, json(&r)["error"].as_str()), (401, Some("invalid username or password")));
    }
    // Past the name's soft limit a new address waits; the address that
    // logged in before does not (issue 11: lockout without denial of service).
    let right = creds("alice", "correct horse");
    let elsewhere = Request { client_ip: Some("192.0.2.99"), ..post("/api/login", None, "application/json", &right) };
    let r = block_on(handle(&cfg, &store, &elsewhere, NOW));
    assert_eq!(r.status, 429);
    assert_eq!(header(&r, "Retry-After"), Some("900"));
    assert_eq!(json(&r)["retryAfter"], 900, "the wait is in the body too");
    assert!(header(&r, "Set-Cookie").is_none());
    let r = block_on(handle(&cfg, &store, &post("/api/login", None, "application/json", &right), NOW));
    assert_eq!(r.status, 200, "the owner's known address gets in: {}", r.body);
}

#[test]
fn logout_keeps_no_login_and_changes_the_id() {
    let (cfg, store) = (config(), MemoryStore::new());
    let logged_in = login(&cfg, &store, "alice", "correct horse");
    let sid = json(&logged_in)["sessionID"].as_str().unwrap().to_owned();
    let pair = cookie_pair(&logged_in);
    let r = block_on(handle(&cfg, &store, &post("/api/logout", Some(&pair), "application/json", b"{}"), NOW));
    assert_eq!(r.status, 200, "{}", r.body);
    let fresh = json(&r)["sessionID"].as_str().unwrap().to_owned();
    assert_ne!(fresh, sid);
    assert_eq!(stored(&store, &keys::session("sess:", &sid)), None, "the logged-in key is gone");
    let doc = stored(&store, &keys::session("sess:", &fresh)).unwrap();
    assert!(!doc.contains("passport"), "{doc}");
    // The new cookie reads as anonymous.
    let r = block_on(handle(&cfg, &store, &req("GET", "/api/session", Some(&cookie_pair(&r))), NOW));
    assert_eq!(json(&r).get("user"), None);
}

#[test]
fn logout_all_ends_every_indexed_session_and_clears_the_cookie() {
    let (cfg, store) = (config(), MemoryStore::new());
    let one = login(&cfg, &store, "alice", "correct horse");
    let two = login(&cfg, &store, "alice", "correct horse");
    let ids: Vec<String> = [&one, &two].iter().map(|r| json(r)["sessionID"].as_str().unwrap().to_owned()).collect();
    let r = block_on(handle(
        &cfg,
        &store,
        &post("/api/logout-all", Some(&cookie_pair(&two)), "application/json", b"{}"),
        NOW,
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["sessionsEnded"], 2);
    for id in &ids {
        assert_eq!(stored(&store, &keys::session("sess:", id)), None, "{id} ended");
    }
    assert!(block_on(store.members(&keys::user_sessions("alice"))).unwrap().is_empty());
    assert!(header(&r, "Set-Cookie").unwrap().contains("Expires=Thu, 01 Jan 1970 00:00:00 GMT"));
    // Lifetime data outlives the sessions.
    assert!(stored(&store, &keys::user("user:", "alice")).is_some());
}

#[test]
fn logout_all_needs_a_login_and_a_same_site_request() {
    let (cfg, store) = (config(), MemoryStore::new());
    let r = block_on(handle(&cfg, &store, &post("/api/logout-all", None, "application/json", b"{}"), NOW));
    assert_eq!(r.status, 401);
    let cross = Request { sec_fetch_site: Some("cross-site"), ..post("/api/login", None, "application/json", b"{}") };
    let r = block_on(handle(&cfg, &store, &cross, NOW));
    assert_eq!(r.status, 403);
    assert!(store.take_log().iter().all(|c| !c.contains("login")), "no store traffic for a refused login");
}

#[test]
fn pour_when_logged_in_counts_lifetime_beers() {
    let (cfg, store) = (config(), MemoryStore::new());
    let pair = cookie_pair(&login(&cfg, &store, "alice", "correct horse"));
    for n in 1..=2 {
        let r = block_on(handle(&cfg, &store, &req("POST", "/api/pour", Some(&pair)), NOW));
        assert_eq!(json(&r)["lifetimeBeers"], n);
    }
    assert_eq!(stored(&store, &keys::user_counter(BEERS, "alice")).as_deref(), Some("2"));
    let r = block_on(handle(&cfg, &store, &req("GET", "/api/session", Some(&pair)), NOW));
    assert_eq!((json(&r)["user"].as_str(), json(&r)["lifetimeBeers"].as_i64()), (Some("alice"), Some(2)));
}

#[test]
fn a_deleted_account_is_logged_out_at_its_next_request() {
    let (cfg, store) = (config(), MemoryStore::new());
    let logged_in = login(&cfg, &store, "alice", "correct horse");
    let pair = cookie_pair(&logged_in);
    let sid = json(&logged_in)["sessionID"].as_str().unwrap().to_owned();
    // The account is deleted (by an operator, or another app).
    block_on(store.del(&[keys::user("user:", "alice")])).unwrap();
    let r = block_on(handle(&cfg, &store, &req("GET", "/api/session", Some(&pair)), NOW));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(json(&r).get("user").is_none(), "no longer logged in: {}", r.body);
    assert_ne!(json(&r)["sessionID"], sid.as_str(), "a new id, as at a logout");
    assert_eq!(stored(&store, &keys::session("sess:", &sid)), None, "the deleted user's session is gone");
    // Its cookie pours no more for the deleted user.
    let r = block_on(handle(&cfg, &store, &post("/api/pour", Some(&pair), "application/json", b"{}"), NOW));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(json(&r).get("user").is_none());
    assert_eq!(stored(&store, &keys::user_counter("beers", "alice")), None, "no lifetime beer counted");
}

#[test]
fn a_password_change_ends_every_other_session_and_keeps_this_browser_logged_in() {
    let (cfg, store) = (config(), MemoryStore::new());
    let a = login(&cfg, &store, "alice", "correct horse");
    let b = login(&cfg, &store, "alice", "correct horse");
    let (a_pair, b_sid) = (cookie_pair(&a), json(&b)["sessionID"].as_str().unwrap().to_owned());
    let change = |old: &str, new: &str| {
        let body = serde_json::json!({ "password": old, "newPassword": new }).to_string().into_bytes();
        block_on(handle(&cfg, &store, &post("/api/password", Some(&a_pair), "application/json", &body), NOW))
    };
    // A wrong current password, or a weak new one: refused, nothing changed.
    assert_eq!(change("not the password", "a much better one").status, 401);
    assert_eq!(change("correct horse", "password").status, 400);
    assert!(stored(&store, &keys::session("sess:", &b_sid)).is_some());
    let r = change("correct horse", "a much better one");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["user"], "alice");
    assert_eq!(json(&r)["sessionsEnded"], 2, "both sessions ended");
    assert_eq!(stored(&store, &keys::session("sess:", &b_sid)), None, "the other browser is logged out");
    let new_sid = json(&r)["sessionID"].as_str().unwrap().to_owned();
    let doc = stored(&store, &keys::session("sess:", &new_sid)).unwrap();
    assert!(doc.contains(r#""passport":{"user":"alice"}"#), "this browser goes on logged in: {doc}");
    assert_eq!(block_on(store.members(&keys::user_sessions("alice"))).unwrap(), [new_sid]);
    assert_eq!(login(&cfg, &store, "alice", "a much better one").status, 200);
    let old = block_on(handle(
        &cfg,
        &store,
        &post("/api/login", None, "application/json", &creds("alice", "correct horse")),
        NOW,
    ));
    assert_eq!(old.status, 401, "the old password is refused");
}
