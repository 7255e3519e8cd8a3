// End to end against the real built worker (workerd via Miniflare), the real
// upstash-local REST server and a real redis-server. Every assertion reads
// the raw bytes Redis holds: the wire contract (docs/PROTOCOL.md) is what counts.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import {
  startStack,
  startWorker,
  startRedis,
  startUpstashLocal,
  freePort,
  request,
  silentServer,
  TOKEN,
  UUID_V4,
  cookieFor,
  signed,
  parseSetCookie,
  assertNoSetCookie,
  assertJsonError,
  imfOf,
  expiresOf,
  rawGet,
  freshDoc,
  assertTtl60,
  startMonitor,
  sessionCommands,
  foreignDocument,
  sleep,
  serverTiming,
  eventually,
} from "../support/index.mjs";

let stack;
let redis; // node-redis client on the stack's Redis

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

const key = (sid) => `sess:${sid}`;

/** GET /api/session without a cookie on `worker`: a brand-new session. */
async function newSession(worker = stack.worker) {
  const res = await worker.fetch("/api/session");
  assert.equal(res.status, 200);
  const sc = parseSetCookie(res);
  await res.arrayBuffer();
  return { ...sc, key: key(sc.sid), cookie: sc.pair };
}

async function pour(cookie, worker = stack.worker) {
  return worker.fetch("/api/pour", { method: "POST", headers: { cookie } });
}

async function getSession(cookie, worker = stack.worker) {
  return worker.fetch("/api/session", { headers: cookie ? { cookie } : {} });
}

test("a request without a cookie creates a session: signed Set-Cookie, the PROTOCOL §2 document, TTL 60", async () => {
  const before = Date.now();
  const res = await getSession(null);
  const after = Date.now();
  assert.equal(res.status, 200);
  const sc = parseSetCookie(res); // shape + signature via cookie-signature unsign
  assert.match(sc.sid, UUID_V4);

  const body = await res.json();
  assert.deepEqual(
    { ...body, sessionExpireTime: undefined },
    { sessionID: sc.sid, sessionExpireTime: undefined, beerName: null, beerStyle: null, error: null },
  );
  assert.ok(!("beersViewed" in body), "a new session has no views");
  assert.ok(body.sessionExpireTime > 59 && body.sessionExpireTime <= 60, `sessionExpireTime ${body.sessionExpireTime}`);

  assert.equal(await redis.dbSize(), 1);
  const doc = await redis.get(key(sc.sid));
  const expires = expiresOf(doc);
  assert.equal(doc, freshDoc(expires));
  const exp = Date.parse(expires);
  assert.ok(exp >= before + 60000 - 5 && exp <= after + 60000 + 5, `expires ${expires} is not now + 60 s`);
  assertTtl60(await redis.ttl(key(sc.sid)));
  assert.equal(sc.expires, imfOf(expires), "Expires is the stored expires rounded down to the second");
});

test("a read-only request with a valid cookie: no Set-Cookie, document untouched, TTL reset to 60", async () => {
  const s = await newSession();
  await pour(s.cookie).then((r) => r.arrayBuffer());
  const stored = await rawGet(redis, s.key);
  assert.equal(await redis.expire(s.key, 30), 1);
  assert.ok((await redis.ttl(s.key)) <= 30);

  // (others: the test's own polling below is not the worker's traffic.)
  const mon = await startMonitor(redis, { others: true });
  const res = await getSession(s.cookie);
  // The touch is sent after the answer (waitUntil): wait for it.
  assert.equal(serverTiming(res).deferred, 1, "one write after the answer");
  await eventually(async () => (await redis.ttl(s.key)) > 30, "the deferred touch");
  const commands = sessionCommands(await mon.stop());
  assert.equal(res.status, 200);
  assertNoSetCookie(res);
  const body = await res.json();
  assert.equal(body.sessionID, s.sid);
  assert.equal(body.beersViewed, 1);
  assert.equal(body.error, null);

  // express-session + connect-redis: GET, then touch = EXPIRE 60, no SET
  // (the worker's EXPIRE after the answer).
  assert.deepEqual(commands, [["GET", s.key], ["EXPIRE", s.key, "60"]]);
  assert.deepEqual(await rawGet(redis, s.key), stored, "document must be byte-identical");
  assertTtl60(await redis.ttl(s.key), "TTL after touch");
});

