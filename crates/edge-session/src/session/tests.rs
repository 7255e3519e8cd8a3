//! docs/PROTOCOL.md §4 row by row: the store traffic and Set-Cookie of each kind of
//! request, against the in-memory store that logs commands.

use super::*;
use crate::store::{Fetched, MemoryStore, Wrote};
use crate::testing::block_on;

const NOW: Millis = 1_795_414_947_103;
const SID: &str = "11111111-1111-4111-8111-111111111111";
const FRESH: &str = "22222222-2222-4222-8222-222222222222";

fn fresh() -> SessionId {
    SessionId::for_tests(FRESH)
}

fn config() -> SessionConfig {
    SessionConfig {
        cookie_name: "_redisDemo".into(),
        secrets: Secrets::new(vec!["keyboard cat".into()]).unwrap(),
        prefix: "sess:".into(),
        cookie: SessionCookie { original_max_age: Some(60000.0), secure: Some(false), ..SessionCookie::default() },
        secure_auto: false,
        same_site_auto: false,
        policy: Policy::default(),
        default_ttl_seconds: document::DEFAULT_TTL_SECONDS,
        unset: Unset::Keep,
        disable_touch: false,
        touch_after_seconds: 0,
        disable_ttl: false,
        absolute_timeout_seconds: None,
        trust_proxy: false,
        passport_user_field: None,
    }
}

fn cookie_for(cfg: &SessionConfig, sid: &str) -> String {
    let line = cookie::set_cookie_header(&cfg.cookie_name, sid, &cfg.secrets, &SessionCookie::default());
    line.split(';').next().unwrap().to_owned()
}

const STORED: &str = r#"{"cookie":{"originalMaxAge":60000,"expires":"2026-11-23T06:22:00.000Z","secure":false,"httpOnly":true,"path":"/"},"views":2}"#;

#[test]
fn no_cookie_saves_a_new_session_and_sends_a_cookie() {
    let (cfg, store) = (config(), MemoryStore::new());
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let mut s = block_on(sessions.load(None, NOW, false)).unwrap();
    assert!(s.is_new());
    assert_eq!(s.cookie().remaining_ms(NOW), Some(60000));
    let set_cookie = block_on(sessions.commit(&mut s, NOW)).unwrap().pop().unwrap();
    assert_eq!(store.take_log(), [format!("SAVE sess:{FRESH} EX 60")]);
    assert!(set_cookie.starts_with(&format!("{}; Path=/; Expires=", cookie_for(&cfg, FRESH))));
    assert!(set_cookie.ends_with("GMT; HttpOnly"));
    let (doc, ttl) = store.entry(&format!("sess:{FRESH}")).unwrap();
    assert_eq!(ttl, Some(60));
    assert_eq!(
        String::from_utf8(doc).unwrap(),
        r#"{"cookie":{"originalMaxAge":60000,"expires":"2026-11-23T06:23:27.103Z","secure":false,"httpOnly":true,"path":"/"}}"#
    );
}

#[test]
fn unmodified_session_is_touched_without_cookie() {
    let (cfg, store) = (config(), MemoryStore::new());
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(10));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let header = cookie_for(&cfg, SID);
    let mut s = block_on(sessions.load(Some(&header), NOW, false)).unwrap();
    assert!(!s.is_new());
    assert_eq!(s.id(), SID);
    assert_eq!(s.get::<i64>("views").unwrap(), Some(2));
    assert_eq!(block_on(sessions.commit(&mut s, NOW)).unwrap(), Vec::<String>::new());
    assert_eq!(store.take_log(), [format!("GET sess:{SID}"), format!("EXPIRE sess:{SID} 60")]);
    // Touch does not rewrite the document.
    assert_eq!(store.entry(&format!("sess:{SID}")).unwrap(), (STORED.as_bytes().to_vec(), Some(60)));
}

#[test]
fn modified_session_is_saved_with_the_same_cookie_value() {
    let (cfg, store) = (config(), MemoryStore::new());
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(10));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let header = cookie_for(&cfg, SID);
    let mut s = block_on(sessions.load(Some(&header), NOW, false)).unwrap();
    s.insert("views", &3).unwrap();
    let set_cookie = block_on(sessions.commit(&mut s, NOW)).unwrap().pop().unwrap();
    assert!(set_cookie.starts_with(&header));
    assert!(set_cookie.contains("Expires=Mon, 23 Nov 2026 06:23:27 GMT"));
    assert_eq!(store.take_log(), [format!("GET sess:{SID}"), format!("SAVE sess:{SID} EX 60")]);
    let (doc, _) = store.entry(&format!("sess:{SID}")).unwrap();
    assert_eq!(
        String::from_utf8(doc).unwrap(),
        STORED.replace("06:22:00.000Z", "06:23:27.103Z").replace("\"views\":2", "\"views\":3")
    );
}

