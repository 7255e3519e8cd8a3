//! The Rust side of a request, natively (issue 14: "profile our hot path
//! natively"): what the worker computes between the store's answer and its
//! own, without the Workers runtime. `cargo bench -p edge-session --bench
//! hot_path` (make bench runs it briefly; docs/BENCHMARKS.md). These numbers
//! say which part of our own code costs what; the CPU a request costs in
//! the runtime, bindings and store calls included, is bench/twin.mjs's.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

use edge_session::config::Vars;
use edge_session::session::cookie::{set_cookie_header, verified_session_id, Secrets};
use edge_session::session::decide::{should_save, should_set_cookie, should_touch, Facts, Policy};
use edge_session::session::document::{SessionCookie, SessionDocument};
use edge_session::session::{SessionConfig, Sessions};
use edge_session::store::MemoryStore;
use edge_session::testing::block_on;

const SECRET: &str = "a-32-byte-or-longer-random-secret";
const SID: &str = "0b6c1f2e-7b5e-4c1a-9d3f-2a8e4b6c9d10";
const NOW_MS: i64 = 1_795_414_947_103;
/// A stored document as express-session + connect-redis write it, with a
/// Passport user and a few fields (the demo's logged-in session).
const DOCUMENT: &str = r#"{"cookie":{"originalMaxAge":60000,"expires":"2026-11-30T12:00:00.000Z","secure":false,"httpOnly":true,"path":"/"},"views":12,"lastBeer":{"name":"Hoppy Trails","style":"IPA","source":"generator"},"passport":{"user":"alice"},"device":{"label":"Firefox on Linux","signedInAt":1795414900000}}"#;

fn hot_path(c: &mut Criterion) {
    let secrets = Secrets::new(vec![SECRET.to_owned()]).expect("a secret");
    let signed = format!("connect.sid=s%3A{}", urlencode(&secrets.sign(SID)));
    c.bench_function("cookie: verify the session cookie (HMAC-SHA256)", |b| {
        b.iter(|| verified_session_id(black_box(Some(signed.as_str())), "connect.sid", &secrets))
    });
    c.bench_function("document: parse a stored document", |b| {
        b.iter(|| SessionDocument::parse(black_box(DOCUMENT.as_bytes())).expect("readable"))
    });
    c.bench_function("document: its JSON alone (js_json::parse)", |b| {
        b.iter(|| edge_session::session::js_json::parse(black_box(DOCUMENT)).expect("JSON"))
    });
    c.bench_function("document: its expires alone (parse_iso)", |b| {
        b.iter(|| edge_session::session::document::parse_iso(black_box("2026-11-30T12:00:00.000Z")).expect("a date"))
    });
    let doc = SessionDocument::parse(DOCUMENT.as_bytes()).expect("readable");
    c.bench_function("document: write it back (JSON.stringify's bytes)", |b| b.iter(|| black_box(&doc).to_json()));
    let cookie = SessionCookie::default();
    c.bench_function("cookie: a Set-Cookie line (sign + serialize)", |b| {
        b.iter(|| set_cookie_header("connect.sid", black_box(SID), &secrets, &cookie))
    });
    let facts = Facts { cookie_matches: true, modified: false, has_saved_state: true, saved: true, expires_set: true };
    c.bench_function("decide: save, touch, set-cookie", |b| {
        b.iter(|| {
            let (p, f) = (Policy::default(), black_box(facts));
            (should_save(p, f), should_touch(p, f), should_set_cookie(p, f))
        })
    });

    // The whole session cycle of a read and of a pour, on the in-memory store.
    let vars = |name: &str| match name {
        "SESSION_SECRET" => Some(SECRET.to_owned()),
        "SESSION_COOKIE_NAME" => Some("connect.sid".to_owned()),
        _ => None,
    };
    let config = SessionConfig::from_vars(&Vars::new(&vars)).expect("config");
    let store = MemoryStore::new();
    let sessions = Sessions::new(&config, &store);
    let mut first = block_on(sessions.load(None, NOW_MS, false)).expect("load");
    first.insert("views", &1).expect("insert");
    let set_cookie = block_on(sessions.commit(&mut first, NOW_MS)).expect("commit").pop().expect("cookie");
    let pair = set_cookie.split(';').next().expect("name=value").to_owned();
    c.bench_function("cycle: read (load, commit; in-memory store)", |b| {
        b.iter(|| {
            let mut s = block_on(sessions.load(Some(&pair), NOW_MS + 1_000, false)).expect("load");
            block_on(sessions.commit(&mut s, NOW_MS + 1_000)).expect("commit")
        })
    });
    c.bench_function("cycle: pour (load, update, commit; in-memory store)", |b| {
        b.iter(|| {
            let mut s = block_on(sessions.load(Some(&pair), NOW_MS + 1_000, false)).expect("load");
            s.update(|s| {
                let views = s.get::<i64>("views")?.unwrap_or(0);
                s.insert("views", &(views + 1))
            })
            .expect("update");
            block_on(sessions.commit(&mut s, NOW_MS + 1_000)).expect("commit")
        })
    });
}

/// `encodeURIComponent` of a signed value (only `+`, `/` and `=` can need it).
fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