test("pour increments views 1, 2, 3; same cookie value, fresh Expires, expires moves forward", async () => {
  const s = await newSession();
  let lastExpires = expiresOf(await redis.get(s.key));
  let lastHeaderExpires = s.expires;
  for (const n of [1, 2, 3]) {
    // Over a second apart once, so the Expires attribute itself must change.
    await sleep(n === 2 ? 1100 : 20);
    const mon = await startMonitor(redis);
    const res = await pour(s.cookie);
    const commands = sessionCommands(await mon.stop());
    assert.equal(res.status, 200);
    const sc = parseSetCookie(res);
    assert.equal(sc.pair, s.cookie, "same cookie value on every save");
    const body = await res.json();
    assert.equal(body.sessionID, s.sid);
    assert.equal(body.beersViewed, n);
    assert.equal(typeof body.beerName, "string");
    assert.equal(typeof body.beerStyle, "string");
    assert.equal(body.error, null);

    assert.deepEqual(commands, [["GET", s.key], ["SET", s.key, "EX", "60"]]);
    const doc = await redis.get(s.key);
    const expires = expiresOf(doc);
    assert.equal(doc, freshDoc(expires).slice(0, -1) + `,"views":${n}}`);
    assert.ok(Date.parse(expires) > Date.parse(lastExpires), `expires did not move: ${lastExpires} -> ${expires}`);
    assert.equal(sc.expires, imfOf(expires));
    if (n === 2) assert.notEqual(sc.expires, lastHeaderExpires, "Expires attribute must be fresh");
    assertTtl60(await redis.ttl(s.key));
    lastExpires = expires;
    lastHeaderExpires = sc.expires;
  }
  assert.equal(await redis.dbSize(), 1);
});

test("forged, altered, unsigned or unprefixed cookies start a new session and never reach the victim's key", async () => {
  const victim = await newSession();
  await pour(victim.cookie).then((r) => r.arrayBuffer());
  await redis.expire(victim.key, 30); // a touch would bring this back to 60
  const stored = await rawGet(redis, victim.key);

  const value = signed(victim.sid); // s:<sid>.<sig>
  const dot = value.lastIndexOf(".");
  const sig = value.slice(dot + 1);
  const flip = (c) => (c === "A" ? "B" : "A");
  const otherSid = victim.sid.slice(0, -1) + (victim.sid.endsWith("0") ? "1" : "0");
  const cases = {
    "signature with one character changed": `s:${victim.sid}.${flip(sig[0])}${sig.slice(1)}`,
    "sid with one character changed, signature kept": `s:${otherSid}.${sig}`,
    "unsigned sid": victim.sid,
    "signed value without the s: prefix": `${victim.sid}.${sig}`,
    "signature cut short": `s:${victim.sid}.${sig.slice(0, -1)}`,
    "signature of another secret": signed(victim.sid, "another secret"),
  };
  const seen = new Set([victim.sid]);
  for (const [name, raw] of Object.entries(cases)) {
    const mon = await startMonitor(redis);
    const res = await getSession(`_redisDemo=${encodeURIComponent(raw)}`);
    const commands = sessionCommands(await mon.stop());
    assert.equal(res.status, 200, name);
    const sc = parseSetCookie(res);
    assert.ok(!seen.has(sc.sid), `${name}: sid ${sc.sid} reused`);
    assert.notEqual(sc.sid, otherSid, name);
    seen.add(sc.sid);
    const body = await res.json();
    assert.equal(body.sessionID, sc.sid, name);
    assert.equal(body.beersViewed, undefined, `${name}: the victim's data leaked`);
    // Only the new session is written; the store is not asked about the forged id.
    assert.deepEqual(commands, [["SET", key(sc.sid), "EX", "60"]], name);
    assert.equal(await redis.exists(key(otherSid)), 0, name);
  }
  assert.deepEqual(await rawGet(redis, victim.key), stored, "victim's document changed");
  const ttl = await redis.ttl(victim.key);
  assert.ok(ttl > 0 && ttl <= 30, `victim's TTL was reset: ${ttl}`);
});

