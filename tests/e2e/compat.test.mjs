// Compatibility with the real thing: the worker (through upstash-local) and
// an Express app on the real express-session + connect-redis share one
// Redis. Sessions must pass both ways, and for the same requests both sides
// must write the same bytes, send the same cookies and issue the same
// Redis commands.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startExpress } from "../fixtures/express-app.mjs";
import {
  startStack,
  request,
  UUID_V4,
  cookieFor,
  signed,
  parseSetCookie,
  assertNoSetCookie,
  imfOf,
  expiresOf,
  rawGet,
  freshDoc,
  assertTtl60,
  startMonitor,
  sessionCommands,
  relabelKeys,
  foreignDocument,
  docShape,
  setCookieShape,
  setCookieLines,
  undoClockQuirk,
  withExpires,
} from "../support/index.mjs";

let stack;
let express;
let redis;
const sides = {};

before(async () => {
  stack = await startStack();
  redis = stack.redis.client;
  express = await startExpress({ redisUrl: stack.redis.url });
  // Both over real HTTP on 127.0.0.1, so nothing differs but the server.
  sides.express = { name: "express", url: express.url };
  sides.worker = { name: "worker", url: stack.worker.url };
});
after(async () => {
  await express?.stop();
  await stack?.stop();
});
beforeEach(async () => {
  await redis.flushDb();
});

const key = (sid) => `sess:${sid}`;
const BODY_KEYS = ["sessionID", "sessionExpireTime", "beersViewed", "beerName", "beerStyle", "error"];

async function call(side, method, path, cookie) {
  const res = await request(side, path, { method, cookie });
  const { body } = res;
  assert.equal(res.status, 200, `${side.name} ${method} ${path}: ${res.text}`);
  // Same members in the same order on both sides (beersViewed only when
  // set); the worker's pour adds beerSource after them (README, deliberate
  // differences).
  const extra = side.name === "worker" && path === "/api/pour" ? ["beerSource"] : [];
  assert.deepEqual(Object.keys(body), [...BODY_KEYS.filter((k) => k !== "beersViewed" || body.beersViewed !== undefined), ...extra]);
  return { res, body };
}
const read = (side, cookie) => call(side, "GET", "/api/session", cookie);
const pour = (side, cookie) => call(side, "POST", "/api/pour", cookie);

/**
 * A stored document as normalize.mjs's docShape() compares writers: the
 * `expires` instant replaced and, on the Node side only, Node's clock quirk
 * on `originalMaxAge` undone (reported as a diagnostic when it happens).
 */
function normalize(t, doc, { node, originalMaxAge = 60000 }) {
  return docShape(doc, {
    node,
    originalMaxAge,
    onQuirk: (got) => t.diagnostic(`Node clock quirk: originalMaxAge ${got} normalized to ${originalMaxAge}`),
  });
}

test("a session created by Express is read and incremented by the worker, then by Express again", async () => {
  const first = await pour(sides.express);
  const sc = parseSetCookie(first.res);
  const sid = sc.sid;
  assert.match(sid, UUID_V4);
  const second = await pour(sides.express, sc.pair);
  assert.equal(second.body.beersViewed, 2);

  const w = await read(sides.worker, sc.pair);
  assertNoSetCookie(w.res);
  assert.equal(w.body.sessionID, sid);
  assert.equal(w.body.beersViewed, 2);

  const w2 = await pour(sides.worker, sc.pair);
  assert.equal(w2.body.sessionID, sid);
  assert.equal(w2.body.beersViewed, 3);
  assert.equal(parseSetCookie(w2.res).pair, sc.pair, "the worker must keep Express's cookie value");

  const e = await read(sides.express, sc.pair);
  assertNoSetCookie(e.res);
  assert.equal(e.body.sessionID, sid);
  assert.equal(e.body.beersViewed, 3);
  const e2 = await pour(sides.express, sc.pair);
  assert.equal(e2.body.beersViewed, 4);
  assert.match(await redis.get(key(sid)), /,"views":4\}$/);
  assert.equal(await redis.dbSize(), 1);
});

test("a session created by the worker and poured twice is read and incremented by Express", async () => {
  const first = await pour(sides.worker);
  const sc = parseSetCookie(first.res);
  assert.equal((await pour(sides.worker, sc.pair)).body.beersViewed, 2);

  const e = await read(sides.express, sc.pair);
  assertNoSetCookie(e.res);
  assert.equal(e.body.sessionID, sc.sid);
  assert.equal(e.body.beersViewed, 2);
  const e2 = await pour(sides.express, sc.pair);
  assert.equal(e2.body.beersViewed, 3);
  assert.equal(parseSetCookie(e2.res).pair, sc.pair);

  const w = await read(sides.worker, sc.pair);
  assert.equal(w.body.sessionID, sc.sid);
  assert.equal(w.body.beersViewed, 3);
  assert.equal(await redis.dbSize(), 1);
});

