//! A client of Upstash's Redis REST API: single commands on `POST /`,
//! several at once on `POST /pipeline` (not atomic) and `POST /multi-exec`
//! (a transaction). We write our own because the `upstash-redis-rs` crate
//! builds neither on stable Rust nor on wasm32 (docs/PROTOCOL.md §5).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use serde_json::Value;

use super::batch::{short_batch, Lookup, Write, Written};
use super::command::{Command, Del, Expire, Get, Incr, PTtl, SMembers};
use super::script::{is_noscript, EndOutcome, EndSessions, Eval, EvalSha, Save, ScriptCall};
use super::transport::{HttpReply, HttpTransport, TransportError};
use super::wire::{self, CommandError, Encoding, SYNC_TOKEN_HEADER};
use super::{AccountStore, Fetched, SessionStore, StoreError, Wrote};

/// A connection to one Upstash (or Upstash-compatible) database.
#[derive(Clone)]
pub struct UpstashClient {
    base_url: String,
    token: String,
    transport: HttpTransport,
    /// The newest `upstash-sync-token` seen. Sent with every request so a
    /// read served by a replica reflects this client's earlier writes
    /// (Upstash's read-your-writes), as the official SDKs do per client.
    /// Shared by the client's clones ([`UpstashClient::metered`]).
    sync_token: Rc<RefCell<Option<String>>>,
    /// What this client (clone) has sent so far.
    meter: Rc<Meter>,
    /// The token of this client's (clone's) newest write, if a write has
    /// answered one ([`UpstashClient::written_sync_token`]).
    written: Rc<RefCell<Option<String>>>,
    /// Whether the store refused a token this client (clone) sent.
    token_refused: Rc<Cell<bool>>,
}

/// Store traffic so far: HTTP round trips and the time they took.
#[derive(Debug, Default)]
pub struct Meter {
    round_trips: Cell<u32>,
    millis: Cell<f64>,
}

impl Meter {
    /// HTTP calls made (a pipeline or a script is one).
    pub fn round_trips(&self) -> u32 {
        self.round_trips.get()
    }

    /// Their total time in milliseconds, from sending to the whole answer.
    pub fn millis(&self) -> f64 {
        self.millis.get()
    }
}

impl std::fmt::Debug for UpstashClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bearer token is a credential: never in a log line.
        f.debug_struct("UpstashClient").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

impl UpstashClient {
    /// A client for the REST endpoint `url` (e.g.
    /// `https://eu1-xyz.upstash.io`) with a bearer `token`.
    pub fn new(url: &str, token: &str, timeout: Duration) -> Self {
        Self {
            base_url: url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            transport: HttpTransport::new(timeout),
            sync_token: Rc::new(RefCell::new(None)),
            meter: Rc::new(Meter::default()),
            written: Rc::new(RefCell::new(None)),
            token_refused: Rc::new(Cell::new(false)),
        }
    }

    /// A client for one request: the same connection settings and
    /// read-your-writes token (shared with `self`), with a meter of its own,
    /// so that a request's store traffic can be reported
    /// ([`UpstashClient::meter`]) even while other requests of the same
    /// isolate use the store.
    pub fn metered(&self) -> Self {
        Self {
            meter: Rc::new(Meter::default()),
            written: Rc::new(RefCell::new(None)),
            token_refused: Rc::new(Cell::new(false)),
            ..self.clone()
        }
    }

    /// [`UpstashClient::metered`], for one browser's request: when the
    /// browser brought the token of its own last write (`sync_token`, which
    /// the worker hands it in a short-lived cookie), this request's reads
    /// carry that token instead of the isolate's, so that a replica serving
    /// them has caught up with that write (Upstash's read-your-writes, with
    /// the token passed from one client to another as its documentation
    /// describes for separate functions). The isolate's token is not
    /// changed by it.
    pub fn for_request(&self, sync_token: Option<String>) -> Self {
        let metered = self.metered();
        match sync_token.filter(|t| !t.is_empty()) {
            Some(token) => Self { sync_token: Rc::new(RefCell::new(Some(token))), ..metered },
            None => metered,
        }
    }

    /// The `upstash-sync-token` the store answered to this client's
    /// (clone's) newest write; `None` when it wrote nothing or got no token.
    /// What the browser must bring back to read its own writes.
    pub fn written_sync_token(&self) -> Option<String> {
        self.written.borrow().clone()
    }

    /// Whether the store refused a sync token this client (clone) sent
    /// (each such call was sent again without it): the browser's copy is
    /// worth dropping.
    pub fn sync_token_refused(&self) -> bool {
        self.token_refused.get()
    }

