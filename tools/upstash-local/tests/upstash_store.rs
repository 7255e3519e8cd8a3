//! The library's Upstash REST client against a real redis-server behind the
//! real upstash-local server (this package's binary, so cargo builds it for
//! these tests): the shared store conformance suite, TTLs, pipeline
//! and multi-exec, auth failures and error shapes, an unreachable and a slow
//! store. Each test starts its own servers on free ports and stops them by
//! PID when it ends (`support`).

mod support;

use std::process::Command;
use std::time::Duration;

use edge_session::store::command::{self, Get, Set, Ttl};
use edge_session::store::wire::{CommandError, Encoding};
use edge_session::store::{conformance, SessionStore, StoreError, TransportError, UpstashClient};
use support::{free_port, start, Proc, TOKEN};

fn client(url: &str) -> UpstashClient {
    UpstashClient::new(url, TOKEN, Duration::from_secs(5))
}

#[tokio::test]
async fn conformance_suite() {
    let s = start();
    conformance::run_accounts(&client(&s.url), "conformance:upstash:").await;
}

#[tokio::test]
async fn set_ex_sets_the_ttl_and_expire_resets_it() {
    let s = start();
    let c = client(&s.url);
    c.run(&Set { key: "sess:t".into(), value: "{}".into(), ex: Some(60), nx: false }).await.unwrap();
    assert_eq!(c.run(&Ttl { key: "sess:t".into() }).await.unwrap(), 60);
    assert!(c.expire("sess:t", 30).await.unwrap());
    assert_eq!(c.run(&Ttl { key: "sess:t".into() }).await.unwrap(), 30);
    c.run(&Set { key: "sess:forever".into(), value: "{}".into(), ex: None, nx: false }).await.unwrap();
    assert_eq!(c.run(&Ttl { key: "sess:forever".into() }).await.unwrap(), -1);
    assert_eq!(c.run(&Ttl { key: "sess:none".into() }).await.unwrap(), -2);
    // NX does not overwrite.
    let nx = Set { key: "sess:t".into(), value: "other".into(), ex: Some(5), nx: true };
    assert!(!c.run(&nx).await.unwrap());
    assert_eq!(c.get("sess:t").await.unwrap().as_deref(), Some(&b"{}"[..]));
}

#[tokio::test]
async fn pipeline_and_multi_exec() {
    let s = start();
    let c = client(&s.url);
    let cmds = vec![
        Set { key: "p:a".into(), value: "1".into(), ex: Some(60), nx: false }.args(),
        vec!["INCR".into(), "p:a".into()],
        Get { key: "p:a".into() }.args(),
        vec!["HSET".into(), "p:h".into(), "f".into(), "v".into()],
        Get { key: "p:h".into() }.args(),
    ];
    use edge_session::store::command::Command as _;
    let results = c.pipeline(&cmds).await.unwrap();
    assert_eq!(results.len(), 5);
    assert!(<Set as command::Command>::parse(results[0].as_ref().unwrap().clone(), Encoding::Base64).unwrap());
    assert_eq!(results[1].as_ref().unwrap(), &serde_json::json!(2));
    assert_eq!(Get::parse(results[2].as_ref().unwrap().clone(), Encoding::Base64).unwrap(), Some(b"2".to_vec()));
    // One command's error does not fail the others.
    assert!(matches!(&results[4], Err(CommandError::Redis(m)) if m.starts_with("WRONGTYPE")));

    let results = c.multi_exec(&[vec!["INCR".into(), "p:a".into()], vec!["INCR".into(), "p:a".into()]]).await.unwrap();
    assert_eq!(
        results.iter().map(|r| r.as_ref().unwrap().clone()).collect::<Vec<_>>(),
        [serde_json::json!(3), serde_json::json!(4)]
    );
    // A command Redis refuses at queue time aborts the whole transaction.
    let err = c.multi_exec(&[vec!["SET".into(), "p:a".into()], vec!["INCR".into(), "p:a".into()]]).await.unwrap_err();
    assert!(matches!(err, StoreError::Protocol(CommandError::Redis(ref m)) if m.starts_with("EXECABORT")), "{err:?}");
    assert_eq!(c.get("p:a").await.unwrap().as_deref(), Some(&b"4"[..]));
}

