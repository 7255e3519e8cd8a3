// The wasm32 transport's network calls (src/store/transport.rs), each one
// promise awaited once from Rust. Written in JavaScript because every
// await of a JavaScript promise from Rust costs crossings (one each way
// through the task driver, src/driver.rs; a pair of closures and an
// executor hop through wasm_bindgen_futures elsewhere), and because the
// runtime's own fetch, AbortSignal and stream reader need no Rust wrapper
// in the wasm (issue 14): a body read here is one await instead of one per
// chunk. These functions decide nothing: the request is the caller's, the
// answer goes back as it came, and every limit is the caller's.

// Rejects with { timeout: true } when `signal` (an AbortSignal.timeout)
// fired, else with what the runtime threw.
function timedOut(signal, e) {
  if (signal?.aborted) throw { timeout: true };
  throw e;
}

// The bytes of `stream` (a ReadableStream, or null for no body: none),
// at most `maxBytes` of them: past that the stream is cancelled and the
// promise rejects with { tooLarge: true }, so no more is buffered.
export async function readLimited(stream, maxBytes) {
  if (!stream) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      await reader.cancel().catch(() => {});
      throw { tooLarge: true };
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return bytes;
}

// One store call. `headers`: a flat array [name, value, name, value, ...];
// `replyHeader`: the one answer header the caller reads. Resolves with
// [status, that header's value | null, Uint8Array body], or rejects with
// { timeout: true } when `timeoutMs` passed first (fetch or body), or
// with the runtime's error.
export async function postJson(url, headers, body, timeoutMs, replyHeader) {
  const h = new Headers();
  for (let i = 0; i + 1 < headers.length; i += 2) h.set(headers[i], headers[i + 1]);
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, { method: "POST", headers: h, body, signal });
    const bytes = new Uint8Array(await res.arrayBuffer());
    return [res.status, res.headers.get(replyHeader), bytes];
  } catch (e) {
    timedOut(signal, e);
  }
}

// A GET of a small JSON document (`Accept: application/json`). Resolves
// with [status, Uint8Array body]; rejects with { tooLarge: true } when the
// body (declared or read) is over `maxBytes`, { timeout: true } when
// `timeoutMs` passed first (fetch or body), or the runtime's error.
export async function getLimited(url, timeoutMs, maxBytes) {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, { headers: { Accept: "application/json" }, signal });
    const declared = Number(res.headers.get("Content-Length") ?? "");
    if (declared > maxBytes) {
      await res.body?.cancel().catch(() => {});
      throw { tooLarge: true };
    }
    return [res.status, await readLimited(res.body, maxBytes)];
  } catch (e) {
    if (e?.tooLarge) throw e;
    timedOut(signal, e);
  }
}

// `request` sent as it is; resolves with the answer once its status and
// headers arrived (its body streams on). With `timeoutMs` (a number), the
// fetch is aborted and the promise rejects with { timeout: true } if the
// status and headers take longer; with null there is no limit.
export async function send(request, timeoutMs) {
  if (timeoutMs === null || timeoutMs === undefined) return fetch(request);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    return await fetch(request, { signal: controller.signal });
  } catch (e) {
    timedOut(controller.signal, e);
  } finally {
    clearTimeout(timer);
  }
}

// Resolves after `ms` milliseconds.
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