#[test]
fn signed_but_unknown_id_gets_a_fresh_id() {
    let (cfg, store) = (config(), MemoryStore::new());
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let header = cookie_for(&cfg, SID);
    let mut s = block_on(sessions.load(Some(&header), NOW, false)).unwrap();
    assert_eq!(s.id(), FRESH, "a client-chosen id is never adopted");
    let set_cookie = block_on(sessions.commit(&mut s, NOW)).unwrap().pop().unwrap();
    assert!(set_cookie.starts_with(&cookie_for(&cfg, FRESH)));
    assert_eq!(store.take_log(), [format!("GET sess:{SID}"), format!("SAVE sess:{FRESH} EX 60")]);
}

#[test]
fn tampered_cookie_never_reaches_the_store() {
    let (cfg, store) = (config(), MemoryStore::new());
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(10));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    for header in [
        format!("_redisDemo=s%3A{SID}.AAAA"),
        format!("_redisDemo={SID}"),
        cookie_for(&cfg, SID).replace("_redisDemo=s%3A1", "_redisDemo=s%3A2"),
    ] {
        let mut s = block_on(sessions.load(Some(&header), NOW, false)).unwrap();
        assert_eq!(s.id(), FRESH);
        block_on(sessions.commit(&mut s, NOW)).unwrap().pop().unwrap();
        assert_eq!(store.take_log(), [format!("SAVE sess:{FRESH} EX 60")], "{header}");
        // The fixed id is free again for the next new session.
        block_on(store.del(&[format!("sess:{FRESH}")])).unwrap();
        store.take_log();
    }
    assert_eq!(store.entry(&format!("sess:{SID}")).unwrap().0, STORED.as_bytes());
}

#[test]
fn corrupt_document_starts_over_and_keeps_the_key() {
    let (cfg, store) = (config(), MemoryStore::new());
    store.insert_raw(&format!("sess:{SID}"), b"{not json", Some(10));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let header = cookie_for(&cfg, SID);
    let mut s = block_on(sessions.load(Some(&header), NOW, false)).unwrap();
    assert_eq!(s.id(), FRESH);
    assert!(s.notice().unwrap().contains("could not be read"));
    block_on(sessions.commit(&mut s, NOW)).unwrap().pop().unwrap();
    assert_eq!(store.take_log(), [format!("GET sess:{SID}"), format!("SAVE sess:{FRESH} EX 60")]);
    assert_eq!(store.entry(&format!("sess:{SID}")).unwrap(), (b"{not json".to_vec(), Some(10)));
}

#[test]
fn store_down_writes_nothing() {
    let (cfg, store) = (config(), MemoryStore::new());
    store.set_down(true);
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let header = cookie_for(&cfg, SID);
    assert!(matches!(block_on(sessions.load(Some(&header), NOW, false)), Err(SessionError::Store(_))));
    // A new session is built in memory but its commit fails: no cookie.
    let mut s = block_on(sessions.load(None, NOW, false)).unwrap();
    assert!(block_on(sessions.commit(&mut s, NOW)).is_err());
    assert!(store.entry(&format!("sess:{FRESH}")).is_none());
}

#[test]
fn regenerate_deletes_the_old_key_and_drops_data() {
    let (cfg, store) = (config(), MemoryStore::new());
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(10));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let header = cookie_for(&cfg, SID);
    let mut s = block_on(sessions.load(Some(&header), NOW, false)).unwrap();
    block_on(sessions.regenerate(&mut s, NOW)).unwrap();
    assert_eq!(s.get::<i64>("views").unwrap(), None);
    let set_cookie = block_on(sessions.commit(&mut s, NOW)).unwrap().pop().unwrap();
    assert!(set_cookie.starts_with(&cookie_for(&cfg, FRESH)));
    // The old key goes in the same step that writes the new one.
    assert_eq!(store.take_log(), [format!("GET sess:{SID}"), format!("SAVE sess:{FRESH} EX 60")]);
    assert_eq!(store.entry(&format!("sess:{SID}")), None, "the old key is gone");
}

#[test]
fn a_regenerate_whose_save_fails_keeps_the_old_session() {
    let (cfg, store) = (config(), MemoryStore::new());
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(10));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    block_on(sessions.login(&mut s, "bob", NOW)).unwrap();
    store.set_down(true);
    assert!(block_on(sessions.commit(&mut s, NOW)).is_err(), "the store is down");
    store.set_down(false);
    assert_eq!(store.entry(&format!("sess:{SID}")).unwrap().0, STORED.as_bytes(), "a failed login loses nothing");
}

#[test]
fn destroy_deletes_and_clears_the_cookie() {
    let (cfg, store) = (config(), MemoryStore::new());
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(10));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let header = cookie_for(&cfg, SID);
    let mut s = block_on(sessions.load(Some(&header), NOW, false)).unwrap();
    block_on(sessions.destroy(&mut s)).unwrap();
    let set_cookie = block_on(sessions.commit(&mut s, NOW)).unwrap().pop().unwrap();
    assert!(set_cookie.contains("Expires=Thu, 01 Jan 1970"));
    assert_eq!(store.take_log(), [format!("GET sess:{SID}"), format!("DEL sess:{SID}")]);
}

