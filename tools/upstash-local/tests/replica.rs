//! Replica mode (`--replica`) against two real redis-servers, the second
//! replicating the first: reads are served by the replica, everything else
//! by the primary; with replication held back a read without a token is
//! stale and the same read with the write's token is not; a release leaves
//! the replica caught up; the control endpoint exists only in replica mode.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{post, start, start_redis, start_replicated, stats, upstash_local_bin, TOKEN};

/// One request to a command endpoint with `token` as `upstash-sync-token`:
/// its status, body and the token it answered.
async fn call(url: &str, path: &str, body: &str, token: Option<&str>) -> (u16, String, Option<String>) {
    let mut req = reqwest::Client::new().post(format!("{url}{path}")).bearer_auth(TOKEN).body(body.to_owned());
    if let Some(token) = token {
        req = req.header("upstash-sync-token", token);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let answered = resp.headers().get("upstash-sync-token").map(|v| v.to_str().unwrap().to_owned());
    (status, resp.text().await.unwrap(), answered)
}

/// The offset in a token of replica mode (`rpl.` + 16 hex digits).
fn offset(token: &str) -> u64 {
    let hex = token.strip_prefix("rpl.").unwrap_or_else(|| panic!("not a replica-mode token: {token:?}"));
    assert_eq!(hex.len(), 16, "{token:?}");
    u64::from_str_radix(hex, 16).unwrap()
}

/// `GET /_replication`, or `POST` with `{"hold": hold}`: status and JSON.
async fn replication(url: &str, hold: Option<bool>) -> (u16, Value) {
    let http = reqwest::Client::new();
    let req = match hold {
        None => http.get(format!("{url}/_replication")),
        Some(hold) => http.post(format!("{url}/_replication")).body(json!({ "hold": hold }).to_string()),
    };
    let resp = req.bearer_auth(TOKEN).send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| json!(text)))
}

async fn hold(url: &str, hold: bool) -> Value {
    let (status, report) = replication(url, Some(hold)).await;
    assert_eq!(status, 200, "{report}");
    report
}

/// `GET key` straight from the redis-server on `port`.
async fn redis_get(port: u16, key: &str) -> Option<String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("GET").arg(key).query_async(&mut conn).await.unwrap()
}