test("a validly signed sid unknown to the store gets a fresh sid, never the client's", async () => {
  const chosen = randomUUID();
  const mon = await startMonitor(redis);
  const res = await pour(cookieFor(chosen));
  const commands = sessionCommands(await mon.stop());
  assert.equal(res.status, 200);
  const sc = parseSetCookie(res);
  assert.notEqual(sc.sid, chosen);
  assert.match(sc.sid, UUID_V4);
  const body = await res.json();
  assert.equal(body.sessionID, sc.sid);
  assert.equal(body.beersViewed, 1);
  assert.deepEqual(commands, [["GET", key(chosen)], ["SET", key(sc.sid), "EX", "60"]]);
  assert.equal(await redis.exists(key(chosen)), 0);
  assert.deepEqual(await redis.keys("*"), [key(sc.sid)]);
});

test("express-session's default 32-character base64url sids are accepted", async () => {
  // express-session's own genid: uid-safe(24), base64url.
  const sid = "Xk3p_-9QzA0bC1dE2fG3hI4jK5lM6nO7";
  const doc = freshDoc(new Date(Date.now() + 60000).toISOString()).slice(0, -1) + ',"views":4}';
  await redis.set(key(sid), doc, { expiration: { type: "EX", value: 60 } });
  const res = await pour(cookieFor(sid));
  assert.equal(res.status, 200);
  const sc = parseSetCookie(res);
  assert.equal(sc.sid, sid);
  assert.equal((await res.json()).beersViewed, 5);
  assert.match(await redis.get(key(sid)), /,"views":5\}$/);
});

test("a live key whose stored expires is in the past is still a valid session (Redis TTL is the authority)", async () => {
  const sid = randomUUID();
  const past = new Date(Date.now() - 600_000).toISOString();
  const doc = freshDoc(past).slice(0, -1) + ',"views":2}';
  await redis.set(key(sid), doc, { expiration: { type: "EX", value: 30 } });
  const res = await getSession(cookieFor(sid));
  assert.equal(res.status, 200);
  // Read-only: express-session sends no cookie (rolling false, unmodified).
  assertNoSetCookie(res);
  const body = await res.json();
  assert.equal(body.sessionID, sid);
  assert.equal(body.beersViewed, 2);
  // Like the cookie's maxAge getter in Node: negative.
  assert.ok(body.sessionExpireTime < -599 && body.sessionExpireTime > -610, `sessionExpireTime ${body.sessionExpireTime}`);
  assert.equal(await redis.get(key(sid)), doc);
  assertTtl60(await redis.ttl(key(sid)));
});

for (const withViews of [true, false]) {
  test(`a foreign document survives a pour byte for byte (views ${withViews ? "updated in place" : "appended"})`, async () => {
    const sid = randomUUID();
    const { doc, expires } = foreignDocument({ withViews });
    await redis.set(key(sid), doc, { expiration: { type: "EX", value: 30 } });

    const before = Date.now();
    const res = await pour(cookieFor(sid));
    const after = Date.now();
    assert.equal(res.status, 200);
    const sc = parseSetCookie(res);
    assert.equal(sc.sid, sid);
    const body = await res.json();
    assert.equal(body.error, null);
    assert.equal(body.beersViewed, withViews ? 8 : 1);

    const stored = (await rawGet(redis, key(sid))).toString("utf8");
    const newExpires = expiresOf(stored);
    // originalMaxAge comes from the document (59999), not from the configuration.
    const t = Date.parse(newExpires) - 59999;
    assert.ok(t >= before - 5 && t <= after + 5, `expires ${newExpires} is not now + 59999 ms`);
    let expected = doc.replace(`"expires":"${expires}"`, `"expires":"${newExpires}"`);
    expected = withViews ? expected.replace('"views":7', '"views":8') : expected.slice(0, -1) + ',"views":1}';
    assert.deepEqual(await rawGet(redis, key(sid)), Buffer.from(expected, "utf8"));
    assert.equal(sc.expires, imfOf(newExpires));
    assertTtl60(await redis.ttl(key(sid)));
  });
}