    /// The traffic this client has sent since [`UpstashClient::metered`]
    /// made it (or since it was made).
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// The newest read-your-writes token the store has given this client.
    pub fn sync_token(&self) -> Option<String> {
        self.sync_token.borrow().clone()
    }

    /// Runs one command and decodes its result. A command that only reads
    /// ([`Command::READ_ONLY`]) is sent once more after a transient failure
    /// ([`is_transient`]): repeating it is safe. A write never is: it may
    /// have been applied, and a compare-and-set save repeated after its own
    /// write would meet that write as a conflict and apply its change twice.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store is unreachable, refuses the token, answers a Redis error or
    /// something that is not this command's reply.
    pub async fn run<C: Command>(&self, cmd: &C) -> Result<C::Output, StoreError> {
        let result = self.send(&self.base_url, &cmd.args(), C::READ_ONLY).await?;
        output::<C>(result)
    }

    /// Runs a script call: `EVALSHA`, and once more as `EVAL` (which also
    /// loads the script) when the store answers `NOSCRIPT`. Only `NOSCRIPT`
    /// is retried: it means the script did not run, so nothing was applied.
    ///
    /// # Errors
    ///
    /// As [`UpstashClient::run`].
    pub async fn run_script<C: ScriptCall>(&self, call: &C) -> Result<C::Output, StoreError> {
        match self.run(&EvalSha(call)).await {
            Err(StoreError::Protocol(e)) if is_noscript(&e) => self.run(&Eval(call)).await,
            other => other,
        }
    }

    /// Runs several commands in one round trip on `/pipeline`; each has its
    /// own result or error. Not atomic.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the batch as a whole fails (unreachable, refused, not JSON); a command's
    /// own error is its item's `Err`.
    pub async fn pipeline(&self, commands: &[Vec<String>]) -> Result<Vec<Result<Value, CommandError>>, StoreError> {
        self.batch("pipeline", commands, false).await
    }

    /// Runs several commands as one transaction on `/multi-exec`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the transaction as a whole fails (unreachable, refused, not JSON); a
    /// command's own error is its item's `Err`.
    pub async fn multi_exec(&self, commands: &[Vec<String>]) -> Result<Vec<Result<Value, CommandError>>, StoreError> {
        self.batch("multi-exec", commands, false).await
    }

    /// The string results of a batch are base64 like every other answer of
    /// this client; decode them with `C::parse(value, Encoding::Base64)`.
    async fn batch(
        &self,
        path: &str,
        commands: &[Vec<String>],
        read_only: bool,
    ) -> Result<Vec<Result<Value, CommandError>>, StoreError> {
        let url = format!("{}/{path}", self.base_url);
        match self.send(&url, commands, read_only).await? {
            Value::Array(items) => Ok(items.into_iter().map(wire::open_envelope).collect()),
            other => Err(StoreError::Protocol(wire::unexpected("pipeline", &other))),
        }
    }

    /// [`UpstashClient::send_raw`], once more after a transient failure
    /// ([`is_transient`]) when the request only reads (`read_only`): only
    /// that is safe to repeat.
    async fn send<B: serde::Serialize + ?Sized>(
        &self,
        url: &str,
        body: &B,
        read_only: bool,
    ) -> Result<Value, StoreError> {
        let sent_token = self.sync_token().is_some();
        match self.send_raw(url, body, read_only).await {
            Err(e) if read_only && is_transient(&e) => self.send_raw(url, body, read_only).await,
            // A token the store refuses (one a browser brought back after a
            // store restart, or made up): the store checks the token before
            // it runs anything, and the refusal cleared it, so the call, a
            // write too, goes again without one rather than fail until the
            // browser's cookie expires. (The refusal clears the token, so
            // only a request's first call meets it; the only write among
            // first calls is a login's or registration's rate-limit hit,
            // which would at worst count twice, towards the limit.)
            Err(e) if sent_token && is_token_refusal(&e) => {
                self.token_refused.set(true);
                self.send_raw(url, body, read_only).await
            }
            other => other,
        }
    }

