// Counts are tests, not benchmarks (issue 10, point 3): the store round trips
// the real built worker (build/, in workerd) makes before its response, for
// each row of the budget table, counted by upstash-local (`--stats`, in front
// of a real redis-server) and checked against the worker's own count in
// Server-Timing. Counts are deterministic, so they are asserted exactly.
//
// For each request of a row: the setup it needs (a session, a logged-in
// user), a pause for anything the setup left running, the counts reset, the
// one request, the counts read right after its answer. upstash-local counts
// a call when its answer is ready, so every call the worker waited for is
// in; a touch deferred past the response (Workers' waitUntil) is kept out by
// holding every EXPIRE back for DELAY_MS (the fault switch), and is listed in
// the diagnostics as "after the response". The script cache is warmed first
// (every request once, unmeasured), so EVALSHA → NOSCRIPT → EVAL is not
// counted.
//
// Every EXPIRE is held back, so a rate-limit hit's EXPIRE NX (register,
// login) makes those answers DELAY_MS slower; it is counted all the same,
// since the worker waits for it. (With the demo's resave: false, the touch
// is the only deferred write.)
//
// A logged-in browser sends its companion cookies too (`<name>.user`,
// `<name>.sync`), as every browser does: the reads of a logged-in request
// are folded into the session's own round trip by them.
//
//   node --test --test-concurrency=1 tests/e2e/round-trips.test.mjs
//
// Prerequisites: build/index.js (scripts/build.sh), target/release/upstash-local.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { createHash } from "node:crypto";
import { once } from "node:events";
import {
  COOKIE_NAME,
  allSetCookieLines,
  cookieFor,
  cookiePair,
  parseSetCookie,
  request,
  resetStoreStats,
  setFault,
  sleep,
  startStack,
  startWorker,
  storeStats,
} from "../support/index.mjs";
// The budget and the commands of each call: shared with bench/latency-model.mjs.
import { BUDGET, CALLS } from "../support/round-trips.mjs";

/** The command a deferred touch sends (connect-redis's touch), held back this long by upstash-local. */
const DEFERRED = "EXPIRE";
const DELAY_MS = 500;
/** How long to wait for what a request left running (deferred calls) before the next reset. */
const SETTLE_MS = DELAY_MS + 400;

const PASSWORD = "correct horse battery";
const SAME_ORIGIN = { "sec-fetch-site": "same-origin" };

let stack;
/** A worker with BEER_API_URL set, on the same store, and its fake upstream (node:http). */
let beerWorker;
let beerUpstream;