test("a corrupt stored document: 200, new session, error message, the corrupt key left as it was", async () => {
  const sid = randomUUID();
  await redis.set(key(sid), "{not json", { expiration: { type: "EX", value: 300 } });
  for (const method of ["GET", "POST"]) {
    const mon = await startMonitor(redis);
    const res = await (method === "GET" ? getSession(cookieFor(sid)) : pour(cookieFor(sid)));
    const commands = sessionCommands(await mon.stop());
    assert.equal(res.status, 200, method);
    const sc = parseSetCookie(res);
    assert.notEqual(sc.sid, sid, method);
    const body = await res.json();
    assert.equal(body.sessionID, sc.sid);
    assert.equal(typeof body.error, "string", `${method}: error must name the problem`);
    assert.ok(body.error.length > 0);
    assert.equal(body.beersViewed, method === "POST" ? 1 : undefined);
    // Read once, then only the new session is written.
    assert.deepEqual(commands, [["GET", key(sid)], ["SET", key(sc.sid), "EX", "60"]], method);
    assert.equal(await redis.get(key(sid)), "{not json");
    const ttl = await redis.ttl(key(sid));
    assert.ok(ttl > 250 && ttl <= 300, `corrupt key's TTL changed: ${ttl}`);
  }
});

test("store down (REST server stopped): 503 JSON, no Set-Cookie, Redis unchanged", async () => {
  // A private upstash-local on the shared Redis, so the shared stack survives.
  const upstash = await startUpstashLocal({ redisUrl: stack.redis.url });
  const worker = await startWorker({ upstashUrl: upstash.url });
  try {
    const s = await newSession(worker);
    await pour(s.cookie, worker).then((r) => r.arrayBuffer());
    await redis.expire(s.key, 30);
    const stored = await rawGet(redis, s.key);
    const size = await redis.dbSize();
    await upstash.stop();

    const t0 = Date.now();
    await assertJsonError(await pour(s.cookie, worker), 503, /store/i);
    await assertJsonError(await getSession(s.cookie, worker), 503);
    await assertJsonError(await getSession(null, worker), 503);
    assert.ok(Date.now() - t0 < 10_000);

    assert.equal(await redis.dbSize(), size);
    assert.deepEqual(await rawGet(redis, s.key), stored);
    const ttl = await redis.ttl(s.key);
    assert.ok(ttl > 0 && ttl <= 30, `TTL was reset: ${ttl}`);
  } finally {
    await worker.stop();
    await upstash.stop();
  }
});

test("store down (nothing listens at the REST URL, or Redis behind it is down): 503", async () => {
  const port = await freePort();
  const closed = await startWorker({ upstashUrl: `http://127.0.0.1:${port}` });
  const ownRedis = await startRedis();
  const upstash = await startUpstashLocal({ redisUrl: ownRedis.url });
  const behind = await startWorker({ upstashUrl: upstash.url });
  try {
    await assertJsonError(await pour(cookieFor(randomUUID()), closed), 503);
    await assertJsonError(await getSession(null, closed), 503);
    await ownRedis.stop();
    await assertJsonError(await getSession(null, behind), 503);
    assert.equal(await redis.dbSize(), 0);
  } finally {
    await closed.stop();
    await behind.stop();
    await upstash.stop();
    await ownRedis.stop();
  }
});