#[tokio::test]
async fn reads_go_to_the_replica_and_everything_else_to_the_primary() {
    let s = start_replicated(&["--stats"]);
    let (status, body, written) = call(&s.url, "", r#"["SET","k","v"]"#, None).await;
    assert_eq!((status, body.as_str()), (200, r#"{"result":"OK"}"#));
    let written = written.expect("a write answers a token");
    let (status, body, read) = call(&s.url, "", r#"["GET","k"]"#, Some(&written)).await;
    assert_eq!((status, body.as_str()), (200, r#"{"result":"v"}"#), "the write's token: the replica has it");
    assert!(offset(&read.unwrap()) >= offset(&written), "a read's token is at least the one it sent");
    let token = Some(written.as_str());
    assert_eq!(call(&s.url, "/pipeline", r#"[["get","k"],["PTTL","k"],["EXISTS","k"]]"#, token).await.0, 200);
    assert_eq!(call(&s.url, "/pipeline", r#"[["GET","k"],["SET","j","w"]]"#, token).await.0, 200);
    assert_eq!(call(&s.url, "/multi-exec", r#"[["GET","k"]]"#, token).await.0, 200);
    assert_eq!(call(&s.url, "", r#"["EVAL","return 1",0]"#, token).await.0, 200);
    assert_eq!(call(&s.url, "", r#"["SMEMBERS","none"]"#, None).await.0, 200);
    // A read's Redis error was still served by the replica.
    assert_eq!(call(&s.url, "", r#"["GET"]"#, None).await.0, 400);
    let counts = stats(&s.url).await;
    assert_eq!(
        counts["calls"],
        json!([["SET"], ["GET"], ["GET", "PTTL", "EXISTS"], ["GET", "SET"], ["GET"], ["EVAL"], ["SMEMBERS"], ["GET"]])
    );
    assert_eq!(
        counts["servers"],
        json!(["primary", "replica", "replica", "primary", "primary", "primary", "replica", "replica"]),
        "one write sends a whole batch to the primary; multi-exec and scripts go there too"
    );
    // The writes reached the replica too.
    assert_eq!(redis_get(s.replica_port, "j").await.as_deref(), Some("w"));
}

#[tokio::test]
async fn a_write_answers_the_primarys_offset_and_every_answer_a_token() {
    let s = start_replicated(&[]);
    let (_, _, before) = call(&s.url, "", r#"["SET","k","1"]"#, None).await;
    let (_, _, after) = call(&s.url, "", r#"["SET","k","2"]"#, None).await;
    let (before, after) = (offset(&before.unwrap()), offset(&after.unwrap()));
    assert!(after > before, "each write moves the primary's offset: {before} then {after}");
    let (_, report) = replication(&s.url, None).await;
    assert!(report["primary_offset"].as_u64().unwrap() >= after, "{report}");
    // A read without a token answers what the replica reaches; the SDK's
    // empty token is no token; a batch of reads has a token too.
    for token in [None, Some("")] {
        let (status, _, read) = call(&s.url, "", r#"["GET","k"]"#, token).await;
        assert_eq!(status, 200);
        offset(&read.unwrap());
    }
    offset(&call(&s.url, "/pipeline", r#"[["GET","k"]]"#, None).await.2.unwrap());
    // A counter token (upstash-local without --replica) asks for nothing;
    // text that is no token of ours is refused.
    assert_eq!(call(&s.url, "", r#"["GET","k"]"#, Some("42")).await.0, 200);
    for bad in ["rpl.12", "abc", "rpl.-000000000000001"] {
        assert_eq!(call(&s.url, "", r#"["GET","k"]"#, Some(bad)).await.0, 400, "{bad:?}");
    }
}

#[tokio::test]
async fn with_replication_held_a_read_without_token_is_stale_and_with_the_writes_token_is_not() {
    let s = start_replicated(&["--stats"]);
    let (_, _, first) = call(&s.url, "", r#"["SET","k","old"]"#, None).await;
    assert_eq!(call(&s.url, "", r#"["GET","k"]"#, first.as_deref()).await.1, r#"{"result":"old"}"#);

    let report = hold(&s.url, true).await;
    assert_eq!((report["hold"].clone(), report["state"].clone()), (json!(true), json!("held")), "{report}");
    assert_eq!(hold(&s.url, true).await["hold"], json!(true), "holding twice is holding");
    let (_, _, written) = call(&s.url, "", r#"["SET","k","new"]"#, first.as_deref()).await;
    let written = written.unwrap();

    // Without a token: the replica's old value.
    let (status, body, stale) = call(&s.url, "", r#"["GET","k"]"#, None).await;
    assert_eq!((status, body.as_str()), (200, r#"{"result":"old"}"#), "a stale read");
    assert!(offset(&stale.unwrap()) < offset(&written), "its token says it is older than the write");
    assert_eq!(redis_get(s.replica_port, "k").await.as_deref(), Some("old"));

    // With the write's token: the replica cannot reach it while held, so
    // after the bounded wait the primary serves the read.
    let started = Instant::now();
    let (status, body, fresh) = call(&s.url, "", r#"["GET","k"]"#, Some(&written)).await;
    assert_eq!((status, body.as_str()), (200, r#"{"result":"new"}"#), "read-your-writes");
    assert!(started.elapsed() >= Duration::from_millis(500), "it waited for the replica first");
    assert!(offset(&fresh.unwrap()) >= offset(&written));
    // A batch of reads too.
    let (_, body, _) = call(&s.url, "/pipeline", r#"[["GET","k"],["EXISTS","k"]]"#, Some(&written)).await;
    assert_eq!(body, r#"[{"result":"new"},{"result":1}]"#);
    assert_eq!(
        stats(&s.url).await["servers"].as_array().unwrap()[3..],
        [json!("replica"), json!("primary"), json!("primary")]
    );

    let (_, report) = replication(&s.url, None).await;
    assert_eq!(report["hold"], json!(true));
    assert!(report["replica_offset"].as_u64() < report["primary_offset"].as_u64(), "{report}");

    // The release answers once the replica caught up.
    let report = hold(&s.url, false).await;
    assert_eq!((report["hold"].clone(), report["state"].clone()), (json!(false), json!("following")), "{report}");
    assert!(report["replica_offset"].as_u64().unwrap() >= offset(&written), "{report}");
    assert_eq!(redis_get(s.replica_port, "k").await.as_deref(), Some("new"));
    let (_, body, _) = call(&s.url, "", r#"["GET","k"]"#, None).await;
    assert_eq!(body, r#"{"result":"new"}"#, "no longer stale");
    assert_eq!(stats(&s.url).await["servers"].as_array().unwrap().last(), Some(&json!("replica")));
    assert_eq!(hold(&s.url, false).await["state"], json!("following"), "releasing twice is releasing");

    // Replication goes on after a release.
    let (_, _, again) = call(&s.url, "", r#"["SET","k","newer"]"#, None).await;
    assert_eq!(call(&s.url, "", r#"["GET","k"]"#, again.as_deref()).await.1, r#"{"result":"newer"}"#);
}

#[tokio::test]
async fn a_read_waiting_for_its_token_is_served_by_the_replica_once_it_caught_up() {
    let s = start_replicated(&["--stats"]);
    hold(&s.url, true).await;
    let (_, _, written) = call(&s.url, "", r#"["SET","k","v"]"#, None).await;
    let url = s.url.clone();
    let read = tokio::spawn(async move { call(&url, "", r#"["GET","k"]"#, written.as_deref()).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let released = Instant::now();
    hold(&s.url, false).await;
    let release_took = released.elapsed();
    let (status, body, _) = read.await.unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"result":"v"}"#));
    // The read waits at most 500 ms; a release within that time lets the
    // replica serve it.
    if release_took < Duration::from_millis(400) {
        assert_eq!(stats(&s.url).await["servers"], json!(["primary", "replica"]), "release took {release_took:?}");
    }
}

#[tokio::test]
async fn there_is_no_switch_without_the_flag() {
    let s = start();
    assert_eq!(replication(&s.url, None).await.0, 404);
    assert_eq!(replication(&s.url, Some(true)).await.0, 404);
    // Tokens stay counters.
    let (_, _, token) = call(&s.url, "", r#"["SET","k","v"]"#, None).await;
    assert!(token.unwrap().bytes().all(|b| b.is_ascii_digit()));
}

#[tokio::test]
async fn the_switch_wants_the_token_and_a_valid_body() {
    let s = start_replicated(&[]);
    let http = reqwest::Client::new();
    let url = format!("{}/_replication", s.url);
    let resp = http.post(&url).bearer_auth("wrong").body(r#"{"hold":true}"#).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(http.get(&url).send().await.unwrap().status().as_u16(), 400, "no Authorization header");
    for body in [r#"{"hold":"yes"}"#, "{}", r#"{"hold":true,"x":1}"#, "not json"] {
        assert_eq!(post(&s.url, "/_replication", body).await.0, 400, "{body}");
    }
    let (status, report) = replication(&s.url, None).await;
    assert_eq!(status, 200);
    assert_eq!((report["hold"].clone(), report["state"].clone()), (json!(false), json!("following")), "{report}");
}

#[test]
fn a_replica_that_follows_no_one_is_refused_at_the_start() {
    let (_redis, redis_port) = start_redis();
    let (_other, other_port) = start_redis();
    let out = std::process::Command::new(upstash_local_bin())
        .args(["--listen", "127.0.0.1:0", "--token", TOKEN])
        .args(["--redis-url", &format!("redis://127.0.0.1:{redis_port}")])
        .args(["--replica", &format!("redis://127.0.0.1:{other_port}")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("role master") && stderr.contains("--replicaof"), "{stderr}");
}
