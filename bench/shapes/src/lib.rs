//! The session logic of `bench/cpu-ab.mjs`'s three rows (a first visit, a
//! read, a pour) in two shapes and a variant, for the benchmark only
//! (issue 14, target 3): what the worker's shape costs, beside what its
//! logic costs.
//!
//! - **steps** ([`Layer`], [`Visit`], `js/steps.mjs`): the library's
//!   synchronous pieces (cookie verification, the commands' encoding and
//!   decoding, the document, the compare-and-set save) called from a
//!   JavaScript fetch handler that does every I/O itself: one call into
//!   wasm per step, a string or bytes each way, no Rust future.
//! - **cycle** ([`cycle`], `js/cycle.mjs`): the library's async session
//!   cycle (`Sessions::load`, `commit`, the deferred touch) on its
//!   `UpstashClient`, driven by `edge_session::driver` as the worker is,
//!   with the answer built in JavaScript; **lean** ([`cycle_lean`],
//!   `js/lean.mjs`) is the same cycle on a store of the least glue (each
//!   command's body to the shell's fetch), to tell the cycle's cost from
//!   its store client's.
//!
//! A failure answers 503 with its text (`bench/cpu-ab.mjs` stops on any
//! answer but 200: the rows never meet one).
//!
//! All read the worker's own configuration through the library and make
//! the store calls the worker makes (docs/PROTOCOL.md §4): a read is `GET`
//! and, after the answer, `EXPIRE`; a pour `GET` and the save script; a
//! first visit the save script. What they leave out, against the demo
//! worker: every other route, the Origin check, the sync-token cookie,
//! logs, the save's retries on a conflict (a conflict answers 503 here),
//! the beer generator's full lists; and the steps shape takes each row's
//! outcome as known (a read touches, a pour and a first visit save) where
//! the cycle computes express-session's decisions, and answers cases no
//! row meets more simply (a refused Cookie header as none, a session gone
//! as 503, no `touchAfter`, no touch for a lifetime already over).
//! docs/BENCHMARKS.md
//! ("The same logic in other shapes") has what they measure.
// A worker exists only on wasm32; natively this crate is empty.
#![cfg(target_arch = "wasm32")]

use std::cell::OnceCell;
use std::rc::Rc;

use edge_session::config::{UpstashConfig, Vars};
use edge_session::session::cookie::{check_cookie_header, set_cookie_header, verified_session_id};
use edge_session::session::document::{Millis, SessionCookie, SessionDocument};
use edge_session::session::{js_json, run_deferred, SessionConfig, SessionId, Sessions};
use edge_session::store::command::{Command, Expire, Get};
use edge_session::store::script::{is_noscript, Digest, Eval, EvalSha, Loaded, Save, SaveOutcome, Ttl};
use edge_session::store::transport::HttpReply;
use edge_session::store::upstash::command_output;
use edge_session::store::{Fetched, Lookup, SessionStore, StoreError, TransportError, UpstashClient, Write, Wrote};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;

/// The worker's configuration, read from the bindings object `env` with
/// the library's own readers.
fn configuration(env: &JsValue) -> Result<(SessionConfig, UpstashConfig), JsError> {
    let read = |name: &str| js_sys::Reflect::get(env, &JsValue::from_str(name)).ok().and_then(|v| v.as_string());
    let vars = Vars::new(&read);
    let session = SessionConfig::from_vars(&vars).map_err(|e| JsError::new(&e.to_string()))?;
    let upstash = UpstashConfig::from_vars(&vars).map_err(|e| JsError::new(&e.to_string()))?;
    Ok((session, upstash))
}

/// A command's body as Upstash's REST API takes it: a JSON array of strings.
fn body(args: &[String]) -> String {
    // Strings only: serializing them cannot fail.
    serde_json::to_string(args).unwrap_or_default()
}

/// `C`'s output from the store's answer of `status` and `body`, read as
/// the library's client reads it.
fn answer_to<C: Command>(status: u16, body: &[u8]) -> Result<C::Output, StoreError> {
    command_output::<C>(HttpReply { status, body: body.to_vec(), sync_token: None })
}

