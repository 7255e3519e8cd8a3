//! The behaviour every `SessionStore` must show, as one suite that runs
//! against each store: the in-memory one in unit tests and the Upstash
//! client against a real redis-server in `tests/upstash_store.rs`.
//! Public only so that integration tests can call it.

use super::SessionStore;

/// Runs every check against `store`, using keys under `prefix` only.
pub async fn run_all<S: SessionStore>(store: &S, prefix: &str) {
    let key = |name: &str| format!("{prefix}{name}");
    // Missing keys.
    assert_eq!(store.get(&key("missing")).await.unwrap(), None, "GET of a missing key");
    assert!(!store.expire(&key("missing"), 60).await.unwrap(), "EXPIRE of a missing key");
    assert_eq!(store.del(&[key("missing")]).await.unwrap(), 0, "DEL of a missing key");

    // Bytes come back exactly as written, UTF-8 included.
    let doc = r#"{"cookie":{"originalMaxAge":60000,"expires":"2026-11-23T06:23:27.103Z","httpOnly":true,"path":"/"},"name":"Zoë 🍺 日本","n":null}"#;
    store.set(&key("a"), doc, Some(60)).await.unwrap();
    assert_eq!(store.get(&key("a")).await.unwrap().as_deref(), Some(doc.as_bytes()), "GET after SET");

    // Overwrite replaces.
    store.set(&key("a"), "{}", Some(60)).await.unwrap();
    assert_eq!(store.get(&key("a")).await.unwrap().as_deref(), Some(&b"{}"[..]), "GET after overwrite");

    // EXPIRE on an existing key, SET without TTL.
    assert!(store.expire(&key("a"), 120).await.unwrap(), "EXPIRE of an existing key");
    store.set(&key("b"), "{}", None).await.unwrap();

    // DEL counts what it removed.
    assert_eq!(store.del(&[key("a"), key("b"), key("missing")]).await.unwrap(), 2, "DEL of two of three");
    assert_eq!(store.get(&key("a")).await.unwrap(), None, "GET after DEL");
    assert_eq!(store.del(&[]).await.unwrap(), 0, "DEL of nothing");
}
