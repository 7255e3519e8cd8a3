//! Counts of the HTTP calls and Redis commands clients sent, for tests that
//! hold a client to a budget of round trips. They exist only when the server
//! is started with `--stats`; then `GET /_stats` (with the bearer token)
//! reports them and `POST /_stats/reset` reports them and starts again from
//! zero.
//!
//! A call is one request to a command endpoint (`/`, `/pipeline`,
//! `/multi-exec`), whatever its answer (a Redis error, a refused token, a
//! fault of `--fault-injection`). It is counted when its answer is ready:
//! after a fault's delay and after Redis answered, so a call in the counts
//! has reached Redis (or was answered without it), and one whose client hung
//! up before its answer is not counted. The control endpoints (`/_stats`,
//! `/_fault`) are not calls.
//!
//! Its commands are the names in its body, upper-cased, in order: one for
//! `/`, one per command for a batch, none for a body that is not a command
//! (not JSON, not an array). A script call (`EVALSHA`, `EVAL`) is one
//! command; the commands the script runs inside Redis are not seen here.
//!
//! Each call also names the Redis that served it: the primary, or with
//! `--replica` the replica (`replica`); none when it reached no Redis (a
//! refused token, a body that is no command, a fault's answer).

use serde_json::{json, Value};

use crate::replica::Server;

/// The command endpoints, as the counts name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /`: one command.
    Single,
    /// `POST /pipeline`.
    Pipeline,
    /// `POST /multi-exec`.
    MultiExec,
}

impl Endpoint {
    /// Every endpoint, in the order the counts list them.
    pub const ALL: [Endpoint; 3] = [Endpoint::Single, Endpoint::Pipeline, Endpoint::MultiExec];

    /// The endpoint's path.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Single => "/",
            Endpoint::Pipeline => "/pipeline",
            Endpoint::MultiExec => "/multi-exec",
        }
    }
}

/// One counted call: where it went and the names of its commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The endpoint it was sent to.
    pub endpoint: Endpoint,
    /// Its commands' names, upper-cased, in order.
    pub commands: Vec<String>,
    /// The Redis that served it; `None` when it reached none.
    pub server: Option<Server>,
}

/// The calls counted since the start or the last reset, in the order their
/// answers were ready.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    calls: Vec<Call>,
}

impl Stats {
    /// Counts a call to `endpoint` whose request body was `body`, served by
    /// `server` (`None`: it reached no Redis).
    pub fn record(&mut self, endpoint: Endpoint, body: &[u8], server: Option<Server>) {
        self.calls.push(Call { endpoint, commands: command_names(endpoint, body), server });
    }

    /// The counts as `GET /_stats` reports them:
    /// `{"http_calls": N, "commands": M, "by_endpoint": {"/": a, "/pipeline": b, "/multi-exec": c}, "calls": [["GET"], ["INCR","PTTL"], …], "servers": ["replica", "primary", …]}`;
    /// `servers` has one item per call, in the order of `calls`:
    /// `"primary"`, `"replica"`, or `null` for a call that reached no Redis.
    pub fn to_json(&self) -> Value {
        let mut by_endpoint = serde_json::Map::new();
        for endpoint in Endpoint::ALL {
            let n = self.calls.iter().filter(|c| c.endpoint == endpoint).count();
            by_endpoint.insert(endpoint.path().to_owned(), json!(n));
        }
        json!({
            "http_calls": self.calls.len(),
            "commands": self.calls.iter().map(|c| c.commands.len()).sum::<usize>(),
            "by_endpoint": by_endpoint,
            "calls": self.calls.iter().map(|c| c.commands.clone()).collect::<Vec<_>>(),
            "servers": self.calls.iter().map(|c| c.server.map(Server::name)).collect::<Vec<_>>(),
        })
    }

    /// Reports the counts and starts again from zero.
    pub fn reset(&mut self) -> Value {
        let report = self.to_json();
        self.calls.clear();
        report
    }
}

/// The upper-cased names of the commands in a request body sent to
/// `endpoint`: a command (a JSON array whose first item is a string) for
/// `/`, an array of them for a batch. What is not a command names nothing.
pub fn command_names(endpoint: Endpoint, body: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return Vec::new() };
    let name = |command: &Value| command.get(0).and_then(Value::as_str).map(str::to_ascii_uppercase);
    match endpoint {
        Endpoint::Single => name(&value).into_iter().collect(),
        Endpoint::Pipeline | Endpoint::MultiExec => {
            value.as_array().map(|commands| commands.iter().filter_map(name).collect()).unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_body_upper_cased_in_order() {
        assert_eq!(command_names(Endpoint::Single, br#"["get","sess:a"]"#), ["GET"]);
        assert_eq!(
            command_names(Endpoint::Pipeline, br#"[["INCR","k"],["expire","k",60,"NX"],["PTTL","k"]]"#),
            ["INCR", "EXPIRE", "PTTL"]
        );
        assert_eq!(command_names(Endpoint::MultiExec, br#"[["SET","k","v"],["GET","k"]]"#), ["SET", "GET"]);
        // A script call is one command, whatever it runs.
        assert_eq!(command_names(Endpoint::Single, br#"["EVALSHA","0123",1,"k"]"#), ["EVALSHA"]);
    }

    #[test]
    fn a_body_that_is_no_command_names_nothing() {
        for body in [&b"not json"[..], b"{}", b"[]", b"[5]", b"\"GET\""] {
            assert!(command_names(Endpoint::Single, body).is_empty(), "{}", String::from_utf8_lossy(body));
        }
        // In a batch, only the items that are commands are named.
        assert_eq!(command_names(Endpoint::Pipeline, br#"[["GET","k"],[],7,["DEL","k"]]"#), ["GET", "DEL"]);
        assert!(command_names(Endpoint::Pipeline, br#"["GET","k"]"#).is_empty());
    }

    #[test]
    fn counts_calls_commands_and_endpoints_and_reset_starts_again() {
        let mut stats = Stats::default();
        assert_eq!(
            stats.to_json(),
            json!({"http_calls": 0, "commands": 0, "by_endpoint": {"/": 0, "/pipeline": 0, "/multi-exec": 0}, "calls": [], "servers": []})
        );
        stats.record(Endpoint::Single, br#"["GET","sess:a"]"#, Some(Server::Replica));
        stats.record(Endpoint::Pipeline, br#"[["INCR","k"],["PTTL","k"]]"#, Some(Server::Primary));
        stats.record(Endpoint::Single, br#"["EVALSHA","0123",1,"sess:a"]"#, Some(Server::Primary));
        stats.record(Endpoint::MultiExec, b"garbage", None);
        let report = json!({
            "http_calls": 4,
            "commands": 4,
            "by_endpoint": {"/": 2, "/pipeline": 1, "/multi-exec": 1},
            "calls": [["GET"], ["INCR", "PTTL"], ["EVALSHA"], []],
            "servers": ["replica", "primary", "primary", null],
        });
        assert_eq!(stats.to_json(), report);
        assert_eq!(
            stats.calls[1],
            Call {
                endpoint: Endpoint::Pipeline,
                commands: vec!["INCR".into(), "PTTL".into()],
                server: Some(Server::Primary)
            }
        );
        assert_eq!(stats.reset(), report, "a reset reports what it clears");
        assert_eq!(stats, Stats::default());
        assert_eq!(stats.to_json()["http_calls"], json!(0));
    }
}