/** A fake beer API on a free port of 127.0.0.1: { url, stop() }. */
async function startBeerUpstream() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify([{ name: "Punk IPA", tagline: "Post Modern Classic" }]));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${server.address().port}/beers`,
    stop: () => new Promise((r) => (server.closeAllConnections(), server.close(r))),
  };
}

before(async () => {
  stack = await startStack({ upstashArgs: ["--stats", "--fault-injection"], assets: true });
  beerUpstream = await startBeerUpstream();
  beerWorker = await startWorker({ upstashUrl: stack.upstash.url, vars: { BEER_API_URL: beerUpstream.url } });
  await setFault(stack.upstash, { mode: "delay", delay_ms: DELAY_MS, only: DEFERRED });
  // Warm the script cache: every request once, unmeasured.
  for (const { setup, send } of ROWS.flatMap((row) => row.requests)) await send(await setup());
  await sleep(SETTLE_MS);
});

after(async () => {
  await beerWorker?.stop();
  await beerUpstream?.stop();
  await stack?.stop();
});

// ---------------------------------------------------------------------------
// The requests, as a browser on the demo page sends them

const get = (path, cookie) => request(stack.worker, path, { cookie });
const post = (path, { cookie, json, ip } = {}) =>
  request(stack.worker, path, { method: "POST", cookie, json, ip, headers: SAME_ORIGIN });

/** Asserts an answer's status; returns the answer. */
const expect = (status) => (res) => {
  assert.equal(res.status, status, res.text);
  return res;
};

/**
 * The Cookie header a browser sends after `res`, having sent `cookie`: every
 * cookie it holds, the session's and its companions (`<name>.user`,
 * `<name>.sync`), as Set-Cookie lines replace or clear them.
 */
function browserCookies(cookie, res) {
  const jar = new Map((cookie ? cookie.split("; ") : []).map((pair) => [pair.split("=")[0], pair]));
  for (const line of allSetCookieLines(res)) {
    const pair = cookiePair(line);
    const name = pair.split("=")[0];
    if (pair.length > name.length + 1) jar.set(name, pair);
    else jar.delete(name);
  }
  return [...jar.values()].join("; ");
}

/** A new anonymous session: { sid, cookie }. */
async function visitor() {
  const res = await get("/api/session").then(expect(200));
  return { sid: parseSetCookie(res).sid, cookie: browserCookies("", res) };
}

let users = 0;
/** A new user's name and address (a fresh address each: registrations are limited per address). */
function newUser() {
  users += 1;
  return { name: `tripper${users}`, ip: `203.0.113.${users % 250}` };
}

const register = ({ cookie, name, ip }) =>
  post("/api/register", { cookie, json: { username: name, password: PASSWORD }, ip }).then(expect(201));
const login = ({ cookie, name, ip }) =>
  post("/api/login", { cookie, json: { username: name, password: PASSWORD }, ip }).then(expect(200));

/** A visitor about to register as a new user: { sid, cookie, name, ip }. */
const newcomer = async () => ({ ...(await visitor()), ...newUser() });

/** A visitor who registered a new user (and is logged in by it): { sid, cookie, name, ip }. */
async function registered() {
  const r = await newcomer();
  const res = await register(r);
  return { ...r, sid: parseSetCookie(res).sid, cookie: browserCookies(r.cookie, res) };
}

/** A registered user, logged in: { sid, cookie, name, ip }. */
async function loggedIn() {
  const r = await registered();
  const res = await login(r);
  return { ...r, sid: parseSetCookie(res).sid, cookie: browserCookies(r.cookie, res) };
}

/** A user who logged in and out again (the old id is still in the user's index): { sid, cookie, name, ip }. */
async function loggedOut() {
  const u = await loggedIn();
  const res = await post("/api/logout", { cookie: u.cookie }).then(expect(200));
  return { ...u, sid: parseSetCookie(res).sid, cookie: browserCookies(u.cookie, res) };
}

/** A user logged in on two browsers: the first's { sid, cookie, name, ip } and the handle of the other's session. */
async function twoBrowsers() {
  const u = await loggedIn();
  await login({ ...u, cookie: undefined });
  const list = await get("/api/sessions", u.cookie).then(expect(200));
  const other = list.body.sessions.find((s) => !s.current);
  assert.ok(other, `two sessions listed: ${list.text}`);
  return { ...u, handle: other.handle };
}

const read = ({ cookie }) => get("/api/session", cookie).then(expect(200));
const page = ({ cookie }) => get("/", cookie).then(expect(200));
const pour = ({ cookie }) => post("/api/pour", { cookie }).then(expect(200));

/**
 * The rows of the budget table, each with its requests: `setup()` makes
 * what the request needs, `send(ctx)` sends it; a row with more than one
 * kind of request (`label`) measures each on its own.
 */
const ROWS = [
  { name: "first visit, no cookie", requests: [{ setup: async () => ({}), send: read }] },
  {
    name: "tampered or unsigned cookie",
    requests: [
      { label: "tampered", setup: visitor, send: ({ sid }) => read({ cookie: cookieFor(sid, "not the secret") }) },
      { label: "unsigned", setup: visitor, send: ({ sid }) => read({ cookie: `${COOKIE_NAME}=${sid}` }) },
    ],
  },
  { name: "read, valid cookie", requests: [{ setup: visitor, send: read }] },
  { name: "read, logged in", requests: [{ setup: loggedIn, send: read }] },
  { name: "pour", requests: [{ setup: visitor, send: pour }] },
  { name: "pour, logged in", requests: [{ setup: loggedIn, send: pour }] },
  { name: "register", requests: [{ setup: newcomer, send: register }] },
  {
    name: "login",
    requests: [
      { label: "a first login", setup: registered, send: login },
      { label: "again after a logout", setup: loggedOut, send: login },
    ],
  },
  { name: "logout", requests: [{ setup: loggedIn, send: ({ cookie }) => post("/api/logout", { cookie }).then(expect(200)) }] },
  {
    name: "logout everywhere",
    requests: [{ setup: loggedIn, send: ({ cookie }) => post("/api/logout-all", { cookie }).then(expect(200)) }],
  },
  { name: "signed-in sessions", requests: [{ setup: twoBrowsers, send: ({ cookie }) => get("/api/sessions", cookie).then(expect(200)) }] },
  {
    name: "end one session",
    requests: [{ setup: twoBrowsers, send: ({ cookie, handle }) => post(`/api/sessions/${handle}/logout`, { cookie }).then(expect(200)) }],
  },
  {
    name: "log out the others",
    requests: [{ setup: twoBrowsers, send: ({ cookie }) => post("/api/logout-others", { cookie }).then(expect(200)) }],
  },
  { name: "the page, first visit", requests: [{ setup: async () => ({}), send: page }] },
  { name: "the page, logged in", requests: [{ setup: loggedIn, send: page }] },
  { name: "the page, logged in on two browsers", requests: [{ setup: twoBrowsers, send: page }] },
];

// ---------------------------------------------------------------------------
// Measuring

/** The worker's own count of this request's store round trips, from Server-Timing. */
function serverTimingTrips(res) {
  const header = res.headers.get("server-timing") ?? "";
  const m = header.match(/store;desc="(\d+) round trips?"/);
  assert.ok(m, `no store round trips in Server-Timing: ${JSON.stringify(header)}`);
  return Number(m[1]);
}

/** Calls as text: the commands of one call joined by "+", calls by " | ". */
const callsText = (calls) => (calls.length ? calls.map((c) => c.join("+") || "(no command)").join(" | ") : "none");

/**
 * One measured request: the counts reset, `send(ctx)`, the counts read at
 * once; then, after SETTLE_MS, what came after the response. Resolves with
 * { res, stats, after (the calls after the response) }.
 */
async function measure(send, ctx) {
  await resetStoreStats(stack.upstash);
  const res = await send(ctx);
  const stats = await storeStats(stack.upstash);
  await sleep(SETTLE_MS);
  const later = await storeStats(stack.upstash);
  return { res, stats, after: later.calls.slice(stats.calls.length) };
}

for (const row of ROWS) {
  const budget = BUDGET[row.name];
  test(`${row.name}: ${budget} round trip${budget === 1 ? "" : "s"} before the response`, async (t) => {
    for (const { label, setup, send } of row.requests) {
      const name = label ? `${row.name}: ${label}` : row.name;
      const ctx = await setup();
      await sleep(SETTLE_MS);
      const { res, stats, after } = await measure(send, ctx);
      t.diagnostic(
        `${name}: ${stats.http_calls} HTTP calls, ${stats.commands} commands: ${callsText(stats.calls)}; ` +
          `after the response: ${callsText(after)}; Server-Timing: ${res.headers.get("server-timing")}`,
      );
      assert.equal(stats.calls.length, stats.http_calls);
      assert.equal(stats.commands, stats.calls.flat().length);
      assert.equal(serverTimingTrips(res), stats.http_calls, `${name}: the worker's Server-Timing counts what upstash-local counts`);
      await t.test(`${name}: ${budget}`, () => {
        assert.equal(stats.http_calls, budget, `round trips before the response: ${callsText(stats.calls)}`);
        assert.deepEqual(stats.calls, CALLS[name], `the commands of each call: ${callsText(stats.calls)}`);
      });
    }
  });
}

