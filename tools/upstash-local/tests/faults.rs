//! The fault switches of `--fault-injection`, through the library's real
//! Upstash client where it matters (how the client names each failure), and
//! Redis after each: no faulty request reaches it.

mod support;

use std::time::{Duration, Instant};

use edge_session::store::command::Set;
use edge_session::store::{StoreError, UpstashClient};
use serde_json::json;
use support::{new_session_save, post, start, start_with, TOKEN};

/// `SET key v EX 60`.
fn set(key: &str) -> Set {
    Set { key: key.into(), value: "v".into(), ex: Some(60), nx: false }
}

async fn set_fault(url: &str, fault: serde_json::Value) {
    let (status, text) = post(url, "/_fault", &fault.to_string()).await;
    assert_eq!(status, 200, "{text}");
}

async fn exists(url: &str, key: &str) -> String {
    post(url, "", &json!(["EXISTS", key]).to_string()).await.1
}

#[tokio::test]
async fn there_is_no_switch_without_the_flag() {
    let s = start();
    assert_eq!(post(&s.url, "/_fault", r#"{"mode":"status500"}"#).await.0, 404);
}

#[tokio::test]
async fn the_switch_wants_the_token_and_a_valid_fault() {
    let s = start_with(&["--fault-injection"]);
    let http = reqwest::Client::new();
    let url = format!("{}/_fault", s.url);
    let resp = http.post(&url).bearer_auth("wrong").body(r#"{"mode":"none"}"#).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(http.get(&url).send().await.unwrap().status().as_u16(), 400, "no Authorization header");
    assert_eq!(post(&s.url, "/_fault", r#"{"mode":"slow"}"#).await.0, 400);
    let resp = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), r#"{"mode":"none","only":null}"#);
    let (status, text) = post(&s.url, "/_fault", r#"{"mode":"delay","delay_ms":5,"only":"get"}"#).await;
    assert_eq!((status, text.as_str()), (200, r#"{"mode":"delay","delay_ms":5,"only":"GET"}"#));
}

#[tokio::test]
async fn each_fault_is_the_client_error_it_stands_for_and_nothing_reaches_redis() {
    let s = start_with(&["--fault-injection"]);
    let c = UpstashClient::new(&s.url, TOKEN, Duration::from_secs(5));

    set_fault(&s.url, json!({"mode": "status500"})).await;
    assert!(matches!(c.run(&set("k")).await, Err(StoreError::Http { status: 500, .. })));
    set_fault(&s.url, json!({"mode": "garbage"})).await;
    assert!(matches!(c.run(&set("k")).await, Err(StoreError::NotJson(_))));
    set_fault(&s.url, json!({"mode": "truncated"})).await;
    assert!(matches!(c.run(&set("k")).await, Err(StoreError::NotJson(_))));
    let r = c.pipeline(&[vec!["SET".into(), "k".into(), "v".into()], vec!["GET".into(), "k".into()]]).await;
    assert!(matches!(r, Err(StoreError::NotJson(_))), "{r:?}");
    let (status, text) = post(&s.url, "/multi-exec", r#"[["SET","k","v"],["GET","k"]]"#).await;
    assert_eq!((status, text.as_str()), (200, r#"[{"result":null}"#));

    set_fault(&s.url, json!({"mode": "none"})).await;
    assert_eq!(exists(&s.url, "k").await, r#"{"result":0}"#, "no faulty request reached Redis");
    c.run(&set("k")).await.unwrap();
}

#[tokio::test]
async fn a_delay_past_the_client_timeout_is_a_timeout_and_the_command_never_runs() {
    let s = start_with(&["--fault-injection"]);
    set_fault(&s.url, json!({"mode": "delay", "delay_ms": 1000})).await;
    let impatient = UpstashClient::new(&s.url, TOKEN, Duration::from_millis(300));
    let started = Instant::now();
    let r = impatient.run(&set("late")).await;
    assert!(matches!(r, Err(StoreError::TimedOut { .. })), "{r:?}");
    assert!(started.elapsed() < Duration::from_millis(900));
    // Past the delay: the client hung up, so the held request was dropped.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    set_fault(&s.url, json!({"mode": "none"})).await;
    assert_eq!(exists(&s.url, "late").await, r#"{"result":0}"#);

    // A client that waits gets the real answer, late.
    set_fault(&s.url, json!({"mode": "delay", "delay_ms": 400})).await;
    let patient = UpstashClient::new(&s.url, TOKEN, Duration::from_secs(5));
    let started = Instant::now();
    patient.run(&set("late")).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400));
    set_fault(&s.url, json!({"mode": "none"})).await;
    assert_eq!(exists(&s.url, "late").await, r#"{"result":1}"#);
}

#[tokio::test]
async fn only_limits_the_fault_to_requests_with_that_command() {
    let s = start_with(&["--fault-injection"]);
    set_fault(&s.url, json!({"mode": "status500", "only": "EVALSHA"})).await;
    assert_eq!(post(&s.url, "", r#"["SET","k","v"]"#).await, (200, r#"{"result":"OK"}"#.into()));
    let faulty = r#"{"error":"ERR upstash-local fault injection: status500"}"#;
    assert_eq!(
        post(&s.url, "", r#"["evalsha","0000000000000000000000000000000000000000",0]"#).await,
        (500, faulty.into())
    );
    // A batch with one such command fails whole, the others in it included.
    let batch = r#"[["DEL","k"],["EVALSHA","0000000000000000000000000000000000000000",0]]"#;
    assert_eq!(post(&s.url, "/pipeline", batch).await, (500, faulty.into()));
    assert_eq!(exists(&s.url, "k").await, r#"{"result":1}"#);
}

#[tokio::test]
async fn an_error_status_is_not_repeated_and_a_save_never() {
    use edge_session::store::command::Get;
    use edge_session::store::SessionStore;
    let s = start_with(&["--fault-injection"]);
    let c = UpstashClient::new(&s.url, TOKEN, Duration::from_secs(5));
    c.run(&set("r")).await.unwrap();
    // A 500 stands, even for a read (only network errors are repeated).
    set_fault(&s.url, json!({"mode": "status500", "only": "GET", "times": 1})).await;
    assert!(matches!(c.run(&Get { key: "r".into() }).await, Err(StoreError::Http { status: 500, .. })));
    assert_eq!(c.run(&Get { key: "r".into() }).await.unwrap().as_deref(), Some(&b"v"[..]), "the switch is off again");
    // A save: one 500 is the answer, and nothing was written.
    set_fault(&s.url, json!({"mode": "status500", "only": "EVALSHA", "times": 1})).await;
    let save = new_session_save("s");
    assert!(matches!(c.save(&save).await, Err(StoreError::Http { status: 500, .. })));
    assert_eq!(exists(&s.url, "s").await, r#"{"result":0}"#);
    let resp = reqwest::Client::new().get(format!("{}/_fault", s.url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), r#"{"mode":"none","only":null}"#);
}

/// A server that drops the first connection without answering, then
/// answers every request with `body`; returns its URL and how many
/// connections it accepted.
fn flaky_server(body: &'static str) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                continue; // dropped: the client sees the connection close
            }
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (url, seen)
}

#[tokio::test]
async fn a_read_is_sent_once_more_after_a_network_error_and_a_save_is_not() {
    use edge_session::store::command::Get;
    use edge_session::store::SessionStore;
    // "dg==" is "v" in base64, the encoding the client asks for.
    let (url, seen) = flaky_server(r#"{"result":"dg=="}"#);
    let c = UpstashClient::new(&url, TOKEN, Duration::from_secs(5));
    assert_eq!(c.run(&Get { key: "r".into() }).await.unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 2, "sent twice");
    let (url, seen) = flaky_server(r#"{"result":[1]}"#);
    let c = UpstashClient::new(&url, TOKEN, Duration::from_secs(5));
    let save = new_session_save("s");
    assert!(matches!(c.save(&save).await, Err(StoreError::Unreachable(_))));
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1, "a save is sent once");
}