/// The session panel's JSON members, in the order the demo's
/// `GET /api/session` answers them: `cookie`'s time left as of `now` (ms
/// since the epoch), `views` when the session has it.
fn panel(sid: &str, cookie: &SessionCookie, views: Option<Value>, now: Millis) -> Value {
    let seconds = cookie.remaining_ms(now).map(|ms| ms as f64 / 1000.0);
    let mut view = json!({ "sessionID": sid, "sessionExpireTime": seconds });
    if let Some(views) = views {
        view["beersViewed"] = views;
    }
    view["beerName"] = Value::Null;
    view["beerStyle"] = Value::Null;
    view["error"] = Value::Null;
    view
}

/// A pour's panel: the new `views` (the demo's `views ? views + 1 : 1`)
/// and a beer from `random` (four numbers from the runtime's
/// `crypto.getRandomValues`).
fn poured(sid: &str, cookie: &SessionCookie, views: f64, now: Millis, random: &[u32]) -> Value {
    let mut view = panel(sid, cookie, Some(json!(views)), now);
    let pick = |list: &[&'static str; 4], i: usize| list[random.get(i).copied().unwrap_or(0) as usize % 4];
    view["beerName"] = json!(format!("{} {} {}", pick(&ADJECTIVES, 0), pick(&NOUNS, 1), pick(&SUFFIXES, 2)));
    view["beerStyle"] = json!(pick(&STYLES, 3));
    view["beerSource"] = json!("generator");
    view
}

/// A document's `views`, as JSON.
fn views_of(doc: &SessionDocument) -> Option<Value> {
    js_json::de::from_slice(doc.raw("views")?.as_bytes()).ok()
}

const ADJECTIVES: [&str; 4] = ["Hazy", "Golden", "Smoky", "Wild"];
const NOUNS: [&str; 4] = ["Otter", "Lighthouse", "Fox", "Anchor"];
const SUFFIXES: [&str; 4] = ["Ale", "Lager", "IPA", "Stout"];
const STYLES: [&str; 4] = ["American IPA", "Pale Ale", "Pilsner", "Porter"];

/// The synchronous shape's per-isolate half: the configuration, read once.
#[wasm_bindgen]
pub struct Layer {
    config: Rc<SessionConfig>,
}

#[wasm_bindgen]
impl Layer {
    /// Reads the configuration from the bindings `env`.
    ///
    /// # Errors
    ///
    /// The library's configuration error, as text.
    #[wasm_bindgen(constructor)]
    pub fn new(env: JsValue) -> Result<Layer, JsError> {
        Ok(Layer { config: Rc::new(configuration(&env)?.0) })
    }

    /// One request's session.
    pub fn visit(&self) -> Visit {
        Visit {
            config: Rc::clone(&self.config),
            sid: String::new(),
            key: String::new(),
            touch_seconds: None,
            doc: None,
            save: None,
            view: Value::Null,
        }
    }
}

/// The synchronous shape: one request's session, a step per call. The
/// JavaScript shell (`js/steps.mjs`) sends each body it is given to the
/// store and hands the answer's status and bytes to the next step.
#[wasm_bindgen]
pub struct Visit {
    config: Rc<SessionConfig>,
    sid: String,
    key: String,
    /// The touch's TTL, from the loaded cookie's lifetime; `None` when
    /// no touch is sent.
    touch_seconds: Option<u64>,
    doc: Option<SessionDocument>,
    save: Option<Save>,
    view: Value,
}

#[wasm_bindgen]
impl Visit {
    /// The `GET` of the session a valid cookie names, or `undefined` when
    /// the `Cookie` header names none (or is refused).
    pub fn begin(&mut self, cookie_header: Option<String>) -> Option<String> {
        let header = cookie_header.as_deref();
        if header.is_some_and(|h| check_cookie_header(h).is_err()) {
            return None;
        }
        let sid = verified_session_id(header, &self.config.cookie_name, &self.config.secrets)?;
        self.key = format!("{}{}", self.config.prefix, sid.as_str());
        self.sid = sid.into_string();
        Some(body(&Get { key: self.key.clone() }.args()))
    }

    /// The loaded document from the `GET`'s answer.
    fn loaded(&self, status: u16, reply: &[u8]) -> Option<(Vec<u8>, SessionDocument)> {
        let bytes = answer_to::<Get>(status, reply).ok()??;
        let doc = SessionDocument::parse(&bytes).ok()?;
        Some((bytes, doc))
    }

    /// A read's answer (the panel's JSON) from the `GET`'s answer at `now`
    /// (ms since the epoch), or `undefined` when the store failed or the
    /// session is gone.
    pub fn read(&mut self, status: u16, reply: &[u8], now: f64) -> Option<String> {
        let now = now as Millis;
        let (_, mut doc) = self.loaded(status, reply)?;
        let answer = js_json::to_string(&panel(&self.sid, &doc.cookie, views_of(&doc), now)).ok();
        // connect-redis's touch: the TTL of the cookie's lifetime from now,
        // none under `disableTouch` or `disableTTL` (connect-redis's touch
        // returns at once). The rows' sessions are live: a lifetime already
        // over would be a delete in the worker, not measured here, so none.
        doc.cookie.reset_expiry(now);
        let touches = !self.config.disable_touch;
        self.touch_seconds = match self.config.store_ttl(&doc.cookie, now) {
            Ttl::Seconds(seconds) if touches => Some(seconds),
            _ => None,
        };
        answer
    }

    /// The touch after a read's answer (`EXPIRE`), or `undefined` when
    /// none is sent.
    pub fn touch(&self) -> Option<String> {
        let seconds = self.touch_seconds?;
        Some(body(&Expire { key: self.key.clone(), seconds }.args()))
    }

    /// A pour's save (the compare-and-set script) from the `GET`'s answer
    /// at `now` (ms since the epoch): `views` + 1 and a beer from `random`
    /// (four numbers), or `undefined`.
    pub fn pour(&mut self, status: u16, reply: &[u8], now: f64, random: &[u32]) -> Option<String> {
        let now = now as Millis;
        let (bytes, mut doc) = self.loaded(status, reply)?;
        let views = doc.get::<f64>("views").ok()?.unwrap_or(0.0) + 1.0;
        doc.insert("views", &views).ok()?;
        let view = poured(&self.sid, &doc.cookie, views, now, random);
        let loaded = Loaded { key: self.key.clone(), digest: Digest::of(&bytes) };
        Some(self.save_body(doc, Some(loaded), view, now))
    }

    /// A first visit's save of a new session (the compare-and-set script)
    /// at `now` (ms since the epoch). The configured cookie as it is: the
    /// rows run over plain http without `secure: "auto"`.
    pub fn fresh(&mut self, now: f64) -> String {
        let now = now as Millis;
        let mut cookie = self.config.cookie.clone();
        cookie.reset_expiry(now);
        let doc = SessionDocument::new(cookie);
        let sid = SessionId::generate();
        self.key = format!("{}{}", self.config.prefix, sid.as_str());
        self.sid = sid.as_str().to_owned();
        let view = panel(&self.sid, &doc.cookie, None, now);
        self.save_body(doc, None, view, now)
    }

    fn save_body(&mut self, mut doc: SessionDocument, loaded: Option<Loaded>, view: Value, now: Millis) -> String {
        doc.cookie.reset_expiry(now);
        let save = Save {
            key: self.key.clone(),
            loaded,
            document: doc.to_json(),
            ttl: self.config.store_ttl(&doc.cookie, now),
            retire: Vec::new(),
            index: None,
            counter: None,
            guard: None,
        };
        let sent = body(&EvalSha(&save).args());
        (self.doc, self.save, self.view) = (Some(doc), Some(save), view);
        sent
    }

    /// The same save as `EVAL` when the store answered `NOSCRIPT` (it does
    /// not hold the script yet), else `undefined`.
    pub fn retry(&self, status: u16, reply: &[u8]) -> Option<String> {
        let Err(StoreError::Protocol(refused)) = answer_to::<EvalSha<Save>>(status, reply) else { return None };
        let save = self.save.as_ref().filter(|_| is_noscript(&refused))?;
        Some(body(&Eval(save).args()))
    }

    /// The answer (the panel's JSON) once the save's answer says saved,
    /// else `undefined`.
    pub fn saved(&self, status: u16, reply: &[u8]) -> Option<String> {
        match answer_to::<EvalSha<Save>>(status, reply).ok()? {
            SaveOutcome::Saved(_) => js_json::to_string(&self.view).ok(),
            _ => None,
        }
    }

    /// The saved session's `Set-Cookie` line.
    pub fn set_cookie(&self) -> Option<String> {
        let cookie = &self.doc.as_ref()?.cookie;
        Some(set_cookie_header(&self.config.cookie_name, &self.sid, &self.config.secrets, cookie))
    }
}

/// The async shape's per-isolate state: the configuration and the store
/// client, as the worker keeps them.
struct Isolate {
    config: SessionConfig,
    store: UpstashClient,
}

thread_local! {
    static ISOLATE: OnceCell<Rc<Isolate>> = const { OnceCell::new() };
}

/// Reads the configuration from the bindings `env` once per isolate.
///
/// # Errors
///
/// The library's configuration error, as text.
#[wasm_bindgen]
pub fn cycle_init(env: JsValue) -> Result<(), JsError> {
    let (config, upstash) = configuration(&env)?;
    let store = UpstashClient::new(&upstash.url, &upstash.token, upstash.timeout);
    ISOLATE.with(|cell| {
        cell.get_or_init(move || Rc::new(Isolate { config, store }));
    });
    Ok(())
}

/// The async shape: loads the session a `Cookie` header names (a new one
/// without), pours when `pour` (`views` + 1, a beer from `random`: four
/// numbers), and commits. Resolves with `[panel JSON, Set-Cookie line |
/// undefined, touch promise | undefined]` (the touch to hand to
/// `waitUntil`), or with the error's text.
#[wasm_bindgen]
pub fn cycle(cookie_header: Option<String>, pour: bool, random: Vec<u32>) -> js_sys::Promise {
    let isolate = ISOLATE.with(|cell| cell.get().cloned());
    edge_session::driver::spawn(async move {
        let Some(isolate) = isolate else { return JsValue::from_str("cycle_init was not called") };
        let store = isolate.store.for_request(None);
        run_cycle(&isolate.config, store, cookie_header, pour.then_some(random)).await
    })
}

/// One request's cycle on `store`: load, the pour (given its random
/// numbers), commit; the touch, if any, as a task of its own on the same
/// store (what the worker hands to `waitUntil`).
async fn run_cycle<S: SessionStore + 'static>(
    config: &SessionConfig,
    store: S,
    cookie_header: Option<String>,
    pour: Option<Vec<u32>>,
) -> JsValue {
    let sessions = Sessions::new(config, &store).deferring_writes();
    let now = edge_session::store::transport::now_ms() as Millis;
    let mut session = match sessions.load(cookie_header.as_deref(), now, false).await {
        Ok(session) => session,
        Err(e) => return JsValue::from_str(&e.to_string()),
    };
    let sid = session.id().as_str().to_owned();
    let view = match pour {
        Some(random) => {
            // Kept and run again on a newer document after a conflict, as
            // the demo's pour.
            let counted = session.update(|s| {
                let views = s.get::<f64>("views")?.unwrap_or(0.0) + 1.0;
                s.insert("views", &views)
            });
            match (counted, session.get::<f64>("views")) {
                (Ok(()), Ok(Some(views))) => poured(&sid, session.cookie(), views, now, &random),
                _ => return JsValue::from_str("`views` is not a number"),
            }
        }
        None => panel(&sid, session.cookie(), session.get::<Value>("views").ok().flatten(), now),
    };
    let cookies = match sessions.commit(&mut session, now).await {
        Ok(cookies) => cookies,
        Err(e) => return JsValue::from_str(&e.to_string()),
    };
    let deferred = sessions.take_deferred();
    // `sessions` borrows `store`, which the touch's task takes.
    drop(sessions);
    let out = js_sys::Array::new();
    out.push(&js_json::to_string(&view).unwrap_or_default().into());
    out.push(&cookies.first().map_or(JsValue::UNDEFINED, |line| line.into()));
    if deferred.is_empty() {
        out.push(&JsValue::UNDEFINED);
    } else {
        out.push(&edge_session::driver::spawn(async move {
            for write in &deferred {
                // As the worker: a failed touch loses nothing (it logs it).
                if let Err(e) = run_deferred(&store, write).await {
                    console_error(&format!("touch failed: {e}"));
                }
            }
            JsValue::UNDEFINED
        }));
    }
    out.into()
}

