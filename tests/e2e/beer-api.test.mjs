// The seed's caching bonus (issue 13, point 5) end to end: the real built
// worker (build/, in workerd) with BEER_API_URL pointing at a small fake
// upstream (node:http on a free port of 127.0.0.1, started and stopped
// here, counting its hits), on upstash-local and a real redis-server.
//
//   node --test tests/e2e/beer-api.test.mjs
//
// Prerequisites: build/index.js (scripts/build.sh), target/release/upstash-local.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import http from "node:http";
import { once } from "node:events";
import { assertJsonError, cookiePair, request, sleep, startStack, startWorker } from "../support/index.mjs";

const SAME_ORIGIN = { "sec-fetch-site": "same-origin" };

/** What the fake upstream answers on /beers, as a public beer API does. */
const BEERS = [
  { id: 1, name: "Punk IPA", tagline: "Post Modern Classic. Spiky. Tropical. Hoppy." },
  { id: 2, name: "Dead Pony Club", style: "Session Pale Ale", tagline: "Ignored: style wins." },
  { id: 3, name: "Hello My Name Is Ingrid" },
];
/** The same list as the worker caches it: [{name, style}]. */
const NORMALIZED = [
  { name: "Punk IPA", style: "Post Modern Classic. Spiky. Tropical. Hoppy." },
  { name: "Dead Pony Club", style: "Session Pale Ale" },
  { name: "Hello My Name Is Ingrid", style: null },
];
const NAMES = new Set(BEERS.map((b) => b.name));

/** The timeout of the worker whose upstream fails (BEER_API_TIMEOUT_MS). */
const TIMEOUT_MS = 400;

/**
 * The fake upstream: `/beers…` answers BEERS; `/failing` answers as
 * `failing.mode` says ("500", "garbage", "huge": 300 KiB of valid JSON sent
 * in chunks without Content-Length, "slow": BEERS after 3 s). Counts hits
 * per path.
 */
async function startUpstream() {
  const hits = new Map();
  const failing = { mode: "500" };
  const sockets = new Set();
  const server = http.createServer(async (req, res) => {
    const path = req.url.split("?")[0];
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const json = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(body);
    };
    if (path === "/beers") return json(200, JSON.stringify(BEERS));
    switch (failing.mode) {
      case "500":
        return json(500, JSON.stringify({ error: "internal" }));
      case "garbage":
        return json(200, "<html>not json</html>");
      case "huge": {
        res.writeHead(200, { "content-type": "application/json" });
        const entry = JSON.stringify({ name: "x".repeat(1000) });
        res.write("[");
        for (let i = 0; i < 300; i += 1) res.write((i ? "," : "") + entry);
        return res.end("]");
      }
      case "slow":
        await sleep(3000);
        if (!res.destroyed) json(200, JSON.stringify(BEERS));
        return;
    }
  });
  server.on("connection", (s) => (sockets.add(s), s.on("close", () => sockets.delete(s))));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    failing,
    hits: (path) => hits.get(path) ?? 0,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** The Redis key the worker caches `url`'s answer under (docs/PROTOCOL.md §6.4.1). */
const cacheKey = (url) => `beer-cache:${createHash("sha256").update(url).digest("hex").slice(0, 16)}`;

let stack;
let upstream;
let workers = [];
let log = "";

before(async () => {
  stack = await startStack();
  upstream = await startUpstream();
});

after(async () => {
  for (const w of workers) await w.stop();
  await upstream?.stop();
  await stack?.stop();
});

/** A worker with `vars` over the defaults, its log captured; stopped after the tests. */
async function worker(vars) {
  const capture = (stream) => stream.on("data", (d) => (log += d));
  const w = await startWorker({
    upstashUrl: stack.upstash.url,
    vars,
    miniflare: { handleRuntimeStdio: (stdout, stderr) => (capture(stdout), capture(stderr)) },
  });
  workers.push(w);
  return w;
}

/** A pour on `w` (with `cookie`): { res, body, cookie (for the next pour), ms }. */
async function pour(w, cookie) {
  const started = Date.now();
  const res = await request(w, "/api/pour", { method: "POST", cookie, headers: SAME_ORIGIN });
  const ms = Date.now() - started;
  assert.equal(res.status, 200, res.text);
  const line = res.cookies.find((l) => !/^[^=;]*\.(user|sync)=/.test(l));
  return { res, body: res.body, cookie: line ? cookiePair(line) : cookie, ms };
}

test("off (no BEER_API_URL): the generator names the beer, and no cache key is read or written", async () => {
  const { body, res } = await pour(stack.worker);
  assert.equal(body.beerSource, "generator");
  assert.equal(typeof body.beerName, "string");
  assert.equal(typeof body.beerStyle, "string");
  assert.match(res.headers.get("server-timing"), /store;desc="2 round trips"/);
  assert.deepEqual(await stack.redis.client.keys("beer-cache:*"), []);
  const session = await request(stack.worker, "/api/session");
  assert.equal("beerSource" in session.body, false, "only a pour says where its beer came from");
});

