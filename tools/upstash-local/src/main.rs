//! upstash-local: an Upstash-compatible Redis REST server in front of a real
//! redis-server, for local runs and tests of the worker without an Upstash
//! account.
//!
//! It speaks what the worker speaks (docs/PROTOCOL.md §5): `POST /` with a JSON array
//! command, `POST /pipeline` and `POST /multi-exec` with an array of them,
//! `Authorization: Bearer <token>` (400 when missing, 401 when wrong),
//! `{"result": ...}` / `{"error": ...}` answers, `Upstash-Encoding: base64`,
//! and `upstash-sync-token` (read-your-writes) handed out and checked.
//! Arguments reach Redis unchanged, except Lua scripts with Upstash's
//! `allow-key-locking` flag, which redis-server does not know (`script`).
//! Replies are written with the same codec the worker's client reads them
//! with (`edge_session::store::wire`). With `--fault-injection`, store
//! faults can be switched on at run time (`faults`); with `--stats`, the
//! HTTP calls and Redis commands clients sent are counted (`stats`); with
//! `--replica`, reads are served by a replica of the Redis, as on an
//! Upstash Global database (`replica`); with `--read-only-token`, a second
//! token may run only reads, as an Upstash database's read-only token
//! (other commands answer `NOPERM`, as Redis's ACLs do).

mod faults;
mod replica;
mod script;
mod stats;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use clap::Parser;
use edge_session::store::wire::{argument_bytes, Encoding, Reply, SYNC_TOKEN_HEADER};
use faults::{Action, Fault};
use redis::aio::ConnectionManager;
use replica::{Replica, ReplicaError, Route, Server, SyncToken};
use serde_json::Value;
use stats::{Endpoint, Stats};
use subtle::ConstantTimeEq;

const LONG_ABOUT: &str = "\
Upstash-compatible Redis REST server over a real redis-server.

Endpoints: POST / (one command as a JSON array), POST /pipeline and
POST /multi-exec (an array of commands), with `Authorization: Bearer <token>`.