test("a rejected REST token: 503, nothing written", async () => {
  const worker = await startWorker({ upstashUrl: stack.upstash.url, token: `${TOKEN}-wrong` });
  try {
    await assertJsonError(await getSession(null, worker), 503);
    assert.equal(await redis.dbSize(), 0);
  } finally {
    await worker.stop();
  }
});

test("a store that accepts and never answers: 503 after SESSION_STORE_TIMEOUT_MS", async () => {
  const silent = await silentServer();
  const worker = await startWorker({ upstashUrl: silent.url, vars: { SESSION_STORE_TIMEOUT_MS: "500" } });
  try {
    const t0 = Date.now();
    const res = await pour(cookieFor(randomUUID()), worker);
    const elapsed = Date.now() - t0;
    await assertJsonError(res, 503);
    assert.ok(silent.accepted() >= 1, "the worker never connected");
    assert.ok(elapsed >= 450 && elapsed < 3000, `answered after ${elapsed} ms`);
  } finally {
    await worker.stop();
    await silent.stop();
  }
});

test("an oversized Cookie header is refused with 400 before any store traffic", async () => {
  const s = await newSession();
  const mon = await startMonitor(redis);
  const res = await getSession(`${s.cookie}; pad=${"x".repeat(10 * 1024)}`);
  const commands = await mon.stop();
  await assertJsonError(res, 400);
  assert.deepEqual(sessionCommands(commands), []);
  // Just under the limit is still served (in cookies of at most 4096 bytes
  // each, the limit of one cookie: tests/e2e/hostile-input.test.mjs).
  const header = `${s.cookie}; pad=${"x".repeat(4000)}; pad2=`;
  const ok = await getSession(header + "x".repeat(8192 - header.length));
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).sessionID, s.sid);
});

test("wrong methods answer 405 with Allow, unknown API paths 404, without store traffic", async () => {
  const s = await newSession();
  const mon = await startMonitor(redis);
  const pourGet = await stack.worker.fetch("/api/pour", { headers: { cookie: s.cookie } });
  await assertJsonError(pourGet, 405);
  assert.equal(pourGet.headers.get("allow"), "POST");
  const sessionPost = await stack.worker.fetch("/api/session", { method: "POST", headers: { cookie: s.cookie } });
  await assertJsonError(sessionPost, 405);
  const allow = sessionPost.headers.get("allow").split(/,\s*/);
  assert.ok(allow.includes("GET") && !allow.includes("POST"), `Allow: ${allow}`);
  for (const [method, path] of [["GET", "/api/x"], ["POST", "/api/x"], ["GET", "/api/sessionz"]]) {
    await assertJsonError(await stack.worker.fetch(path, { method, headers: { cookie: s.cookie } }), 404);
  }
  assert.deepEqual(sessionCommands(await mon.stop()), []);
});

test("API responses are application/json; charset=utf-8, like Express's res.json", async () => {
  const ok = await getSession(null);
  assert.equal(ok.headers.get("content-type"), "application/json; charset=utf-8");
  const notFound = await stack.worker.fetch("/api/x");
  assert.equal(notFound.headers.get("content-type"), "application/json; charset=utf-8");
});

test("a body over 16 KiB is refused with 413 even without Content-Length (chunked)", async () => {
  const chunk = new Uint8Array(4096).fill(97);
  let sent = 0;
  const body = new ReadableStream({
    pull(controller) {
      // 20 KiB in all: over the limit, and all of it read before the answer
      // (a client still writing when the server answers sees a broken pipe).
      if (sent >= 5) return controller.close();
      sent++;
      controller.enqueue(chunk);
    },
  });
  const res = await stack.worker.fetch("/api/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body,
    duplex: "half",
  });
  assert.equal(res.headers.get("content-length") === null || Number(res.headers.get("content-length")) < 1000, true);
  await assertJsonError(res, 413, /at most 16384/);
  assert.equal(await redis.dbSize(), 0, "nothing stored");
});