#[test]
fn stale_expires_on_a_live_key_is_still_valid() {
    let (cfg, store) = (config(), MemoryStore::new());
    // Stored expires is far in the past; Redis still has the key.
    let stale = STORED.replace("2026-11-23T06:22:00.000Z", "2020-01-01T00:00:00.000Z");
    store.insert_raw(&format!("sess:{SID}"), stale.as_bytes(), Some(5));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    assert_eq!(s.id(), SID);
    assert_eq!(s.get::<i64>("views").unwrap(), Some(2));
}

#[test]
fn original_max_age_comes_from_the_document() {
    let (cfg, store) = (config(), MemoryStore::new());
    let doc = STORED.replace("60000", "59999");
    store.insert_raw(&format!("sess:{SID}"), doc.as_bytes(), Some(5));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    s.insert("views", &3).unwrap();
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    let (stored, ttl) = store.entry(&format!("sess:{SID}")).unwrap();
    let stored = String::from_utf8(stored).unwrap();
    assert!(stored.contains(r#""originalMaxAge":59999,"expires":"2026-11-23T06:23:27.102Z""#), "{stored}");
    assert_eq!(ttl, Some(60));
}

#[test]
fn secure_cookie_is_not_sent_over_http() {
    let mut cfg = config();
    cfg.cookie.secure = Some(true);
    let store = MemoryStore::new();
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let mut s = block_on(sessions.load(None, NOW, false)).unwrap();
    assert_eq!(block_on(sessions.commit(&mut s, NOW)).unwrap(), Vec::<String>::new());
    block_on(store.del(&[format!("sess:{FRESH}")])).unwrap();
    let mut s = block_on(sessions.load(None, NOW, true)).unwrap();
    assert!(block_on(sessions.commit(&mut s, NOW)).unwrap().pop().unwrap().contains("; Secure"));
}

#[test]
fn rotate_id_writes_the_new_key_before_deleting_the_old() {
    let (cfg, store) = (config(), MemoryStore::new());
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(10));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    block_on(sessions.rotate_id(&mut s)).unwrap();
    assert_eq!(s.get::<i64>("views").unwrap(), Some(2), "data kept");
    let set_cookie = block_on(sessions.commit(&mut s, NOW)).unwrap().pop().unwrap();
    assert!(set_cookie.starts_with(&cookie_for(&cfg, FRESH)));
    // One step: written under the new id, the old key retired with it.
    assert_eq!(store.take_log(), [format!("GET sess:{SID}"), format!("SAVE sess:{FRESH} EX 60")]);
    assert_eq!(store.entry(&format!("sess:{SID}")), None, "the old key is retired");
    assert!(store.entry(&format!("sess:{FRESH}")).is_some());
}

#[test]
fn regenerate_expires_an_ended_cookie_of_another_domain_or_path() {
    let (cfg, store) = (config(), MemoryStore::new());
    let stored = r#"{"cookie":{"originalMaxAge":60000,"expires":"2026-11-23T06:22:00.000Z","secure":false,"httpOnly":true,"domain":"beer.localhost","path":"/api"},"passport":{"user":"alice"}}"#;
    store.insert_raw(&format!("sess:{SID}"), stored.as_bytes(), Some(60));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    block_on(sessions.logout(&mut s, NOW)).unwrap();
    let lines = block_on(sessions.commit(&mut s, NOW)).unwrap();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(
        lines[0],
        "_redisDemo=; Domain=beer.localhost; Path=/api; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly"
    );
    assert!(lines[1].starts_with(&format!("{}; Path=/; Expires=", cookie_for(&cfg, FRESH))), "{}", lines[1]);
    // The same cookie attributes as the new one: the new cookie replaces it.
    block_on(store.del(&[format!("sess:{FRESH}")])).unwrap();
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(60));
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    block_on(sessions.regenerate(&mut s, NOW)).unwrap();
    assert_eq!(block_on(sessions.commit(&mut s, NOW)).unwrap().len(), 1);
}