Lua scripts: a script whose shebang carries Upstash's `allow-key-locking`
flag (`#!lua flags=allow-key-locking`) runs as on Upstash: redis-server
does not know the flag, so upstash-local rewrites the script before it
reaches Redis (the flag dropped, other flags kept, and every redis.call /
redis.pcall checked against KEYS). A command naming a key not in KEYS fails
with Upstash's error `ERR Dynamic keys are not allowed in Lua scripts when
'allow-key-locking' flag is set. Key was: <key>`; a command whose key
positions upstash-local does not know is refused too. EVALSHA, SCRIPT LOAD
and SCRIPT EXISTS use the SHA1 of the text the client sent; an unknown one
gets Redis's `NOSCRIPT No matching script. Please use EVAL.` (also for
every flagged script after a restart of upstash-local). Other scripts
reach Redis unchanged.

Fault injection (only with --fault-injection; otherwise /_fault is 404):
  POST /_fault with the bearer token and a JSON body
    {\"mode\": \"none\"|\"delay\"|\"status500\"|\"garbage\"|\"truncated\",
     \"delay_ms\": N, \"only\": \"EVALSHA\"|null, \"times\": N|null}
  sets the fault in force (answers it back); GET /_fault reads it. It
  applies to the command endpoints after the token and the body are checked,
  to every request or only to those carrying a command named `only`, for the
  next `times` of them or until switched off, and no faulty request reaches
  Redis:
    delay      the request waits delay_ms first; a client that hangs up
               meanwhile cancels it, so its commands never run; one that
               waits gets the real answer, late
    status500  HTTP 500 {\"error\":\"ERR upstash-local fault injection: status500\"}
    garbage    HTTP 200 with an HTML body, not JSON
    truncated  HTTP 200 with the first half of a JSON answer
    none       answer normally
A wrong token needs no switch: a client with another token gets 401.

Counts (only with --stats; otherwise /_stats is 404):
  GET /_stats with the bearer token answers the HTTP calls and Redis
  commands clients sent since the start or the last reset:
    {\"http_calls\": N, \"commands\": M,
     \"by_endpoint\": {\"/\": a, \"/pipeline\": b, \"/multi-exec\": c},
     \"calls\": [[\"GET\"], [\"INCR\", \"EXPIRE\", \"PTTL\"], [\"EVALSHA\"], ...],
     \"servers\": [\"primary\", \"primary\", \"primary\", ...]}
  POST /_stats/reset answers the same and starts again from zero. A call is
  one request to /, /pipeline or /multi-exec, whatever its answer, counted
  when its answer is ready (after a fault's delay and Redis's answer; one
  whose client hung up first is not counted); its commands are the
  upper-cased names in its body, a script call (EVALSHA, EVAL) being one.
  The commands a script runs inside Redis are not counted. The control
  endpoints (/_stats, /_fault, /_replication) are not calls. \"servers\"
  says, call by call, which Redis served each: \"primary\", \"replica\"
  (with --replica), or null when none did (a refused token, a fault).

Replica mode (only with --replica <redis-url>; otherwise /_replication is 404):
  the second redis-server replicates the first (started with --replicaof
  the host and port of --redis-url). A request whose commands all read
  (GET, MGET, EXISTS, PTTL, SMEMBERS, HGETALL and the other reads listed in
  src/replica.rs) is served by the replica; writes, scripts and
  /multi-exec by the primary. upstash-sync-token is then rpl.<16 hex
  digits>, a replication offset: after a call the primary served, the
  primary's after it; after a read, what the replica's data reaches. A
  read that sends a token waits up to 500 ms for the replica to reach it,
  then the primary serves it; a read without one may be stale.
  POST /_replication with the bearer token and {\"hold\": true} holds
  replication back (REPLICAOF NO ONE on the replica, which keeps its
  data); {\"hold\": false} answers once the replica has caught up (a full
  resync: start the primary with --repl-diskless-sync-delay 0 to make it
  quick). Both answer, as GET /_replication does, {\"hold\": false,
  \"state\": \"following\", \"primary_offset\": N, \"replica_offset\": M}.
  To see the replica catch up (at the start and at a release),
  upstash-local publishes on the primary's channel
  upstash-local:replica-probe.";

/// The largest request body accepted, in bytes: Upstash's limit for a REST
/// request (10 MB).
const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

/// Command-line options.
#[derive(Parser, Debug)]
#[command(version, about = "Upstash-compatible Redis REST server over a real redis-server", long_about = LONG_ABOUT)]
struct Args {
    /// Address to listen on; port 0 picks a free port (printed on stdout).
    #[arg(long, default_value = "127.0.0.1:8079")]
    listen: SocketAddr,
    /// The redis-server to forward commands to.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// The bearer token clients must present. It may start with `-`
    /// (random base64url does, one time in 64): `--token -fS5…` is the
    /// token, not an option.
    #[arg(long, env = "UPSTASH_LOCAL_TOKEN", allow_hyphen_values = true)]
    token: String,
    /// A second token that may run only reads (the `replica` module's
    /// list), like an Upstash database's read-only token: any other
    /// command is refused with `NOPERM` before it runs.
    #[arg(long, value_name = "TOKEN", allow_hyphen_values = true)]
    read_only_token: Option<String>,
    /// Serve POST/GET /_fault, which switches store faults on and off at run
    /// time (see above). For tests only; without it there is no such route.
    #[arg(long)]
    fault_injection: bool,
    /// Count the HTTP calls and Redis commands clients send, and serve
    /// GET /_stats and POST /_stats/reset (see above). For tests only;
    /// without it there is no such route and nothing is counted.
    #[arg(long)]
    stats: bool,
    /// A redis-server replicating --redis-url: reads are served by it, and
    /// POST/GET /_replication holds replication back (see above). For tests
    /// only.
    #[arg(long, value_name = "REDIS_URL")]
    replica: Option<String>,
}

struct AppState {
    redis: ConnectionManager,
    token: String,
    read_only_token: Option<String>,
    /// The read-your-writes tokens handed out without `--replica`: a counter
    /// of answered requests. One Redis has no replicas to wait for, so the
    /// token only has to be well formed.
    sync: AtomicU64,
    /// Client SHA1 → SHA1 of the rewritten text, for scripts with the
    /// `allow-key-locking` flag (`script`).
    scripts: Mutex<script::ShaMap>,
    /// The fault in force, when started with `--fault-injection`.
    fault: Option<Mutex<Fault>>,
    /// The calls counted, when started with `--stats`.
    stats: Option<Mutex<Stats>>,
    /// The replica reads go to, when started with `--replica`.
    replica: Option<Replica>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let client = redis::Client::open(args.redis_url.as_str())?;
    let redis =
        ConnectionManager::new(client).await.map_err(|e| format!("cannot reach redis at {}: {e}", args.redis_url))?;
    let fault = args.fault_injection.then(|| Mutex::new(Fault::default()));
    let stats = args.stats.then(|| Mutex::new(Stats::default()));
    let replica = match &args.replica {
        Some(url) => Some(
            Replica::connect(redis.clone(), &args.redis_url, url).await.map_err(|e| format!("--replica {url}: {e}"))?,
        ),
        None => None,
    };
    let replica_mode = replica.is_some();
    let state = Arc::new(AppState {
        redis,
        token: args.token,
        read_only_token: args.read_only_token,
        sync: AtomicU64::new(0),
        scripts: Mutex::new(script::ShaMap::new()),
        fault,
        stats,
        replica,
    });
    let mut app = Router::new()
        .route("/", post(single))
        .route("/pipeline", post(pipeline))
        .route("/multi-exec", post(multi_exec));
    if args.fault_injection {
        app = app.route("/_fault", get(fault_get).post(fault_set));
    }
    if args.stats {
        app = app.route("/_stats", get(stats_get)).route("/_stats/reset", post(stats_reset));
    }
    if replica_mode {
        app = app.route("/_replication", get(replication_get).post(replication_set));
    }
    // Upstash takes request bodies up to 10 MB (axum's default is 2 MB): a
    // logout everywhere of many sessions sends every key in one script call.
    let app = app.layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES)).with_state(state);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    // Tests read this line to learn the port when started with port 0.
    println!("upstash-local listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// Why a request got no command result; each becomes Upstash's answer for
/// it in `into_response`, the one place that picks status codes.
#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("Authorization header is missing")]
    MissingAuth,
    #[error("Invalid token")]
    BadToken,
    /// An `upstash-sync-token` that is not a token.
    #[error("ERR invalid upstash-sync-token")]
    BadSyncToken,
    /// The request itself is wrong (not JSON, not a command array).
    #[error("{0}")]
    BadRequest(String),
    /// Redis refused the command ("ERR ...", "WRONGTYPE ...").
    #[error("{0}")]
    Redis(String),
    /// The connection to Redis is gone.
    #[error("redis unavailable: {0}")]
    Unavailable(#[source] redis::RedisError),
    /// Replica mode could not route a call, hand out its token, or switch
    /// replication.
    #[error("ERR upstash-local replica mode: {0}")]
    Replica(#[from] ReplicaError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self {
            ApiError::MissingAuth | ApiError::BadRequest(_) | ApiError::Redis(_) | ApiError::BadSyncToken => {
                StatusCode::BAD_REQUEST
            }
            ApiError::BadToken => StatusCode::UNAUTHORIZED,
            // A lost Redis connection is a 500, as SRH answers.
            ApiError::Unavailable(_) | ApiError::Replica(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        // The whole answer's error is the same envelope a command's error is.
        let body = Reply::Error(self.to_string()).to_envelope(Encoding::Plain);
        (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
    }
}

/// An answer with the next counter token (a control endpoint's, or a
/// command's without `--replica`).
fn ok(state: &AppState, body: Value) -> Response {
    with_token(body, SyncToken::Counter(state.sync.fetch_add(1, Ordering::SeqCst) + 1))
}

/// An answer carrying `token` as `upstash-sync-token`.
fn with_token(body: Value, token: SyncToken) -> Response {
    let token = token.to_string();
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::HeaderName::from_static(SYNC_TOKEN_HEADER), token),
        ],
        body.to_string(),
    )
        .into_response()
}

/// What a token may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Every command.
    Full,
    /// Only reads (`--read-only-token`).
    ReadOnly,
}

/// Checks the bearer token as Upstash and SRH do: missing → 400, wrong → 401.
fn authorize(headers: &HeaderMap, token: &str, read_only: Option<&str>) -> Result<Access, ApiError> {
    let given =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    // Constant time, so a token cannot be guessed byte by byte.
    let is = |t: &str, want: &str| bool::from(t.trim().as_bytes().ct_eq(want.as_bytes()));
    match given {
        None => Err(ApiError::MissingAuth),
        Some(t) if is(t, token) => Ok(Access::Full),
        Some(t) if read_only.is_some_and(|r| is(t, r)) => Ok(Access::ReadOnly),
        Some(_) => Err(ApiError::BadToken),
    }
}

/// Commands a read-only token may run besides the reads a replica serves
/// (`replica::READS`): the connection's and the keyspace scans, which
/// Redis's `@read` and `@connection` categories hold too.
const READ_ONLY_EXTRAS: [&str; 5] = ["PING", "ECHO", "SCAN", "SSCAN", "DBSIZE"];

/// Refuses a read-only token's commands that are not reads, before any
/// runs, with the error Redis's ACLs give (`NOPERM`).
fn permit(access: Access, commands: &[Vec<Vec<u8>>]) -> Result<(), ApiError> {
    if access == Access::Full {
        return Ok(());
    }
    let may_run = |name: &[u8]| {
        replica::is_read(name) || READ_ONLY_EXTRAS.iter().any(|e| e.as_bytes().eq_ignore_ascii_case(name))
    };
    match commands.iter().find(|c| !may_run(&c[0])) {
        None => Ok(()),
        Some(c) => Err(ApiError::Redis(format!(
            "NOPERM this user has no permissions to run the '{}' command",
            String::from_utf8_lossy(&c[0]).to_ascii_lowercase()
        ))),
    }
}

/// One command's arguments, its name first, from a JSON array of strings,
/// numbers or booleans.
fn parse_command(v: &Value) -> Result<Vec<Vec<u8>>, ApiError> {
    let bad = |m: &str| ApiError::BadRequest(m.to_owned());
    let items =
        v.as_array().filter(|a| !a.is_empty()).ok_or_else(|| bad("ERR command must be a non-empty JSON array"))?;
    items
        .iter()
        .map(|item| argument_bytes(item).ok_or_else(|| bad("ERR arguments must be strings, numbers or booleans")))
        .collect()
}

/// The command for Redis: scripts with Upstash's `allow-key-locking` flag
/// rewritten (`script::translate`), everything else as it came.
fn redis_command(state: &AppState, mut args: Vec<Vec<u8>>) -> (redis::Cmd, script::Reply) {
    let fix = script::translate(&mut state.scripts.lock().unwrap_or_else(|e| e.into_inner()), &mut args);
    let mut cmd = redis::Cmd::new();
    for arg in args {
        cmd.arg(arg);
    }
    (cmd, fix)
}

/// Redis's reply as the client is to see it: a `SCRIPT LOAD` of a
/// rewritten script answers the SHA1 of the text the client sent.
fn client_reply(reply: Reply, fix: script::Reply) -> Reply {
    match (reply, fix) {
        (Reply::Error(e), _) => Reply::Error(e),
        (_, script::Reply::ClientSha(sha)) => Reply::Bulk(sha.into_bytes()),
        (reply, script::Reply::AsIs) => reply,
    }
}

/// Redis's reply as Upstash carries it. Under `Upstash-Encoding: base64`
/// Upstash encodes "all strings in the response … except for the OK
/// response" (its REST API documentation), so a status reply other than
/// `OK` (`TYPE`'s `string`, `PING`'s `PONG`) travels as a bulk string does;
/// the official SDK base64-decodes every string but `"OK"`.
fn to_reply(v: redis::Value) -> Reply {
    use redis::Value as V;
    match v {
        V::Nil => Reply::Nil,
        V::Int(n) => Reply::Integer(n),
        V::BulkString(b) => Reply::Bulk(b),
        V::Okay => Reply::Status("OK".into()),
        V::SimpleString(s) if s == "OK" => Reply::Status(s),
        V::SimpleString(s) => Reply::Bulk(s.into_bytes()),
        V::Array(items) | V::Set(items) => Reply::Array(items.into_iter().map(to_reply).collect()),
        V::Map(pairs) => Reply::Array(pairs.into_iter().flat_map(|(k, v)| [to_reply(k), to_reply(v)]).collect()),
        V::Double(d) => Reply::Bulk(d.to_string().into_bytes()),
        V::Boolean(b) => Reply::Integer(b as i64),
        V::ServerError(e) => Reply::Error(match e.details() {
            Some(d) => format!("{} {d}", e.code()),
            None => e.code().to_owned(),
        }),
        other => Reply::Bulk(format!("{other:?}").into_bytes()),
    }
}

/// A Redis failure: the command's error reply as Upstash words it ("ERR
/// ...", "WRONGTYPE ..."), or a lost connection.
fn redis_failure(e: redis::RedisError) -> ApiError {
    if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout() {
        return ApiError::Unavailable(e);
    }
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => ApiError::Redis(format!("{code} {detail}")),
        (Some("EXECABORT"), None) => {
            ApiError::Redis("EXECABORT Transaction discarded because of previous errors.".into())
        }
        (Some(code), None) => ApiError::Redis(code.to_owned()),
        _ => ApiError::Unavailable(e),
    }
}

/// Checks a request's `upstash-sync-token` and reads it
/// (`replica::SyncToken`). Without `--replica`, one Redis is never behind
/// its own writes, so any token of ours is satisfied at once; one from a
/// previous run of this server (a larger number) is too. With `--replica`,
/// a read waits for the replica to reach the token's offset (`replica`).
/// An empty one is no token: the official `@upstash/redis` SDK sends
/// `upstash-sync-token: ""` until it has received a token (its `HttpClient`
/// starts with `""`), and Upstash serves it. Only text that is no token of
/// ours is refused.
fn check_sync_token(given: Option<&header::HeaderValue>) -> Result<Option<SyncToken>, ApiError> {
    let Some(given) = given else { return Ok(None) };
    let text = given.to_str().map_err(|_| ApiError::BadSyncToken)?;
    SyncToken::parse(text).map_err(|_| ApiError::BadSyncToken)
}

/// What a command endpoint's request says once checked.
struct Prepared {
    access: Access,
    enc: Encoding,
    body: Value,
    /// The offset its sync token asks for (0 for none).
    wanted: u64,
}

/// The checks every endpoint starts with: token, sync token, encoding, JSON body.
fn prepare(state: &AppState, headers: &HeaderMap, body: &Bytes) -> Result<Prepared, ApiError> {
    let access = authorize(headers, &state.token, state.read_only_token.as_deref())?;
    let wanted = check_sync_token(headers.get(SYNC_TOKEN_HEADER))?.map_or(0, SyncToken::offset);
    let enc = Encoding::from_header(headers.get(Encoding::HEADER).and_then(|v| v.to_str().ok()));
    let body =
        serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("ERR request body is not JSON: {e}")))?;
    Ok(Prepared { access, enc, body, wanted })
}

/// Where a request's commands go: with `--replica`, as `Replica::route`
/// decides (waiting for the replica to reach `wanted`); otherwise the one
/// Redis. Notes the server in `served`, for the counts.
async fn route(
    state: &AppState,
    commands: &[Vec<Vec<u8>>],
    atomic: bool,
    wanted: u64,
    served: &OnceLock<Server>,
) -> Result<Route, ApiError> {
    let route = match &state.replica {
        None => Route::primary(state.redis.clone()),
        Some(replica) => replica.route(commands.iter().map(|c| c[0].as_slice()), atomic, wanted).await?,
    };
    let _ = served.set(route.server);
    Ok(route)
}

/// A command endpoint's answer, with its sync token: with `--replica`,
/// `Replica::token_after`; otherwise the next counter.
async fn answered(state: &AppState, route: &Route, wanted: u64, body: Value) -> Result<Response, ApiError> {
    match &state.replica {
        None => Ok(ok(state, body)),
        Some(replica) => Ok(with_token(body, replica.token_after(route, wanted).await?)),
    }
}

/// What the fault in force (if any) does to a request with these commands.
fn fault_action(state: &AppState, commands: &[Vec<Vec<u8>>], batch: bool) -> Action {
    match &state.fault {
        None => Action::Proceed,
        Some(fault) => {
            let mut fault = fault.lock().unwrap_or_else(|e| e.into_inner());
            fault.take(commands.iter().map(|c| c[0].as_slice()), commands.len(), batch)
        }
    }
}

/// Applies the fault in force: `Some(answer)` to send instead of going on
/// to Redis; `None` to go on (after the fault's delay, if any). A client
/// that hangs up during the delay drops this future, so nothing reaches Redis.
async fn injected(state: &AppState, commands: &[Vec<Vec<u8>>], batch: bool) -> Option<Response> {
    match fault_action(state, commands, batch) {
        Action::Proceed => None,
        Action::Wait(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        Action::Answer(status, content_type, body) => Some(
            (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                [(header::CONTENT_TYPE, content_type)],
                body,
            )
                .into_response(),
        ),
    }
}

/// Runs a command endpoint's `answer` and, with `--stats`, counts the call
/// once the answer is ready, before it is sent: a client that has its
/// answer finds its call in the counts, with the server `answer` noted in
/// `served` (none when it reached no Redis). A call whose client hangs up
/// first is dropped with this future and not counted.
async fn counted(
    state: &AppState,
    endpoint: Endpoint,
    body: &Bytes,
    served: &OnceLock<Server>,
    answer: impl Future<Output = Result<Response, ApiError>>,
) -> Response {
    let answer = answer.await.into_response();
    if let Some(stats) = &state.stats {
        stats.lock().unwrap_or_else(|e| e.into_inner()).record(endpoint, body, served.get().copied());
    }
    answer
}

async fn single(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let served = OnceLock::new();
    counted(&state, Endpoint::Single, &body, &served, run_single(&state, &headers, &body, &served)).await
}

async fn pipeline(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let served = OnceLock::new();
    counted(&state, Endpoint::Pipeline, &body, &served, batch(&state, &headers, &body, false, &served)).await
}

async fn multi_exec(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let served = OnceLock::new();
    counted(&state, Endpoint::MultiExec, &body, &served, batch(&state, &headers, &body, true, &served)).await
}

async fn run_single(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    served: &OnceLock<Server>,
) -> Result<Response, ApiError> {
    let Prepared { access, enc, body, wanted } = prepare(state, headers, body)?;
    let args = parse_command(&body)?;
    let commands = std::slice::from_ref(&args);
    permit(access, commands)?;
    if let Some(answer) = injected(state, commands, false).await {
        return Ok(answer);
    }
    let mut route = route(state, commands, false, wanted, served).await?;
    let (cmd, fix) = redis_command(state, args);
    match client_reply(to_reply(cmd.query_async::<redis::Value>(&mut route.conn).await.map_err(redis_failure)?), fix) {
        Reply::Error(e) => Err(ApiError::Redis(e)),
        reply => answered(state, &route, wanted, reply.to_envelope(enc)).await,
    }
}

async fn batch(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    atomic: bool,
    served: &OnceLock<Server>,
) -> Result<Response, ApiError> {
    let Prepared { access, enc, body, wanted } = prepare(state, headers, body)?;
    let commands = body
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::BadRequest("ERR body must be a non-empty JSON array of commands".into()))?;
    let commands = commands.iter().map(parse_command).collect::<Result<Vec<_>, _>>()?;
    permit(access, &commands)?;
    if let Some(answer) = injected(state, &commands, true).await {
        return Ok(answer);
    }
    let mut route = route(state, &commands, atomic, wanted, served).await?;
    let mut pipe = redis::pipe();
    if atomic {
        pipe.atomic();
    }
    // One command's error is that command's {"error"}, not the whole answer's.
    pipe.ignore_errors();
    let mut fixes = Vec::with_capacity(commands.len());
    for args in commands {
        let (cmd, fix) = redis_command(state, args);
        pipe.add_command(cmd);
        fixes.push(fix);
    }
    let values = pipe.query_async::<Vec<redis::Value>>(&mut route.conn).await.map_err(redis_failure)?;
    let envelopes = values.into_iter().zip(fixes).map(|(v, fix)| client_reply(to_reply(v), fix).to_envelope(enc));
    answered(state, &route, wanted, Value::Array(envelopes.collect())).await
}

/// `GET /_fault`: the fault in force.
async fn fault_get(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&headers, &state.token, None)?;
    let fault = state.fault.as_ref().map(|f| f.lock().unwrap_or_else(|e| e.into_inner()).clone()).unwrap_or_default();
    Ok(ok(&state, fault.to_json()))
}

/// `POST /_fault`: sets the fault in force (`faults::Fault::from_json`) and
/// answers it back.
async fn fault_set(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    authorize(&headers, &state.token, None)?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("ERR request body is not JSON: {e}")))?;
    let fault = Fault::from_json(&value).map_err(|e| ApiError::BadRequest(format!("ERR {e}")))?;
    let answer = fault.to_json();
    if let Some(slot) = &state.fault {
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = fault;
    }
    Ok(ok(&state, answer))
}

/// `GET /_stats`: the counts since the start or the last reset.
async fn stats_get(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, ApiError> {
    stats_answer(&state, &headers, |s| s.to_json())
}

/// `POST /_stats/reset`: the counts, then zero.
async fn stats_reset(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, ApiError> {
    stats_answer(&state, &headers, Stats::reset)
}

fn stats_answer(state: &AppState, headers: &HeaderMap, read: fn(&mut Stats) -> Value) -> Result<Response, ApiError> {
    authorize(headers, &state.token, None)?;
    let report = state.stats.as_ref().map(|s| read(&mut s.lock().unwrap_or_else(|e| e.into_inner())));
    Ok(ok(state, report.unwrap_or_else(|| Stats::default().to_json())))
}

/// `GET /_replication`: whether replication is held back, and both offsets
/// (`Replica::report`).
async fn replication_get(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&headers, &state.token, None)?;
    Ok(ok(&state, replica_of(&state)?.report().await?))
}

/// `POST /_replication`: `{"hold": true}` holds replication back,
/// `{"hold": false}` lets the replica catch up and answers once it has
/// (`Replica::set_hold`).
async fn replication_set(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorize(&headers, &state.token, None)?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("ERR request body is not JSON: {e}")))?;
    let hold = replica::hold_from_json(&value).map_err(|e| ApiError::BadRequest(format!("ERR {e}")))?;
    Ok(ok(&state, replica_of(&state)?.set_hold(hold).await?))
}

/// The replica of `--replica`. The routes that use it exist only then, so
/// the error is for a route added without it.
fn replica_of(state: &AppState) -> Result<&Replica, ApiError> {
    state.replica.as_ref().ok_or_else(|| ApiError::BadRequest("ERR upstash-local was started without --replica".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_token_may_start_with_a_hyphen() {
        // scripts/dev.sh makes its token from random base64url, which
        // starts with `-` one time in 64; clap took it for an option.
        let args = Args::try_parse_from(["upstash-local", "--token", "-fS5k", "--read-only-token", "-r", "--stats"]);
        let args = args.expect("parsed");
        assert_eq!((args.token.as_str(), args.read_only_token.as_deref()), ("-fS5k", Some("-r")));
        assert!(args.stats, "the options after it are still options");
    }

    #[test]
    fn an_empty_sync_token_is_no_token() {
        // What the official @upstash/redis SDK sends before it has a token.
        for empty in ["", " ", "\t"] {
            assert!(check_sync_token(Some(&HeaderValue::from_static(empty))).is_ok(), "{empty:?}");
        }
        assert!(check_sync_token(None).is_ok());
    }

    #[test]
    fn a_sync_token_of_ours_is_accepted_and_text_that_is_none_is_refused() {
        for token in ["0", "1", " 42 ", "18446744073709551615"] {
            assert!(check_sync_token(Some(&HeaderValue::from_static(token))).is_ok(), "{token:?}");
        }
        for bad in ["abc", "-1", "1.5", "18446744073709551616"] {
            let err = check_sync_token(Some(&HeaderValue::from_static(bad))).unwrap_err();
            assert!(matches!(err, ApiError::BadSyncToken), "{bad:?}: {err:?}");
        }
        let not_text = HeaderValue::from_bytes(b"\xff").unwrap();
        assert!(matches!(check_sync_token(Some(&not_text)), Err(ApiError::BadSyncToken)));
    }

    #[test]
    fn the_sdk_default_headers_pass_the_checks() {
        // Exactly the headers @upstash/redis 1.39.0 sends on its first call
        // (pkg/http.ts: HttpClient), before any sync token came back.
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("authorization", "Bearer t"),
            ("content-type", "application/json"),
            ("upstash-encoding", "base64"),
            ("upstash-telemetry-runtime", "node@v20.20.2"),
            ("upstash-telemetry-platform", "unknown"),
            ("upstash-telemetry-sdk", "@upstash/redis@v1.39.0"),
            ("upstash-sync-token", ""),
        ] {
            headers.insert(header::HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        authorize(&headers, "t", None).unwrap();
        check_sync_token(headers.get(SYNC_TOKEN_HEADER)).unwrap();
        let enc = Encoding::from_header(headers.get(Encoding::HEADER).and_then(|v| v.to_str().ok()));
        assert_eq!(enc, Encoding::Base64);
    }

    #[test]
    fn a_read_only_token_runs_reads_only() {
        let with = |token: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
            authorize(&headers, "full", Some("reader"))
        };
        assert_eq!(with("full").unwrap(), Access::Full);
        assert_eq!(with("reader").unwrap(), Access::ReadOnly);
        assert!(matches!(with("other"), Err(ApiError::BadToken)));
        let cmd = |name: &str| vec![name.as_bytes().to_vec(), b"k".to_vec()];
        assert!(permit(Access::ReadOnly, &[cmd("GET"), cmd("scan")]).is_ok());
        let refused = permit(Access::ReadOnly, &[cmd("GET"), cmd("DEL")]).unwrap_err();
        assert_eq!(refused.to_string(), "NOPERM this user has no permissions to run the 'del' command");
        assert!(permit(Access::Full, &[cmd("DEL")]).is_ok());
    }

    #[test]
    fn under_base64_every_string_but_ok_is_encoded() {
        let envelope = |v| to_reply(v).to_envelope(Encoding::Base64);
        assert_eq!(envelope(redis::Value::Okay), serde_json::json!({"result": "OK"}));
        assert_eq!(envelope(redis::Value::SimpleString("OK".into())), serde_json::json!({"result": "OK"}));
        // TYPE's and PING's status replies, base64 ("string", "PONG").
        assert_eq!(envelope(redis::Value::SimpleString("string".into())), serde_json::json!({"result": "c3RyaW5n"}));
        assert_eq!(envelope(redis::Value::SimpleString("PONG".into())), serde_json::json!({"result": "UE9ORw=="}));
        // Without base64 they are plain strings, as before.
        let plain = to_reply(redis::Value::SimpleString("PONG".into())).to_envelope(Encoding::Plain);
        assert_eq!(plain, serde_json::json!({"result": "PONG"}));
    }
}