test("a misconfigured worker answers 500 JSON naming the variable", async () => {
  const cases = [
    [{ SESSION_SECRET: "" }, "SESSION_SECRET"],
    [{ SESSION_MAX_AGE_MS: "abc" }, "SESSION_MAX_AGE_MS"],
    [{ UPSTASH_REDIS_REST_URL: "redis://127.0.0.1:6379" }, "UPSTASH_REDIS_REST_URL"],
    // Cookie prefixes (RFC 6265bis §4.1.3) whose rules the options break: a browser would drop the cookie.
    [{ SESSION_COOKIE_NAME: "__Host-sid" }, "SESSION_COOKIE_NAME"],
    [{ SESSION_COOKIE_NAME: "__Secure-sid", SESSION_COOKIE_SECURE: "auto" }, "SESSION_COOKIE_NAME"],
    [{ SESSION_COOKIE_NAME: "__Host-sid", SESSION_COOKIE_SECURE: "true", SESSION_COOKIE_PATH: "/api" }, "SESSION_COOKIE_NAME"],
    [{ SESSION_COOKIE_NAME: "__Host-sid", SESSION_COOKIE_SECURE: "true", SESSION_COOKIE_DOMAIN: "example.com" }, "SESSION_COOKIE_NAME"],
    // A signing secret under 32 bytes in production (the default): express-session's own "keyboard cat".
    [{ SESSION_ENVIRONMENT: "production" }, "SESSION_SECRET"],
    [{ SESSION_ENVIRONMENT: "prod" }, "SESSION_ENVIRONMENT"],
  ];
  for (const [vars, name] of cases) {
    const worker = await startWorker({ upstashUrl: stack.upstash.url, vars });
    try {
      for (const res of [await getSession(null, worker), await pour(cookieFor(randomUUID()), worker)]) {
        const { error } = (await assertJsonError(res, 500)).body;
        assert.ok(error.includes(name), `error does not name ${name}: ${error}`);
        // The bad value itself goes to the log only (a URL may hold a credential).
        assert.ok(!error.includes("redis://") && !error.includes("abc"), `error echoes the value: ${error}`);
      }
    } finally {
      await worker.stop();
    }
  }
  assert.equal(await redis.dbSize(), 0);
});

test("[vars] written unquoted (TOML numbers and booleans) mean what the quoted strings do: SESSION_MAX_AGE_MS = 3600000, SESSION_COOKIE_SECURE = true", async () => {
  const worker = await startWorker({ upstashUrl: stack.upstash.url, vars: { SESSION_MAX_AGE_MS: 3600000, SESSION_COOKIE_SECURE: true } });
  try {
    const res = await worker.fetch("https://beer.example/api/session");
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const [line] = res.headers.getSetCookie();
    assert.match(line, /; Secure/, line);
    const sid = JSON.parse(text).sessionID;
    assert.equal(JSON.parse(await redis.get(`sess:${sid}`)).cookie.originalMaxAge, 3600000);
    const ttl = await redis.ttl(`sess:${sid}`);
    assert.ok(ttl > 3500 && ttl <= 3600, `TTL ${ttl}`);
  } finally {
    await worker.stop();
  }
});