test("byte for byte: both sides write the same documents for the same data", async (t) => {
  const docs = { express: [], worker: [] };
  for (const side of [sides.express, sides.worker]) {
    const created = await read(side); // saveUninitialized: an empty session is stored
    const sc = parseSetCookie(created.res);
    docs[side.name].push(await redis.get(key(sc.sid)));
    for (let i = 0; i < 2; i++) {
      await pour(side, sc.pair);
      docs[side.name].push(await redis.get(key(sc.sid)));
    }
    const fresh = parseSetCookie((await pour(side)).res); // pour on a brand-new session
    docs[side.name].push(await redis.get(key(fresh.sid)));
  }
  const expected = [
    freshDoc("<expires>"),
    freshDoc("<expires>").slice(0, -1) + ',"views":1}',
    freshDoc("<expires>").slice(0, -1) + ',"views":2}',
    freshDoc("<expires>").slice(0, -1) + ',"views":1}',
  ];
  for (let i = 0; i < expected.length; i++) {
    expiresOf(docs.express[i]);
    expiresOf(docs.worker[i]);
    assert.equal(normalize(t, docs.worker[i], { node: false }), expected[i], `worker document ${i}`);
    assert.equal(normalize(t, docs.express[i], { node: true }), expected[i], `express document ${i}`);
  }
});

for (const originalMaxAge of [60000, 59999]) {
  test(`byte for byte: a foreign document (originalMaxAge ${originalMaxAge}) is rewritten identically by both sides`, async (t) => {
    for (const withViews of [true, false]) {
      const { doc } = foreignDocument({ withViews, originalMaxAge });
      const out = {};
      for (const side of [sides.express, sides.worker]) {
        const sid = randomUUID();
        await redis.set(key(sid), doc, { expiration: { type: "EX", value: 30 } });
        const { body } = await pour(side, cookieFor(sid));
        assert.equal(body.sessionID, sid);
        assert.equal(body.beersViewed, withViews ? 8 : 1);
        out[side.name] = (await rawGet(redis, key(sid))).toString("utf8");
        assertTtl60(await redis.ttl(key(sid)), `${side.name} TTL`);
      }
      assert.equal(
        normalize(t, out.worker, { node: false, originalMaxAge }),
        normalize(t, out.express, { node: true, originalMaxAge }),
        `withViews=${withViews}`,
      );
    }
  });
}

test("Set-Cookie lines have the same shape on both sides", async () => {
  const lines = {};
  for (const side of [sides.express, sides.worker]) {
    const created = await read(side);
    const sc = parseSetCookie(created.res);
    // Expires is the stored expires rounded down to the second, on both sides.
    assert.equal(sc.expires, imfOf(expiresOf(await redis.get(key(sc.sid)))), side.name);
    const saved = await pour(side, sc.pair);
    const sc2 = parseSetCookie(saved.res);
    assert.equal(sc2.pair, sc.pair, side.name);
    assert.equal(sc2.expires, imfOf(expiresOf(await redis.get(key(sc.sid)))), side.name);
    lines[side.name] = [setCookieShape(sc.line), setCookieShape(sc2.line)];
    // Cross-signed: the other side's cookie value is the one it would have made.
    assert.equal(sc.pair, cookieFor(sc.sid), side.name);
  }
  assert.deepEqual(lines.worker, lines.express);
  assert.deepEqual(lines.express[0], "_redisDemo=s%3A<sid>.<sig>; Path=/; Expires=<date>; HttpOnly");
});

test("TTL is 60 after each side's save and reset to 60 by each side's read-only request", async () => {
  for (const creator of [sides.express, sides.worker]) {
    const sc = parseSetCookie((await read(creator)).res);
    assertTtl60(await redis.ttl(key(sc.sid)), `after ${creator.name} created`);
    for (const side of [sides.express, sides.worker]) {
      await redis.expire(key(sc.sid), 30);
      const before = await rawGet(redis, key(sc.sid));
      const r = await read(side, sc.pair);
      assertNoSetCookie(r.res);
      assertTtl60(await redis.ttl(key(sc.sid)), `${side.name} read of a ${creator.name} session`);
      assert.deepEqual(await rawGet(redis, key(sc.sid)), before, `${side.name} read rewrote the document`);
      await redis.expire(key(sc.sid), 30);
      await pour(side, sc.pair);
      assertTtl60(await redis.ttl(key(sc.sid)), `${side.name} save of a ${creator.name} session`);
    }
  }
});