#[test]
fn same_site_auto_follows_the_request_scheme() {
    let mut cfg = config();
    cfg.same_site_auto = true;
    let store = MemoryStore::new();
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let mut s = block_on(sessions.load(None, NOW, false)).unwrap();
    assert!(block_on(sessions.commit(&mut s, NOW)).unwrap().pop().unwrap().ends_with("; HttpOnly; SameSite=Lax"));
    let (doc, _) = store.entry(&format!("sess:{FRESH}")).unwrap();
    assert!(String::from_utf8(doc).unwrap().contains(r#""sameSite":"lax""#));
    block_on(store.del(&[format!("sess:{FRESH}")])).unwrap();
    let mut s = block_on(sessions.load(None, NOW, true)).unwrap();
    assert!(block_on(sessions.commit(&mut s, NOW)).unwrap().pop().unwrap().ends_with("; HttpOnly; SameSite=None"));
}

/// Deliberate difference: a touch whose TTL is ≤ 0 (a stored
/// originalMaxAge ≤ 0) sends DEL where connect-redis sends EXPIRE with the
/// negative TTL; Redis deletes the key either way, and DEL says so.
#[test]
fn a_touch_with_no_time_left_deletes() {
    let (cfg, store) = (config(), MemoryStore::new());
    let stored = r#"{"cookie":{"originalMaxAge":-1000,"expires":"2026-11-23T06:22:00.000Z","secure":false,"httpOnly":true,"path":"/"},"views":2}"#;
    store.insert_raw(&format!("sess:{SID}"), stored.as_bytes(), Some(10));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    assert_eq!(store.take_log(), [format!("GET sess:{SID}"), format!("DEL sess:{SID}")]);
}

/// Deliberate difference: a stored cookie member of a type express-session
/// never writes (`"httpOnly":"yes"`) makes the document unreadable: a new
/// session with a notice, and the stored key is left as it was. Node would
/// carry the odd value along.
#[test]
fn a_cookie_member_of_another_type_starts_a_new_session_and_keeps_the_old_key() {
    let cfg = config();
    for stored in [
        r#"{"cookie":{"originalMaxAge":60000,"expires":"2026-11-23T06:22:00.000Z","httpOnly":"yes","path":"/"},"views":2}"#,
        r#"{"cookie":{"originalMaxAge":60000,"expires":"2026-11-23T06:22:00.000Z","httpOnly":true,"path":5},"views":2}"#,
        r#"{"cookie":{"originalMaxAge":60000,"expires":"2026-11-23T06:22:00.000Z","secure":"false","path":"/"},"views":2}"#,
    ] {
        let store = MemoryStore::new();
        store.insert_raw(&format!("sess:{SID}"), stored.as_bytes(), Some(60));
        let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
        let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
        assert_eq!(s.id(), FRESH, "{stored}");
        assert!(s.notice().is_some());
        block_on(sessions.commit(&mut s, NOW)).unwrap();
        assert_eq!(store.entry(&format!("sess:{SID}")).unwrap().0, stored.as_bytes(), "the old key is untouched");
    }
}

// ---------------------------------------------------------------------------
// Compare-and-set saves (docs/PROTOCOL.md §11): conflicts, sessions ended
// meanwhile, retries running out.

/// `views + 1`, failing on a `views` that is not a number.
fn pour(s: &mut Session) -> Result<(), FieldError> {
    let views = s.get::<i64>("views")?.unwrap_or(0);
    s.insert("views", &(views + 1))
}

fn stored_doc(store: &MemoryStore, sid: &str) -> Option<serde_json::Value> {
    store.entry(&format!("sess:{sid}")).map(|(bytes, _)| serde_json::from_slice(&bytes).unwrap())
}

/// What another writer (an Express app, another isolate) leaves in the store.
const NEWER: &str = r#"{"cookie":{"originalMaxAge":60000,"expires":"2026-11-23T06:22:00.000Z","secure":false,"httpOnly":true,"path":"/"},"views":5,"express":true}"#;

#[test]
fn a_conflicting_save_applies_the_update_to_the_newer_document() {
    let (cfg, store) = (config(), MemoryStore::new());
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(10));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    s.update(pour).unwrap();
    s.insert("note", "mine").unwrap();
    assert_eq!(s.get::<i64>("views").unwrap(), Some(3));
    store.insert_raw(&format!("sess:{SID}"), NEWER.as_bytes(), Some(10));
    store.take_log();
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    assert_eq!(
        store.take_log(),
        [format!("SAVE sess:{SID} EX 60 (conflict)"), format!("SAVE sess:{SID} EX 60")],
        "one more round trip: the conflict answer carries the newer document"
    );
    let doc = stored_doc(&store, SID).unwrap();
    assert_eq!(doc["views"], 6, "5 + 1: the other writer's pour is kept");
    assert_eq!(doc["express"], true, "the other writer's field is kept");
    assert_eq!(doc["note"], "mine", "this request's assignment is made again");
    assert_eq!(s.get::<i64>("views").unwrap(), Some(6), "the session as saved, for the answer");
}

#[test]
fn a_session_ended_meanwhile_is_not_written_back() {
    for (resave, rolling) in [(false, false), (true, false), (false, true), (true, true)] {
        let mut cfg = config();
        cfg.policy.resave = resave;
        cfg.policy.rolling = rolling;
        let store = MemoryStore::new();
        let logged_in = STORED.replace(r#""views":2"#, r#""views":2,"passport":{"user":"alice"}"#);
        store.insert_raw(&format!("sess:{SID}"), logged_in.as_bytes(), Some(10));
        let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
        // A pour, and a plain read, each racing a logout that lands first.
        for change in [true, false] {
            let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
            if change {
                s.update(pour).unwrap();
            }
            block_on(store.del(&[format!("sess:{SID}")])).unwrap();
            let set_cookies = block_on(sessions.commit(&mut s, NOW)).unwrap();
            let case = format!("resave {resave}, rolling {rolling}, change {change}");
            assert_eq!(store.entry(&format!("sess:{SID}")), None, "{case}: the ended key stays gone");
            if let Some(doc) = stored_doc(&store, FRESH) {
                assert_eq!(doc.get("passport"), None, "{case}: no login data comes back under a new id");
                assert_eq!(doc["views"], if change { serde_json::json!(1) } else { serde_json::Value::Null }, "{case}");
                assert!(set_cookies.last().unwrap().starts_with(&cookie_for(&cfg, FRESH)), "{case}");
                assert!(s.notice().unwrap().contains("ended"), "{case}");
            }
            block_on(store.del(&[format!("sess:{FRESH}")])).unwrap();
            store.insert_raw(&format!("sess:{SID}"), logged_in.as_bytes(), Some(10));
        }
    }
}

#[test]
fn a_touch_or_rotate_never_brings_back_an_ended_session() {
    let (cfg, store) = (config(), MemoryStore::new());
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(10));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    // An unmodified session is touched with EXPIRE, which creates nothing.
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    block_on(store.del(&[format!("sess:{SID}")])).unwrap();
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    assert_eq!(store.entry(&format!("sess:{SID}")), None);
    // A rotate moves the loaded data only if the loaded key still holds it.
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(10));
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    block_on(sessions.rotate_id(&mut s)).unwrap();
    block_on(store.del(&[format!("sess:{SID}")])).unwrap();
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    assert_eq!(store.entry(&format!("sess:{SID}")), None);
    let doc = stored_doc(&store, FRESH).unwrap();
    assert_eq!(doc.get("views"), None, "the ended session's data is not moved to the new id");
}

