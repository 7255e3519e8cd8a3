//! Store faults on demand, for tests of what a client does when the store
//! misbehaves. They exist only when the server is started with
//! `--fault-injection`; then `POST /_fault` (with the bearer token) sets the
//! one fault in force, and `GET /_fault` reads it.
//!
//! A fault applies to the command endpoints (`/`, `/pipeline`,
//! `/multi-exec`) after the token, the sync token and the JSON body have
//! been checked, to every request or, with `only`, to those carrying a
//! command of that name. None of them lets a command reach Redis, so a test
//! can compare Redis before and after:
//!
//! - `delay`: the request waits `delay_ms` before it goes on to Redis. A
//!   client that hangs up meanwhile (its timeout) cancels it: the server
//!   drops a request whose connection closed, so the command never runs.
//!   A client that waits gets the real answer, late.
//! - `status500`: HTTP 500 `{"error":"ERR upstash-local fault injection: status500"}`.
//! - `garbage`: HTTP 200 with a body that is not JSON.
//! - `truncated`: HTTP 200 with the first half of a JSON answer of the
//!   right shape (`{"result":null}`, or an array of them for a batch); its
//!   `Content-Length` is that half, as after a proxy cut the body.
//! - `none`: no fault.
//!
//! With `times: N`, the fault applies to the next N requests it picks and
//! then switches itself off (a store that fails once and recovers).

use std::time::Duration;

use serde_json::{json, Value};

/// The longest delay accepted, so a typo cannot hang a test run for hours.
pub const MAX_DELAY_MS: u64 = 600_000;

/// What a faulty store does instead of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answer normally.
    None,
    /// Hold the request this long before it goes on to Redis.
    Delay(Duration),
    /// HTTP 500 with an error envelope.
    Status500,
    /// HTTP 200 with a body that is not JSON.
    Garbage,
    /// HTTP 200 with half a JSON answer.
    Truncated,
}

/// The fault in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// What happens.
    pub mode: Mode,
    /// Only requests carrying a command of this name (uppercase), or all.
    pub only: Option<String>,
    /// How many more requests it applies to; `None`: until switched off.
    pub times: Option<u32>,
}

impl Default for Fault {
    fn default() -> Self {
        Fault { mode: Mode::None, only: None, times: None }
    }
}

/// What the fault does to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Go on to Redis now.
    Proceed,
    /// Wait, then go on to Redis.
    Wait(Duration),
    /// Answer this instead: status, content type, body.
    Answer(u16, &'static str, String),
}

impl Fault {
    /// Reads the control endpoint's body:
    /// `{"mode": "none"|"delay"|"status500"|"garbage"|"truncated", "delay_ms": N, "only": "NAME"|null, "times": N|null}`
    /// (`delay_ms` with `delay` only, required there; `only` and `times` optional).
    ///
    /// # Errors
    ///
    /// A message saying what is wrong with the body.
    pub fn from_json(v: &Value) -> Result<Fault, String> {
        let obj = v.as_object().ok_or("the body must be a JSON object")?;
        if let Some(key) = obj.keys().find(|k| !["mode", "delay_ms", "only", "times"].contains(&k.as_str())) {
            return Err(format!("unknown member {key:?}"));
        }
        let delay = obj.get("delay_ms");
        let mode = match obj.get("mode").and_then(Value::as_str) {
            Some("none") => Mode::None,
            Some("delay") => {
                let ms = delay
                    .and_then(Value::as_u64)
                    .filter(|ms| *ms <= MAX_DELAY_MS)
                    .ok_or_else(|| format!("delay needs \"delay_ms\": a whole number from 0 to {MAX_DELAY_MS}"))?;
                Mode::Delay(Duration::from_millis(ms))
            }
            Some("status500") => Mode::Status500,
            Some("garbage") => Mode::Garbage,
            Some("truncated") => Mode::Truncated,
            _ => return Err("\"mode\" must be one of none, delay, status500, garbage, truncated".into()),
        };
        if delay.is_some() && !matches!(mode, Mode::Delay(_)) {
            return Err("\"delay_ms\" goes with \"mode\": \"delay\" only".into());
        }
        let only = match obj.get("only") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) if !name.is_empty() => Some(name.to_ascii_uppercase()),
            Some(_) => return Err("\"only\" must be a command name or null".into()),
        };
        let times = match obj.get("times") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| *n > 0)
                    .ok_or("\"times\" must be a positive whole number or null")?,
            ),
        };
        Ok(Fault { mode, only, times })
    }

    /// The fault as the control endpoint reports it.
    pub fn to_json(&self) -> Value {
        let mut v = match self.mode {
            Mode::None => json!({ "mode": "none" }),
            Mode::Delay(d) => json!({ "mode": "delay", "delay_ms": d.as_millis() as u64 }),
            Mode::Status500 => json!({ "mode": "status500" }),
            Mode::Garbage => json!({ "mode": "garbage" }),
            Mode::Truncated => json!({ "mode": "truncated" }),
        };
        v["only"] = json!(self.only);
        if let Some(n) = self.times {
            v["times"] = json!(n);
        }
        v
    }

    /// [`Fault::action`] for one request, counting it against `times`: the
    /// fault switches itself off after the last one.
    pub fn take<'a>(&mut self, names: impl Iterator<Item = &'a [u8]>, commands: usize, batch: bool) -> Action {
        let action = self.action(names, commands, batch);
        match self.times {
            Some(n) if action != Action::Proceed && n <= 1 => *self = Fault::default(),
            Some(n) if action != Action::Proceed => self.times = Some(n - 1),
            _ => {}
        }
        action
    }

    /// What happens to a request carrying these commands (their names, in
    /// any case); `batch` for `/pipeline` and `/multi-exec`, whose answer is
    /// an array.
    pub fn action<'a>(&self, mut names: impl Iterator<Item = &'a [u8]>, commands: usize, batch: bool) -> Action {
        if let Some(only) = &self.only {
            if !names.any(|n| n.eq_ignore_ascii_case(only.as_bytes())) {
                return Action::Proceed;
            }
        }
        match self.mode {
            Mode::None => Action::Proceed,
            Mode::Delay(d) => Action::Wait(d),
            Mode::Status500 => Action::Answer(
                500,
                "application/json",
                json!({ "error": "ERR upstash-local fault injection: status500" }).to_string(),
            ),
            Mode::Garbage => Action::Answer(
                200,
                "text/html",
                "<html><body>upstash-local fault injection: garbage</body></html>".into(),
            ),
            Mode::Truncated => Action::Answer(200, "application/json", truncated(commands, batch)),
        }
    }
}