test("the same requests make the same Redis commands on both sides", async () => {
  // Scenario → function(side) running requests; sids are replaced by their
  // role so both sides' traffic can be compared.
  const scenarios = {
    "new session": async (side) => [await read(side)],
    "read-only": async (side, s) => [await read(side, s.pair)],
    "pour": async (side, s) => [await pour(side, s.pair)],
    "validly signed unknown sid": async (side) => [await read(side, cookieFor(randomUUID()))],
    "forged signature": async (side, s) => [await read(side, `_redisDemo=${encodeURIComponent(signed(s.sid, "wrong"))}`)],
    "unsigned sid": async (side, s) => [await read(side, `_redisDemo=${s.sid}`)],
  };
  for (const [name, run] of Object.entries(scenarios)) {
    const traffic = {};
    for (const side of [sides.express, sides.worker]) {
      const existing = parseSetCookie((await read(side)).res);
      const mon = await startMonitor(redis);
      const responses = await run(side, existing);
      const commands = sessionCommands(await mon.stop());
      const roles = new Map([[existing.sid, "<existing>"]]);
      for (const { body } of responses) {
        if (!roles.has(body.sessionID)) roles.set(body.sessionID, "<new>");
      }
      traffic[side.name] = relabelKeys(commands, (sid) => roles.get(sid) ?? "<other>");
    }
    assert.deepEqual(traffic.worker, traffic.express, name);
  }
});

test("Cookie headers are parsed like express-session (first wins, quotes, decoding, dots)", async () => {
  // Sessions A and B, and one whose sid contains a dot (the signature is
  // after the LAST dot); each with a distinct view count.
  const A = randomUUID();
  const B = randomUUID();
  const D = `dotted.${randomUUID()}`;
  for (const [sid, views] of [[A, 1], [B, 2], [D, 3], ["", 4]]) {
    await redis.set(key(sid), freshDoc(new Date(Date.now() + 60000).toISOString()).slice(0, -1) + `,"views":${views}}`, {
      expiration: { type: "EX", value: 60 },
    });
  }
  const a = cookieFor(A).slice("_redisDemo=".length);
  const b = cookieFor(B).slice("_redisDemo=".length);
  const rawA = signed(A); // s:<sid>.<sig> not percent-encoded
  const cases = [
    ["other=1; _redisDemo=A; x=y", `other=1; _redisDemo=${a}; x=y`],
    ["first of two wins", `_redisDemo=${a}; _redisDemo=${b}`],
    ["first of two wins, no space", `_redisDemo=${b};_redisDemo=${a}`],
    ["double-quoted", `_redisDemo="${a}"`],
    ["not percent-encoded", `_redisDemo=${rawA}`],
    ["lowercase %3a", `_redisDemo=${a.replace("%3A", "%3a")}`],
    ["spaces and tabs around", ` \t_redisDemo \t= ${a} \t; z=1`],
    ["name inside another cookie's value", `x="_redisDemo=${b}"; _redisDemo=${a}`],
    ["valueless pair before", `_redisDemo; _redisDemo=${a}`],
    ["empty value", `_redisDemo=`],
    ["bad percent escape", `_redisDemo=%ZZ${a}`],
    ["name in another case", `_REDISDEMO=${a}`],
    ["junk after the signature", `_redisDemo=${a}x`],
    ["extra dot segment", `_redisDemo=${a}.junk`],
    ["trailing =", `_redisDemo=${a}%3D`],
    ["sid with a dot", `_redisDemo=${encodeURIComponent(signed(D))}`],
    ["empty sid, validly signed", `_redisDemo=${encodeURIComponent(signed(""))}`],
  ];
  const role = (sid) => ({ [A]: "A", [B]: "B", [D]: "D", "": "<empty>" })[sid] ?? (UUID_V4.test(sid) ? "new" : `other:${sid}`);
  const outcomes = { express: {}, worker: {} };
  for (const [name, header] of cases) {
    for (const side of [sides.express, sides.worker]) {
      const { body } = await read(side, header);
      outcomes[side.name][name] = role(body.sessionID);
    }
  }
  assert.deepEqual(outcomes.worker, outcomes.express);
  // Sanity: the reference itself adopted A where expected.
  assert.equal(outcomes.express["double-quoted"], "A");
  assert.equal(outcomes.express["first of two wins"], "A");
});

