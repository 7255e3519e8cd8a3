// Talking to the worker (or an Express fixture) the way a client does, and
// the one assertion of a JSON error answer.

import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import { setCookieLines } from "./cookies.mjs";

/** What every API answer, error or not, is served as (Express's res.json does the same). */
export const JSON_TYPE = "application/json; charset=utf-8";

/**
 * A response read to the end: { status, headers (Headers), text, body (the
 * JSON, or null), cookies (the Set-Cookie lines) }.
 */
export async function readAnswer(res) {
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {}
  return { status: res.status, headers: res.headers, text, body, cookies: setCookieLines(res) };
}

/**
 * One request to `target` (a worker from startWorker(), an Express fixture:
 * anything with a `url`) over a real socket, or through Miniflare's
 * dispatchFetch with `dispatch: true`. `json` or `form` become the body
 * (and its Content-Type); `cookie` is sent as Cookie, `ip` as
 * CF-Connecting-IP. `onAnswer(answer, "METHOD path")` sees every answer.
 * Resolves with {@link readAnswer}'s answer.
 */
export async function request(target, path, { method = "GET", json, form, body, cookie, ip, headers = {}, dispatch = false, onAnswer } = {}) {
  const h = { ...headers };
  if (json !== undefined) {
    h["content-type"] ??= "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    h["content-type"] ??= "application/x-www-form-urlencoded";
    body = new URLSearchParams(form).toString();
  }
  if (cookie) h.cookie = cookie;
  if (ip) h["cf-connecting-ip"] = ip;
  const init = { method, headers: h, body, redirect: "manual" };
  const res = dispatch ? await target.fetch(path, init) : await fetch(target.url + path, { ...init, signal: AbortSignal.timeout(10_000) });
  const answer = await readAnswer(res);
  onAnswer?.(answer, `${method} ${path}`);
  return answer;
}

/**
 * Asserts a JSON error answer (a fetch Response, read here, or a
 * {@link readAnswer} answer): the status, the JSON content type, no
 * Set-Cookie, and a body `{"error": "<non-empty message>"}`; a 429 or 503
 * also carries `"retryAfter"`, whole seconds, equal to its Retry-After
 * header. `message`: the exact text, or a RegExp it must match. Resolves
 * with the answer.
 */
export async function assertJsonError(res, status, message) {
  const answer = typeof res.text === "function" ? await readAnswer(res) : res;
  assert.equal(answer.status, status, answer.text);
  assert.equal(answer.headers.get("content-type"), JSON_TYPE, `content type of a ${status}`);
  assert.deepEqual(setCookieLines(answer), [], "an error sets no cookie");
  const keys = Object.keys(answer.body ?? {});
  if (status === 429 || status === 503) {
    assert.deepEqual(keys, ["error", "retryAfter"], answer.text);
    assert.ok(Number.isInteger(answer.body.retryAfter) && answer.body.retryAfter >= 0, answer.text);
    assert.equal(String(answer.body.retryAfter), answer.headers.get("retry-after"), "retryAfter is the Retry-After header");
  } else {
    assert.deepEqual(keys, ["error"], answer.text);
  }
  assert.equal(typeof answer.body.error, "string");
  assert.ok(answer.body.error.length > 0, "an empty error message");
  if (message instanceof RegExp) assert.match(answer.body.error, message);
  else if (message !== undefined) assert.equal(answer.body.error, message);
  return answer;
}

// ---------------------------------------------------------------------------
// node:http(s), for the test-only certificate of the Express fixture

const insecureTls = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
const plainAgent = new http.Agent({ keepAlive: true });

/** A GET with node:http(s), accepting the test-only certificate. Resolves with { status, setCookies, text }. */
export function nodeGet(url, headers) {
  const u = new URL(url);
  const mod = u.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      u,
      { method: "GET", headers, agent: u.protocol === "https:" ? insecureTls : plainAgent, timeout: 10000 },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const sc = res.headers["set-cookie"] ?? [];
          resolve({ status: res.statusCode, setCookies: Array.isArray(sc) ? sc : [sc], text: Buffer.concat(chunks).toString("utf8") });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout: GET ${url}`)));
    req.on("error", reject);
    req.end();
  });
}

/** Destroys nodeGet()'s keep-alive agents (call once at the very end). */
export function closeAgents() {
  insecureTls.destroy();
  plainAgent.destroy();
}

/**
 * `Server-Timing` of a worker answer (a fetch Response or a
 * {@link readAnswer} answer), read: { outcome, roundTrips, ms, deferred }
 * (docs/PROTOCOL.md §6.1; `deferred`: writes left for after the answer).
 */
export function serverTiming(res) {
  const value = res.headers.get("server-timing") ?? "";
  const desc = (name) => value.match(new RegExp(`(?:^|, )${name};desc="([^"]*)"`))?.[1];
  return {
    outcome: desc("session") ?? null,
    roundTrips: Number(desc("store")?.match(/^(\d+)/)?.[1] ?? NaN),
    ms: Number(value.match(/store;[^,]*dur=([\d.]+)/)?.[1] ?? NaN),
    deferred: Number(desc("deferred")?.match(/^(\d+)/)?.[1] ?? 0),
  };
}

/**
 * Resolves once `check()` (sync or async) is truthy, polling every 10 ms;
 * rejects after `timeoutMs` naming `what`. For what a worker does after its
 * answer (a deferred touch), which a test can only wait for.
 */
export async function eventually(check, what, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