    async fn send_raw<B: serde::Serialize + ?Sized>(
        &self,
        url: &str,
        body: &B,
        read_only: bool,
    ) -> Result<Value, StoreError> {
        // Strings are always asked for in base64: session documents are
        // bytes, and plain JSON strings cannot carry bytes that are not UTF-8.
        let body = serde_json::to_string(body).map_err(StoreError::Encode)?;
        let token = self.sync_token();
        let mut headers = vec![(Encoding::HEADER, "base64")];
        if let Some(t) = token.as_deref() {
            headers.push((SYNC_TOKEN_HEADER, t));
        }
        let started = super::transport::now_ms();
        let reply = self.transport.post_json(url, &self.token, &headers, body).await;
        self.meter.round_trips.set(self.meter.round_trips.get() + 1);
        self.meter.millis.set(self.meter.millis.get() + (super::transport::now_ms() - started).max(0.0));
        let reply = reply.map_err(|e| match e {
            TransportError::Timeout(after) => StoreError::TimedOut { after },
            other => StoreError::Unreachable(other),
        })?;
        match (&reply.sync_token, reply.status) {
            (Some(t), _) => {
                *self.sync_token.borrow_mut() = Some(t.clone());
                if !read_only {
                    *self.written.borrow_mut() = Some(t.clone());
                }
            }
            // A refused request may be about the token itself (a restarted
            // store): start over without one rather than fail forever.
            (None, status) if status != 200 => *self.sync_token.borrow_mut() = None,
            _ => {}
        }
        interpret(reply)
    }
}

/// Whether a failure may pass by itself, so that a read is worth sending
/// once more: the exchange failed before an answer (connection refused or
/// reset), as the official `@upstash/redis` client retries network errors
/// only. Not an HTTP error status (a store that answers 500 usually answers
/// it again, and may hang the second time), not a timeout (a second wait
/// would double the visitor's), not a refused token or an answer that is not
/// JSON.
pub fn is_transient(e: &StoreError) -> bool {
    matches!(e, StoreError::Unreachable(_))
}

/// Whether the store refused the request's `upstash-sync-token` (Upstash
/// and upstash-local answer `ERR invalid upstash-sync-token`).
pub fn is_token_refusal(e: &StoreError) -> bool {
    matches!(e, StoreError::Protocol(CommandError::Redis(m)) if m.to_ascii_lowercase().contains("sync-token"))
}

/// `C`'s output from the HTTP answer to it, read as [`UpstashClient::run`]
/// reads every command's answer: [`interpret`], the `{"result": …}`
/// envelope opened, the reply parsed with strings in base64 (the
/// `Upstash-Encoding: base64` this client asks for); for callers that send
/// the calls themselves.
///
/// # Errors
///
/// As [`interpret`], and [`StoreError::Protocol`] for a Redis error in the
/// envelope or a reply that is not `C`'s.
pub fn command_output<C: Command>(reply: HttpReply) -> Result<C::Output, StoreError> {
    output::<C>(interpret(reply)?)
}

/// `C`'s output from the JSON an answer carried.
fn output<C: Command>(result: Value) -> Result<C::Output, StoreError> {
    Ok(C::parse(wire::open_envelope(result)?, Encoding::Base64)?)
}

/// Turns an HTTP answer of the REST API into the JSON it carries (a
/// command's `{"result": …}` envelope, or a pipeline's array of them), as
/// this client reads every answer; for callers that send the calls
/// themselves.
///
/// # Errors
///
/// [`StoreError::NotJson`] for a 200 that is not JSON,
/// [`StoreError::Protocol`] for a 400 carrying a Redis error,
/// [`StoreError::Unauthorized`] for a refused or missing token,
/// [`StoreError::Http`] for any other status.
pub fn interpret(reply: HttpReply) -> Result<Value, StoreError> {
    // The worker's one JSON reader (session::js_json::de): a reply's
    // numbers are integers within 2^53 and its strings base64 or ASCII.
    let parsed: Result<Value, _> = crate::session::js_json::de::from_slice(&reply.body);
    match (reply.status, parsed) {
        (200, Ok(v)) => Ok(v),
        (200, Err(e)) => Err(StoreError::NotJson(e)),
        // A Redis error comes back as 400 {"error": "..."}.
        (400, Ok(Value::Object(map))) if map.contains_key("error") && !is_auth_error(&map) => {
            Err(wire::open_envelope(Value::Object(map))
                .err()
                .map(StoreError::Protocol)
                .unwrap_or(StoreError::Http { status: 400, body: String::new() }))
        }
        (400 | 401 | 403, _) => Err(StoreError::Unauthorized { status: reply.status }),
        (status, _) => {
            Err(StoreError::Http { status, body: String::from_utf8_lossy(&reply.body).chars().take(200).collect() })
        }
    }
}

/// Upstash and SRH answer a missing `Authorization` header with 400 and a
/// message naming the header; every other 400 carries a Redis error.
fn is_auth_error(map: &serde_json::Map<String, Value>) -> bool {
    map.get("error").and_then(Value::as_str).is_some_and(|e| e.to_ascii_lowercase().contains("authorization"))
}

