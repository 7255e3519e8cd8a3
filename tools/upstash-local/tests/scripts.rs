//! Lua scripts through upstash-local against a real redis-server (7.x, which
//! refuses the `allow-key-locking` flag Upstash knows): a flagged script
//! runs by EVAL and EVALSHA on the keys it declares, is refused a key it
//! does not declare (and writes nothing), and its SHA1 is the one of the
//! text the client sent; an unknown SHA1 gets Redis's NOSCRIPT, also after
//! a restart of upstash-local; scripts without the flag pass unchanged, and
//! one with another unknown flag is refused as Redis refuses it.

mod support;

use serde_json::{json, Value};
use support::{post, start, start_upstash};

const NOSCRIPT: &str = r#"{"error":"NOSCRIPT No matching script. Please use EVAL."}"#;
const UNDECLARED: &str =
    "ERR Dynamic keys are not allowed in Lua scripts when 'allow-key-locking' flag is set. Key was: ";

/// Writes ARGV[1] to KEYS[1] and reads it back.
const SET_AND_GET: &str =
    "#!lua flags=allow-key-locking\nredis.call('SET', KEYS[1], ARGV[1])\nreturn redis.call('GET', KEYS[1])\n";

fn sha1(text: &str) -> String {
    sha1_smol::Sha1::from(text).digest().to_string()
}

/// One command on `/`: status and the JSON answer.
async fn command(url: &str, cmd: Value) -> (u16, Value) {
    let (status, text) = post(url, "", &cmd.to_string()).await;
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")))
}

async fn dbsize(url: &str) -> Value {
    command(url, json!(["DBSIZE"])).await.1["result"].clone()
}

#[tokio::test]
async fn a_flagged_script_runs_on_its_declared_keys_by_eval_and_evalsha() {
    let s = start();
    let r = command(&s.url, json!(["EVAL", SET_AND_GET, 1, "k", "v1"])).await;
    assert_eq!(r, (200, json!({"result": "v1"})));
    let sha = sha1(SET_AND_GET);
    let r = command(&s.url, json!(["EVALSHA", sha, 1, "k", "v2"])).await;
    assert_eq!(r, (200, json!({"result": "v2"})));
    // Any case, as Redis reads SHA1s.
    let r = command(&s.url, json!(["evalsha", sha.to_uppercase(), 1, "k", "v3"])).await;
    assert_eq!(r, (200, json!({"result": "v3"})));

    // SCRIPT LOAD answers the SHA1 of the text sent; SCRIPT EXISTS knows it.
    let other = "#!lua flags=no-writes,allow-key-locking\nreturn redis.call('GET', KEYS[1])";
    assert_eq!(command(&s.url, json!(["SCRIPT", "LOAD", other])).await, (200, json!({"result": sha1(other)})));
    let r = command(&s.url, json!(["SCRIPT", "EXISTS", sha1(other), sha, sha1("return 2")])).await;
    assert_eq!(r, (200, json!({"result": [1, 1, 0]})));
    // The other flag is kept: a read-only script reads.
    assert_eq!(command(&s.url, json!(["EVALSHA", sha1(other), 1, "k"])).await, (200, json!({"result": "v3"})));

    // The same through /pipeline and /multi-exec, SCRIPT LOAD's answer
    // under base64 too (a bulk string, as Redis answers it).
    let batch = json!([["EVALSHA", sha, 1, "p", "x"], ["EVAL", SET_AND_GET, 1, "q", "y"], ["SCRIPT", "LOAD", other]]);
    let (status, text) = post(&s.url, "/pipeline", &batch.to_string()).await;
    assert_eq!((status, text), (200, json!([{"result": "x"}, {"result": "y"}, {"result": sha1(other)}]).to_string()));
    let (status, text) = post(&s.url, "/multi-exec", &batch.to_string()).await;
    assert_eq!((status, text), (200, json!([{"result": "x"}, {"result": "y"}, {"result": sha1(other)}]).to_string()));
    let resp = reqwest::Client::new()
        .post(&s.url)
        .bearer_auth(support::TOKEN)
        .header("Upstash-Encoding", "base64")
        .body(json!(["SCRIPT", "LOAD", other]).to_string())
        .send()
        .await
        .unwrap();
    let expected = edge_session::store::wire::Reply::Bulk(sha1(other).into_bytes())
        .to_envelope(edge_session::store::wire::Encoding::Base64);
    assert_eq!(serde_json::from_str::<Value>(&resp.text().await.unwrap()).unwrap(), expected);
}