#[tokio::test]
async fn redis_errors_keep_their_text() {
    let s = start();
    let c = client(&s.url);
    c.pipeline(&[vec!["HSET".into(), "h".into(), "f".into(), "v".into()]]).await.unwrap();
    let err = c.get("h").await.unwrap_err();
    match err {
        StoreError::Protocol(CommandError::Redis(m)) => {
            assert_eq!(m, "WRONGTYPE Operation against a key holding the wrong kind of value")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn auth_failures() {
    let s = start();
    let wrong = UpstashClient::new(&s.url, "not-the-token", Duration::from_secs(5));
    assert!(matches!(wrong.get("k").await, Err(StoreError::Unauthorized { status: 401 })));

    // Raw HTTP, to see exactly what the server answers.
    let http = reqwest::Client::new();
    let resp = http.post(&s.url).body(r#"["GET","k"]"#).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400, "no Authorization header");
    let resp = http.post(&s.url).bearer_auth("nope").body(r#"["GET","k"]"#).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(resp.text().await.unwrap(), r#"{"error":"Invalid token"}"#);
}

#[tokio::test]
async fn wire_shapes() {
    let s = start();
    let http = reqwest::Client::new();
    let post = |path: &str, body: &'static str, base64: bool| {
        let mut req = http.post(format!("{}{path}", s.url)).bearer_auth(TOKEN).body(body);
        if base64 {
            req = req.header("Upstash-Encoding", "base64");
        }
        req.send()
    };
    let r = post("", r#"["SET","w","héllo","EX",60]"#, false).await.unwrap();
    assert_eq!((r.status().as_u16(), r.text().await.unwrap()), (200, r#"{"result":"OK"}"#.to_owned()));
    let r = post("", r#"["GET","w"]"#, false).await.unwrap();
    assert_eq!(r.text().await.unwrap(), r#"{"result":"héllo"}"#);
    let r = post("", r#"["GET","w"]"#, true).await.unwrap();
    assert_eq!(r.text().await.unwrap(), r#"{"result":"aMOpbGxv"}"#);
    let r = post("", r#"["SET","w","x"]"#, true).await.unwrap();
    assert_eq!(r.text().await.unwrap(), r#"{"result":"OK"}"#, "status replies stay plain under base64");
    let r = post("", r#"["GET"]"#, false).await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.text().await.unwrap(), r#"{"error":"ERR wrong number of arguments for 'get' command"}"#);
    let r = post("", r#"not json"#, false).await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = post("/pipeline", r#"[["SET","n",5],["INCRBY","n",2]]"#, false).await.unwrap();
    assert_eq!(r.text().await.unwrap(), r#"[{"result":"OK"},{"result":7}]"#);
}

#[tokio::test]
async fn read_your_writes_token_is_kept_and_sent() {
    let s = start();
    let c = client(&s.url);
    assert_eq!(c.sync_token(), None);
    c.run(&Set { key: "ryw".into(), value: "{}".into(), ex: Some(60), nx: false }).await.unwrap();
    let first = c.sync_token().expect("the store hands out a sync token");
    // The next request carries it (the server refuses text that is not a
    // token, so success shows it was sent as given) and gets a newer one.
    assert!(c.get("ryw").await.unwrap().is_some());
    let second = c.sync_token().unwrap();
    assert!(second.parse::<u64>().unwrap() > first.parse::<u64>().unwrap());

    let http = reqwest::Client::new();
    let resp = http
        .post(&s.url)
        .bearer_auth(TOKEN)
        .header("upstash-sync-token", "not-a-token")
        .body(r#"["GET","ryw"]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400, "a malformed token is refused");
    // A refused request drops the client's token: a store that restarted
    // (and no longer knows it) costs one failed call, not every call after.
    let wrong = UpstashClient::new(&s.url, "wrong token", Duration::from_secs(5));
    wrong.get("ryw").await.unwrap_err();
    assert_eq!(wrong.sync_token(), None);
}

#[tokio::test]
async fn unreachable_store() {
    let port = free_port(); // nothing listens here
    let c = UpstashClient::new(&format!("http://127.0.0.1:{port}"), TOKEN, Duration::from_secs(2));
    assert!(matches!(c.get("k").await, Err(StoreError::Unreachable(TransportError::Failed(_)))));
}

#[tokio::test]
async fn slow_store_times_out() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let c = UpstashClient::new(&url, TOKEN, Duration::from_millis(300));
    let started = std::time::Instant::now();
    // A timeout is not "unreachable": the request may have been applied.
    assert!(matches!(c.get("k").await, Err(StoreError::TimedOut { after }) if after == Duration::from_millis(300)));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn redis_gone_is_a_server_error() {
    let mut s = start();
    // Stop Redis under the REST server: it answers 500, the client reports
    // an HTTP failure rather than a missing key.
    drop(std::mem::replace(&mut s.redis, Proc(Command::new("true").spawn().unwrap())));
    let c = client(&s.url);
    match c.get("k").await {
        Err(StoreError::Http { status: 500, .. }) => {}
        other => panic!("expected HTTP 500, got {other:?}"),
    }
}

#[tokio::test]
async fn logout_everywhere_ends_nine_thousand_sessions() {
    // Found by review: one DEL of every key overflowed Lua's unpack() at
    // about 8 000 keys; the script deletes in slices.
    use edge_session::store::{AccountStore, EndOutcome, EndSessions};
    let s = start();
    let c = client(&s.url);
    let ids: Vec<String> = (0..9001).map(|i| format!("id{i}")).collect();
    let sets: Vec<Vec<String>> = ids.iter().map(|id| vec!["SET".into(), format!("sess:{id}"), "{}".into()]).collect();
    for r in c.pipeline(&sets).await.unwrap() {
        r.unwrap();
    }
    let mut sadd = vec!["SADD".to_string(), "user-sessions:many".into()];
    sadd.extend(ids.iter().cloned());
    c.pipeline(&[sadd]).await.unwrap().pop().unwrap().unwrap();
    let call = EndSessions {
        index: "user-sessions:many".into(),
        member_keys: ids.iter().map(|id| format!("sess:{id}")).collect(),
        members: ids,
        also: vec![],
    };
    assert_eq!(c.end_sessions(&call).await.unwrap(), EndOutcome::Ended(9001));
    assert!(c.members("user-sessions:many").await.unwrap().is_empty());
}