#[wasm_bindgen]
extern "C" {
    /// The runtime's `console.error`: the log of a failed touch.
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str);
}

#[wasm_bindgen(module = "/js/shared.mjs")]
extern "C" {
    /// One store call to `store` (js/shared.mjs, `storeOf`): resolves
    /// with `[status, Uint8Array body]`.
    #[wasm_bindgen(js_name = call)]
    fn store_call(store: &JsValue, body: String) -> js_sys::Promise;
}

/// A store on the least glue: each command's body to the shell's `call`,
/// awaited through the driver, the answer's status and bytes back. Only
/// what the benchmark's rows ask of a store (a session's `GET`, the save,
/// `EXPIRE`); anything else fails. No retries, no meter, no sync token of
/// its own.
struct LeanStore(JsValue);

/// What the lean store does not do (the rows never ask it).
fn unsupported(what: &str) -> StoreError {
    StoreError::Unreachable(TransportError::Failed(format!("the lean store does not send {what}")))
}

impl LeanStore {
    /// Runs `cmd`, reading the answer as `UpstashClient` does.
    async fn run<C: Command>(&self, cmd: &C) -> Result<C::Output, StoreError> {
        let reply = edge_session::driver::wait(store_call(&self.0, body(&cmd.args())))
            .await
            .map_err(|e| StoreError::Unreachable(TransportError::Failed(format!("{e:?}"))))?;
        let reply = js_sys::Array::from(&reply);
        let status = reply.get(0).as_f64().map_or(0, |s| s as u16);
        let bytes = js_sys::Uint8Array::new(&reply.get(1)).to_vec();
        answer_to::<C>(status, &bytes)
    }
}