test(
  "pour follows the seed's `views ? views + 1 : 1` for falsy and non-integer stored views",
  async () => {
    // What the seed's JavaScript gives: falsy → 1, any number → +1, true → 2,
    // a string gets "1" appended.
    for (const [stored, next] of [["null", 1], ["false", 1], ["0", 1], ['""', 1], ["-1", 0], ["1.5", 2.5], ["true", 2], ['"abc"', "abc1"]]) {
      for (const side of [sides.express, sides.worker]) {
        const sid = randomUUID();
        const doc = freshDoc(new Date(Date.now() + 60000).toISOString()).slice(0, -1) + `,"views":${stored}}`;
        await redis.set(key(sid), doc, { expiration: { type: "EX", value: 60 } });
        const { status, body, text } = await request(side, "/api/pour", { method: "POST", cookie: cookieFor(sid) });
        assert.equal(status, 200, `${side.name}, views ${stored}: ${text}`);
        assert.equal(body.beersViewed, next, `${side.name}, views ${stored}`);
        assert.ok((await redis.get(key(sid))).endsWith(`,"views":${JSON.stringify(next)}}`), `${side.name}, views ${stored}`);
      }
    }
  },
);

// ---------------------------------------------------------------------------
// Stored documents read and rewritten exactly as Node does (issue 8:
// numbers, lone surrogates, cookie objects with missing members, key order
// and repeated keys). Each document is seeded once per side, the same
// request goes to both, and what each answers, sets as a cookie and stores
// is compared byte for byte: the expected bytes are what the real
// express-session + connect-redis write in this very run.

const inAMinute = () => new Date(Date.now() + 60_000).toISOString();
const COOKIE = (expires) => `{"originalMaxAge":60000,"expires":"${expires}","secure":false,"httpOnly":true,"path":"/"}`;

/**
 * A stored document as written by one side, with what legitimately differs
 * between writers replaced: the new `expires` instant, and on the Node side
 * Node's clock quirk on `originalMaxAge` (a few ms short of 60000: up to NODE_CLOCK_QUIRK_MS).
 */
function shape(doc, node) {
  let out = withExpires(doc);
  if (node) out = out.replace(/"originalMaxAge":(\d+)/, (m, n) => `"originalMaxAge":${undoClockQuirk(Number(n), [60000])}`);
  return out;
}

/**
 * Seeds `doc` under a fresh sid for each side, sends `method path` with that
 * session's cookie and returns, per side, the answer's status and body
 * (sessionID replaced by whether it is the seeded one), the Set-Cookie lines
 * and the stored document, by shape; asserts both sides agree.
 */
async function both(doc, { method = "POST", path = "/api/pour", what }) {
  const out = {};
  for (const side of [sides.express, sides.worker]) {
    const sid = randomUUID();
    await redis.set(key(sid), doc, { expiration: { type: "EX", value: 60 } });
    const res = await request(side, path, { method, cookie: cookieFor(sid) });
    const stored = await rawGet(redis, key(sid));
    out[side.name] = {
      status: res.status,
      // The beer is random and the expiry time a clock reading: left out.
      body: {
        sessionID: res.body?.sessionID === sid ? "<seeded>" : "<other>",
        beersViewed: res.body?.beersViewed,
        error: res.body?.error,
      },
      cookies: setCookieLines(res).map(setCookieShape),
      stored: stored && shape(stored.toString("utf8"), side.name === "express"),
    };
  }
  assert.deepEqual(out.worker, out.express, what);
  return out.express;
}

test("numbers: read to the nearest double and written as Number.prototype.toString writes them", async () => {
  const numbers = [
    '"big":123456789012345680000',
    '"r":0.20153987407684326',
    '"edges":[5e-324,2.4703282292062328e-324,1.7976931348623157e308,-1.7976931348623157E308,-0,-0.0,0.0,1e400]',
    '"ints":[9007199254740993,9007199254740995,-9007199254740993,18014398509481985,12345678901234567890]',
    '"forms":[1E2,1e+2,123e-20,1e21,1e20,0.1e1,1e-7,0.000001,100e-2,1.50]',
    '"nested":{"a":{"b":[0.30000000000000004,0.1,2.2250738585072011e-308,4.35e-321]}}',
  ];
  const doc = `{"cookie":${COOKIE(inAMinute())},"views":1,${numbers.join(",")}}`;
  const express = await both(doc, { what: "pour" });
  assert.equal(express.body.beersViewed, 2);
  assert.match(express.stored, /"big":123456789012345680000,"r":0\.20153987407684326,/);
  assert.match(express.stored, /"ints":\[9007199254740992,9007199254740996,-9007199254740992,18014398509481984,12345678901234567000\]/);
  assert.match(express.stored, /"forms":\[100,100,1\.23e-18,1e\+21,100000000000000000000,1,1e-7,0\.000001,1,1\.5\]/);
  assert.match(express.stored, /"edges":\[5e-324,5e-324,1\.7976931348623157e\+308,-1\.7976931348623157e\+308,0,0,0,null\]/);
});

