// One store call as one promise, for the wasm32 transport
// (src/store/transport.rs, `post_json`). Written in JavaScript because
// every await of a JavaScript promise from Rust costs crossings (one each
// way through the task driver, src/driver.rs; a pair of closures and an
// executor hop through wasm_bindgen_futures elsewhere): doing the fetch
// and the body read here makes a store call one such await instead of
// two, and its headers one crossing instead of one per header. It decides nothing: the request is the caller's, the answer
// (status, the sync-token header, the body's bytes) goes back as it came.
//
// `headers`: a flat array [name, value, name, value, ...]; `replyHeader`:
// the one answer header the caller reads. Resolves with
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
    if (signal.aborted) throw { timeout: true };
    throw e;
  }
}
