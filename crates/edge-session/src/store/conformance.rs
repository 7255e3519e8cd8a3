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

use super::batch::{Found, Lookup, Write, Written};
use super::script::{
    Digest, EndOutcome, EndSessions, Guard, IndexEntry, Loaded, PruneIndex, Register, RegisterOutcome, Save,
    SaveOutcome, Ttl,
};
use super::{AccountStore, CounterHit, Fetched, SessionStore};

/// A session's bytes and PTTL, read alone.
async fn get_with_pttl<S: SessionStore>(store: &S, key: &str) -> Option<(Vec<u8>, Option<i64>)> {
    store.read(Some(key), true, &[]).await.unwrap().session
}

/// Writes `writes` alone; what they did.
async fn write_all<S: SessionStore>(store: &S, writes: &[Write]) -> Vec<Written> {
    store.write(None, writes).await.unwrap().written
}

/// Rate-limit hits on `keys` with a window of `window_seconds`, alone.
async fn hit<S: SessionStore>(store: &S, keys: &[&String], window_seconds: u64) -> Vec<CounterHit> {
    let lookups: Vec<Lookup> = keys.iter().map(|k| Lookup::Hit { key: (*k).clone(), window_seconds }).collect();
    store.read(None, false, &lookups).await.unwrap().found.iter().filter_map(Found::hit).collect()
}

/// A save of a new session's document at `key`.
fn create(key: &str, document: &str, ttl: Ttl) -> Save {
    Save {
        key: key.into(),
        loaded: None,
        document: document.into(),
        ttl,
        retire: vec![],
        index: None,
        counter: None,
        guard: None,
    }
}

