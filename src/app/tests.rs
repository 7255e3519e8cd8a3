//! The demo's routes against the in-memory store.

use super::*;
use edge_session::store::transport::HttpReply;
use edge_session::store::{MemoryStore, TransportError};
use edge_session::testing::block_on;

pub(super) const NOW: Millis = 1_795_414_947_103;

fn config() -> Config {
    config_with(&[])
}

/// The demo's configuration with the required variables and `extra`.
pub(super) fn config_with(extra: &[(&str, &str)]) -> Config {
    Config::from_vars(|name| match name {
        "SESSION_SECRET" => Some("keyboard cat".into()),
        "SESSION_ENVIRONMENT" => Some("development".into()),
        "UPSTASH_REDIS_REST_URL" => Some("http://127.0.0.1:1".into()),
        "UPSTASH_REDIS_REST_TOKEN" => Some("t".into()),
        _ => extra.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()),
    })
    .unwrap()
}

pub(super) fn req<'a>(method: &'a str, path: &'a str, cookie: Option<&'a str>) -> Request<'a> {
    Request {
        method,
        path,
        query: None,
        cookie,
        https: false,
        forwarded_proto: None,
        self_origin: "http://127.0.0.1:8787",
        origin: None,
        sec_fetch_site: None,
        client_ip: None,
        content_type: None,
        accept: None,
        user_agent: None,
        body: b"",
    }
}

pub(super) fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

pub(super) fn json(r: &Response) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap()
}

#[test]
fn pour_counts_per_session() {
    let (cfg, store) = (config(), MemoryStore::new());
    let first = block_on(handle(&cfg, &store, &req("POST", "/api/pour", None), NOW));
    assert_eq!(first.status, 200);
    let cookie = header(&first, "Set-Cookie").unwrap().split(';').next().unwrap().to_owned();
    let body = json(&first);
    assert_eq!(body["beersViewed"], 1);
    assert_eq!(body["sessionExpireTime"], 60.0);
    assert!(body["beerName"].is_string() && body["beerStyle"].is_string());
    assert_eq!(body["error"], serde_json::Value::Null);
    for n in 2..=3 {
        let r = block_on(handle(&cfg, &store, &req("POST", "/api/pour", Some(&cookie)), NOW + 1000));
        assert_eq!(json(&r)["beersViewed"], n);
        assert_eq!(json(&r)["sessionID"], body["sessionID"]);
    }
}

#[test]
fn session_read_has_no_beer_and_no_views_when_new() {
    let (cfg, store) = (config(), MemoryStore::new());
    let r = block_on(handle(&cfg, &store, &req("GET", "/api/session", None), NOW));
    let body = json(&r);
    assert!(body.get("beersViewed").is_none());
    assert_eq!(body["beerName"], serde_json::Value::Null);
    assert_eq!(header(&r, "Cache-Control"), Some("no-store"));
}

#[test]
fn errors_become_clear_answers() {
    let (cfg, store) = (config(), MemoryStore::new());
    let r = block_on(handle(&cfg, &store, &req("POST", "/api/session", None), NOW));
    assert_eq!((r.status, header(&r, "Allow")), (405, Some("GET, HEAD")));
    let r = block_on(handle(&cfg, &store, &req("GET", "/api/pour", None), NOW));
    assert_eq!((r.status, header(&r, "Allow")), (405, Some("POST")));
    let r = block_on(handle(&cfg, &store, &req("GET", "/api/nope", None), NOW));
    assert_eq!(r.status, 404);
    let huge = format!("_redisDemo={}", "a".repeat(edge_session::session::cookie::MAX_COOKIE_HEADER_BYTES));
    let r = block_on(handle(&cfg, &store, &req("GET", "/api/session", Some(&huge)), NOW));
    assert_eq!(r.status, 400);
    assert!(json(&r)["error"].as_str().unwrap().contains("Cookie header"));
    assert!(store.take_log().is_empty(), "no store traffic for refused requests");
    store.set_down(true);
    let r = block_on(handle(&cfg, &store, &req("POST", "/api/pour", None), NOW));
    assert_eq!(r.status, 503);
    assert!(header(&r, "Set-Cookie").is_none());
    assert!(json(&r)["error"].as_str().unwrap().contains("unavailable"));
}