/// A store where another writer saves the session before every save of ours.
struct Busy(MemoryStore, std::cell::Cell<u32>);

impl SessionStore for Busy {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.get(key).await
    }
    async fn read(&self, key: Option<&str>, with_pttl: bool, lookups: &[Lookup]) -> Result<Fetched, StoreError> {
        self.0.read(key, with_pttl, lookups).await
    }
    async fn write(&self, save: Option<&Save>, also: &[Write]) -> Result<Wrote, StoreError> {
        if let Some(save) = save {
            self.1.set(self.1.get() + 1);
            let other = NEWER.replace(r#""views":5"#, &format!(r#""views":{}"#, 100 + self.1.get()));
            self.0.insert_raw(&save.key, other.as_bytes(), Some(10));
        }
        self.0.write(save, also).await
    }
    async fn expire(&self, key: &str, ttl_seconds: u64) -> Result<bool, StoreError> {
        self.0.expire(key, ttl_seconds).await
    }
    async fn del(&self, keys: &[String]) -> Result<u64, StoreError> {
        self.0.del(keys).await
    }
    async fn backoff(&self, _wait: Duration) {}
}

#[test]
fn retries_run_out_with_a_conflict_and_nothing_written() {
    let cfg = config();
    let store = Busy(MemoryStore::new(), Default::default());
    store.0.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(10));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    s.update(pour).unwrap();
    let err = block_on(sessions.commit(&mut s, NOW)).unwrap_err();
    assert!(matches!(err, SessionError::Conflict { attempts: SAVE_ATTEMPTS }), "{err:?}");
    assert_eq!(store.1.get(), SAVE_ATTEMPTS);
    let doc = stored_doc(&store.0, SID).unwrap();
    assert_eq!(doc["views"], 100 + SAVE_ATTEMPTS, "only the other writer's saves landed");
}

#[test]
fn an_update_that_no_longer_applies_saves_nothing() {
    let (cfg, store) = (config(), MemoryStore::new());
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(10));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    s.update(pour).unwrap();
    let other = STORED.replace(r#""views":2"#, r#""views":{"not":"a number"}"#);
    store.insert_raw(&format!("sess:{SID}"), other.as_bytes(), Some(10));
    let err = block_on(sessions.commit(&mut s, NOW)).unwrap_err();
    assert!(matches!(err, SessionError::ChangeRefused(_)), "{err:?}");
    assert_eq!(store.entry(&format!("sess:{SID}")).unwrap().0, other.as_bytes());
}

#[test]
fn conflict_backoff_is_bounded_full_jitter() {
    assert_eq!(conflict_backoff(0, 0), Duration::ZERO);
    assert_eq!(conflict_backoff(0, 10), Duration::from_millis(10));
    assert_eq!(conflict_backoff(0, 11), Duration::ZERO, "at most 10 ms on the first retry");
    assert_eq!(conflict_backoff(2, 40), Duration::from_millis(40));
    assert_eq!(conflict_backoff(9, u32::MAX), Duration::from_millis(u64::from(u32::MAX) % 201));
    assert!((0..64).all(|a| conflict_backoff(a, u32::MAX) <= Duration::from_millis(200)));
}

#[test]
fn a_document_over_the_limit_is_not_saved() {
    let (cfg, store) = (config(), MemoryStore::new());
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(10));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    s.insert("blob", &"x".repeat(document::MAX_DOCUMENT_BYTES)).unwrap();
    let err = block_on(sessions.commit(&mut s, NOW)).unwrap_err();
    assert!(matches!(err, SessionError::DocumentTooLarge { limit: document::MAX_DOCUMENT_BYTES, .. }), "{err:?}");
    assert_eq!(store.entry(&format!("sess:{SID}")).unwrap().0, STORED.as_bytes(), "the stored session is kept");
}