impl UpstashClient {
    /// What one write of [`SessionStore::write`] did, from its result in
    /// the pipeline; a script the store did not know is sent once more,
    /// alone, as EVAL (which also loads it).
    async fn written(&self, w: &Write, result: Result<Value, CommandError>) -> Result<Written, StoreError> {
        Ok(match (w, w.parse(result)) {
            (Write::Prune(call), Err(e)) if is_noscript(&e) => Written::Pruned(self.run(&Eval(call)).await?),
            (Write::Register(call), Err(e)) if is_noscript(&e) => Written::Registered(self.run(&Eval(call)).await?),
            (_, other) => other?,
        })
    }
}

impl SessionStore for UpstashClient {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(&Get { key: key.into() }).await
    }

    async fn read(
        &self,
        session_key: Option<&str>,
        with_pttl: bool,
        lookups: &[Lookup],
    ) -> Result<Fetched, StoreError> {
        let mut cmds = Vec::new();
        if let Some(key) = session_key {
            cmds.push(Get { key: key.into() }.args());
            if with_pttl {
                cmds.push(PTtl { key: key.into() }.args());
            }
        }
        cmds.extend(lookups.iter().flat_map(Lookup::commands));
        match (session_key, cmds.len()) {
            (_, 0) => return Ok(Fetched::default()),
            // A plain GET stays a single command, as connect-redis sends it.
            (Some(key), 1) => {
                return Ok(Fetched {
                    session: self.run(&Get { key: key.into() }).await?.map(|b| (b, None)),
                    found: vec![],
                })
            }
            _ => {}
        }
        // Only reads: repeated once after a network error. A rate-limit hit
        // counts, so a batch with one is sent once.
        let read_only = lookups.iter().all(Lookup::is_read_only);
        let mut results = self.batch("pipeline", &cmds, read_only).await?.into_iter();
        let session = match session_key {
            Some(_) => {
                let bytes = item::<Get>(results.next())?;
                let pttl = if with_pttl { Some(item::<PTtl>(results.next())?) } else { None };
                bytes.map(|b| (b, pttl))
            }
            None => None,
        };
        let found = lookups.iter().map(|l| l.parse(&mut results)).collect::<Result<_, _>>()?;
        Ok(Fetched { session, found })
    }

    async fn write(&self, save: Option<&Save>, also: &[Write]) -> Result<Wrote, StoreError> {
        match (save, also.is_empty()) {
            (None, true) => return Ok(Wrote::default()),
            (Some(save), true) => return Ok(Wrote { saved: Some(self.run_script(save).await?), written: vec![] }),
            _ => {}
        }
        // The writes that go before the save (Write::before_save), the
        // save, the others; results read in that order, answered in `also`'s.
        let early = |w: &Write| save.is_some() && w.before_save();
        let first: Vec<usize> = (0..also.len()).filter(|&i| early(&also[i])).collect();
        let after: Vec<usize> = (0..also.len()).filter(|&i| !early(&also[i])).collect();
        let mut cmds: Vec<Vec<String>> = first.iter().map(|&i| also[i].command()).collect();
        cmds.extend(save.iter().map(|s| EvalSha(*s).args()));
        cmds.extend(after.iter().map(|&i| also[i].command()));
        let mut results = self.pipeline(&cmds).await?.into_iter();
        let mut written: Vec<Option<Written>> = vec![None; also.len()];
        for &i in &first {
            written[i] = Some(self.written(&also[i], results.next().ok_or_else(short_batch)?).await?);
        }
        let saved = match save {
            // A script the store did not know did not run: sent once more,
            // alone, as EVAL (which also loads it).
            Some(save) => Some(match results.next().ok_or_else(short_batch)? {
                Err(e) if is_noscript(&e) => self.run(&Eval(save)).await?,
                other => EvalSha::<Save>::parse(other?, Encoding::Base64)?,
            }),
            None => None,
        };
        for &i in &after {
            written[i] = Some(self.written(&also[i], results.next().ok_or_else(short_batch)?).await?);
        }
        let written = written.into_iter().collect::<Option<Vec<_>>>().ok_or_else(short_batch)?;
        Ok(Wrote { saved, written })
    }

    async fn expire(&self, key: &str, ttl_seconds: u64) -> Result<bool, StoreError> {
        self.run(&Expire { key: key.into(), seconds: ttl_seconds }).await
    }

    async fn del(&self, keys: &[String]) -> Result<u64, StoreError> {
        if keys.is_empty() {
            return Ok(0);
        }
        self.run(&Del { keys: keys.to_vec() }).await
    }

    async fn backoff(&self, wait: Duration) {
        self.transport.sleep(wait).await;
    }
}