/// The first half of `{"result":null}`, or of an array of `commands` of them.
pub fn truncated(commands: usize, batch: bool) -> String {
    let one = json!({ "result": null });
    let whole = if batch { Value::Array(vec![one; commands]) } else { one }.to_string();
    // ASCII only, so any cut is at a character boundary.
    whole[..whole.len() / 2].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(v: Value) -> Result<Fault, String> {
        Fault::from_json(&v)
    }

    #[test]
    fn reads_every_mode_and_reports_it_back() {
        for body in [
            json!({"mode": "none", "only": null}),
            json!({"mode": "delay", "delay_ms": 1500, "only": null}),
            json!({"mode": "status500", "only": "EVALSHA"}),
            json!({"mode": "garbage", "only": null}),
            json!({"mode": "truncated", "only": null}),
        ] {
            assert_eq!(fault(body.clone()).unwrap().to_json(), body);
        }
        assert_eq!(fault(json!({"mode": "garbage", "only": "evalsha"})).unwrap().only.as_deref(), Some("EVALSHA"));
    }

    #[test]
    fn times_switches_the_fault_off_after_the_last_request() {
        let mut f = fault(json!({"mode": "status500", "only": "GET", "times": 2})).unwrap();
        assert_eq!(f.to_json(), json!({"mode": "status500", "only": "GET", "times": 2}));
        let get: &[u8] = b"GET";
        let set: &[u8] = b"SET";
        assert_eq!(f.take([set].into_iter(), 1, false), Action::Proceed, "another command does not count");
        assert!(matches!(f.take([get].into_iter(), 1, false), Action::Answer(500, ..)));
        assert!(matches!(f.take([get].into_iter(), 1, false), Action::Answer(500, ..)));
        assert_eq!(f.take([get].into_iter(), 1, false), Action::Proceed, "off after two");
        assert_eq!(f, Fault::default());
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        for body in [
            json!([]),
            json!({}),
            json!({"mode": "slow"}),
            json!({"mode": "delay"}),
            json!({"mode": "delay", "delay_ms": -1}),
            json!({"mode": "delay", "delay_ms": MAX_DELAY_MS + 1}),
            json!({"mode": "garbage", "delay_ms": 5}),
            json!({"mode": "garbage", "only": 5}),
            json!({"mode": "garbage", "only": ""}),
            json!({"mode": "garbage", "extra": true}),
            json!({"mode": "garbage", "times": 0}),
            json!({"mode": "garbage", "times": "once"}),
        ] {
            assert!(fault(body.clone()).is_err(), "{body}");
        }
    }

    #[test]
    fn only_picks_requests_by_command_name() {
        let f = fault(json!({"mode": "status500", "only": "EVALSHA"})).unwrap();
        let names = |list: &'static [&'static str]| list.iter().map(|n| n.as_bytes());
        assert_eq!(f.action(names(&["GET"]), 1, false), Action::Proceed);
        assert!(matches!(f.action(names(&["GET", "evalsha"]), 2, true), Action::Answer(500, ..)));
        let all = fault(json!({"mode": "delay", "delay_ms": 10})).unwrap();
        assert_eq!(all.action(names(&["GET"]), 1, false), Action::Wait(Duration::from_millis(10)));
        assert_eq!(Fault::default().action(names(&["GET"]), 1, false), Action::Proceed);
    }

    #[test]
    fn garbage_is_not_json_and_truncated_is_half_of_json() {
        let f = fault(json!({"mode": "garbage"})).unwrap();
        let Action::Answer(200, _, body) = f.action(std::iter::empty(), 1, false) else { panic!() };
        assert!(serde_json::from_str::<Value>(&body).is_err());
        assert_eq!(truncated(1, false), r#"{"resul"#);
        assert_eq!(truncated(2, true), r#"[{"result":null}"#);
        assert!(serde_json::from_str::<Value>(&truncated(3, true)).is_err());
    }
}