#[test]
fn a_login_ended_before_its_commit_does_not_come_back() {
    // Found by review: a logout everywhere deleting the new session between
    // an explicit save and the commit must not leave a logged-in session.
    let (cfg, store) = (config(), MemoryStore::new());
    let sessions = Sessions::new(&cfg, &store);
    let mut s = block_on(sessions.load(None, NOW, false)).unwrap();
    s.add_to_index("user-sessions:alice".into());
    block_on(sessions.login(&mut s, "alice", NOW)).unwrap();
    block_on(sessions.save(&mut s, NOW)).unwrap();
    let logged_in = s.id().clone();
    block_on(store.del(&[format!("sess:{logged_in}"), "user-sessions:alice".into()])).unwrap();
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    assert_ne!(s.id(), &logged_in);
    assert_eq!(stored_doc(&store, logged_in.as_str()), None);
    if let Some(doc) = stored_doc(&store, s.id().as_str()) {
        assert_eq!(doc.get("passport"), None, "logged out everywhere means logged out");
    }
    assert_eq!(s.passport_user::<String>().unwrap(), None);
}

#[test]
fn a_saved_update_is_not_applied_again_after_a_later_conflict() {
    let (cfg, store) = (config(), MemoryStore::new());
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(60));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    s.update(pour).unwrap();
    block_on(sessions.save(&mut s, NOW)).unwrap();
    s.insert("note", "x").unwrap();
    // Another request pours on what was saved (3): 4.
    store.insert_raw(&format!("sess:{SID}"), STORED.replace(r#""views":2"#, r#""views":4"#).as_bytes(), Some(60));
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    let doc = stored_doc(&store, SID).unwrap();
    assert_eq!((doc["views"].as_i64(), doc["note"].as_str()), (Some(4), Some("x")), "2 + ours + theirs, once each");
}

#[test]
fn a_failed_update_leaves_no_partial_change() {
    #[derive(Debug, thiserror::Error)]
    #[error("refused")]
    struct Refused;
    let (cfg, store) = (config(), MemoryStore::new());
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(60));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    let failed = s.update(|s| {
        s.insert("half", &1).map_err(|_| Refused)?;
        Err::<(), _>(Refused)
    });
    assert!(failed.is_err());
    assert_eq!(s.get::<i64>("half").unwrap(), None, "rolled back");
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    assert_eq!(stored_doc(&store, SID).unwrap().get("half"), None);
}

#[test]
fn a_count_on_save_lands_with_the_save_and_not_for_an_ended_session() {
    let (cfg, store) = (config(), MemoryStore::new());
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(60));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    s.update(|s| {
        pour(s)?;
        s.count_on_save("user-beers:alice".into());
        Ok::<(), FieldError>(())
    })
    .unwrap();
    // A conflict first: the count is made once, with the save that lands.
    store.insert_raw(&format!("sess:{SID}"), NEWER.as_bytes(), Some(60));
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    assert_eq!(s.counted(), Some(1));
    assert_eq!(store.entry("user-beers:alice").unwrap().0, b"1");
    // The session ended meanwhile: no count.
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    s.update(pour).unwrap();
    s.count_on_save("user-beers:alice".into());
    block_on(store.del(&[format!("sess:{SID}")])).unwrap();
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    assert_eq!(s.counted(), None);
    assert_eq!(store.entry("user-beers:alice").unwrap().0, b"1", "not counted for a session that ended");
}

#[test]
fn a_count_is_decided_again_on_the_newer_document() {
    // Found by review: a logout written by another app (passport.user
    // removed) between the load and the save: no lifetime count for it.
    let (cfg, store) = (config(), MemoryStore::new());
    let logged_in = STORED.replace(r#""views":2"#, r#""views":2,"passport":{"user":"hank"}"#);
    store.insert_raw(&format!("sess:{SID}"), logged_in.as_bytes(), Some(60));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    s.update(|s| {
        pour(s)?;
        if let Some(name) = s.passport_user::<String>()? {
            s.count_on_save(format!("user-beers:{name}"));
        }
        Ok::<(), FieldError>(())
    })
    .unwrap();
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(60));
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    assert_eq!(s.counted(), None);
    assert_eq!(store.entry("user-beers:hank"), None, "no count for a session logged out meanwhile");
    assert_eq!(stored_doc(&store, SID).unwrap()["views"], 3);
}

#[test]
fn touch_after_skips_a_recent_touch_and_reads_the_ttl_in_the_same_call() {
    let mut cfg = config();
    cfg.touch_after_seconds = 10;
    let store = MemoryStore::new();
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    // Written 5 s ago (TTL 55 of 60 left): not due.
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(55));
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    assert_eq!(store.take_log(), [format!("GET+PTTL sess:{SID}")], "one read, no touch");
    // 20 s ago: due.
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(40));
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    assert_eq!(store.take_log(), [format!("GET+PTTL sess:{SID}"), format!("EXPIRE sess:{SID} 60")]);
}

#[test]
fn deferred_writes_wait_for_the_caller() {
    let mut cfg = config();
    cfg.policy.resave = true;
    let store = MemoryStore::new();
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(10));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh).deferring_writes();
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    assert_eq!(store.take_log(), [format!("GET sess:{SID}")], "the rewrite waits");
    let deferred = sessions.take_deferred();
    assert!(matches!(deferred.as_slice(), [Deferred::Resave(_)]));
    // Logged out meanwhile: the late rewrite brings nothing back.
    block_on(store.del(&[format!("sess:{SID}")])).unwrap();
    block_on(run_deferred(&store, &deferred[0])).unwrap();
    assert_eq!(store.entry(&format!("sess:{SID}")), None);
    // A change is saved before the answer, as always.
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(10));
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    s.update(pour).unwrap();
    store.take_log();
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    assert_eq!(store.take_log(), [format!("SAVE sess:{SID} EX 60")]);
    assert!(sessions.take_deferred().is_empty());
}

