// examples/minimal: a worker built on the edge-session library alone (its
// own crate, wrangler.toml and #[event(fetch)]), run in workerd against
// upstash-local and a real redis-server. It proves that a dependent crate
// links (one `fetch` export), gets no demo routes, and that the library's
// public API (EdgeSessions::from_env, load, commit, destroy) keeps the
// express-session + connect-redis contract of docs/PROTOCOL.md.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import {
  startStack,
  startWorker,
  freePort,
  UUID_V4,
  cookieFor,
  cookiePair,
  sidOf,
  setCookieLines,
  rawGet,
  assertTtl60,
  startMonitor,
  wranglerConfig,
} from "../support/index.mjs";

const EXAMPLE = { build: "examples/minimal/build", wrangler: "examples/minimal/wrangler.toml" };
// The example sets express-session's own cookie name in its wrangler.toml.
const NAME = wranglerConfig(EXAMPLE.wrangler).vars.SESSION_COOKIE_NAME;

let stack;
let redis;

before(async () => {
  stack = await startStack(EXAMPLE);
  redis = stack.redis.client;
});
after(async () => {
  await stack?.stop();
});

async function visit(path = "/", { cookie, method = "GET" } = {}) {
  const res = await stack.worker.fetch(path, { method, headers: cookie ? { Cookie: cookie } : {} });
  const text = await res.text();
  return { res, text, body: res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : null };
}

test("a first visit counts 1 and stores express-session's document under sess:<uuid> with TTL 60", async () => {
  const { res, body } = await visit();
  assert.equal(res.status, 200);
  assert.deepEqual(body, { count: 1 });
  const [line] = setCookieLines(res);
  assert.equal(NAME, "connect.sid");
  assert.match(line, new RegExp(`^${NAME}=s%3A[^;]+; Path=/; Expires=[^;]+ GMT; HttpOnly$`));
  const sid = sidOf(cookiePair(line));
  assert.match(sid, UUID_V4);
  const doc = JSON.parse(await rawGet(redis, `sess:${sid}`));
  assert.deepEqual(Object.keys(doc), ["cookie", "count"]);
  assert.deepEqual(Object.keys(doc.cookie), ["originalMaxAge", "expires", "secure", "httpOnly", "path"]);
  assert.equal(doc.count, 1);
  assertTtl60(await redis.ttl(`sess:${sid}`));
});

test("the cookie brings the same session back: 2, 3, … in Redis", async () => {
  const first = await visit();
  const cookie = cookiePair(setCookieLines(first.res)[0]);
  const sid = sidOf(cookie);
  for (const n of [2, 3]) {
    const { body } = await visit("/", { cookie });
    assert.deepEqual(body, { count: n });
    assert.equal(JSON.parse(await rawGet(redis, `sess:${sid}`)).count, n);
  }
});

test("a forged cookie is never looked up: a new session, and no GET of the forged id", async () => {
  const forged = randomUUID();
  const mon = await startMonitor(redis, { others: true });
  const { body } = await visit("/", { cookie: cookieFor(forged, "not our secret", NAME) });
  const commands = await mon.stop();
  assert.deepEqual(body, { count: 1 });
  assert.ok(!commands.flat().some((a) => a.includes(forged)), JSON.stringify(commands));
});

test("POST /reset destroys the session: key deleted, cookie cleared", async () => {
  const first = await visit();
  const cookie = cookiePair(setCookieLines(first.res)[0]);
  const sid = sidOf(cookie);
  const { res, body } = await visit("/reset", { cookie, method: "POST" });
  assert.deepEqual(body, { count: 0 });
  assert.equal(await redis.exists(`sess:${sid}`), 0);
  assert.equal(setCookieLines(res)[0], `${NAME}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly`);
});

test("the demo's routes are not part of the library", async () => {
  const { res } = await visit("/api/session");
  assert.equal(res.status, 200, "the example counts on any path");
  assert.equal((await visit("/api/session")).body.sessionID, undefined);
});

test("a store that is down: 503 with the layer's message, nothing written", async () => {
  const before = await redis.keys("*");
  const worker = await startWorker({ upstashUrl: `http://127.0.0.1:${await freePort()}`, ...EXAMPLE });
  try {
    const res = await worker.fetch("/");
    assert.equal(res.status, 503);
    assert.match(await res.text(), /session store/);
    assert.deepEqual(setCookieLines(res), []);
  } finally {
    await worker.stop();
  }
  assert.deepEqual((await redis.keys("*")).sort(), before.sort());
});

test("a missing secret: 500 naming the variable, not its value", async () => {
  const worker = await startWorker({ upstashUrl: stack.upstash.url, vars: { SESSION_SECRET: "" }, ...EXAMPLE });
  try {
    const res = await worker.fetch("/");
    assert.equal(res.status, 500);
    assert.match(await res.text(), /SESSION_SECRET/);
  } finally {
    await worker.stop();
  }
});
