// Hostile input against the real built worker in workerd, the real
// upstash-local and a real redis-server (issue 9, point 6): a Cookie header
// with too many cookies or one oversized cookie is refused with a 4xx
// before any store traffic, and a stored document over 1 MiB is reported
// (a new session with a notice) and never overwritten. The limits are in
// crates/edge-session/src/session/cookie.rs and session/document.rs;
// docs/RELIABILITY.md "Hostile input" lists every case.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import {
  startStack,
  startMonitor,
  sessionCommands,
  assertJsonError,
  cookieFor,
  parseSetCookie,
  rawGet,
  nodeDoc,
  readAnswer,
} from "../support/index.mjs";

// The limits, as the worker states them (cookie.rs, document.rs).
const MAX_COOKIES = 180;
const MAX_COOKIE_BYTES = 4096;
const MAX_DOCUMENT_BYTES = 1024 * 1024;

let stack;
let redis;

before(async () => {
  stack = await startStack();
  redis = stack.redis.client;
});
after(async () => {
  await stack?.stop();
});
beforeEach(async () => {
  await redis.flushDb();
});

/** A session the worker made: its id and cookie pair. */
async function newSession() {
  const res = await stack.worker.fetch("/api/session");
  assert.equal(res.status, 200);
  const sc = parseSetCookie(res);
  await res.arrayBuffer();
  return { sid: sc.sid, cookie: sc.pair };
}

/** `n` small cookies `c0=1; c1=1; …`. */
const manyCookies = (n) => Array.from({ length: n }, (_, i) => `c${i}=1`).join("; ");

/** GET and POST with `cookie`, each watched by MONITOR: the answers and the commands seen. */
async function bothMethods(cookie) {
  const out = [];
  for (const [method, path] of [["GET", "/api/session"], ["POST", "/api/pour"]]) {
    const mon = await startMonitor(redis, { view: "all" }); // every command, script calls included
    // Read at once: a body left unread while the next request goes out
    // once came back "already read" (undici).
    const res = await readAnswer(await stack.worker.fetch(path, { method, headers: { cookie } }));
    const commands = await mon.stop();
    out.push({ method, res, commands });
  }
  return out;
}

test(`more than ${MAX_COOKIES} cookies in the Cookie header: 400 JSON, no store command`, async () => {
  const s = await newSession();
  const tooMany = `${s.cookie}; ${manyCookies(MAX_COOKIES)}`;
  assert.ok(tooMany.length < 8192, "under the whole-header limit, so this limit is the one that answers");
  for (const { method, res, commands } of await bothMethods(tooMany)) {
    await assertJsonError(res, 400, `the Cookie header holds ${MAX_COOKIES + 1} cookies; at most ${MAX_COOKIES} are accepted`);
    assert.deepEqual(commands, [], `${method}: MONITOR saw no command at all`);
  }
  // ", "-joined fields count the same (workerd joins repeated Cookie fields so).
  const joined = await stack.worker.fetch("/api/session", { headers: { cookie: `${manyCookies(MAX_COOKIES)}, ${s.cookie}` } });
  await assertJsonError(joined, 400, /holds 181 cookies/);
  // Exactly the limit is served, and finds the session.
  const ok = await stack.worker.fetch("/api/session", { headers: { cookie: `${s.cookie}; ${manyCookies(MAX_COOKIES - 1)}` } });
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).sessionID, s.sid);
});

test(`one cookie over ${MAX_COOKIE_BYTES} bytes: 400 JSON, no store command`, async () => {
  const s = await newSession();
  const big = `pad=${"x".repeat(MAX_COOKIE_BYTES - 2)}`; // name + value: 4097 bytes
  for (const cookie of [`${s.cookie}; ${big}`, `${big}; ${s.cookie}`]) {
    for (const { method, res, commands } of await bothMethods(cookie)) {
      await assertJsonError(res, 400, `a cookie in the Cookie header is ${MAX_COOKIE_BYTES + 1} bytes long; at most ${MAX_COOKIE_BYTES} are accepted`);
      assert.deepEqual(commands, [], `${method}: MONITOR saw no command at all`);
    }
  }
  // An oversized session cookie itself: refused the same way, never looked up.
  const mon = await startMonitor(redis, { view: "all" });
  const res = await stack.worker.fetch("/api/session", { headers: { cookie: `${s.cookie}${"A".repeat(MAX_COOKIE_BYTES)}` } });
  assert.deepEqual(await mon.stop(), []);
  await assertJsonError(res, 400, /a cookie in the Cookie header is \d+ bytes long/);
  // Exactly 4096 bytes of name and value is served.
  const ok = await stack.worker.fetch("/api/session", { headers: { cookie: `${s.cookie}; pad=${"x".repeat(MAX_COOKIE_BYTES - 3)}` } });
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).sessionID, s.sid);
});

test("a stored document of 1.5 MiB under a validly signed id: a new session with a notice, the stored key as it was", async () => {
  const sid = randomUUID();
  const key = `sess:${sid}`;
  const expires = new Date(Date.now() + 60_000).toISOString();
  const small = nodeDoc({ expires, fields: { views: 3, pad: "" } });
  const doc = small.replace('"pad":""', `"pad":"${"x".repeat(1.5 * MAX_DOCUMENT_BYTES - small.length)}"`);
  assert.equal(Buffer.byteLength(doc), 1.5 * MAX_DOCUMENT_BYTES);
  await redis.set(key, doc, { expiration: { type: "EX", value: 300 } });
  const before = { value: await rawGet(redis, key), ttl: await redis.pTTL(key) };

  for (const [method, path] of [["GET", "/api/session"], ["POST", "/api/pour"]]) {
    const mon = await startMonitor(redis);
    const res = await stack.worker.fetch(path, { method, headers: { cookie: cookieFor(sid) } });
    const commands = sessionCommands(await mon.stop());
    assert.equal(res.status, 200, method);
    const sc = parseSetCookie(res);
    assert.notEqual(sc.sid, sid, `${method}: a new session under a new id`);
    const body = await res.json();
    assert.equal(body.sessionID, sc.sid);
    assert.match(body.error, new RegExp(`stored session ${key} could not be read \\(stored session is ${doc.length} bytes long; at most ${MAX_DOCUMENT_BYTES} are read\\)`), method);
    assert.match(body.error, /left untouched/);
    assert.equal(body.beersViewed, method === "POST" ? 1 : undefined, "the new session, not the stored one");
    // Read once, then only the new session is written (the save script's
    // write, MONITOR's default "effects" view).
    assert.deepEqual(commands, [["GET", key], ["SET", `sess:${sc.sid}`, "EX", "60"]], method);
  }
  const afterValue = await rawGet(redis, key);
  const afterTtl = await redis.pTTL(key);
  assert.ok(afterValue.equals(before.value), "the stored bytes are as they were");
  // The TTL only ran down (milliseconds of the test), it was never set again.
  assert.ok(afterTtl <= before.ttl && before.ttl - afterTtl < 30_000, `TTL before ${before.ttl} ms, after ${afterTtl} ms`);
});