#[test]
fn a_login_past_its_absolute_lifetime_ends_at_load_and_its_key_goes() {
    let mut cfg = config();
    cfg.absolute_timeout_seconds = Some(10);
    let store = MemoryStore::new();
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(60));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    block_on(sessions.login(&mut s, "alice", NOW)).unwrap();
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    let doc = stored_doc(&store, FRESH).unwrap();
    assert_eq!(doc["authenticatedAt"], NOW, "the login's time, as Date.now()");
    // Used within the lifetime: still logged in.
    let within = Sessions::new(&cfg, &store);
    let s = block_on(within.load(Some(&cookie_for(&cfg, FRESH)), NOW + 9_999, false)).unwrap();
    assert_eq!(s.passport_user::<String>().unwrap().as_deref(), Some("alice"));
    // At its end: a new anonymous session, and the old key deleted by its first write.
    let after = Sessions::new(&cfg, &store);
    let mut s = block_on(after.load(Some(&cookie_for(&cfg, FRESH)), NOW + 10_000, false)).unwrap();
    assert_eq!(after.outcome(), Some(LoadOutcome::LoginExpired));
    assert!(s.is_new() && s.passport_user::<String>().unwrap().is_none());
    assert!(s.notice().unwrap().contains("SESSION_ABSOLUTE_TIMEOUT_SECONDS"));
    block_on(after.commit(&mut s, NOW + 10_000)).unwrap();
    assert_eq!(store.entry(&format!("sess:{FRESH}")), None, "the expired login's key is gone");
    // Without the option no field is written (Passport's own document).
    let plain = config();
    store.insert_raw(&format!("sess:{SID}"), STORED.as_bytes(), Some(60));
    let sessions = Sessions::new(&plain, &store).with_id_generator(fresh);
    let mut s = block_on(sessions.load(Some(&cookie_for(&plain, SID)), NOW, false)).unwrap();
    block_on(sessions.login(&mut s, "alice", NOW)).unwrap();
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    assert!(stored_doc(&store, FRESH).unwrap().get("authenticatedAt").is_none());
}

#[test]
fn a_listed_session_keeps_its_index_alive_on_every_save_and_touch() {
    // The index outlives every session it lists: at least the longest TTL
    // the configuration gives a session (here connect-redis's default ttl,
    // longer than the one-minute maxAge), set by the login's save, raised
    // (never lowered) by each touch of a logged-in session; a logout's new
    // session keeps nobody's index.
    use crate::store::AccountStore;
    let (cfg, store) = (config(), MemoryStore::new());
    let longest = cfg.longest_ttl_seconds();
    assert_eq!(longest, document::DEFAULT_TTL_SECONDS as u64, "max(maxAge 60 s, ttl 86400 s)");
    let sessions = Sessions::new(&cfg, &store);
    let index = "user-sessions:alice".to_owned();
    let mut s = block_on(sessions.load(None, NOW, false)).unwrap();
    s.add_to_index(index.clone());
    block_on(sessions.login(&mut s, "alice", NOW)).unwrap();
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    assert_eq!(block_on(store.pttl(&index)).unwrap(), longest as i64 * 1000, "the login's save sets the TTL");
    let id = s.id().to_string();

    store.take_log();
    let mut again = block_on(sessions.load(Some(&cookie_for(&cfg, &id)), NOW + 1000, false)).unwrap();
    again.keep_index(index.clone());
    block_on(sessions.commit(&mut again, NOW + 1000)).unwrap();
    let log = store.take_log();
    assert!(log.contains(&format!("EXPIRE {index} {longest} GT")), "the touch keeps the index: {log:?}");
    assert!(log.contains(&format!("EXPIRE sess:{id} 60")), "and touches the session: {log:?}");

    again.update(|d| d.insert("views", &1)).unwrap();
    block_on(sessions.commit(&mut again, NOW + 2000)).unwrap();
    assert_eq!(block_on(store.pttl(&index)).unwrap(), longest as i64 * 1000, "a save keeps it too");

    let mut out = block_on(sessions.load(Some(&cookie_for(&cfg, &id)), NOW + 3000, false)).unwrap();
    out.keep_index(index.clone());
    block_on(sessions.logout(&mut out, NOW + 3000)).unwrap();
    store.take_log();
    block_on(sessions.commit(&mut out, NOW + 3000)).unwrap();
    assert!(store.take_log().iter().all(|line| !line.contains(&index)), "a logout's new session keeps no index");
}