// ---------------------------------------------------------------------------
// The deferred touch

test(
  `the touch of a read with a valid cookie comes after the response: held back ${DELAY_MS} ms, the ${DEFERRED} reaches Redis after the answer, within 2 s`,
  async () => {
    const { cookie, sid } = await visitor();
    await sleep(SETTLE_MS);
    await resetStoreStats(stack.upstash);
    const ttlBefore = await stack.redis.client.pTTL(`sess:${sid}`);
    const started = Date.now();
    await read({ cookie });
    const answeredIn = Date.now() - started;
    const atAnswer = await storeStats(stack.upstash);
    assert.ok(
      !atAnswer.calls.flat().includes(DEFERRED),
      `the ${DEFERRED} reached Redis before the response (answered in ${answeredIn} ms; calls: ${callsText(atAnswer.calls)})`,
    );
    const deadline = Date.now() + 2000;
    let calls = atAnswer.calls;
    while (!calls.flat().includes(DEFERRED)) {
      assert.ok(Date.now() < deadline, `no ${DEFERRED} within 2 s of the response (calls: ${callsText(calls)})`);
      await sleep(20);
      calls = (await storeStats(stack.upstash)).calls;
    }
    const ttlAfter = await stack.redis.client.pTTL(`sess:${sid}`);
    assert.ok(ttlAfter > ttlBefore, `the touch reset the TTL (${ttlBefore} → ${ttlAfter} ms)`);
  },
);