test("[vars] of a type the option does not take are refused naming the variable: a number for a name, a boolean for a word, a table, an array", async () => {
  for (const [vars, name, got, takes] of [
    [{ SESSION_COOKIE_NAME: 5 }, "SESSION_COOKIE_NAME", "a number", "a string (quote it)"],
    [{ SESSION_COOKIE_PRIORITY: true }, "SESSION_COOKIE_PRIORITY", "a boolean", "one of its words, as a string"],
    [{ SESSION_MAX_AGE_MS: { ms: 60000 } }, "SESSION_MAX_AGE_MS", "a table", "a number or a string"],
    [{ AUTH_CONTEXT_WORDS: ["shop", "example"] }, "AUTH_CONTEXT_WORDS", "an array", "a string (quote it)"],
    [{ DEMO_ROUTES: [true] }, "DEMO_ROUTES", "an array", "true or false"],
  ]) {
    const worker = await startWorker({ upstashUrl: stack.upstash.url, vars });
    try {
      const res = await worker.fetch("/api/session");
      const body = await res.json();
      assert.equal(res.status, 500);
      assert.equal(body.error, `worker misconfigured: ${name} is ${got} in [vars]; it takes ${takes}`);
    } finally {
      await worker.stop();
    }
  }
});

test("SESSION_SECRET strength: a production worker with a 32-byte signing secret serves, an old weak secret still verifies its cookies while a rotation lasts", async () => {
  const strong = "0123456789abcdef0123456789abcdef";
  const worker = await startWorker({ upstashUrl: stack.upstash.url, vars: { SESSION_ENVIRONMENT: "production", SESSION_SECRET: `${strong},keyboard cat` } });
  try {
    const first = await getSession(null, stack.worker); // signed with "keyboard cat" (development)
    const { sid, pair } = parseSetCookie(first);
    const res = await getSession(pair, worker);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.equal(JSON.parse(text).sessionID, sid, "the old secret verifies");
    const fresh = parseSetCookie(await getSession(null, worker), strong);
    assert.equal(fresh.pair, cookieFor(fresh.sid, strong), "new cookies are signed with the strong one");
  } finally {
    await worker.stop();
  }
});

test("an Origin with the scheme's default port is the same origin (RFC 6454): POST https://beer.example/api/pour from https://beer.example:443", async () => {
  const post = (origin) =>
    stack.worker.fetch("https://beer.example/api/pour", { method: "POST", headers: { Origin: origin } });
  const same = await post("https://beer.example:443");
  assert.equal(same.status, 200, await same.text());
  assert.equal((await post("HTTPS://BEER.EXAMPLE")).status, 200);
  await assertJsonError(await post("https://beer.example:8443"), 403);
  await assertJsonError(await post("http://beer.example:443"), 403);
});

test("a store that applies a save at once but answers after 3 s: 503 'outcome unknown' at SESSION_STORE_TIMEOUT_MS=1500, and the write did land", async () => {
  // A proxy in front of upstash-local that forwards every request at once
  // and holds back only the answers to saves (the compare-and-set script)
  // for 3 s: the store has applied the write by the time the worker gives
  // up on it.
  const { createServer } = await import("node:http");
  const proxy = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString();
    const headers = { ...req.headers };
    delete headers.host;
    delete headers["content-length"];
    const answer = await fetch(stack.upstash.url + req.url, { method: req.method, headers, body });
    const text = await answer.text();
    const command = String(JSON.parse(body)[0] ?? "").toUpperCase();
    if (["EVALSHA", "EVAL"].includes(command)) await sleep(3000);
    res.writeHead(answer.status, Object.fromEntries(answer.headers));
    res.end(text);
  });
  proxy.listen(0, "127.0.0.1");
  await new Promise((r) => proxy.once("listening", r));
  const slow = await startWorker({
    upstashUrl: `http://127.0.0.1:${proxy.address().port}`,
    vars: { SESSION_STORE_TIMEOUT_MS: "1500" },
  });
  try {
    const first = await stack.worker.fetch("/api/pour", { method: "POST" });
    const cookie = parseSetCookie(first).pair;
    const sid = parseSetCookie(first).sid;
    const started = Date.now();
    const res = await slow.fetch("/api/pour", { method: "POST", headers: { Cookie: cookie } });
    const answer = await assertJsonError(res, 503, /did not answer in time; your change may or may not have been saved/);
    assert.ok(Date.now() - started < 2900, "the worker gave up at its timeout, not at the store's answer");
    assert.equal(answer.body.retryAfter, 5);
    await sleep(200);
    assert.equal(JSON.parse(await redis.get(`sess:${sid}`)).views, 2, "the write the store received landed: what the answer says");
  } finally {
    await slow.stop();
    proxy.closeAllConnections();
    await new Promise((r) => proxy.close(r));
  }
});