#[test]
fn a_login_without_a_recorded_time_is_limited_from_its_first_load() {
    // An Express (Passport) login has no authenticatedAt: with an absolute
    // lifetime configured, the worker stamps it at its first load and ends
    // it that long after, instead of never.
    let cfg = SessionConfig { absolute_timeout_seconds: Some(10), ..config() };
    let store = MemoryStore::new();
    let express = r#"{"cookie":{"originalMaxAge":60000,"expires":"2026-11-23T06:22:00.000Z","httpOnly":true,"path":"/"},"passport":{"user":"alice"}}"#;
    store.insert_raw(&format!("sess:{SID}"), express.as_bytes(), Some(60));
    let sessions = Sessions::new(&cfg, &store);
    let mut s = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    let stored = stored_doc(&store, SID).expect("saved with its login time");
    assert_eq!(stored.get("authenticatedAt"), Some(&serde_json::json!(NOW)));
    let later = block_on(sessions.load(Some(&cookie_for(&cfg, SID)), NOW + 10_000, false)).unwrap();
    assert_eq!(later.passport_user::<String>().unwrap(), None, "ended 10 s after the worker first saw it");
    // An anonymous session gets no stamp.
    let mut anon = block_on(sessions.load(None, NOW, false)).unwrap();
    block_on(sessions.commit(&mut anon, NOW)).unwrap();
    assert_eq!(stored_doc(&store, anon.id().as_str()).and_then(|d| d.get("authenticatedAt").cloned()), None);
}

#[test]
fn passport_user_text_reads_names_numbers_and_a_field_of_an_object() {
    let cfg = config();
    let store = MemoryStore::new();
    // (passport.user as stored, SESSION_PASSPORT_USER_FIELD) → the user as text
    for (user, field, want) in [
        (r#""alice""#, None, Some("alice")),
        (r#""alice""#, Some("id"), Some("alice")),
        ("42", None, Some("42")),
        ("4.5e21", None, Some("4.5e+21")), // String(4.5e21) in JavaScript
        (r#"{"id":7,"name":"bob"}"#, Some("id"), Some("7")),
        (r#"{"id":7,"name":"bob"}"#, Some("name"), Some("bob")),
        (r#"{"id":7}"#, None, None),
        (r#"{"id":7}"#, Some("email"), None),
        (r#"{"id":{"deep":1}}"#, Some("id"), None),
        ("null", None, None),
        (r#""""#, None, None),
        ("true", None, None),
    ] {
        let doc = format!(
            r#"{{"cookie":{{"originalMaxAge":60000,"expires":"2027-01-01T00:00:00.000Z","httpOnly":true,"path":"/"}},"passport":{{"user":{user}}}}}"#
        );
        store.insert_raw(&format!("sess:{SID}"), doc.as_bytes(), Some(60));
        let s = block_on(Sessions::new(&cfg, &store).load(Some(&cookie_for(&cfg, SID)), NOW, false)).unwrap();
        assert_eq!(s.passport_user_text(field).as_deref(), want, "{user} {field:?}");
    }
}

#[test]
fn the_stored_document_is_the_text_read_then_the_text_written() {
    let (cfg, store) = (config(), MemoryStore::new());
    // Another writer's spelling, which this crate would not write.
    let foreign = STORED.replace("\"views\":2", "\"views\":2,\"note\":\"a\\/b\"");
    let key = format!("sess:{SID}");
    store.insert_raw(&key, foreign.as_bytes(), Some(10));
    let sessions = Sessions::new(&cfg, &store).with_id_generator(fresh);
    let header = cookie_for(&cfg, SID);
    let mut s = block_on(sessions.load(Some(&header), NOW, false)).unwrap();
    assert_eq!(s.stored_document().as_deref(), Some(foreign.as_str()), "as read, in its spelling");
    s.insert("views", &3).unwrap();
    assert_eq!(s.stored_document().as_deref(), Some(foreign.as_str()), "nothing written yet");
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    let (written, _) = store.entry(&key).unwrap();
    assert_eq!(s.stored_document().map(String::into_bytes), Some(written.clone()), "as written");
    s.insert("views", &4).unwrap();
    assert_eq!(s.stored_document(), None, "a change made after the write");
    // Another writer, in its own spelling: read again, it is shown as read.
    let theirs = foreign.replace("\"views\":2", "\"views\":7");
    store.insert_raw(&key, theirs.as_bytes(), Some(10));
    block_on(sessions.reload(&mut s)).unwrap();
    assert_eq!(s.stored_document().as_deref(), Some(theirs.as_str()), "as read again, in its spelling");
    // The next save compares what was read last: a write by another
    // request since then is a conflict, and this request's change is
    // applied to that newer document, not written over it.
    let newer = theirs.replace("\"note\":\"a\\/b\"", "\"note\":\"c\"");
    assert_ne!(newer, theirs);
    store.insert_raw(&key, newer.as_bytes(), Some(10));
    s.insert("views", &9).unwrap();
    store.take_log();
    block_on(sessions.commit(&mut s, NOW)).unwrap();
    let log = store.take_log();
    assert_eq!(log.iter().filter(|c| c.starts_with("SAVE")).count(), 2, "a conflict, then the save: {log:?}");
    let saved: Value = serde_json::from_slice(&store.entry(&key).unwrap().0).unwrap();
    assert_eq!((&saved["views"], &saved["note"]), (&serde_json::json!(9), &serde_json::json!("c")));
}
