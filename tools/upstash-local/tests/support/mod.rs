//! How the integration tests start their servers: a real redis-server and
//! the real upstash-local (this package's binary, so cargo builds it for
//! them), each on a free port, each stopped by PID when dropped.

#![allow(dead_code)] // each test file uses its own part of this

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub const TOKEN: &str = "integration-token";

/// Kills its child process when dropped, so a failing test leaves nothing
/// running.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Servers {
    pub url: String,
    pub redis_port: u16,
    // Dropped in reverse order: the REST server first, then Redis.
    pub upstash: Proc,
    pub redis: Proc,
}

/// upstash-local with `--replica`: the primary Redis, a second one
/// replicating it, and upstash-local in front of both.
pub struct Replicated {
    pub url: String,
    pub redis_port: u16,
    pub replica_port: u16,
    // Dropped in this order: the REST server, the replica, the primary,
    // then the replica's directory.
    pub upstash: Proc,
    pub replica: Proc,
    pub redis: Proc,
    pub replica_dir: tempfile::TempDir,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn upstash_local_bin() -> PathBuf {
    // Cargo builds this package's binary for its own integration tests and
    // says where: always the fresh one, whatever else is in target/.
    PathBuf::from(env!("CARGO_BIN_EXE_upstash-local"))
}

/// A redis-server on a free port, ready; and its port.
pub fn start_redis() -> (Proc, u16) {
    start_redis_with(&[])
}

/// A redis-server on a free port with `extra` arguments, ready; and its port.
pub fn start_redis_with(extra: &[&str]) -> (Proc, u16) {
    let port = free_port();
    let mut redis = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("redis-server must be installed (scripts/setup.sh installs it)");
    let out = BufReader::new(redis.stdout.take().unwrap());
    let redis = Proc(redis);
    for line in out.lines() {
        if line.unwrap().contains("Ready to accept connections") {
            break;
        }
    }
    (redis, port)
}

/// upstash-local in front of the Redis on `redis_port`, with `extra`
/// arguments; its URL, read from its first line.
pub fn start_upstash(redis_port: u16, extra: &[&str]) -> (Proc, String) {
    let redis_url = format!("redis://127.0.0.1:{redis_port}");
    let mut upstash = Command::new(upstash_local_bin())
        .args(["--listen", "127.0.0.1:0", "--redis-url", &redis_url, "--token", TOKEN])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(upstash.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "unexpected first line {line:?}");
    (Proc(upstash), url)
}

/// Both, upstash-local with `extra` arguments.
pub fn start_with(extra: &[&str]) -> Servers {
    let (redis, redis_port) = start_redis();
    let (upstash, url) = start_upstash(redis_port, extra);
    Servers { url, redis_port, upstash, redis }
}

pub fn start() -> Servers {
    start_with(&[])
}

/// A primary Redis, a replica of it (its snapshot in a temporary
/// directory), and upstash-local with `--replica` and `extra` arguments.
/// The primary sends its snapshot at once (`repl-diskless-sync-delay 0`),
/// so a release of held replication is quick.
pub fn start_replicated(extra: &[&str]) -> Replicated {
    let (redis, redis_port) = start_redis_with(&["--repl-diskless-sync-delay", "0"]);
    let replica_dir = tempfile::tempdir().unwrap();
    let dir = replica_dir.path().to_str().unwrap();
    let (replica, replica_port) =
        start_redis_with(&["--replicaof", "127.0.0.1", &redis_port.to_string(), "--dir", dir]);
    let replica_url = format!("redis://127.0.0.1:{replica_port}");
    let args: Vec<&str> = ["--replica", replica_url.as_str()].into_iter().chain(extra.iter().copied()).collect();
    let (upstash, url) = start_upstash(redis_port, &args);
    Replicated { url, redis_port, replica_port, upstash, replica, redis, replica_dir }
}

/// One raw request to upstash-local: status and body text.
pub async fn post(url: &str, path: &str, body: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .bearer_auth(TOKEN)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// `GET /_stats` of an upstash-local started with `--stats`: the counts.
pub async fn stats(url: &str) -> serde_json::Value {
    let resp = reqwest::Client::new().get(format!("{url}/_stats")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    serde_json::from_str(&resp.text().await.unwrap()).unwrap()
}

/// The library's save of a new, empty session under `key` with a TTL of 60
/// seconds: one script call and nothing else.
pub fn new_session_save(key: &str) -> edge_session::store::Save {
    edge_session::store::Save {
        key: key.into(),
        loaded: None,
        document: "{}".into(),
        ttl: edge_session::store::Ttl::Seconds(60),
        retire: vec![],
        index: None,
        counter: None,
        guard: None,
    }
}