test("Server-Timing on every answer: how the session was found, the store round trips and their time", async () => {
  const timing = (res) => res.headers.get("server-timing");
  const shape = (outcome, trips) =>
    new RegExp(`^session;desc="${outcome}", store;desc="${trips} round trips?";dur=\\d+\\.\\d$`);
  // The first save of a fresh store also loads the script (EVALSHA, then EVAL).
  await stack.worker.fetch("/api/pour", { method: "POST" });
  const first = await stack.worker.fetch("/api/pour", { method: "POST" });
  assert.match(timing(first), shape("new", 1), "a new session: one save");
  const { pair } = parseSetCookie(first);
  const read = await stack.worker.fetch("/api/session", { headers: { Cookie: pair } });
  assert.match(timing(read).replace(/, deferred;desc="1"$/, ""), shape("hit", 1), "a read: the GET; the touch after the answer");
  assert.match(timing(read), /, deferred;desc="1"$/);
  const forged = await stack.worker.fetch("/api/session", { headers: { Cookie: pair.replace("s%3A", "s%3AX") } });
  assert.match(timing(forged), shape("tampered", 1));
  const unknown = await stack.worker.fetch("/api/session", { headers: { Cookie: cookieFor(randomUUID()) } });
  assert.match(timing(unknown), shape("miss", 2), "the GET, then the new session's save");
  const wrong = await stack.worker.fetch("/api/session", { method: "DELETE" });
  assert.equal(timing(wrong), 'store;desc="0 round trips";dur=0.0', "answered before the session is looked for");
});

test("a __Host- cookie with the production settings: Secure, Path=/, no Domain, over https", async () => {
  const worker = await startWorker({
    upstashUrl: stack.upstash.url,
    vars: { SESSION_COOKIE_NAME: "__Host-sid", SESSION_COOKIE_SECURE: "true", SESSION_COOKIE_SAMESITE: "lax" },
  });
  try {
    const res = await worker.mf.dispatchFetch("https://beer.example/api/session");
    assert.equal(res.status, 200);
    const [line] = res.headers.getSetCookie();
    assert.match(line, /^__Host-sid=s%3A[^;]+; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=Lax$/);
    await res.arrayBuffer();
  } finally {
    await worker.stop();
  }
});

test("every answer carries X-Content-Type-Options: nosniff, Content-Security-Policy: frame-ancestors 'none' and Referrer-Policy: no-referrer (200, 404, 405, 413, 503, a misconfigured 500)", async () => {
  const check = async (what, res, status) => {
    assert.equal(res.status, status, what);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff", what);
    assert.equal(res.headers.get("content-security-policy"), "frame-ancestors 'none'", what);
    assert.equal(res.headers.get("referrer-policy"), "no-referrer", what);
    // No CORS: the API is same-origin only (ASVS V3.4.2).
    assert.equal(res.headers.get("access-control-allow-origin"), null, what);
  };
  await check("200", await getSession(null), 200);
  await check("404", await request(stack.worker, "/api/nothing"), 404);
  await check("405", await request(stack.worker, "/api/pour"), 405);
  await check("413", await request(stack.worker, "/api/pour", { method: "POST", body: "x".repeat(17 * 1024), headers: { "content-type": "text/plain" } }), 413);
  const down = await startWorker({ upstashUrl: `http://127.0.0.1:${await freePort()}` });
  const broken = await startWorker({ upstashUrl: stack.upstash.url, vars: { SESSION_SECRET: "" } });
  try {
    await check("503", await getSession(null, down), 503);
    await check("500", await getSession(null, broken), 500);
  } finally {
    await down.stop();
    await broken.stop();
  }
});
