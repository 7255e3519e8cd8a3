// What the shapes' fetch handlers share (bench/shapes/src/lib.rs): the
// demo's API answer headers, the store call the worker makes (with
// Upstash's base64 strings, the isolate's newest sync token and the
// configured time limit) and the cycles' whole handler.

export const API_HEADERS = [
  ["X-Content-Type-Options", "nosniff"],
  ["Content-Security-Policy", "frame-ancestors 'none'"],
  ["Referrer-Policy", "no-referrer"],
];

/** The store's URL, its Authorization header and time limit, from `env`. */
export function storeOf(env) {
  return {
    url: env.UPSTASH_REDIS_REST_URL.replace(/\/+$/, ""),
    auth: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}`,
    timeoutMs: Number(env.SESSION_STORE_TIMEOUT_MS ?? 5000),
    syncToken: null,
  };
}

/** One store call: resolves with [status, Uint8Array body]. */
export async function call(store, body) {
  const headers = { Authorization: store.auth, "Content-Type": "application/json", "Upstash-Encoding": "base64" };
  if (store.syncToken) headers["upstash-sync-token"] = store.syncToken;
  const res = await fetch(store.url, { method: "POST", headers, body, signal: AbortSignal.timeout(store.timeoutMs) });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const token = res.headers.get("upstash-sync-token");
  if (token) store.syncToken = token;
  return [res.status, bytes];
}

/**
 * The answer: the panel's JSON, with the demo's headers; without one, 503
 * with `error` (the failure's text, when wasm gave one).
 */
export function answer(body, timing, cookie, error = "the session store is unavailable") {
  const headers = new Headers(API_HEADERS);
  headers.set("Content-Type", "application/json; charset=utf-8");
  headers.set("Cache-Control", "no-store");
  if (cookie) headers.append("Set-Cookie", cookie);
  headers.set("Server-Timing", timing);
  if (body === undefined) return new Response(JSON.stringify({ error }), { status: 503, headers });
  return new Response(body, { status: 200, headers });
}

/**
 * A cycle's fetch handler: `init(env)` once per isolate, then `run(cookie
 * header, pour?, random numbers)` per request, which resolves with [panel
 * JSON, Set-Cookie | undefined, touch promise | undefined] or an error's text.
 */
export function cycleHandler(init, run) {
  let ready = false;
  return {
    async fetch(req, env, ctx) {
      if (!ready) {
        init(env);
        ready = true;
      }
      const route = routeOf(req);
      if (!route) return new Response("no route", { status: 404 });
      const started = Date.now();
      const pour = route === "POST /api/pour";
      const done = await run(req.headers.get("Cookie") ?? undefined, pour, crypto.getRandomValues(new Uint32Array(4)));
      const timing = `store;dur=${(Date.now() - started).toFixed(1)}`;
      if (typeof done === "string") return answer(undefined, timing, undefined, done);
      const [body, cookie, touch] = done;
      if (touch) ctx.waitUntil(touch);
      return answer(body, timing, cookie);
    },
  };
}

/** The two routes the rows ask for, else null. */
export function routeOf(req) {
  const route = `${req.method} ${new URL(req.url).pathname}`;
  return route === "GET /api/session" || route === "POST /api/pour" ? route : null;
}