#[tokio::test]
async fn a_key_not_in_keys_is_refused_with_upstash_error_and_nothing_is_written() {
    let s = start();
    let script = "#!lua flags=allow-key-locking\nredis.call('SET', 'sess:' .. ARGV[1], 'x')\nreturn 1";
    let (status, answer) = command(&s.url, json!(["EVAL", script, 1, "sess:a", "b"])).await;
    assert_eq!(status, 400);
    let error = answer["error"].as_str().unwrap();
    assert!(error.starts_with(&format!("{UNDECLARED}sess:b")), "{error}");
    // The same key built inside, but declared: allowed (Upstash compares the final string).
    let (status, _) = command(&s.url, json!(["EVAL", script, 1, "sess:b", "b"])).await;
    assert_eq!(status, 200);
    assert_eq!(command(&s.url, json!(["DEL", "sess:b"])).await.0, 200);

    // Every key position: DEL's all, MSET's every other; pcall returns the
    // error instead of raising it; an unknown command is refused (fail closed).
    for (script, keys, key) in [
        ("return redis.call('DEL', KEYS[1], 'y')", json!(["x"]), "y"),
        ("return redis.call('MSET', KEYS[1], 'v', 'z', 'v')", json!(["x"]), "z"),
        ("return redis.call('EXPIRE', 'w', 5)", json!([]), "w"),
        ("local e = redis.pcall('SADD', 'set', 'm') return e", json!(["x"]), "set"),
    ] {
        let text = format!("#!lua flags=allow-key-locking\n{script}");
        let mut cmd = vec![json!("EVAL"), json!(text), json!(keys.as_array().unwrap().len())];
        cmd.extend(keys.as_array().unwrap().iter().cloned());
        let (status, answer) = command(&s.url, Value::Array(cmd)).await;
        assert_eq!(status, 400, "{script}");
        assert!(answer["error"].as_str().unwrap().starts_with(&format!("{UNDECLARED}{key}")), "{script}: {answer}");
    }
    let (status, answer) =
        command(&s.url, json!(["EVAL", "#!lua flags=allow-key-locking\nreturn redis.call('FLUSHDB')", 0])).await;
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().unwrap().contains("knows no key positions of 'FLUSHDB'"), "{answer}");
    assert_eq!(dbsize(&s.url).await, json!(0), "nothing was written");

    // Within a batch, the refusal is that command's own error.
    let batch = json!([["EVAL", script, 1, "sess:a", "b"], ["EXISTS", "sess:b"]]);
    let (status, text) = post(&s.url, "/pipeline", &batch.to_string()).await;
    let answers: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status, 200);
    assert!(answers[0]["error"].as_str().unwrap().starts_with(UNDECLARED), "{text}");
    assert_eq!(answers[1], json!({"result": 0}));
}

#[tokio::test]
async fn an_unknown_sha_gets_noscript_also_after_a_restart_of_upstash_local() {
    let mut s = start();
    let sha = sha1(SET_AND_GET);
    assert_eq!(post(&s.url, "", &json!(["EVALSHA", sha, 1, "k", "v"]).to_string()).await, (400, NOSCRIPT.into()));
    let (_, text) = post(&s.url, "/pipeline", &json!([["EVALSHA", sha, 1, "k", "v"]]).to_string()).await;
    assert_eq!(text, format!("[{NOSCRIPT}]"));
    assert_eq!(command(&s.url, json!(["EVAL", SET_AND_GET, 1, "k", "v"])).await.0, 200);
    assert_eq!(command(&s.url, json!(["EVALSHA", sha, 1, "k", "v"])).await.0, 200);

    // A new upstash-local on the same Redis knows no client SHA1 of a
    // flagged script (Redis only ever saw the rewritten text): NOSCRIPT,
    // then the client's EVAL fallback works and EVALSHA with it.
    let (upstash, url) = start_upstash(s.redis_port, &[]);
    drop(std::mem::replace(&mut s.upstash, upstash));
    assert_eq!(post(&url, "", &json!(["EVALSHA", sha, 1, "k", "v"]).to_string()).await, (400, NOSCRIPT.into()));
    assert_eq!(command(&url, json!(["EVAL", SET_AND_GET, 1, "k", "w"])).await, (200, json!({"result": "w"})));
    assert_eq!(command(&url, json!(["EVALSHA", sha, 1, "k", "x"])).await, (200, json!({"result": "x"})));
}

#[tokio::test]
async fn scripts_without_the_flag_reach_redis_unchanged() {
    let s = start();
    // No shebang: Redis lets a script touch undeclared keys.
    let plain = "redis.call('SET', 'undeclared', ARGV[1]) return redis.call('GET', 'undeclared')";
    assert_eq!(command(&s.url, json!(["EVAL", plain, 0, "a"])).await, (200, json!({"result": "a"})));
    assert_eq!(command(&s.url, json!(["EVALSHA", sha1(plain), 0, "b"])).await, (200, json!({"result": "b"})));
    assert_eq!(command(&s.url, json!(["SCRIPT", "LOAD", plain])).await, (200, json!({"result": sha1(plain)})));
    let shebang = "#!lua flags=no-writes\nreturn redis.call('GET', 'undeclared')";
    assert_eq!(command(&s.url, json!(["EVAL_RO", shebang, 0])).await, (200, json!({"result": "b"})));
    assert_eq!(command(&s.url, json!(["EVALSHA_RO", sha1(shebang), 0])).await, (200, json!({"result": "b"})));
}

#[tokio::test]
async fn another_unknown_flag_is_refused_as_redis_refuses_it() {
    let s = start();
    for (script, error) in [
        ("#!lua flags=bogus\nreturn 1", "ERR Unexpected flag in script shebang: bogus"),
        ("#!lua flags=allow-key-locking,bogus\nreturn 1", "ERR Unexpected flag in script shebang: bogus"),
        ("#!lua flags=allow-key-locking other\nreturn 1", "ERR Unknown lua shebang option: other"),
        ("#!lua flags=allow-key-locking", "ERR Invalid script shebang"),
    ] {
        assert_eq!(command(&s.url, json!(["EVAL", script, 0])).await, (400, json!({"error": error})), "{script}");
    }
    assert_eq!(dbsize(&s.url).await, json!(0));
}