/// A save of `document` at `key` over what was loaded from there, `loaded_bytes`.
fn update(key: &str, loaded_bytes: &[u8], document: &str, ttl: Ttl) -> Save {
    let loaded = Some(Loaded { key: key.into(), digest: Digest::of(loaded_bytes) });
    Save { loaded, ..create(key, document, ttl) }
}

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
    let saved = |o: SaveOutcome, what: &str| assert_eq!(o, SaveOutcome::Saved(None), "{what}");
    saved(store.save(&create(&key("a"), doc, Ttl::Seconds(60))).await.unwrap(), "save of a new session");
    assert_eq!(store.get(&key("a")).await.unwrap().as_deref(), Some(doc.as_bytes()), "GET after save");
    let (bytes, pttl) = get_with_pttl(store, &key("a")).await.expect("GET+PTTL of an existing key");
    let pttl = pttl.expect("a PTTL when asked for");
    assert_eq!((bytes.as_slice(), pttl > 55_000 && pttl <= 60_000), (doc.as_bytes(), true), "GET+PTTL: {pttl}");
    assert_eq!(get_with_pttl(store, &key("missing")).await, None, "GET+PTTL of a missing key");
    assert_eq!(store.read(Some(&key("a")), false, &[]).await.unwrap().session.map(|s| s.1), Some(None), "GET alone");
    assert_eq!(store.read(None, false, &[]).await.unwrap(), Fetched::default(), "a read of nothing");
    assert_eq!(
        store.save(&create(&key("a"), "{}", Ttl::Seconds(60))).await.unwrap(),
        SaveOutcome::Taken,
        "a new session's save where the key exists"
    );

    // Compare and set: the loaded bytes must still be there.
    saved(
        store.save(&update(&key("a"), doc.as_bytes(), "{}", Ttl::Seconds(60))).await.unwrap(),
        "save over the loaded",
    );
    assert_eq!(store.get(&key("a")).await.unwrap().as_deref(), Some(&b"{}"[..]), "GET after overwrite");
    assert_eq!(
        store.save(&update(&key("a"), doc.as_bytes(), "{\"late\":1}", Ttl::Seconds(60))).await.unwrap(),
        SaveOutcome::Conflict(b"{}".to_vec()),
        "a save over bytes that changed meanwhile answers what is there now"
    );
    assert_eq!(
        store.save(&update(&key("gone"), b"{}", "{}", Ttl::Seconds(60))).await.unwrap(),
        SaveOutcome::Gone,
        "a save of a session whose key is gone"
    );
    assert_eq!(store.get(&key("gone")).await.unwrap(), None, "a gone session stays gone");

    // An expired session is deleted by its save; no TTL keeps none.
    store.save(&create(&key("b"), "{}", Ttl::Persist)).await.unwrap();
    saved(store.save(&update(&key("b"), b"{}", "{}", Ttl::Expired)).await.unwrap(), "save of an expired session");
    assert_eq!(store.get(&key("b")).await.unwrap(), None, "an expired session's save deletes it");

    // A rotate: written under the new key, the old one retired, the id
    // indexed, in the same step.
    let rotate = Save {
        key: key("new"),
        loaded: Some(Loaded { key: key("a"), digest: Digest::of(b"{}") }),
        document: "{\"r\":1}".into(),
        ttl: Ttl::Seconds(60),
        retire: vec![key("a")],
        index: Some(IndexEntry { set: key("index"), member: Some("new".into()), ttl_seconds: Some(60) }),
        counter: Some(key("counter")),
        guard: None,
    };
    assert_eq!(store.save(&rotate).await.unwrap(), SaveOutcome::Saved(Some(1)), "a rotate's save, counted");
    assert_eq!(store.get(&key("a")).await.unwrap(), None, "the retired key is gone");
    assert_eq!(store.get(&key("new")).await.unwrap().as_deref(), Some(&b"{\"r\":1}"[..]), "the new key holds it");
    assert_eq!(store.save(&rotate).await.unwrap(), SaveOutcome::Gone, "a rotate from a key that is gone");
    assert_eq!(
        store.get(&key("counter")).await.unwrap().as_deref(),
        Some(&b"1"[..]),
        "a save that is not made counts nothing"
    );
    store.del(&[key("counter")]).await.unwrap();

    // A guarded save writes only while the guard key holds what was read.
    store.save(&create(&key("guard"), "v1", Ttl::Seconds(60))).await.unwrap();
    let guarded = |digest: Digest| Save {
        guard: Some(Guard { read: Loaded { key: key("guard"), digest }, replace_with: None }),
        ..create(&key("guarded"), "{}", Ttl::Seconds(60))
    };
    assert_eq!(store.save(&guarded(Digest::of(b"v0"))).await.unwrap(), SaveOutcome::Stale, "a changed guard");
    assert_eq!(store.get(&key("guarded")).await.unwrap(), None, "a stale save writes nothing");
    assert!(matches!(store.save(&guarded(Digest::of(b"v1"))).await.unwrap(), SaveOutcome::Saved(_)), "guard held");
    store.del(&[key("guarded")]).await.unwrap();
    // The guard key's new value goes with the save, or not at all.
    let replacing = |digest: Digest| Save {
        guard: Some(Guard { read: Loaded { key: key("guard"), digest }, replace_with: Some("v2".into()) }),
        ..create(&key("guarded"), "{}", Ttl::Seconds(60))
    };
    assert_eq!(store.save(&replacing(Digest::of(b"v0"))).await.unwrap(), SaveOutcome::Stale);
    assert_eq!(store.get(&key("guard")).await.unwrap().as_deref(), Some(&b"v1"[..]), "not replaced when stale");
    assert!(matches!(store.save(&replacing(Digest::of(b"v1"))).await.unwrap(), SaveOutcome::Saved(_)));
    assert_eq!(store.get(&key("guard")).await.unwrap().as_deref(), Some(&b"v2"[..]), "replaced with the save");
    assert_eq!(get_with_pttl(store, &key("guard")).await.and_then(|(_, pttl)| pttl), Some(-1), "without TTL");
    store.del(&[key("guard"), key("guarded")]).await.unwrap();
    assert_eq!(store.save(&guarded(Digest::of(b"v1"))).await.unwrap(), SaveOutcome::Stale, "a guard key gone");

    // EXPIRE on an existing key, save without TTL.
    assert!(store.expire(&key("new"), 120).await.unwrap(), "EXPIRE of an existing key");
    store.save(&create(&key("b"), "{}", Ttl::Persist)).await.unwrap();
    store.del(&[key("index")]).await.unwrap();
    store.save(&create(&key("a"), "{}", Ttl::Seconds(60))).await.unwrap();
    store.del(&[key("new")]).await.unwrap();

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
    store.save(&create(&key("ttl"), "x", Ttl::Seconds(60))).await.unwrap();
    assert!(within(store.pttl(&key("ttl")).await.unwrap(), 60), "PTTL after a save with a TTL of 60");
    assert!(store.expire(&key("ttl"), 120).await.unwrap());
    assert!(within(store.pttl(&key("ttl")).await.unwrap(), 120), "PTTL after EXPIRE 120");
    store.save(&update(&key("ttl"), b"x", "y", Ttl::Persist)).await.unwrap();
    assert_eq!(store.pttl(&key("ttl")).await.unwrap(), -1, "a save without a TTL drops the TTL");
    store.save(&update(&key("ttl"), b"y", "x", Ttl::Seconds(60))).await.unwrap();

    // Create is SET NX without TTL; Put overwrites without TTL.
    let user = key("user");
    let record = |v: &str| Write::Create { key: user.clone(), value: v.into() };
    assert_eq!(write_all(store, &[record("first")]).await, [Written::Created(true)], "create of a new key");
    assert_eq!(write_all(store, &[record("second")]).await, [Written::Created(false)], "create of an existing key");
    assert_eq!(store.get(&user).await.unwrap().as_deref(), Some(&b"first"[..]), "create keeps the first");
    assert_eq!(store.pttl(&user).await.unwrap(), -1, "create sets no TTL");
    let put = Write::Put { key: user.clone(), value: "third".into() };
    assert_eq!(write_all(store, &[put]).await, [Written::Done], "put");
    assert_eq!(store.get(&user).await.unwrap().as_deref(), Some(&b"third"[..]), "put overwrites");
    assert_eq!(store.pttl(&user).await.unwrap(), -1, "put sets no TTL");

    // A registration: the record and the skeleton together, with a TTL
    // until PERSIST; nothing when the name or the skeleton is another's.
    let register = |name: &str, skeleton: &str, ttl_seconds| {
        Write::Register(Register {
            user: key(&format!("u-{name}")),
            skeleton: key(&format!("sk-{skeleton}")),
            record: format!("{{\"username\":\"{name}\"}}"),
            name: name.into(),
            ttl_seconds,
            known: Some((key(&format!("known-{name}")), "192.0.2.1".into(), 900)),
        })
    };
    let registered = |o| [Written::Registered(o)];
    assert_eq!(write_all(store, &[register("ab", "ab", Some(600))]).await, registered(RegisterOutcome::Created));
    assert_eq!(store.get(&key("sk-ab")).await.unwrap().as_deref(), Some(&b"ab"[..]), "the skeleton names its owner");
    assert!(within(store.pttl(&key("u-ab")).await.unwrap(), 600), "the record expires until the first login");
    assert!(within(store.pttl(&key("sk-ab")).await.unwrap(), 600), "and its skeleton with it");
    assert_eq!(write_all(store, &[register("ab", "ab", Some(600))]).await, registered(RegisterOutcome::Taken));
    assert_eq!(write_all(store, &[register("a-b", "ab", None)]).await, registered(RegisterOutcome::LookAlike));
    assert_eq!(store.pttl(&key("u-a-b")).await.unwrap(), -2, "a look-alike writes nothing");
    let persisted = write_all(store, &[Write::Persist(key("u-ab")), Write::Persist(key("sk-ab"))]).await;
    assert_eq!(persisted, [Written::Done, Written::Done], "PERSIST");
    assert_eq!(store.pttl(&key("u-ab")).await.unwrap(), -1, "PERSIST drops the TTL");
    store.del(&[key("u-ab")]).await.unwrap();
    // The owner's own name again (its record deleted): the skeleton is its,
    // and the known addresses of the old account are gone.
    let stale = Write::SAdd { set: key("known-ab"), member: "203.0.113.66".into() };
    write_all(store, &[stale]).await;
    assert_eq!(write_all(store, &[register("ab", "ab", None)]).await, registered(RegisterOutcome::Created));
    assert_eq!(store.members(&key("known-ab")).await.unwrap(), ["192.0.2.1"], "only the new registrant's address");
    store.del(&[key("known-ab"), key("known-a-b")]).await.unwrap();
    assert_eq!(store.pttl(&key("sk-ab")).await.unwrap(), -1, "no TTL given: none");
    assert_eq!(store.del(&[key("u-ab"), key("sk-ab")]).await.unwrap(), 2);

    // A registration goes before the save it comes with (Write::before_save),
    // so a save guarded by the record it creates is made exactly when the
    // registration created it (registering logs in); what the writes did is
    // answered in their own order.
    let guarded = |name: &str| Save {
        guard: Some(Guard {
            read: Loaded {
                key: key(&format!("u-{name}")),
                digest: Digest::of(format!("{{\"username\":\"{name}\"}}").as_bytes()),
            },
            replace_with: None,
        }),
        ..create(&key("registering"), "{}", Ttl::Seconds(60))
    };
    let marker = Write::Put { key: key("after-save"), value: "x".into() };
    let wrote = store.write(Some(&guarded("cd")), &[marker.clone(), register("cd", "cd", None)]).await.unwrap();
    assert_eq!(wrote.saved, Some(SaveOutcome::Saved(None)), "a save guarded by the record registered with it");
    assert_eq!(wrote.written, [Written::Done, Written::Registered(RegisterOutcome::Created)], "in also's order");
    store.del(&[key("registering")]).await.unwrap();
    // The name taken: the record is another's (another password hash), so
    // nothing is saved.
    let taken = Register {
        record: "{\"username\":\"cd\",\"other\":1}".into(),
        ..match register("cd", "cd", None) {
            Write::Register(r) => r,
            _ => unreachable!(),
        }
    };
    let guard =
        Guard { read: Loaded { key: key("u-cd"), digest: Digest::of(taken.record.as_bytes()) }, replace_with: None };
    let save = Save { guard: Some(guard), ..guarded("cd") };
    let wrote = store.write(Some(&save), &[Write::Register(taken)]).await.unwrap();
    assert_eq!(wrote.saved, Some(SaveOutcome::Stale), "a taken name's save is not made");
    assert_eq!(wrote.written, [Written::Registered(RegisterOutcome::Taken)]);
    assert_eq!(store.get(&key("registering")).await.unwrap(), None, "nothing saved");
    store.del(&[key("u-cd"), key("sk-cd"), key("known-cd"), key("after-save")]).await.unwrap();

    // Counters: the first hit starts the window, later hits keep it.
    let (c1, c2) = (key("counter1"), key("counter2"));
    let hits = hit(store, &[&c1, &c2], 60).await;
    assert_eq!(hits.iter().map(|h| h.count).collect::<Vec<_>>(), [1, 1], "first hits");
    assert!(hits.iter().all(|h| within(h.pttl_ms, 60)), "the first hit starts the window: {hits:?}");
    let hits = hit(store, &[&c1, &c2], 3600).await;
    assert_eq!(hits.iter().map(|h| h.count).collect::<Vec<_>>(), [2, 2], "second hits");
    assert!(hits.iter().all(|h| within(h.pttl_ms, 60)), "a later hit keeps the window: {hits:?}");
    // Settled: DECR one, DEL the other, in one round trip.
    let settle = [Write::Decr(c1.clone()), Write::Del(vec![c2.clone()])];
    assert_eq!(write_all(store, &settle).await, [Written::Done, Written::Done], "DECR and DEL");
    let hits = hit(store, &[&c1, &c2], 60).await;
    assert_eq!(hits.iter().map(|h| h.count).collect::<Vec<_>>(), [2, 1], "after DECR of one and DEL of the other");
    assert_eq!(write_all(store, &[]).await, [], "a write of nothing");

    // A session, a value, a set and a hit in one read; a save and a write in one write.
    let both = store
        .read(
            Some(&user),
            true,
            &[
                Lookup::Get(c1.clone()),
                Lookup::Members(key("no-set")),
                Lookup::Hit { key: c2.clone(), window_seconds: 60 },
            ],
        )
        .await
        .unwrap();
    assert_eq!(both.session, Some((b"third".to_vec(), Some(-1))), "the session of a read with lookups");
    assert_eq!(
        both.found,
        [
            Found::Value(Some(b"2".to_vec())),
            Found::Members(vec![]),
            Found::Hit(CounterHit { count: 2, pttl_ms: both.found[2].hit().map_or(0, |h| h.pttl_ms) })
        ],
        "lookups in order"
    );
    let wrote =
        store.write(Some(&create(&key("pair"), "{}", Ttl::Seconds(60))), &[Write::Decr(c2.clone())]).await.unwrap();
    assert_eq!(
        (wrote.saved, wrote.written),
        (Some(SaveOutcome::Saved(None)), vec![Written::Done]),
        "a save with a write"
    );
    store.del(&[key("pair")]).await.unwrap();

    // incr counts from nothing and keeps no TTL.
    let beers = key("beers");
    assert_eq!(store.incr(&beers).await.unwrap(), 1, "INCR of a missing key");
    assert_eq!(store.incr(&beers).await.unwrap(), 2, "INCR again");
    assert_eq!(store.get(&beers).await.unwrap().as_deref(), Some(&b"2"[..]), "INCR stores the number as text");
    assert_eq!(store.pttl(&beers).await.unwrap(), -1, "INCR sets no TTL");

    // Sets, as a save's index writes them: members, a TTL set where there
    // is none and raised, never lowered (or none at all), exist, remove.
    let set = key("set");
    let listed = |id: &str, member: Option<&str>, ttl_seconds: Option<u64>| Save {
        index: Some(IndexEntry { set: set.clone(), member: member.map(str::to_owned), ttl_seconds }),
        ..create(&key(&format!("indexed-{id}")), "{}", Ttl::Seconds(60))
    };
    let indexed = |id: &str| listed(id, Some(id), Some(600));
    let exists = |k: String| async move { store.pttl(&k).await.unwrap() != -2 };
    let ttl_of = |k: String| async move { (store.pttl(&k).await.unwrap() + 999) / 1000 };
    store.save(&listed("z", None, Some(600))).await.unwrap();
    assert!(!exists(set.clone()).await, "keeping an index that does not exist creates none");
    store.del(&[key("indexed-z")]).await.unwrap();
    store.save(&indexed("a")).await.unwrap();
    assert_eq!(ttl_of(set.clone()).await, 600, "a new index gets the TTL");
    store.save(&listed("b", Some("b"), Some(300))).await.unwrap();
    assert_eq!(ttl_of(set.clone()).await, 600, "a shorter one does not lower it");
    store.save(&listed("c", None, Some(900))).await.unwrap();
    assert_eq!(ttl_of(set.clone()).await, 900, "a longer one raises it, member or not");
    assert_eq!(write_all(store, &[Write::ExtendTtl { key: set.clone(), seconds: 800 }]).await, [Written::Done]);
    assert_eq!(ttl_of(set.clone()).await, 900, "EXPIRE GT does not lower it");
    assert_eq!(write_all(store, &[Write::ExtendTtl { key: set.clone(), seconds: 1200 }]).await, [Written::Done]);
    assert_eq!(ttl_of(set.clone()).await, 1200, "EXPIRE GT raises it");
    store.save(&listed("d", None, None)).await.unwrap();
    assert_eq!(store.pttl(&set).await.unwrap(), -1, "persist: no TTL (disableTTL)");
    assert_eq!(write_all(store, &[Write::ExtendTtl { key: set.clone(), seconds: 5 }]).await, [Written::Done]);
    assert_eq!(store.pttl(&set).await.unwrap(), -1, "EXPIRE GT gives a key without a TTL none");
    store.save(&listed("e", None, Some(600))).await.unwrap();
    assert_eq!(ttl_of(set.clone()).await, 600, "a save gives an index without a TTL one (NX)");
    store.del(&[key("indexed-c"), key("indexed-d"), key("indexed-e")]).await.unwrap();
    store.del(&[key("indexed-a"), key("indexed-b")]).await.unwrap();
    let mut listed = store.members(&set).await.unwrap();
    listed.sort();
    assert_eq!(listed, ["a", "b"], "members");
    assert_eq!(store.members(&key("no-set")).await.unwrap(), Vec::<String>::new(), "members of a missing set");
    // Pruned: members whose session key is gone go, others stay.
    let prune = |members: &[&str]| {
        Write::Prune(PruneIndex {
            index: set.clone(),
            members: members.iter().map(|m| m.to_string()).collect(),
            member_keys: members.iter().map(|m| key(&format!("indexed-{m}"))).collect(),
        })
    };
    store.save(&indexed("a")).await.unwrap();
    assert_eq!(
        write_all(store, &[prune(&["a", "b", "zzz"])]).await,
        [Written::Pruned(1)],
        "prune of one gone of three"
    );
    assert_eq!(store.members(&set).await.unwrap(), ["a"], "a live session's id stays");
    store.del(&[key("indexed-a")]).await.unwrap();
    assert_eq!(write_all(store, &[prune(&["a"])]).await, [Written::Pruned(1)], "prune of the last");
    assert!(!exists(set.clone()).await, "a set without members is gone");
    assert!(exists(beers.clone()).await && !exists(key("missing")).await, "PTTL tells what exists");

    // DEL removes sets as well as strings.
    store.save(&indexed("c")).await.unwrap();
    store.del(&[key("indexed-c")]).await.unwrap();
    let all = [set, beers, c1, key("user"), key("ttl")];
    assert_eq!(store.del(&all).await.unwrap(), 5, "DEL of a set and strings");

    // Logout everywhere: only with the members as read, then all at once.
    let index = key("sessions");
    for id in ["s1", "s2"] {
        let save = Save {
            index: Some(IndexEntry { set: index.clone(), member: Some(id.into()), ttl_seconds: None }),
            ..create(&key(id), "{}", Ttl::Seconds(60))
        };
        store.save(&save).await.unwrap();
    }
    store.save(&create(&key("own"), "{}", Ttl::Seconds(60))).await.unwrap();
    let end = |members: &[&str]| EndSessions {
        index: index.clone(),
        members: members.iter().map(|m| m.to_string()).collect(),
        member_keys: members.iter().map(|m| key(m)).collect(),
        also: vec![key("own")],
    };
    match store.end_sessions(&end(&["s1"])).await.unwrap() {
        EndOutcome::Changed(mut now) => {
            now.sort();
            assert_eq!(now, ["s1", "s2"], "end_sessions answers the members it found");
        }
        other => panic!("end_sessions with a stale member list: {other:?}"),
    }
    assert!(store.get(&key("s1")).await.unwrap().is_some(), "a stale end_sessions ends nothing");
    assert_eq!(store.end_sessions(&end(&["s2", "s1"])).await.unwrap(), EndOutcome::Ended(3), "end_sessions");
    for k in [index.clone(), key("s1"), key("s2"), key("own")] {
        assert!(!exists(k).await, "end_sessions deletes the set and every session");
    }
    assert_eq!(store.end_sessions(&end(&[])).await.unwrap(), EndOutcome::Ended(0), "end_sessions of no set");
}
