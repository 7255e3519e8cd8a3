// What both shapes' fetch handlers share (bench/shapes/src/lib.rs): the
// demo's API answer headers and the store call the worker makes, with
// Upstash's base64 strings, the isolate's newest sync token and the
// configured time limit.

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

/** The answer: the panel's JSON (503 when there is none), with the demo's headers. */
export function answer(body, timing, cookie) {
  const headers = new Headers(API_HEADERS);
  headers.set("Content-Type", "application/json; charset=utf-8");
  headers.set("Cache-Control", "no-store");
  if (cookie) headers.append("Set-Cookie", cookie);
  headers.set("Server-Timing", timing);
  if (body === undefined) return new Response(JSON.stringify({ error: "the session store is unavailable" }), { status: 503, headers });
  return new Response(body, { status: 200, headers });
}

/** The two routes the rows ask for, else null. */
export function routeOf(req) {
  const route = `${req.method} ${new URL(req.url).pathname}`;
  return route === "GET /api/session" || route === "POST /api/pour" ? route : null;
}