#[test]
fn the_route_table_decides_dispatch_and_allow() {
    // (path, method) -> route or the status and Allow of the refusal.
    type Refusal = (u16, Option<&'static str>);
    let table: &[(&str, &str, Result<Route, Refusal>)] = &[
        ("/api/session", "GET", Ok(Route::Session)),
        ("/api/session", "HEAD", Ok(Route::Session)),
        ("/api/session", "POST", Err((405, Some("GET, HEAD")))),
        ("/api/pour", "POST", Ok(Route::Pour)),
        ("/api/pour", "GET", Err((405, Some("POST")))),
        ("/api/register", "POST", Ok(Route::Register)),
        ("/api/login", "POST", Ok(Route::Login)),
        ("/api/logout", "POST", Ok(Route::Logout)),
        ("/api/logout-all", "POST", Ok(Route::LogoutAll)),
        ("/api/logout-all", "DELETE", Err((405, Some("POST")))),
        ("/api/sessions", "GET", Ok(Route::Sessions)),
        ("/api/sessions", "POST", Err((405, Some("GET, HEAD")))),
        ("/api/sessions/0123abcd/logout", "POST", Ok(Route::EndSession)),
        ("/api/sessions/0123abcd/logout", "GET", Err((405, Some("POST")))),
        ("/api/sessions//logout", "POST", Err((404, None))),
        ("/api/sessions/a/b/logout", "POST", Err((404, None))),
        ("/api/sessions/0123abcd", "POST", Err((404, None))),
        ("/api/logout-others", "POST", Ok(Route::LogoutOthers)),
        ("/api/nope", "GET", Err((404, None))),
        ("/", "GET", Ok(Route::Page)),
        ("/", "HEAD", Ok(Route::Page)),
        ("/", "POST", Err((405, Some("GET, HEAD")))),
        ("/index.html", "GET", Err((404, None))),
    ];
    for (path, method, want) in table {
        let got = resolve(ALL_ON, path, method, path).map_err(|e| {
            let r = e.into_response();
            (r.status, header(&r, "Allow").map(str::to_owned))
        });
        let want = want.map_err(|(status, allow)| (status, allow.map(str::to_owned)));
        assert_eq!(got, want, "{method} {path}");
    }
    // Every entry is reachable with each of its methods.
    for entry in ROUTES {
        for method in entry.methods {
            assert_eq!(
                resolve(ALL_ON, entry.path, method, entry.path).ok(),
                Some(entry.route),
                "{method} {}",
                entry.path
            );
        }
    }
}

#[test]
fn a_route_parameter_is_one_non_empty_segment() {
    let pattern = "/api/sessions/{handle}/logout";
    let table: &[(&str, Option<Option<&str>>)] = &[
        ("/api/sessions/ab12/logout", Some(Some("ab12"))),
        ("/api/sessions//logout", None),
        ("/api/sessions/ab12/logout/x", None),
        ("/api/sessions/ab12", None),
        ("/api/session/ab12/logout", None),
        ("/api/session", None),
    ];
    for (path, want) in table {
        assert_eq!(match_path(pattern, path), *want, "{path}");
    }
    assert_eq!(match_path("/api/session", "/api/session"), Some(None));
    // After Express's normalization (case, one trailing slash) the handle,
    // lowercase hex, is the one the list gave.
    let path = normalize_path("/API/Sessions/AB12CD/logout/");
    assert_eq!(route_param(Route::EndSession, &path), Some("ab12cd"));
    assert_eq!(route_param(Route::Sessions, "/api/sessions"), None);
}

const ALL_ON: Routes = Routes { demo: true, accounts: true, registration: true };

#[test]
fn route_switches_decide_what_the_worker_owns() {
    // (DEMO_ROUTES, ACCOUNTS_ROUTES, path) -> owned (answered by the worker;
    // otherwise forwarded in gateway mode, 404 without one)
    for (demo, accounts, path, want) in [
        (true, true, "/api/session", true),
        (true, true, "/API/Session/", true),
        (false, true, "/api/session", false),
        (false, true, "/api/pour", false),
        (false, true, "/api/login", true),
        (true, false, "/api/login", false),
        (true, false, "/api/password", false),
        (true, false, "/api/pour", true),
        (false, false, "/api/logout-all", false),
        (true, true, "/", true),
        (false, true, "/", false),
        (true, true, "/account/profile", false),
    ] {
        let routes = Routes { demo, accounts, registration: true };
        assert_eq!(owns(routes, path), want, "demo={demo} accounts={accounts} {path}");
        let resolved = resolve(routes, &normalize_path(path), "GET", path);
        assert_eq!(!matches!(resolved, Err(AppError::NotFound(_))), want, "resolve agrees: {path}");
    }
}

#[test]
fn https_comes_from_the_url_or_a_trusted_proxy() {
    let mut r = req("GET", "/", None);
    assert!(!r.is_secure(true));
    r.forwarded_proto = Some("https, http");
    assert!(!r.is_secure(false), "X-Forwarded-Proto is ignored unless the proxy is trusted");
    assert!(r.is_secure(true));
    r.forwarded_proto = Some("http");
    assert!(!r.is_secure(true));
    r.https = true;
    assert!(r.is_secure(false));
}

#[test]
fn views_count_like_javascript() {
    use serde_json::json;
    let cases = [
        (None, Some(json!(1))),
        (Some(json!(null)), Some(json!(1))),
        (Some(json!(false)), Some(json!(1))),
        (Some(json!(0)), Some(json!(1))),
        (Some(json!("")), Some(json!(1))),
        (Some(json!(-1)), Some(json!(0))),
        (Some(json!(1.5)), Some(json!(2.5))),
        (Some(json!(41)), Some(json!(42))),
        (Some(json!(true)), Some(json!(2))),
        (Some(json!("abc")), Some(json!("abc1"))),
        (Some(json!([1])), None),
        (Some(json!({"a": 1})), None),
    ];
    for (current, next) in cases {
        assert_eq!(next_views(current.clone()), next, "{current:?}");
    }
}

#[test]
fn routes_ignore_case_and_a_trailing_slash() {
    let (cfg, store) = (config(), MemoryStore::new());
    for path in ["/api/session/", "/API/Session"] {
        assert_eq!(block_on(handle(&cfg, &store, &req("GET", path, None), NOW)).status, 200, "{path}");
    }
}

#[test]
fn views_of_another_type_is_an_error_and_writes_nothing() {
    let (cfg, store) = (config(), MemoryStore::new());
    let first = block_on(handle(&cfg, &store, &req("GET", "/api/session", None), NOW));
    let cookie = header(&first, "Set-Cookie").unwrap().split(';').next().unwrap().to_owned();
    let sid = json(&first)["sessionID"].as_str().unwrap().to_owned();
    let key = format!("sess:{sid}");
    let doc = r#"{"cookie":{"originalMaxAge":60000,"expires":null},"views":{"n":1}}"#;
    store.insert_raw(&key, doc.as_bytes(), Some(60));
    store.take_log();
    let r = block_on(handle(&cfg, &store, &req("POST", "/api/pour", Some(&cookie)), NOW));
    assert_eq!(r.status, 409);
    assert!(json(&r)["error"].as_str().unwrap().contains("views"));
    assert_eq!(store.take_log(), [format!("GET {key}")]);
    assert_eq!(store.entry(&key).unwrap().0, doc.as_bytes());
}

/// Deliberate difference from the seed: with no maxAge the seed's
/// `maxAge / 1000` is `null / 1000`, i.e. 0, which reads as "expired"; the
/// worker answers `null` and the page shows "never" (the session lasts as
/// long as the browser).
#[test]
fn a_browser_session_cookie_has_no_expire_time() {
    let (cfg, store) = (config_with(&[("SESSION_MAX_AGE_MS", "none")]), MemoryStore::new());
    let r = block_on(handle(&cfg, &store, &req("GET", "/api/session", None), NOW));
    assert_eq!(json(&r)["sessionExpireTime"], serde_json::Value::Null);
    assert!(!header(&r, "Set-Cookie").unwrap().contains("Expires="));
}

#[test]
fn requests_outside_the_cookie_path_have_no_session() {
    let (cfg, store) = (config_with(&[("SESSION_COOKIE_PATH", "/app")]), MemoryStore::new());
    let r = block_on(handle(&cfg, &store, &req("GET", "/api/session", None), NOW));
    assert_eq!(r.status, 404);
    assert!(json(&r)["error"].as_str().unwrap().contains("Path=/app"));
    assert!(header(&r, "Set-Cookie").is_none());
    assert!(store.take_log().is_empty(), "no store call");
}

#[test]
fn server_timing_names_the_outcome_and_the_store_cost() {
    assert_eq!(server_timing(Some("hit"), 2, 3.06, 0), r#"session;desc="hit", store;desc="2 round trips";dur=3.1"#);
    assert_eq!(
        server_timing(Some("hit"), 1, 0.0, 1),
        r#"session;desc="hit", store;desc="1 round trip";dur=0.0, deferred;desc="1""#
    );
    assert_eq!(server_timing(None, 0, -1.0, 0), r#"store;desc="0 round trips";dur=0.0"#);
}

#[test]
fn every_answer_after_the_load_says_how_the_session_fared() {
    let (cfg, store) = (config(), MemoryStore::new());
    let first = block_on(handle(&cfg, &store, &req("POST", "/api/pour", None), NOW));
    assert_eq!(first.outcome, Some("new"));
    let pair = first.headers.iter().find(|(k, _)| *k == "Set-Cookie").unwrap().1.split(';').next().unwrap().to_owned();
    let again = block_on(handle(&cfg, &store, &req("GET", "/api/session", Some(&pair)), NOW));
    assert_eq!(again.outcome, Some("hit"));
    let forged = pair.replace("s%3A", "s%3AX");
    assert_eq!(
        block_on(handle(&cfg, &store, &req("GET", "/api/session", Some(&forged)), NOW)).outcome,
        Some("tampered")
    );
    store.set_down(true);
    let down = block_on(handle(&cfg, &store, &req("GET", "/api/session", Some(&pair)), NOW));
    assert_eq!((down.status, down.outcome), (503, Some("store-error")));
    store.set_down(false);
    // Answered before the session is looked for: no outcome.
    assert_eq!(block_on(handle(&cfg, &store, &req("GET", "/nope", None), NOW)).outcome, None);
}

/// The upstream of tests without `BEER_API_URL`: never called.
pub(super) struct NoUpstream;

impl Upstream for NoUpstream {
    async fn get_json(&self, _: &str, _: usize) -> Result<HttpReply, TransportError> {
        panic!("no BEER_API_URL in this test: the upstream is not called")
    }
}

/// `super::handle`, then the writes it left for after the answer, as the
/// worker's `waitUntil` sends them (shadows the glob import for this file).
pub(super) async fn handle<S: AccountStore>(config: &Config, store: &S, req: &Request<'_>, now: Millis) -> Response {
    let resp = super::handle(config, store, &NoUpstream, req, now).await;
    for write in &resp.deferred {
        edge_session::session::run_deferred(store, write).await.expect("a deferred write");
    }
    resp
}

// The lab build touches before answering (golden comparisons per request).
#[cfg(not(feature = "lab"))]
#[test]
fn a_read_leaves_its_touch_for_after_the_answer() {
    let (cfg, store) = (config(), MemoryStore::new());
    let first = block_on(handle(&cfg, &store, &req("POST", "/api/pour", None), NOW));
    let pair = header(&first, "Set-Cookie").unwrap().split(';').next().unwrap().to_owned();
    store.take_log();
    let read = block_on(super::handle(&cfg, &store, &NoUpstream, &req("GET", "/api/session", Some(&pair)), NOW + 1000));
    assert_eq!(store.take_log().len(), 1, "one store call before the answer: the read");
    assert!(matches!(read.deferred.as_slice(), [edge_session::session::Deferred::Touch { ttl_seconds: 60, .. }]));
}

#[test]
fn the_gateway_resolves_the_session_and_guards_protected_paths() {
    let cfg = config_with(&[
        ("ORIGIN_URL", "http://127.0.0.1:3000"),
        ("GATEWAY_SECRET", "gateway secret"),
        ("GATEWAY_REQUIRE_LOGIN", "/account/*"),
        ("GATEWAY_LOGIN_URL", "/login"),
        ("SESSION_PASSPORT_USER_FIELD", "id"),
    ]);
    let gw = cfg.gateway.clone().unwrap();
    let store = MemoryStore::new();
    let check = |path: &'static str, cookie: Option<&str>, accept: Option<&str>| {
        let cookie = cookie.map(str::to_owned);
        let r = Request { cookie: cookie.as_deref(), ..req("GET", path, None) };
        block_on(gateway_check(&cfg, &gw, &store, &r, accept, NOW)).map_err(|answer| (answer.status, answer.outcome))
    };
    // No cookie: anonymous, public paths pass, protected ones do not.
    let anon = check("/", None, None).unwrap();
    assert_eq!((anon.gate, anon.identity.clone(), anon.outcome), (Gate::Forward, Identity::default(), Some("new")));
    assert_eq!(check("/account/x", None, None).unwrap().gate, Gate::Refuse);
    assert_eq!(check("/account/x", None, Some("text/html")).unwrap().gate, Gate::RedirectToLogin);
    // A stored session of an Express app whose Passport serializes {id}.
    let sid = "11111111-1111-4111-8111-111111111111";
    let doc = r#"{"cookie":{"originalMaxAge":60000,"expires":"2027-01-01T00:00:00.000Z","httpOnly":true,"path":"/"},"passport":{"user":{"id":7}}}"#;
    store.insert_raw(&format!("sess:{sid}"), doc.as_bytes(), Some(60));
    let line =
        edge_session::session::cookie::set_cookie_header("_redisDemo", sid, &cfg.session.secrets, &Default::default());
    let cookie = line.split(';').next().unwrap().to_owned();
    let logged = check("/account/x", Some(&cookie), None).unwrap();
    assert_eq!(logged.gate, Gate::Forward);
    assert_eq!(logged.identity, Identity { session_id: Some(sid.into()), user: Some("7".into()) });
    assert_eq!(logged.outcome, Some("hit"));
    // Tampered: nobody.
    let forged = cookie.replace(sid, "22222222-2222-4222-8222-222222222222");
    let t = check("/account/x", Some(&forged), None).unwrap();
    assert_eq!((t.gate, t.identity, t.outcome), (Gate::Refuse, Identity::default(), Some("tampered")));
    // An oversized Cookie header is the origin's to judge: forwarded.
    let huge = format!("a={}; {cookie}", "x".repeat(9000));
    let big = check("/account/x", Some(&huge), None).unwrap();
    assert_eq!((big.gate, big.identity.user.as_deref()), (Gate::Forward, Some("7")));
    // Nothing was written: a GET of the one key each time.
    let log = store.take_log();
    assert!(!log.is_empty() && log.iter().all(|command| command.starts_with("GET")), "reads only: {log:?}");
    assert_eq!(store.entry(&format!("sess:{sid}")).unwrap().0, doc.as_bytes());
    // The store down: 503, not an anonymous forward.
    store.set_down(true);
    let down = check("/", Some(&cookie), None).unwrap_err();
    assert_eq!(down, (503, Some("store-error")));
}

#[test]
fn the_gateway_counts_a_login_as_passport_does() {
    let cfg = config_with(&[
        ("ORIGIN_URL", "http://127.0.0.1:3000"),
        ("GATEWAY_SECRET", "gateway secret"),
        ("GATEWAY_REQUIRE_LOGIN", "/*"),
    ]);
    let gw = cfg.gateway.clone().unwrap();
    let store = MemoryStore::new();
    let sid = "11111111-1111-4111-8111-111111111111";
    let line =
        edge_session::session::cookie::set_cookie_header("_redisDemo", sid, &cfg.session.secrets, &Default::default());
    let cookie = line.split(';').next().unwrap().to_owned();
    // passport.user as stored → let through (passport 0.7: `su || su === 0`)
    for (user, passes) in [
        ("\"alice\"", true),
        ("0", true),
        ("7", true),
        ("true", true),
        ("[]", true),
        ("{}", true),
        ("false", false),
        ("\"\"", false),
        ("null", false),
    ] {
        let doc = format!(
            r#"{{"cookie":{{"originalMaxAge":60000,"expires":"2027-01-01T00:00:00.000Z","httpOnly":true,"path":"/"}},"passport":{{"user":{user}}}}}"#
        );
        store.insert_raw(&format!("sess:{sid}"), doc.as_bytes(), Some(60));
        let r = Request { cookie: Some(&cookie), ..req("GET", "/x", None) };
        let verdict = block_on(gateway_check(&cfg, &gw, &store, &r, None, NOW)).unwrap();
        assert_eq!(verdict.gate == Gate::Forward, passes, "passport.user = {user}");
    }
}

/// A fake beer API for the pour tests: answers `status` and `body`, counts
/// its calls.
struct FakeBeerApi {
    status: u16,
    body: &'static str,
    calls: std::cell::Cell<u32>,
}

impl Upstream for FakeBeerApi {
    async fn get_json(&self, _: &str, _: usize) -> Result<HttpReply, TransportError> {
        self.calls.set(self.calls.get() + 1);
        Ok(HttpReply { status: self.status, body: self.body.as_bytes().to_vec(), sync_token: None })
    }
}

/// With `BEER_API_URL`, a pour reads the cache key with the session (the
/// same read) and writes it with the save (the same write): the API adds
/// no store call, only the upstream's on a cold cache.
#[test]
fn a_pour_reads_the_beer_cache_with_the_session_and_writes_it_with_the_save() {
    let cfg = config_with(&[("BEER_API_URL", "http://127.0.0.1:9/beers"), ("BEER_CACHE_SECONDS", "60")]);
    let key = keys::beer_cache("http://127.0.0.1:9/beers");
    let (store, api) = (MemoryStore::new(), FakeBeerApi { status: 200, body: r#"[{"name":"Solo"}]"#, calls: 0.into() });
    let first = block_on(super::handle(&cfg, &store, &api, &req("POST", "/api/pour", None), NOW));
    let body = json(&first);
    assert_eq!((first.status, &body["beerSource"], &body["beerName"]), (200, &"api".into(), &"Solo".into()));
    assert_eq!(body["beerStyle"], Value::Null, "the upstream gave no style");
    let log = store.take_log();
    assert_eq!(log.first(), Some(&format!("GET {key}")), "{log:?}");
    assert_eq!(log.last(), Some(&format!("SET {key} EX 60")), "with the save: {log:?}");
    assert_eq!(log.len(), 3, "the read, the save, the cache: {log:?}");

    let cookie = header(&first, "Set-Cookie").unwrap().split(';').next().unwrap().to_owned();
    let second = block_on(super::handle(&cfg, &store, &api, &req("POST", "/api/pour", Some(&cookie)), NOW + 1000));
    let body = json(&second);
    assert_eq!(
        (&body["beerSource"], &body["beerName"], &body["beersViewed"]),
        (&"cache".into(), &"Solo".into(), &2.into())
    );
    assert_eq!(api.calls.get(), 1, "a hit does not call the upstream");
    let log = store.take_log();
    assert!(log[0].starts_with("GET sess:") && log[1] == format!("GET {key}") && log.len() == 3, "{log:?}");
    assert!(second.detail.is_none());
}

#[test]
fn a_pour_with_a_failing_beer_api_takes_the_generator_and_leaves_a_warning() {
    let cfg = config_with(&[("BEER_API_URL", "http://127.0.0.1:9/beers")]);
    let (store, api) = (MemoryStore::new(), FakeBeerApi { status: 503, body: "busy", calls: 0.into() });
    let r = block_on(super::handle(&cfg, &store, &api, &req("POST", "/api/pour", None), NOW));
    let body = json(&r);
    assert_eq!((r.status, &body["beerSource"], &body["beersViewed"]), (200, &"generator".into(), &1.into()));
    assert!(body["beerName"].is_string() && body["beerStyle"].is_string());
    let detail = r.detail.expect("the failure is kept for the log");
    assert!(
        detail.contains("BEER_API_URL") && detail.contains("HTTP 503") && !detail.contains("127.0.0.1"),
        "{detail}"
    );
    assert_eq!(answer_log_level(r.status, true), Some("warn"));
    assert!(!store.take_log().iter().any(|l| l.contains("beer-cache") && l.starts_with("SET")), "nothing cached");
    // Without BEER_API_URL: the generator, no cache key read.
    let plain = block_on(handle(&config(), &store, &req("POST", "/api/pour", None), NOW));
    assert_eq!(json(&plain)["beerSource"], "generator");
    assert!(!store.take_log().iter().any(|l| l.contains("beer-cache")));
}

#[test]
fn answers_are_logged_by_status_and_warning() {
    assert_eq!(answer_log_level(200, false), None);
    assert_eq!(answer_log_level(200, true), Some("warn"));
    assert_eq!(answer_log_level(404, false), Some("warn"));
    assert_eq!(answer_log_level(503, false), Some("error"));
    assert_eq!(answer_log_level(500, true), Some("error"));
}

/// A browser form's pour (303 to the page) keeps the beer the API gave as
/// the page's `lastBeer`, and the API's failure for the log.
#[test]
fn a_form_pour_keeps_the_api_beer_for_the_page_and_its_warning_for_the_log() {
    let cfg = config_with(&[("BEER_API_URL", "http://127.0.0.1:9/beers")]);
    let form = |cookie| Request { accept: Some("text/html"), ..req("POST", "/api/pour", cookie) };
    let store = MemoryStore::new();
    let api = FakeBeerApi { status: 200, body: r#"{"name":"Solo","style":"Pils"}"#, calls: 0.into() };
    let r = block_on(super::handle(&cfg, &store, &api, &form(None), NOW));
    assert_eq!((r.status, header(&r, "Location")), (303, Some("/")));
    let cookie = header(&r, "Set-Cookie").unwrap().split(';').next().unwrap().to_owned();
    let sid = cookie.split_once("s%3A").unwrap().1.split('.').next().unwrap().to_owned();
    let doc = block_on(edge_session::store::SessionStore::get(&store, &format!("sess:{sid}"))).unwrap().unwrap();
    let doc: Value = serde_json::from_slice(&doc).unwrap();
    assert_eq!(doc[page::LAST_BEER], serde_json::json!({ "name": "Solo", "style": "Pils", "source": "api" }));

    let failing = FakeBeerApi { status: 500, body: "", calls: 0.into() };
    let cfg = config_with(&[("BEER_API_URL", "http://127.0.0.1:9/other")]);
    let r = block_on(super::handle(&cfg, &store, &failing, &form(Some(&cookie)), NOW + 1000));
    assert_eq!(r.status, 303);
    assert!(r.detail.is_some_and(|d| d.contains("BEER_API_URL")), "the warning survives the redirect");
}

/// The text a page answer gives element `id`, if any.
fn page_text(r: &Response, id: &str) -> Option<String> {
    r.page.as_ref()?.iter().find_map(|e| match e {
        page::Edit::Text { id: i, value } if *i == id => Some(value.clone()),
        page::Edit::Attr { id: i, name: "value", value } if *i == id => Some(value.clone()),
        _ => None,
    })
}

#[test]
fn the_page_shows_a_stored_document_as_stored_and_a_head_leaves_the_messages() {
    let (cfg, store) = (config(), MemoryStore::new());
    let sid = "11111111-1111-4111-8111-111111111111";
    // Another writer's spelling: escaped slash and letter, an exponent.
    let doc = r#"{"cookie":{"originalMaxAge":60000,"expires":"2027-01-01T00:00:00.000Z","httpOnly":true,"path":"/"},"views":2,"x":"a\/b\u00e9","n":1e21,"flash":{"info":["hello"]}}"#;
    store.insert_raw(&format!("sess:{sid}"), doc.as_bytes(), Some(60));
    let line =
        edge_session::session::cookie::set_cookie_header("_redisDemo", sid, &cfg.session.secrets, &Default::default());
    let cookie = line.split(';').next().unwrap().to_owned();
    let head = block_on(handle(&cfg, &store, &req("HEAD", "/", Some(&cookie)), NOW));
    assert_eq!(head.status, 200);
    assert_eq!(page_text(&head, "stored-document").as_deref(), Some(doc), "as stored, byte for byte");
    assert_eq!(page_text(&head, "document-key").as_deref(), Some(format!("sess:{sid}").as_str()));
    assert_eq!(store.entry(&format!("sess:{sid}")).unwrap().0, doc.as_bytes(), "a HEAD takes no message");
    let get = block_on(handle(&cfg, &store, &req("GET", "/", Some(&cookie)), NOW));
    assert!(get
        .page
        .unwrap()
        .iter()
        .any(|e| matches!(e, page::Edit::Html { id: "flash", value } if value.contains("hello"))));
    let after: Value = serde_json::from_slice(&store.entry(&format!("sess:{sid}")).unwrap().0).unwrap();
    assert_eq!(after["flash"], serde_json::json!({}), "a GET shows it once");
}

#[test]
fn without_save_uninitialized_a_new_session_shows_no_id_and_its_pour_is_no_return() {
    let (cfg, store) = (config_with(&[("SESSION_SAVE_UNINITIALIZED", "false")]), MemoryStore::new());
    let page = block_on(handle(&cfg, &store, &req("GET", "/", None), NOW));
    assert_eq!(header(&page, "Set-Cookie"), None, "nothing stored");
    assert!(page_text(&page, "session-id").unwrap().starts_with("none yet"));
    assert_eq!(page_text(&page, "shown-session").as_deref(), Some(""), "the pour form names no session");
    assert_eq!(page_text(&page, "expires-in").as_deref(), Some("–"), "nothing to count down");
    assert!(!page.page.as_ref().unwrap().iter().any(|e| matches!(e, page::Edit::Attr { name: "data-seconds", .. })));
    // Its first pour stores it, and says nothing of an ended session.
    let form = Request {
        accept: Some("text/html"),
        content_type: Some("application/x-www-form-urlencoded"),
        body: b"shown=",
        ..req("POST", "/api/pour", None)
    };
    let poured = block_on(handle(&cfg, &store, &form, NOW));
    assert_eq!(poured.status, 303);
    let cookie = header(&poured, "Set-Cookie").unwrap().split(';').next().unwrap().to_owned();
    let next = block_on(handle(&cfg, &store, &req("GET", "/", Some(&cookie)), NOW + 1));
    assert!(
        !next.page.unwrap().iter().any(|e| matches!(e, page::Edit::Html { id: "flash", .. })),
        "no 'session had ended'"
    );
    let stored = block_on(handle(&config(), &store, &req("GET", "/", None), NOW));
    assert!(page_text(&stored, "session-id").unwrap().len() == 36, "stored by default: its id");
}

#[test]
fn a_browser_gets_errors_on_the_page_and_an_api_client_gets_json() {
    let (cfg, store) = (config(), MemoryStore::new());
    store.set_down(true);
    let page = block_on(handle(&cfg, &store, &req("GET", "/", None), NOW));
    assert_eq!(page.status, 503);
    assert_eq!(header(&page, "Content-Type"), None, "the page's own type, not JSON");
    assert!(header(&page, "Retry-After").is_some());
    assert!(page_text(&page, "error")
        .unwrap()
        .starts_with("The server answered 503: the session store is unavailable"));
    let form = Request { accept: Some("text/html"), ..req("POST", "/api/pour", None) };
    assert!(
        page.page.as_ref().unwrap().contains(&page::Edit::Hide { id: "session-panel" }),
        "no claims about a session not read"
    );
    let form = block_on(handle(&cfg, &store, &form, NOW));
    assert_eq!((form.status, page_text(&form, "error").is_some()), (503, true), "a form too");
    let api = block_on(handle(&cfg, &store, &req("POST", "/api/pour", None), NOW));
    assert_eq!((api.status, api.page.is_none()), (503, true));
    assert!(json(&api)["error"].is_string());
}

#[test]
fn durations_shown_with_fixed_decimals() {
    let cases = [
        (3.04159, 1, "3.0"),
        (0.0, 1, "0.0"),
        (-2.0, 1, "0.0"),
        (f64::NAN, 3, "0.000"),
        (0.05, 1, "0.1"),
        (59.9996, 3, "60.000"),
        (1234.5678, 3, "1234.568"),
        (7.0, 0, "7"),
    ];
    for (x, places, want) in cases {
        assert_eq!(fixed(x, places), want, "{x} to {places}");
    }
}
