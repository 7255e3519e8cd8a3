//! Hostile input through the whole load → commit cycle, against the
//! in-memory store that logs every command: a stored document over the
//! size limit, and documents under it with very many members.
//! docs/RELIABILITY.md "Hostile input" lists each case and its answer.

use std::time::{Duration, Instant};

use edge_session::config::Vars;
use edge_session::session::cookie::set_cookie_header;
use edge_session::session::document::{SessionCookie, SessionDocument, MAX_DOCUMENT_BYTES};
use edge_session::session::{SessionConfig, SessionId, Sessions};
use edge_session::store::MemoryStore;
use edge_session::testing::block_on;

const NOW: i64 = 1_795_414_947_103;
const SID: &str = "11111111-1111-4111-8111-111111111111";
/// The ids of the new sessions, one a request.
const FRESH: [&str; 2] = ["22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"];

fn config() -> SessionConfig {
    // express-session's example secret, as the vectors were recorded: a
    // development configuration.
    let vars = |name: &str| match name {
        "SESSION_SECRET" => Some("keyboard cat".to_owned()),
        "SESSION_ENVIRONMENT" => Some("development".to_owned()),
        _ => None,
    };
    SessionConfig::from_vars(&Vars::new(&vars)).unwrap()
}

fn cookie_for(cfg: &SessionConfig, sid: &str) -> String {
    let line = set_cookie_header("_redisDemo", sid, &cfg.secrets, &SessionCookie::default());
    line.split(';').next().unwrap().to_owned()
}

/// A document of exactly `len` bytes, as express-session would write it.
fn document_of(len: usize) -> Vec<u8> {
    let head = r#"{"cookie":{"originalMaxAge":60000,"expires":"2026-11-23T06:22:00.000Z","secure":false,"httpOnly":true,"path":"/"},"views":2,"pad":""#;
    let mut doc = head.as_bytes().to_vec();
    doc.resize(len - 2, b'x');
    doc.extend_from_slice(b"\"}");
    doc
}

/// A stored document over 1 MiB is reported, never overwritten: a new
/// session under a fresh id with a notice naming the size, one GET of the
/// old key, the new key written, the old key's bytes and TTL as they were.
#[test]
fn a_document_over_the_limit_starts_a_new_session_and_keeps_the_old_key() {
    let cfg = config();
    let store = MemoryStore::new();
    let key = format!("sess:{SID}");
    let stored = document_of(MAX_DOCUMENT_BYTES + MAX_DOCUMENT_BYTES / 2);
    store.insert_raw(&key, &stored, Some(300));
    let ids: [fn() -> SessionId; 2] = [|| SessionId::for_tests(FRESH[0]), || SessionId::for_tests(FRESH[1])];
    for (pour, (fresh, genid)) in [false, true].into_iter().zip(FRESH.into_iter().zip(ids)) {
        let sessions = Sessions::new(&cfg, &store).with_id_generator(genid);
        let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
        assert_eq!(s.id(), fresh);
        let notice = s.notice().expect("the visitor is told");
        assert!(notice.contains(&format!("{} bytes long; at most {MAX_DOCUMENT_BYTES}", stored.len())), "{notice}");
        assert!(notice.contains("left untouched"), "{notice}");
        if pour {
            s.insert("views", &1).unwrap();
        }
        block_on(sessions.commit(&mut s, NOW)).unwrap();
        assert_eq!(store.take_log(), [format!("GET {key}"), format!("SAVE sess:{fresh} EX 60")]);
        assert_eq!(store.entry(&key), Some((stored.clone(), Some(300))), "the old key is untouched");
    }
    // A document of exactly the limit is read as usual.
    let at_limit = document_of(MAX_DOCUMENT_BYTES);
    store.insert_raw(&key, &at_limit, Some(300));
    let sessions = Sessions::new(&cfg, &store);
    let s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    assert_eq!((s.id().as_str(), s.notice()), (SID, None));
    assert_eq!(s.get::<i64>("views").unwrap(), Some(2));
}

/// Wide documents under the limit cost time in proportion to their size:
/// 80 000 members at the top, in a nested object, or as array-index keys in
/// reverse order, are read and written back in well under a second (the
/// reader and writer once looked each key up among all the others: 38 s
/// for the first in a debug build).
#[test]
fn a_wide_document_is_read_in_linear_time() {
    let cookie = r#""cookie":{"originalMaxAge":60000,"expires":null,"httpOnly":true,"path":"/"}"#;
    let members: Vec<String> = (0..80_000).map(|i| format!("\"k{i}\":0")).collect();
    let wide_top = format!("{{{cookie},{}}}", members.join(","));
    let wide_nested = format!("{{{cookie},\"n\":{{{}}}}}", members.join(","));
    let indexes: Vec<String> = (0..80_000).rev().map(|i| format!("\"{i}\":0")).collect();
    let wide_indexes = format!("{{{cookie},\"n\":{{{}}}}}", indexes.join(","));
    for doc in [wide_top, wide_nested, wide_indexes] {
        assert!(doc.len() <= MAX_DOCUMENT_BYTES);
        let started = Instant::now();
        let read = SessionDocument::parse(doc.as_bytes()).unwrap();
        let written = read.to_json();
        assert!(written.len() >= doc.len() - 2);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(3), "{} bytes took {took:?}", doc.len());
    }
}