impl SessionStore for LeanStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(&Get { key: key.to_owned() }).await
    }

    async fn read(&self, key: Option<&str>, with_pttl: bool, lookups: &[Lookup]) -> Result<Fetched, StoreError> {
        if with_pttl || !lookups.is_empty() {
            return Err(unsupported("PTTL or lookups"));
        }
        let session = match key {
            Some(key) => self.get(key).await?.map(|bytes| (bytes, None)),
            None => None,
        };
        Ok(Fetched { session, found: Vec::new() })
    }

    async fn write(&self, save: Option<&Save>, also: &[Write]) -> Result<Wrote, StoreError> {
        if !also.is_empty() {
            return Err(unsupported("writes beside a save"));
        }
        let Some(save) = save else { return Ok(Wrote::default()) };
        let saved = match self.run(&EvalSha(save)).await {
            Err(StoreError::Protocol(e)) if is_noscript(&e) => self.run(&Eval(save)).await?,
            other => other?,
        };
        Ok(Wrote { saved: Some(saved), written: Vec::new() })
    }

    async fn expire(&self, key: &str, ttl_seconds: u64) -> Result<bool, StoreError> {
        self.run(&Expire { key: key.to_owned(), seconds: ttl_seconds }).await
    }

    async fn del(&self, _keys: &[String]) -> Result<u64, StoreError> {
        Err(unsupported("DEL"))
    }

    async fn backoff(&self, _wait: std::time::Duration) {}
}

/// [`cycle`] on a store of the least glue (calls to `store`, the shell's
/// `storeOf`) instead of the library's `UpstashClient`: what the client's
/// glue costs, beside the cycle's own.
#[wasm_bindgen]
pub fn cycle_lean(cookie_header: Option<String>, pour: bool, random: Vec<u32>, store: JsValue) -> js_sys::Promise {
    let isolate = ISOLATE.with(|cell| cell.get().cloned());
    edge_session::driver::spawn(async move {
        let Some(isolate) = isolate else { return JsValue::from_str("cycle_init was not called") };
        run_cycle(&isolate.config, LeanStore(store), cookie_header, pour.then_some(random)).await
    })
}
