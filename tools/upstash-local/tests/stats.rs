//! The counts of `--stats` against a real redis-server: every call to a
//! command endpoint is counted with its commands' names, whatever its
//! answer; the control endpoints are not; a reset reports and clears; a
//! call is counted when its answer is ready (after a fault's delay), and
//! one whose client hung up first is not. Through the library's real
//! Upstash client where it matters: a save is one script call, and the
//! first one on a fresh store is `EVALSHA` then `EVAL`.

mod support;

use std::time::{Duration, Instant};

use edge_session::store::{SessionStore, StoreError, UpstashClient};
use serde_json::{json, Value};
use support::{new_session_save, post, start, start_with, stats, TOKEN};

async fn reset(url: &str) -> Value {
    let (status, text) = post(url, "/_stats/reset", "").await;
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn zero() -> Value {
    json!({"http_calls": 0, "commands": 0, "by_endpoint": {"/": 0, "/pipeline": 0, "/multi-exec": 0}, "calls": [], "servers": []})
}

#[tokio::test]
async fn there_are_no_counts_without_the_flag() {
    let s = start();
    let http = reqwest::Client::new();
    let resp = http.get(format!("{}/_stats", s.url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert_eq!(post(&s.url, "/_stats/reset", "").await.0, 404);
}

#[tokio::test]
async fn the_counts_want_the_token() {
    let s = start_with(&["--stats"]);
    let http = reqwest::Client::new();
    let url = format!("{}/_stats", s.url);
    assert_eq!(http.get(&url).bearer_auth("wrong").send().await.unwrap().status().as_u16(), 401);
    assert_eq!(http.get(&url).send().await.unwrap().status().as_u16(), 400, "no Authorization header");
    let resp = http.post(format!("{url}/reset")).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(stats(&s.url).await, zero());
}

#[tokio::test]
async fn every_call_is_counted_with_its_commands_whatever_its_answer() {
    let s = start_with(&["--stats", "--fault-injection"]);
    assert_eq!(stats(&s.url).await, zero());
    assert_eq!(post(&s.url, "", r#"["set","k","v"]"#).await.0, 200);
    assert_eq!(post(&s.url, "/pipeline", r#"[["INCR","n"],["EXPIRE","n",60,"NX"],["PTTL","n"]]"#).await.0, 200);
    assert_eq!(post(&s.url, "/multi-exec", r#"[["GET","k"],["DEL","k"]]"#).await.0, 200);
    // A Redis error, a body that is no command, a refused token: calls all the same.
    assert_eq!(post(&s.url, "", r#"["INCR","k","extra"]"#).await.0, 400);
    assert_eq!(post(&s.url, "/pipeline", "not json").await.0, 400);
    let refused = reqwest::Client::new().post(&s.url).bearer_auth("wrong").body(r#"["GET","k"]"#).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    // The control endpoints are not calls: reading the counts, or a fault switch.
    assert_eq!(post(&s.url, "/_fault", r#"{"mode":"none"}"#).await.0, 200);
    stats(&s.url).await;
    let expected = json!({
        "http_calls": 6,
        "commands": 8,
        "by_endpoint": {"/": 3, "/pipeline": 2, "/multi-exec": 1},
        "calls": [["SET"], ["INCR", "EXPIRE", "PTTL"], ["GET", "DEL"], ["INCR"], [], ["GET"]],
        // A Redis error reached Redis; a body that is no command and a
        // refused token reached none.
        "servers": ["primary", "primary", "primary", "primary", null, null],
    });
    assert_eq!(stats(&s.url).await, expected);
    assert_eq!(reset(&s.url).await, expected, "a reset answers what it clears");
    assert_eq!(stats(&s.url).await, zero());
    assert_eq!(reset(&s.url).await, zero());

    // A faulty answer is an answer: counted.
    post(&s.url, "/_fault", r#"{"mode":"status500","only":"GET","times":1}"#).await;
    assert_eq!(post(&s.url, "", r#"["GET","k"]"#).await.0, 500);
    assert_eq!(stats(&s.url).await["calls"], json!([["GET"]]));
    assert_eq!(stats(&s.url).await["servers"], json!([null]), "it reached no Redis");
}

#[tokio::test]
async fn a_script_call_is_one_command_and_a_fresh_store_loads_the_script_first() {
    let s = start_with(&["--stats"]);
    let c = UpstashClient::new(&s.url, TOKEN, Duration::from_secs(5));
    c.save(&new_session_save("sess:a")).await.unwrap();
    assert_eq!(reset(&s.url).await["calls"], json!([["EVALSHA"], ["EVAL"]]), "NOSCRIPT, then EVAL");
    c.save(&new_session_save("sess:b")).await.unwrap();
    let counts = stats(&s.url).await;
    assert_eq!((counts["http_calls"].clone(), counts["calls"].clone()), (json!(1), json!([["EVALSHA"]])));
    assert_eq!(counts["by_endpoint"]["/"], json!(1));
}

#[tokio::test]
async fn a_call_is_counted_when_its_answer_is_ready_and_not_when_its_client_hung_up() {
    let s = start_with(&["--stats", "--fault-injection"]);
    post(&s.url, "/_fault", r#"{"mode":"delay","delay_ms":600,"only":"EXPIRE"}"#).await;
    let url = s.url.clone();
    let started = Instant::now();
    let held = tokio::spawn(async move { post(&url, "", r#"["EXPIRE","k",60]"#).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stats(&s.url).await["http_calls"], json!(0), "still held: not counted yet");
    assert_eq!(held.await.unwrap(), (200, r#"{"result":0}"#.into()));
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert_eq!(reset(&s.url).await["calls"], json!([["EXPIRE"]]), "counted by the time its answer came");

    // A client that gives up during the delay: its call never reached Redis,
    // and it is not counted.
    let impatient = UpstashClient::new(&s.url, TOKEN, Duration::from_millis(200));
    let r = impatient.expire("k", 60).await;
    assert!(matches!(r, Err(StoreError::TimedOut { .. })), "{r:?}");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(stats(&s.url).await, zero());
}