test("lone surrogates in keys and values survive a read and a rewrite", async () => {
  const doc = `{"cookie":${COOKIE(inAMinute())},"views":2,"k\\ud800":1,"\\uDC00":"x\\uDBFF","n":{"\\ud800k":["\\udfff",{"\\ud83d":"\\ud83d\\ude00"}]}}`;
  const readOnly = await both(doc, { method: "GET", path: "/api/session", what: "read" });
  assert.equal(readOnly.body.sessionID, "<seeded>");
  assert.equal(readOnly.body.beersViewed, 2);
  assert.deepEqual(readOnly.cookies, []);
  assert.equal(readOnly.stored, withExpires(doc), "a read leaves the document alone");
  const poured = await both(doc, { what: "pour" });
  assert.equal(poured.body.beersViewed, 3);
  assert.match(poured.stored, /,"views":3,"k\\ud800":1,"\\udc00":"x\\udbff","n":\{"\\ud800k":\["\\udfff",\{"\\ud83d":"😀"\}\]\}\}$/);
});

test("a stored cookie object with missing members or in another order is taken as new Cookie(stored) takes it", async () => {
  const cookies = {
    "no httpOnly, no path": (e) => `{"originalMaxAge":60000,"expires":"${e}"}`,
    "members in reverse order": (e) => `{"path":"/","httpOnly":true,"secure":false,"expires":"${e}","originalMaxAge":60000}`,
    "every member, shuffled": (e) =>
      `{"sameSite":"lax","path":"/p","priority":"high","httpOnly":false,"expires":"${e}","domain":"127.0.0.1","partitioned":false,"secure":false,"originalMaxAge":60000}`,
    "sameSite true, no path": (e) => `{"originalMaxAge":60000,"sameSite":true,"expires":"${e}","httpOnly":false}`,
    "only expires and originalMaxAge, reversed": (e) => `{"expires":"${e}","originalMaxAge":60000}`,
  };
  for (const [name, cookie] of Object.entries(cookies)) {
    const doc = `{"cookie":${cookie(inAMinute())},"views":1}`;
    const poured = await both(doc, { what: name });
    assert.equal(poured.body.beersViewed, 2, name);
    assert.equal(poured.cookies.length, 1, name);
  }
  const short = await both(`{"cookie":${cookies["no httpOnly, no path"](inAMinute())},"views":1}`, { what: "short" });
  assert.equal(short.stored, '{"cookie":{"originalMaxAge":60000,"expires":"<expires>","httpOnly":true,"path":"/"},"views":2}');
  assert.equal(short.cookies[0], "_redisDemo=s%3A<sid>.<sig>; Path=/; Expires=<date>; HttpOnly");
});

test("stored key order is kept, a repeated key keeps its first place and last value, a Session's own names are dropped", async () => {
  const c = COOKIE(inAMinute());
  const docs = {
    "views before cookie": `{"views":1,"cookie":${c}}`,
    "integer-like keys first": `{"cookie":${c},"z":0,"7":"i","views":1,"10":"j","01":"k"}`,
    "repeated keys": `{"a":1,"cookie":${c},"views":1,"a":2,"views":5,"b":[1,2],"b":{"c":1,"c":2}}`,
    "a repeated cookie": `{"cookie":{"path":"/x"},"views":1,"cookie":${c}}`,
    "__proto__ and the Session's names": `{"cookie":${c},"__proto__":{"views":9},"views":1,"toString":2,"save":3,"id":4,"req":5,"constructor":6,"valueOf":7,"hasOwnProperty":8,"touch":9,"regenerate":10,"keep":{"__proto__":1,"toString":2}}`,
  };
  for (const [name, doc] of Object.entries(docs)) {
    const poured = await both(doc, { what: name });
    assert.equal(poured.body.sessionID, "<seeded>", name);
  }
  const views = await both(docs["views before cookie"], { what: "views before cookie" });
  assert.match(views.stored, /^\{"views":2,"cookie":\{/);
  const repeated = await both(docs["repeated keys"], { what: "repeated keys" });
  assert.match(repeated.stored, /^\{"a":2,"cookie":\{.*\},"views":6,"b":\{"c":2\}\}$/);
  const proto = await both(docs["__proto__ and the Session's names"], { what: "__proto__" });
  assert.match(proto.stored, /\},"views":2,"keep":\{"__proto__":1,"toString":2\}\}$/);
});
