//! The one type in the crate that sends bytes over the network: an HTTP
//! POST of a JSON body with a bearer token (the store), a GET of a small
//! JSON document with a cap on its size (a worker's upstream API, such as
//! the demo's beer names), and on wasm32 a
//! request passed on as it is (the gateway's forward to its origin). On
//! wasm32 it is the Workers runtime's own `fetch`, `AbortSignal` and
//! stream reader, called from a few lines of JavaScript (js/http.js), each
//! call one promise awaited once; natively it is `reqwest`, used by the
//! integration tests and tools.

use std::time::Duration;

use super::wire::SYNC_TOKEN_HEADER;

/// Why an HTTP exchange failed before an answer arrived.
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(thiserror::Error)]
pub enum TransportError {
    /// No answer within the configured time.
    #[error("no answer within {} ms", whole_ms(*.0))]
    Timeout(Duration),
    /// The request could not be sent or the answer not read.
    #[error("HTTP request failed: {0}")]
    Failed(String),
    /// The answer's body is longer than the caller accepts
    /// ([`HttpTransport::get`]); it was abandoned unread past the limit.
    #[error("the answer's body is over {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}
crate::debug_is_display!(TransportError);

/// `d` in whole milliseconds, as the `*_TIMEOUT_MS` settings give it: how
/// messages spell a time limit (`Duration`'s `Debug` spelling would add
/// ~1.9 KB to the wasm for it).
pub(crate) fn whole_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The bytes of a body `stream` (a request's or an answer's; `None`: no
/// body), at most `max_bytes` of them, read by the runtime in one await
/// (js/http.js): past the limit the stream is cancelled, so a client
/// cannot make the worker buffer more. On wasm32 only.
///
/// # Errors
///
/// [`TransportError::TooLarge`] past `max_bytes`,
/// [`TransportError::Failed`] when the stream cannot be read.
#[cfg(target_arch = "wasm32")]
pub async fn read_body(stream: Option<web_sys::ReadableStream>, max_bytes: usize) -> Result<Vec<u8>, TransportError> {
    imp::read_body(stream, max_bytes).await
}

// For the workers-rs adapter (`workers.rs`).
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
pub(crate) use imp::js_message;

/// The clock store calls are timed with, in milliseconds: `Date.now()` on
/// wasm32 (which the Workers runtime advances across I/O), the system clock
/// natively.
pub fn now_ms() -> f64 {
    imp::now_ms()
}

/// An HTTP answer: status, body bytes, and the one header the store
/// protocol uses.
#[derive(Debug, Clone)]
pub struct HttpReply {
    /// The HTTP status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
    /// The `upstash-sync-token` response header, if any.
    pub sync_token: Option<String>,
}

/// Sends JSON POST requests with a bearer token and a time limit.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    timeout: Duration,
    #[cfg(not(target_arch = "wasm32"))]
    client: reqwest::Client,
}

impl HttpTransport {
    /// A transport whose requests give up after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            #[cfg(not(target_arch = "wasm32"))]
            client: reqwest::Client::new(),
        }
    }

    /// POSTs `body` (JSON) to `url` with `Authorization: Bearer <token>` and
    /// the extra `headers`.
    ///
    /// # Errors
    ///
    /// [`TransportError::Timeout`] when no answer came within the timeout,
    /// [`TransportError::Failed`] when the request could not be sent or the answer not read.
    pub async fn post_json(
        &self,
        url: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> Result<HttpReply, TransportError> {
        imp::post_json(self, url, token, headers, body).await
    }

    /// GETs `url` with `Accept: application/json` and returns the status
    /// and body, the body read only up to `max_bytes`: a longer one (by its
    /// `Content-Length` or as it streams) is abandoned, so an upstream
    /// cannot make the worker buffer more. The timeout covers the whole
    /// exchange, body included. `sync_token` of the reply is always `None`.
    ///
    /// # Errors
    ///
    /// [`TransportError::Timeout`] when the answer (body included) did not
    /// arrive within the timeout, [`TransportError::TooLarge`] for a body
    /// over `max_bytes`, [`TransportError::Failed`] when the request could
    /// not be sent or the answer not read.
    pub async fn get(&self, url: &str, max_bytes: usize) -> Result<HttpReply, TransportError> {
        imp::get(self, url, max_bytes).await
    }

    /// Sends `request` as it is (method, headers, a streamed body) and
    /// returns the answer once its status and headers have arrived; its
    /// body then streams on, with no time limit (the gateway's forward,
    /// `crate::workers::forward`). `uploading`: the request streams a body,
    /// and the origin may answer only once it has all of it, so the wait
    /// has no limit either (an upload's time cannot be told apart from the
    /// origin's; the platform's own limits apply).
    ///
    /// # Errors
    ///
    /// [`TransportError::Timeout`] when the status and headers did not
    /// arrive within the timeout (the request is aborted),
    /// [`TransportError::Failed`] when the request could not be sent.
    #[cfg(target_arch = "wasm32")]
    pub async fn send(&self, request: web_sys::Request, uploading: bool) -> Result<web_sys::Response, TransportError> {
        imp::send(self, request, uploading).await
    }

    /// Waits `wait` (the runtime's `setTimeout` on wasm32, tokio's timer natively).
    pub async fn sleep(&self, wait: Duration) {
        imp::sleep(wait).await
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::*;

    pub(super) async fn sleep(wait: Duration) {
        tokio::time::sleep(wait).await
    }

    pub(super) fn now_ms() -> f64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }

    pub(super) async fn post_json(
        t: &HttpTransport,
        url: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> Result<HttpReply, TransportError> {
        let mut req = t
            .client
            .post(url)
            .timeout(t.timeout)
            .bearer_auth(token)
            .header("Content-Type", "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        // The whole chain ("error sending request …: client error
        // (Connect): tcp connect error: Connection refused"): reqwest's own
        // message alone names the URL, not the cause.
        let map = |e: reqwest::Error| {
            if e.is_timeout() {
                TransportError::Timeout(t.timeout)
            } else {
                TransportError::Failed(crate::error_chain(&e))
            }
        };
        let resp = req.send().await.map_err(map)?;
        let status = resp.status().as_u16();
        let sync_token = resp.headers().get(SYNC_TOKEN_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = resp.bytes().await.map_err(map)?.to_vec();
        Ok(HttpReply { status, body, sync_token })
    }

    pub(super) async fn get(t: &HttpTransport, url: &str, max_bytes: usize) -> Result<HttpReply, TransportError> {
        let map = |e: reqwest::Error| {
            if e.is_timeout() {
                TransportError::Timeout(t.timeout)
            } else {
                TransportError::Failed(crate::error_chain(&e))
            }
        };
        let req = t.client.get(url).timeout(t.timeout).header("Accept", "application/json");
        let mut resp = req.send().await.map_err(map)?;
        let status = resp.status().as_u16();
        if resp.content_length().is_some_and(|n| n > max_bytes as u64) {
            return Err(TransportError::TooLarge { limit: max_bytes });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(map)? {
            body.extend_from_slice(&chunk);
            if body.len() > max_bytes {
                return Err(TransportError::TooLarge { limit: max_bytes });
            }
        }
        Ok(HttpReply { status, body, sync_token: None })
    }
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::*;
    use wasm_bindgen::{JsCast, JsValue};

    #[wasm_bindgen::prelude::wasm_bindgen(module = "/js/http.js")]
    extern "C" {
        /// One store call as one promise (js/http.js): resolves with
        /// `[status, replyHeader's value | null, Uint8Array body]`, rejects
        /// with `{timeout: true}` past `timeout_ms` or the runtime's error.
        #[wasm_bindgen(js_name = postJson)]
        fn post_json_js(
            url: &str,
            headers: Vec<String>,
            body: String,
            timeout_ms: u32,
            reply_header: &str,
        ) -> js_sys::Promise;

        /// A GET of JSON (js/http.js): resolves with `[status, Uint8Array
        /// body]`, rejects with `{tooLarge: true}`, `{timeout: true}` or the
        /// runtime's error.
        #[wasm_bindgen(js_name = getLimited)]
        fn get_limited_js(url: &str, timeout_ms: u32, max_bytes: f64) -> js_sys::Promise;

        /// `request` sent as it is (js/http.js): resolves with the answer
        /// once its status and headers arrived; rejects with `{timeout:
        /// true}` past `timeout_ms` (none when `None`) or the runtime's error.
        #[wasm_bindgen(js_name = send)]
        fn send_js(request: &web_sys::Request, timeout_ms: Option<u32>) -> js_sys::Promise;

        /// A stream's bytes, at most `max_bytes` (js/http.js): rejects with
        /// `{tooLarge: true}` past them, or the runtime's error.
        #[wasm_bindgen(js_name = readLimited)]
        fn read_limited_js(stream: Option<web_sys::ReadableStream>, max_bytes: f64) -> js_sys::Promise;

        /// Resolves after `ms` milliseconds (js/http.js).
        #[wasm_bindgen(js_name = sleep)]
        fn sleep_js(ms: u32) -> js_sys::Promise;
    }

    /// A limit in whole milliseconds for the runtime's timers: at least
    /// one, and a limit past u32 is no limit.
    fn limit_ms(timeout: Duration) -> u32 {
        u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX).max(1)
    }

    /// What a js/http.js promise rejected with, as this module's error:
    /// its own `{timeout: true}` and `{tooLarge: true}`, else the
    /// runtime's error as text.
    fn rejected(e: &JsValue, timeout: Duration, max_bytes: usize) -> TransportError {
        let flag = |name: &str| js_sys::Reflect::get(e, &JsValue::from_str(name)).is_ok_and(|v| v.is_truthy());
        if flag("timeout") {
            TransportError::Timeout(timeout)
        } else if flag("tooLarge") {
            TransportError::TooLarge { limit: max_bytes }
        } else {
            TransportError::Failed(js_message(e))
        }
    }

    pub(super) async fn sleep(wait: Duration) {
        // It only resolves.
        let _ = crate::driver::wait(sleep_js(limit_ms(wait))).await;
    }

    pub(super) fn now_ms() -> f64 {
        js_sys::Date::now()
    }

    /// The store's hot path: every store call of every request goes through
    /// here, and each await of a JavaScript promise from Rust costs CPU the
    /// visitor's request is billed for (docs/BENCHMARKS.md, "CPU per
    /// request"). So the fetch, the body read (one `arrayBuffer()`) and the
    /// time limit (the runtime's `AbortSignal.timeout`, on the fetch and
    /// the body) run in js/http.js, awaited here once.
    pub(super) async fn post_json(
        t: &HttpTransport,
        url: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> Result<HttpReply, TransportError> {
        let mut flat = Vec::with_capacity(4 + 2 * headers.len());
        flat.extend(["Authorization".to_owned(), format!("Bearer {token}")]);
        flat.extend(["Content-Type".to_owned(), "application/json".to_owned()]);
        for (k, v) in headers {
            flat.extend([(*k).to_owned(), (*v).to_owned()]);
        }
        let promise = post_json_js(url, flat, body, limit_ms(t.timeout), SYNC_TOKEN_HEADER);
        let reply = crate::driver::wait(promise).await.map_err(|e| rejected(&e, t.timeout, usize::MAX))?;
        let reply = js_sys::Array::from(&reply);
        // The shim's own answer: a status fetch gave, so within u16.
        let status = reply.get(0).as_f64().map_or(0, |s| s as u16);
        let sync_token = reply.get(1).as_string();
        let body = js_sys::Uint8Array::new(&reply.get(2)).to_vec();
        Ok(HttpReply { status, body, sync_token })
    }

    /// A thrown JavaScript value as text: an `Error`'s message, else its
    /// string form.
    pub(crate) fn js_message(e: &JsValue) -> String {
        match e.dyn_ref::<js_sys::Error>() {
            Some(err) => String::from(err.message()),
            None => e.as_string().unwrap_or_else(|| format!("{e:?}")),
        }
    }

    pub(super) async fn get(t: &HttpTransport, url: &str, max_bytes: usize) -> Result<HttpReply, TransportError> {
        let promise = get_limited_js(url, limit_ms(t.timeout), max_bytes as f64);
        let reply = crate::driver::wait(promise).await.map_err(|e| rejected(&e, t.timeout, max_bytes))?;
        let reply = js_sys::Array::from(&reply);
        let status = reply.get(0).as_f64().map_or(0, |s| s as u16);
        let body = js_sys::Uint8Array::new(&reply.get(1)).to_vec();
        Ok(HttpReply { status, body, sync_token: None })
    }

    pub(super) async fn send(
        t: &HttpTransport,
        request: web_sys::Request,
        uploading: bool,
    ) -> Result<web_sys::Response, TransportError> {
        let promise = send_js(&request, (!uploading).then(|| limit_ms(t.timeout)));
        let answer = crate::driver::wait(promise).await.map_err(|e| rejected(&e, t.timeout, usize::MAX))?;
        answer.dyn_into::<web_sys::Response>().map_err(|e| TransportError::Failed(js_message(&e)))
    }

    pub(super) async fn read_body(
        stream: Option<web_sys::ReadableStream>,
        max_bytes: usize,
    ) -> Result<Vec<u8>, TransportError> {
        let promise = read_limited_js(stream, max_bytes as f64);
        let bytes = crate::driver::wait(promise).await.map_err(|e| rejected(&e, Duration::ZERO, max_bytes))?;
        Ok(js_sys::Uint8Array::new(&bytes).to_vec())
    }
}