test("the deferred touch of a logged-in read also keeps the user's session index alive, in the same call: EXPIRE of the session, EXPIRE … GT of the index", async () => {
  const u = await loggedIn();
  await sleep(SETTLE_MS);
  await resetStoreStats(stack.upstash);
  await read({ cookie: u.cookie });
  const deadline = Date.now() + 2000;
  let calls = [];
  while (!calls.flat().includes(DEFERRED)) {
    assert.ok(Date.now() < deadline, `no ${DEFERRED} within 2 s of the response (calls: ${callsText(calls)})`);
    await sleep(20);
    calls = (await storeStats(stack.upstash)).calls;
  }
  assert.deepEqual(calls, [["GET", "GET", "GET"], ["EXPIRE", "EXPIRE"]], callsText(calls));
});

// ---------------------------------------------------------------------------
// The beer API (BEER_API_URL): its cache travels with the session's calls

/** The Redis key of the beer cache (docs/PROTOCOL.md §6.4.1). */
const beerCacheKey = (url) => `beer-cache:${createHash("sha256").update(url).digest("hex").slice(0, 16)}`;

for (const [label, warm, calls] of [
  // The cache read with the session; the save alone.
  ["a cache hit", true, [["GET", "GET"], ["EVALSHA"]]],
  // The cache read (missing) with the session; the upstream called between
  // the two calls; the cache written with the save.
  ["a cache miss", false, [["GET", "GET"], ["EVALSHA", "SET"]]],
]) {
  test(`pour, BEER_API_URL set, ${label}: 2 round trips before the response, the cache in the session's calls`, async (t) => {
    const pourThere = (cookie) =>
      request(beerWorker, "/api/pour", { method: "POST", cookie, headers: SAME_ORIGIN }).then(expect(200));
    const first = await pourThere();
    const cookie = browserCookies("", first);
    if (!warm) await stack.redis.client.del(beerCacheKey(beerUpstream.url));
    await sleep(SETTLE_MS);
    const { res, stats } = await measure(pourThere, cookie);
    t.diagnostic(`${label}: ${callsText(stats.calls)}; Server-Timing: ${res.headers.get("server-timing")}`);
    assert.equal(res.body.beerSource, warm ? "cache" : "api");
    assert.equal(serverTimingTrips(res), stats.http_calls);
    assert.equal(stats.http_calls, 2, callsText(stats.calls));
    assert.deepEqual(stats.calls, calls, callsText(stats.calls));
  });
}
