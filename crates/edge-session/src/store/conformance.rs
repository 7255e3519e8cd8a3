//! The behaviour every store must show, as one suite that runs against each
//! store: the in-memory one in unit tests and the Upstash client against a
//! real redis-server behind upstash-local in
//! `tools/upstash-local/tests/upstash_store.rs`. A
//! store that passes here behaves as Redis does for every call the session
//! and account layers make, so a unit test on the in-memory store means
//! what it says.
//!
//! # Panics
//!
//! Each check panics with the name of the call that misbehaved: this is a
//! test suite, to be called from `#[test]` functions.

use super::{AccountStore, CounterHit, SessionStore};

/// Runs every [`SessionStore`] check against `store`, using keys under
/// `prefix` only.
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

/// Runs every [`AccountStore`] check against `store` (the [`run_all`]
/// checks first), using keys under `prefix` only.
pub async fn run_accounts<S: AccountStore>(store: &S, prefix: &str) {
    run_all(store, prefix).await;
    let key = |name: &str| format!("{prefix}{name}");
    // TTLs as PTTL reports them (milliseconds; a real store has counted a
    // few down by the time it answers).
    let within = |pttl: i64, seconds: i64| pttl > (seconds - 5) * 1000 && pttl <= seconds * 1000;
    assert_eq!(store.pttl(&key("missing")).await.unwrap(), -2, "PTTL of a missing key");
    store.set(&key("ttl"), "x", Some(60)).await.unwrap();
    assert!(within(store.pttl(&key("ttl")).await.unwrap(), 60), "PTTL after SET EX 60");
    assert!(store.expire(&key("ttl"), 120).await.unwrap());
    assert!(within(store.pttl(&key("ttl")).await.unwrap(), 120), "PTTL after EXPIRE 120");
    store.set(&key("ttl"), "y", None).await.unwrap();
    assert_eq!(store.pttl(&key("ttl")).await.unwrap(), -1, "SET without EX drops the TTL");
    store.set(&key("ttl"), "x", Some(60)).await.unwrap();

    // create is SET NX without TTL; put overwrites without TTL.
    assert!(store.create(&key("user"), "first").await.unwrap(), "create of a new key");
    assert!(!store.create(&key("user"), "second").await.unwrap(), "create of an existing key");
    assert_eq!(store.get(&key("user")).await.unwrap().as_deref(), Some(&b"first"[..]), "create keeps the first");
    assert_eq!(store.pttl(&key("user")).await.unwrap(), -1, "create sets no TTL");
    store.put(&key("user"), "third").await.unwrap();
    assert_eq!(store.get(&key("user")).await.unwrap().as_deref(), Some(&b"third"[..]), "put overwrites");
    assert_eq!(store.pttl(&key("user")).await.unwrap(), -1, "put sets no TTL");

    // Counters: the first hit starts the window, later hits keep it.
    let (c1, c2) = (key("counter1"), key("counter2"));
    let hits = store.hit_counters(&[c1.clone(), c2.clone()], 60).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.count).collect::<Vec<_>>(), [1, 1], "first hits");
    assert!(hits.iter().all(|h| within(h.pttl_ms, 60)), "the first hit starts the window: {hits:?}");
    let hits = store.hit_counters(&[c1.clone(), c2.clone()], 3600).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.count).collect::<Vec<_>>(), [2, 2], "second hits");
    assert!(hits.iter().all(|h| within(h.pttl_ms, 60)), "a later hit keeps the window: {hits:?}");
    // settle: DECR some, DEL others, in one call.
    store.settle_counters(std::slice::from_ref(&c2), std::slice::from_ref(&c1)).await.unwrap();
    let hits: Vec<CounterHit> = store.hit_counters(&[c1.clone(), c2.clone()], 60).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.count).collect::<Vec<_>>(), [2, 1], "after DECR of one and DEL of the other");
    store.settle_counters(&[], &[]).await.unwrap();

    // incr counts from nothing and keeps no TTL.
    let beers = key("beers");
    assert_eq!(store.incr(&beers).await.unwrap(), 1, "INCR of a missing key");
    assert_eq!(store.incr(&beers).await.unwrap(), 2, "INCR again");
    assert_eq!(store.get(&beers).await.unwrap().as_deref(), Some(&b"2"[..]), "INCR stores the number as text");
    assert_eq!(store.pttl(&beers).await.unwrap(), -1, "INCR sets no TTL");

    // Sets: add (with the set's TTL), members, exist, remove.
    let set = key("set");
    let mut members = store.add_to_set(&set, "a", 600).await.unwrap();
    assert_eq!(members, ["a"], "add_to_set of the first member");
    members = store.add_to_set(&set, "b", 600).await.unwrap();
    members.sort();
    assert_eq!(members, ["a", "b"], "add_to_set returns every member");
    assert!(within(store.pttl(&set).await.unwrap(), 600), "add_to_set sets the set's TTL");
    let mut listed = store.members(&set).await.unwrap();
    listed.sort();
    assert_eq!(listed, ["a", "b"], "members");
    assert_eq!(store.members(&key("no-set")).await.unwrap(), Vec::<String>::new(), "members of a missing set");
    assert_eq!(
        store.exist(&[set.clone(), beers.clone(), key("missing")]).await.unwrap(),
        [true, true, false],
        "exist, in key order"
    );
    assert_eq!(store.exist(&[]).await.unwrap(), Vec::<bool>::new(), "exist of nothing");
    store.remove_from_set(&set, &["a".into(), "zzz".into()]).await.unwrap();
    assert_eq!(store.members(&set).await.unwrap(), ["b"], "remove_from_set");
    store.remove_from_set(&set, &[]).await.unwrap();
    store.remove_from_set(&set, &["b".into()]).await.unwrap();
    assert_eq!(store.exist(std::slice::from_ref(&set)).await.unwrap(), [false], "a set without members is gone");

    // DEL removes sets as well as strings.
    store.add_to_set(&set, "c", 600).await.unwrap();
    let all = [set, beers, c1, key("user"), key("ttl")];
    assert_eq!(store.del(&all).await.unwrap(), 5, "DEL of a set and strings");
}