test("on: the first pour fetches (api), the next ones take the cache without calling the upstream, and after BEER_CACHE_SECONDS=1 it fetches again", async () => {
  const url = `${upstream.url}/beers?ttl=1`;
  const w = await worker({ BEER_API_URL: url, BEER_CACHE_SECONDS: "1" });
  const first = await pour(w);
  assert.equal(first.body.beerSource, "api");
  assert.ok(NAMES.has(first.body.beerName), first.body.beerName);
  assert.equal(first.body.beersViewed, 1);
  assert.equal(upstream.hits("/beers"), 1);
  assert.match(first.res.headers.get("server-timing"), /store;desc="2 round trips"/, "the cache costs no round trip");
  assert.deepEqual(JSON.parse(await stack.redis.client.get(cacheKey(url))), NORMALIZED);

  const second = await pour(w, first.cookie);
  assert.equal(second.body.beerSource, "cache");
  assert.ok(NAMES.has(second.body.beerName), second.body.beerName);
  const style = NORMALIZED.find((b) => b.name === second.body.beerName).style;
  assert.equal(second.body.beerStyle, style, "the style goes with its name (null when the upstream gave none)");
  assert.equal(second.body.beersViewed, 2, "the same session");
  assert.equal(upstream.hits("/beers"), 1, "a cache hit does not call the upstream");
  assert.match(second.res.headers.get("server-timing"), /store;desc="2 round trips"/);

  await sleep(1200);
  assert.equal(await stack.redis.client.exists(cacheKey(url)), 0, "the cache expired by its TTL");
  const third = await pour(w, second.cookie);
  assert.equal(third.body.beerSource, "api");
  assert.equal(upstream.hits("/beers"), 2);
});

test("the cached answer has BEER_CACHE_SECONDS as its TTL (300 by default)", async () => {
  const url = `${upstream.url}/beers?ttl=default`;
  const w = await worker({ BEER_API_URL: url });
  assert.equal((await pour(w)).body.beerSource, "api");
  const ttl = await stack.redis.client.ttl(cacheKey(url));
  assert.ok(ttl > 295 && ttl <= 300, `TTL ${ttl}`);
  const again = await pour(w);
  assert.equal(again.body.beerSource, "cache");
  const later = await stack.redis.client.ttl(cacheKey(url));
  assert.ok(later <= ttl, `a hit does not extend the TTL (${ttl} → ${later})`);
});

test("an upstream that fails (500, garbage, over 256 KiB, slower than BEER_API_TIMEOUT_MS): the generator names the beer, the pour still succeeds, nothing is cached, a warning is logged", async (t) => {
  const url = `${upstream.url}/failing`;
  const w = await worker({ BEER_API_URL: url, BEER_API_TIMEOUT_MS: String(TIMEOUT_MS) });
  let cookie;
  let calls = 0;
  for (const mode of ["500", "garbage", "huge", "slow"]) {
    upstream.failing.mode = mode;
    log = "";
    const p = await pour(w, cookie);
    cookie = p.cookie;
    calls += 1;
    assert.equal(p.body.beerSource, "generator", mode);
    assert.equal(typeof p.body.beerName, "string", mode);
    assert.equal(p.body.beersViewed, calls, `${mode}: the pour counted`);
    assert.equal(upstream.hits("/failing"), calls, `${mode}: one upstream call per pour (no cache of a failure)`);
    assert.equal(await stack.redis.client.exists(cacheKey(url)), 0, `${mode}: nothing cached`);
    t.diagnostic(`${mode}: answered in ${p.ms} ms`);
    if (mode === "slow") {
      assert.ok(p.ms >= TIMEOUT_MS - 20 && p.ms < TIMEOUT_MS + 1500, `answered in ${p.ms} ms; the timeout is ${TIMEOUT_MS} ms`);
    }
    // The log line is printed once the answer is on its way: wait for it.
    for (let i = 0; i < 50 && !log.includes("BEER_API_URL"); i += 1) await sleep(20);
    const lines = log.split("\n").filter((l) => l.includes('"source":"edge-session"'));
    assert.equal(lines.length, 1, `${mode}: one warning per request: ${log}`);
    const line = JSON.parse(lines[0].slice(lines[0].indexOf("{")));
    assert.equal(line.level, "warn");
    assert.equal(line.status, 200);
    assert.match(line.message, /built-in generator: the beer API \(BEER_API_URL\)/);
    assert.ok(!line.message.includes(upstream.url), `the URL stays out of the log: ${line.message}`);
  }
});

test("a misconfigured beer API answers 500 naming the variable", async () => {
  const cases = [
    [{ BEER_API_URL: "ftp://beer.example/list" }, "BEER_API_URL"],
    [{ BEER_API_URL: "beer.example/list" }, "BEER_API_URL"],
    [{ BEER_API_URL: `${upstream.url}/beers`, BEER_API_TIMEOUT_MS: "soon" }, "BEER_API_TIMEOUT_MS"],
    [{ BEER_CACHE_SECONDS: "60" }, "BEER_CACHE_SECONDS"],
  ];
  for (const [vars, name] of cases) {
    const w = await startWorker({ upstashUrl: stack.upstash.url, vars });
    try {
      const res = await request(w, "/api/pour", { method: "POST", headers: SAME_ORIGIN });
      const { error } = (await assertJsonError(res, 500)).body;
      assert.ok(error.includes(name), `error does not name ${name}: ${error}`);
      assert.ok(!error.includes("beer.example"), `error echoes the value: ${error}`);
    } finally {
      await w.stop();
    }
  }
});