/// Decodes one result of a batch as command `C` answers it.
fn item<C: Command>(r: Option<Result<Value, CommandError>>) -> Result<C::Output, StoreError> {
    Ok(C::parse(r.ok_or_else(short_batch)??, Encoding::Base64)?)
}

impl AccountStore for UpstashClient {
    async fn incr(&self, key: &str) -> Result<i64, StoreError> {
        self.run(&Incr { key: key.into() }).await
    }

    async fn members(&self, set: &str) -> Result<Vec<String>, StoreError> {
        self.run(&SMembers { key: set.into() }).await
    }

    async fn end_sessions(&self, call: &EndSessions) -> Result<EndOutcome, StoreError> {
        self.run_script(call).await
    }

    async fn pttl(&self, key: &str) -> Result<i64, StoreError> {
        self.run(&PTtl { key: key.into() }).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> HttpReply {
        HttpReply { status, body: body.as_bytes().to_vec(), sync_token: None }
    }

    #[test]
    fn transient_failures_truth_table() {
        use std::time::Duration;
        let http = |status| StoreError::Http { status, body: String::new() };
        assert!(is_transient(&StoreError::Unreachable(TransportError::Failed("reset".into()))));
        assert!(!is_transient(&http(500)));
        assert!(!is_transient(&http(503)));
        assert!(!is_transient(&StoreError::TimedOut { after: Duration::from_secs(1) }));
        assert!(!is_transient(&StoreError::Unauthorized { status: 401 }));
        assert!(!is_transient(&interpret(reply(200, "nope")).unwrap_err()));
        assert!(!is_transient(&StoreError::Protocol(CommandError::Redis("ERR".into()))));
        // Time limits are spelled in milliseconds, as SESSION_STORE_TIMEOUT_MS
        // sets them (docs/RELIABILITY.md quotes this line).
        assert_eq!(
            StoreError::TimedOut { after: Duration::from_millis(500) }.to_string(),
            "session store timed out after 500 ms; outcome unknown (a write it received may still land)"
        );
        assert_eq!(TransportError::Timeout(Duration::from_secs(2)).to_string(), "no answer within 2000 ms");
    }

    // Only reads are repeated: checked when the tests compile.
    const _: () = {
        use crate::store::command::{Command, Exists, Get, SMembers, Set};
        use crate::store::script::{Eval, EvalSha, Save};
        assert!(Get::READ_ONLY && SMembers::READ_ONLY && Exists::READ_ONLY);
        assert!(!Set::READ_ONLY && !EvalSha::<Save>::READ_ONLY && !Eval::<Save>::READ_ONLY);
    };

    #[test]
    fn token_refusals_are_recognized() {
        let refused = interpret(reply(400, r#"{"error":"ERR invalid upstash-sync-token"}"#)).unwrap_err();
        assert!(is_token_refusal(&refused));
        assert!(!is_token_refusal(&StoreError::Protocol(CommandError::Redis("ERR wrong type".into()))));
        assert!(!is_token_refusal(&StoreError::Unauthorized { status: 401 }));
    }

    #[test]
    fn statuses_map_to_errors() {
        assert!(interpret(reply(200, r#"{"result":"OK"}"#)).is_ok());
        assert!(matches!(interpret(reply(200, "nope")), Err(StoreError::NotJson(_))));
        // What the log says (docs/RELIABILITY.md): where the reply stopped
        // being JSON, for garbage and for a cut-off answer.
        let said = |body: &str| interpret(reply(200, body)).map(|_| ()).map_err(|e| crate::error_chain(&e));
        assert_eq!(
            said("<html>"),
            Err("session store answered something that is not JSON: not JSON (at byte 0)".into())
        );
        assert_eq!(
            said(r#"{"result":"abc"#),
            Err("session store answered something that is not JSON: not JSON (at byte 14)".into())
        );
        assert!(matches!(
            interpret(reply(400, r#"{"error":"ERR wrong number of arguments for 'get' command"}"#)),
            Err(StoreError::Protocol(CommandError::Redis(_)))
        ));
        assert!(matches!(
            interpret(reply(401, r#"{"error":"Invalid token"}"#)),
            Err(StoreError::Unauthorized { status: 401 })
        ));
        assert!(matches!(
            interpret(reply(400, r#"{"error":"Authorization header is missing"}"#)),
            Err(StoreError::Unauthorized { status: 400 })
        ));
        assert!(matches!(interpret(reply(500, "boom")), Err(StoreError::Http { status: 500, .. })));
    }
}
