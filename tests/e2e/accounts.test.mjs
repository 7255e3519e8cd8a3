// Accounts end to end (issue #4): register, log in, log out, log out
// everywhere, lifetime beers, failed-login limits and the cross-site check,
// against the real built worker (workerd via Miniflare, reached over real
// HTTP on 127.0.0.1), the real upstash-local and a real redis-server; and
// against the real express-session + connect-redis + Passport 0.7 of
// tests/fixtures/express-accounts.mjs on the same Redis. Every assertion
// about state reads Redis directly.
//
//   node --test --test-concurrency=1 tests/e2e/accounts.test.mjs
//
// Prerequisites: build/index.js (scripts/build-worker.sh),
// target/release/upstash-local, node_modules.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  redisSnapshot,
  ROOT,
  startStack,
  startWorker,
  request,
  assertJsonError,
  UUID_V4,
  parseSetCookie,
  assertNoSetCookie,
  startMonitor,
  sessionCommands,
  Labels,
  relabelKeys,
  expiresOf,
  docShape,
  sleep,
  eventually,
  cookieFor,
  setCookieLines,
  allSetCookieLines,
  COOKIE_NAME,
} from "../support/index.mjs";
import { startExpressAccounts } from "../fixtures/express-accounts.mjs";
import { indexLogin, indexKey } from "edge-session-express";

/** Small limits and a short window so the limits engage and release within the test. */
const LIMITS = {
  AUTH_MAX_FAILURES_PER_USER: "3",
  AUTH_MAX_FAILURES_PER_USER_AND_IP: "4",
  AUTH_MAX_FAILURES_PER_IP: "5",
  // Registration is limited per address too; this suite registers many users from one.
  AUTH_MAX_REGISTRATIONS_PER_IP: "10000",
  AUTH_FAILURE_WINDOW_SECONDS: "2",
};
const WINDOW_S = 2;

const PASSWORD = "correct horse battery";
const OTHER_PASSWORD = "tr0ub4dor&3 staple";
const WRONG_PASSWORD = "correct horse battery!";
/** Every password a test sends: none may ever come back in an answer. */
/** 1024 bytes, no letter run or repeat of a short group (those are refused). */
const LONG_PASSWORD = Array.from({ length: 1024 }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join("");
const PASSWORDS = [PASSWORD, OTHER_PASSWORD, WRONG_PASSWORD, "ünïcödé!", LONG_PASSWORD];
const BAD_CREDENTIALS = '{"error":"invalid username or password"}';
const CROSS_SITE = /^cross-site request refused/;

let stack;
let upstash;
/** AUTH_PBKDF2_ITERATIONS=1000: fast hashes for most tests. */
let worker;
/** The same worker with AUTH_PBKDF2_ITERATIONS=2000, on the same Redis: the policy raised. */
let stronger;
/** tests/fixtures/express-accounts.mjs on the same Redis. */
let express;
let redis;
/** Every answer's headers and body, from every test, for the "never the password or hash" test. */
const transcript = [];
/** Every salt and hash read from Redis. */
const secretsSeen = new Set();

before(async () => {
  stack = await startStack({ vars: { AUTH_PBKDF2_ITERATIONS: "1000", ...LIMITS } });
  ({ upstash, worker } = stack);
  redis = stack.redis.client;
  stronger = await startWorker({ upstashUrl: upstash.url, vars: { AUTH_PBKDF2_ITERATIONS: "2000", ...LIMITS } });
  express = await startExpressAccounts({ redisUrl: stack.redis.url });
});
after(async () => {
  await express?.stop();
  await stronger?.stop();
  await stack?.stop();
});
beforeEach(async () => {
  await redis.flushDb();
});

// ---------------------------------------------------------------- helpers

/**
 * One HTTP request to `base` (a worker or the Express app) over a real
 * socket: tests/support/api.mjs's request(), POST unless `method` says
 * otherwise, every answer kept in the transcript. Resolves with
 * { status, headers, text, body, cookies }.
 */
function call(base, path, options = {}) {
  return request(base, path, {
    method: "POST",
    ...options,
    onAnswer: ({ headers, text }, what) => transcript.push({ what, headers: JSON.stringify([...headers]), text }),
  });
}

const getSession = (cookie, base = worker) => call(base, "/api/session", { method: "GET", cookie });
const pour = (cookie, base = worker, headers) => call(base, "/api/pour", { cookie, headers });
/**
 * Registers a user. Registering logs the browser in (a session of its own,
 * in the user's index); most tests here want the account alone, so that
 * session is ended at once (`POST /api/logout-all` with its cookie), as if
 * that browser were thrown away, unless `keepLogin`.
 */
async function register(username, password = PASSWORD, { keepLogin = false, ...opts } = {}) {
  const base = opts.base ?? worker;
  const res = await call(base, "/api/register", { json: { username, password }, ...opts });
  if (res.status === 201 && !keepLogin) {
    const ended = await call(base, "/api/logout-all", { cookie: parseSetCookie(res).pair, ip: opts.ip });
    assert.equal(ended.status, 200, ended.text);
  }
  return res;
}

/** A login on the worker that must succeed; returns { res, sid, cookie }. */
async function login(username, password = PASSWORD, { base = worker, cookie, ip, form = false } = {}) {
  const creds = { username, password };
  const res = await call(base, base === express ? "/login" : "/api/login", { ...(form ? { form: creds } : { json: creds }), cookie, ip });
  assert.equal(res.status, 200, `login of ${username}: ${res.status} ${res.text}`);
  const sc = parseSetCookie(res);
  return { res, sid: sc.sid, cookie: sc.pair, line: sc.line };
}

/** A fresh anonymous session on the worker: { sid, cookie }. */
async function anonymous() {
  const res = await getSession(null);
  assert.equal(res.status, 200);
  const sc = parseSetCookie(res);
  return { sid: sc.sid, cookie: sc.pair };
}

const sess = (sid) => `sess:${sid}`;

/** The stored user record, parsed and checked for shape. */
async function userRecord(name) {
  const raw = await redis.get(`user:${name}`);
  assert.ok(raw, `no user:${name}`);
  const record = JSON.parse(raw);
  assert.deepEqual(Object.keys(record), ["username", "password"], raw);
  assert.equal(raw, JSON.stringify(record), "compact JSON");
  const m = record.password.match(/^pbkdf2-sha256\$(\d+)\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$/);
  assert.ok(m, `hash format: ${record.password}`);
  secretsSeen.add(m[2]);
  secretsSeen.add(m[3]);
  return { raw, record, iterations: Number(m[1]), salt: m[2], hash: m[3] };
}

/** PBKDF2-HMAC-SHA256 by node:crypto: does `password` match the stored record? */
function hashMatches({ iterations, salt, hash }, password) {
  const derived = pbkdf2Sync(password, Buffer.from(salt, "base64"), iterations, 32, "sha256");
  return derived.toString("base64").replace(/=+$/, "") === hash;
}

/** A session document, parsed (null when the key is gone). */
async function doc(sid) {
  const raw = await redis.get(sess(sid));
  return raw === null ? null : JSON.parse(raw);
}

/** The stored document of `sid` by shape (support docShape: `expires` replaced; with `node`, Node's clock quirk undone), for comparing two sides' bytes. */
async function storedShape(sid, { node = false } = {}) {
  const raw = await redis.get(sess(sid));
  assert.ok(raw, `no ${sess(sid)}`);
  expiresOf(raw);
  return docShape(raw, { node });
}

/**
 * The `sess:` commands `fn` makes Redis run, with each session id replaced by
 * its order of appearance (`sess:#1`, …) and SET's EX kept.
 */
async function sessionTraffic(fn) {
  const mon = await startMonitor(redis);
  await fn();
  const ids = new Labels((n) => `#${n}`);
  return relabelKeys(sessionCommands(await mon.stop()), (sid) => ids.of(sid));
}

const snapshot = () => redisSnapshot(redis, { expiry: "whether" });

async function keysLike(pattern) {
  return (await redis.keys(pattern)).sort();
}

/** Waits (at most `ms`) until `key` is gone from Redis. */
async function waitGone(key, ms = (WINDOW_S + 1.5) * 1000) {
  const deadline = Date.now() + ms;
  while ((await redis.exists(key)) === 1) {
    assert.ok(Date.now() < deadline, `${key} still exists after ${ms} ms`);
    await sleep(50);
  }
}

/** Asserts that a 429 says when to come back, in the Retry-After header and the body's retryAfter alike. */
async function assertRateLimited(res) {
  await assertJsonError(res, 429);
  const wait = res.headers.get("retry-after");
  assert.match(wait ?? "", /^\d+$/, `Retry-After: ${wait}`);
  assert.ok(Number(wait) >= 1 && Number(wait) <= WINDOW_S, `Retry-After ${wait} outside 1..${WINDOW_S}`);
  assert.match(res.body.error, /^too many (failed logins|registrations)$/);
  assert.equal(res.body.retryAfter, Number(wait), "the wait is in the body, not in the message");
  return Number(wait);
}

// ------------------------------------------------------------------ tests

test("register → login (new sid, old key gone) → pour → logout (key gone, new cookie) → login again shows the lifetime count", async () => {
  // An anonymous visitor, with one beer in the anonymous session.
  const anon = await anonymous();
  assert.equal((await pour(anon.cookie)).status, 200);

  // Register: 201, the canonical name, a PBKDF2 record with a TTL until
  // the first password login. Registering logs the visitor in, as
  // Passport's req.login after a signup: a new id carries passport.user
  // (the anonymous key is deleted), in the user's index, with the
  // <name>.user companion cookie and the device it was made from.
  const reg = await register("Alice", PASSWORD, { cookie: anon.cookie, keepLogin: true });
  assert.equal(reg.status, 201, reg.text);
  const joined = parseSetCookie(reg);
  assert.match(joined.sid, UUID_V4);
  assert.notEqual(joined.sid, anon.sid, "a new session id at registration");
  assert.deepEqual(reg.body, { sessionID: joined.sid, user: "alice", lifetimeBeers: 0 });
  assert.ok(allSetCookieLines(reg).some((line) => line.startsWith(`${COOKIE_NAME}.user=alice;`)), "the <name>.user cookie");
  const rec = await userRecord("alice");
  assert.equal(rec.record.username, "alice");
  assert.equal(rec.iterations, 1000, "AUTH_PBKDF2_ITERATIONS");
  assert.ok(hashMatches(rec, PASSWORD), "the stored hash is PBKDF2-HMAC-SHA256(password, salt, 1000)");
  assert.ok((await redis.ttl("user:alice")) > 604790, "a record nobody logged into with a password expires after AUTH_UNVERIFIED_ACCOUNT_TTL_SECONDS");
  assert.equal(await redis.get("user-skeleton:alice"), "alice", "the name's confusable skeleton is claimed");
  assert.equal(await redis.exists(sess(anon.sid)), 0, "the anonymous key is gone");
  const registered = await doc(joined.sid);
  assert.deepEqual(registered.passport, { user: "alice" }, "registering logs in");
  assert.equal(registered.views, undefined);
  assert.equal(registered.device.label, "Unknown browser", "Node's fetch is no browser");
  assert.deepEqual(await redis.sMembers("user-sessions:alice"), [joined.sid]);
  assert.equal((await getSession(joined.pair)).body.user, "alice");

  // Login from the same browser: Passport's regenerate — a new id carries
  // passport.user, the pre-login key is deleted (and leaves the index).
  const first = await login("alice", PASSWORD, { cookie: joined.pair });
  assert.match(first.sid, UUID_V4);
  assert.notEqual(first.sid, joined.sid, "a new session id at login");
  assert.match(first.line, /; HttpOnly$/);
  assert.deepEqual(first.res.body, { sessionID: first.sid, user: "alice", lifetimeBeers: 0 });
  assert.equal(await redis.exists(sess(joined.sid)), 0, "the pre-login key is gone");
  const loggedIn = await doc(first.sid);
  assert.deepEqual(loggedIn.passport, { user: "alice" });
  assert.equal(loggedIn.views, undefined);
  assert.deepEqual(await redis.sMembers("user-sessions:alice"), [first.sid]);
  assert.equal(await redis.ttl("user:alice"), -1, "the first password login keeps the account");
  assert.equal(await redis.ttl("user-skeleton:alice"), -1, "and its skeleton");
  assert.equal(await redis.ttl("user-sessions:alice"), 86400, "the index lives at least as long as any session: here connect-redis's ttl, longer than maxAge");
  // The planted (pre-registration) cookie is worthless now: it gets a fresh anonymous session.
  const planted = await getSession(anon.cookie);
  assert.notEqual(parseSetCookie(planted).sid, anon.sid);
  assert.equal(planted.body.user, undefined);

  // Pour twice: the session counts, and so does the user's lifetime count.
  for (const n of [1, 2]) {
    const p = await pour(first.cookie);
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.sessionID, first.sid);
    assert.equal(p.body.beersViewed, n);
    assert.equal(p.body.user, "alice");
    assert.equal(p.body.lifetimeBeers, n);
  }
  assert.equal(await redis.get("user-beers:alice"), "2");
  assert.equal(await redis.ttl("user-beers:alice"), -1, "the lifetime count does not expire");
  const shown = await getSession(first.cookie);
  assert.equal(shown.body.user, "alice");
  assert.equal(shown.body.beersViewed, 2);
  assert.equal(shown.body.lifetimeBeers, 2);

  // Logout. "Cookie cleared" here means what Passport 0.6+ does on
  // express-session: passport.user is removed, the session is regenerated,
  // the authenticated key is deleted and the answer's Set-Cookie replaces the
  // browser's cookie value with a NEW ANONYMOUS session id
  // (saveUninitialized: true). No cookie naming the old session survives.
  // (Log-out-everywhere, below, sends an expired Set-Cookie instead.)
  const out = await call(worker, "/api/logout", { cookie: first.cookie });
  assert.equal(out.status, 200, out.text);
  const afterLogout = parseSetCookie(out);
  assert.notEqual(afterLogout.sid, first.sid);
  assert.deepEqual(out.body, { sessionID: afterLogout.sid, user: null, lifetimeBeers: null });
  assert.equal(await redis.exists(sess(first.sid)), 0, "the logged-in key is gone");
  const fresh = await doc(afterLogout.sid);
  assert.deepEqual(Object.keys(fresh), ["cookie"], "the new session is anonymous and empty");
  // The old cookie, replayed, is anonymous.
  const replay = await getSession(first.cookie);
  assert.notEqual(parseSetCookie(replay).sid, first.sid);
  assert.equal(replay.body.user, undefined);
  assert.equal(replay.body.lifetimeBeers, undefined);
  assert.equal(await redis.get("user-beers:alice"), "2", "the lifetime count outlives the session");

  // Login again: a new session (0 beers in it) and the lifetime count 2.
  const second = await login("alice", PASSWORD, { cookie: afterLogout.pair });
  assert.deepEqual(second.res.body, { sessionID: second.sid, user: "alice", lifetimeBeers: 2 });
  assert.equal(await redis.exists(sess(afterLogout.sid)), 0);
  const again = await getSession(second.cookie);
  assert.equal(again.body.beersViewed, undefined, "this session has viewed none");
  assert.equal(again.body.lifetimeBeers, 2);
  const third = await pour(second.cookie);
  assert.equal(third.body.beersViewed, 1);
  assert.equal(third.body.lifetimeBeers, 3);
  // The index was pruned of the logged-out id at this login.
  assert.deepEqual(await redis.sMembers("user-sessions:alice"), [second.sid]);
});

test("login and logout regenerate like Passport 0.6+: old key deleted, new sid in Set-Cookie, passport.user gone — the same Redis commands and documents as the real Passport", async () => {
  await register("alice");
  await register("bob");
  // An anonymous session on each side, then a login on each side: the same
  // session commands (load, DEL the old key, SET the new one twice: Passport's
  // save, then express-session's at the end of the request; the worker's DEL
  // travels with the first SET) and byte-identical documents (apart from the
  // expiry instant).
  const wAnon = await anonymous();
  const eAnon = parseSetCookie(await call(express, "/whoami", { method: "GET" }));
  let w;
  let e;
  const wLogin = await sessionTraffic(async () => (w = await login("alice", PASSWORD, { cookie: wAnon.cookie })));
  const eLogin = await sessionTraffic(async () => (e = await login("bob", PASSWORD, { base: express, cookie: eAnon.pair })));
  assert.deepEqual(eLogin, [
    ["GET", "sess:#1"],
    ["DEL", "sess:#1"],
    ["SET", "sess:#2", "EX", "60"],
    ["SET", "sess:#2", "EX", "60"],
  ]);
  // The worker writes the login once, in one script: the new session, then
  // the old key's deletion (README, deliberate differences: a store failing
  // leaves the old session as it was, a login is never half done).
  assert.deepEqual(wLogin, [
    ["GET", "sess:#1"],
    ["SET", "sess:#2", "EX", "60"],
    ["DEL", "sess:#1"],
  ]);
  assert.equal(await redis.exists(sess(wAnon.sid)), 0);
  assert.equal(await redis.exists(sess(eAnon.sid)), 0);
  assert.deepEqual(e.res.body, { sessionID: e.sid, user: "bob" });
  // The worker's login also records the device it was made from, after
  // passport (README, Where you're signed in); apart from it, Passport's
  // document byte for byte.
  const DEVICE = /,"device":\{"label":"Unknown browser","signedInAt":\d+\}/;
  assert.match(await storedShape(w.sid), DEVICE);
  assert.equal(
    (await storedShape(w.sid)).replace(DEVICE, "").replace("alice", "bob"),
    await storedShape(e.sid, { node: true }),
  );
  assert.equal(
    (await storedShape(w.sid)).replace(DEVICE, ""),
    '{"cookie":{"originalMaxAge":60000,"expires":"<expires>","secure":false,"httpOnly":true,"path":"/"},"passport":{"user":"alice"}}',
  );

  // Logout on each side: save without passport.user, DEL, a new anonymous session.
  let wOut;
  let eOut;
  const wLogout = await sessionTraffic(async () => (wOut = await call(worker, "/api/logout", { cookie: w.cookie })));
  const eLogout = await sessionTraffic(async () => (eOut = await call(express, "/logout", { cookie: e.cookie })));
  assert.deepEqual(eLogout, [
    ["GET", "sess:#1"],
    ["SET", "sess:#1", "EX", "60"],
    ["DEL", "sess:#1"],
    ["SET", "sess:#2", "EX", "60"],
  ]);
  // The worker leaves out Passport's save of the old session without the
  // user: the same script writes the new session and deletes the old key.
  assert.deepEqual(wLogout, [
    ["GET", "sess:#1"],
    ["SET", "sess:#2", "EX", "60"],
    ["DEL", "sess:#1"],
  ]);
  assert.equal(wOut.status, 200);
  assert.equal(eOut.status, 200);
  const wNew = parseSetCookie(wOut);
  const eNew = parseSetCookie(eOut);
  assert.notEqual(wNew.sid, w.sid, "worker: a new session id");
  assert.notEqual(eNew.sid, e.sid, "Passport: a new session id");
  assert.equal(await redis.exists(sess(w.sid)), 0, "worker: the logged-in key is deleted");
  assert.equal(await redis.exists(sess(e.sid)), 0, "Passport: the logged-in key is deleted");
  assert.equal(await storedShape(wNew.sid), await storedShape(eNew.sid, { node: true }), "the same fresh document after logout");
  assert.equal((await doc(wNew.sid)).passport, undefined, "passport.user is gone");
  assert.equal(wOut.body.sessionID, wNew.sid);
  assert.equal(wOut.body.user, null);
});

test("JSON and form bodies; other media types and missing fields are 400", async () => {
  const reg = await call(worker, "/api/register", { form: { username: "Formy", password: PASSWORD } });
  assert.equal(reg.status, 201, reg.text);
  assert.equal(reg.body.user, "formy");
  assert.ok(hashMatches(await userRecord("formy"), PASSWORD));
  // A form login, then a JSON login; charset parameters are fine.
  const viaForm = await login("formy", PASSWORD, { form: true });
  assert.equal(viaForm.res.body.user, "formy");
  // JSON with a charset parameter, as some clients send it; extra members are ignored.
  const viaJson = await call(worker, "/api/login", {
    json: { username: "FORMY", password: PASSWORD, remember: true },
    headers: { "content-type": "application/json; charset=utf-8" },
  });
  assert.equal(viaJson.status, 200, viaJson.text);
  assert.equal(viaJson.body.user, "formy");
  const formWithCharset = await call(worker, "/api/login", {
    form: { username: "formy", password: PASSWORD },
    headers: { "content-type": "application/x-www-form-urlencoded; charset=UTF-8" },
  });
  assert.equal(formWithCharset.status, 200, formWithCharset.text);

  await assertJsonError(await call(worker, "/api/login", { headers: { "content-type": "text/plain" }, method: "POST" }), 400, /^bad request: send JSON or an HTML form/);
  await assertJsonError(await call(worker, "/api/register", { json: { username: "someone" } }), 400, /^bad request: expected JSON/);
  await assertJsonError(await call(worker, "/api/register", { form: { username: "someone" } }), 400, /^bad request: expected form fields username and password/);
  await assertJsonError(await call(worker, "/api/login", { json: { username: "formy", password: 12345678 } }), 400, /^bad request: expected JSON/);
  // The account routes take POST only.
  for (const path of ["/api/register", "/api/login", "/api/logout", "/api/logout-all"]) {
    const res = await call(worker, path, { method: "GET" });
    await assertJsonError(res, 405);
    assert.equal(res.headers.get("allow"), "POST");
  }
  assert.deepEqual(await keysLike("user:*"), ["user:formy"]);
});

test("usernames are normalized: case, width and composition (\"Ａｌｉｃｅ\" logs into \"alice\"); duplicates are 409", async () => {
  const reg = await register("Ａｌｉｃｅ");
  assert.equal(reg.status, 201);
  assert.equal(reg.body.user, "alice");
  assert.deepEqual(await keysLike("user:*"), ["user:alice"]);
  const rec = await userRecord("alice");

  for (const spelling of ["alice", "ALICE", "  Alice\t", "Ａｌｉｃｅ", "ＡＬＩＣＥ"]) {
    const l = await login(spelling);
    assert.equal(l.res.body.user, "alice", spelling);
    assert.deepEqual((await doc(l.sid)).passport, { user: "alice" }, spelling);
  }
  assert.equal((await redis.sMembers("user-sessions:alice")).length, 5);

  for (const spelling of ["alice", "ALICE", "Ａｌｉｃｅ", " alice "]) {
    await assertJsonError(await register(spelling, OTHER_PASSWORD), 409, "that username is taken");
  }
  assert.equal((await userRecord("alice")).raw, rec.raw, "a refused registration leaves the record alone");

  // Composed and decomposed forms are one name; a ligature folds.
  assert.equal((await register("Zoe\u0308")).body.user, "zoë");
  await assertJsonError(await register("Zoë"), 409);
  assert.equal((await register("ﬁsh")).body.user, "fish");
  assert.equal((await login("FISH")).res.body.user, "fish");
});

test("invalid usernames and passwords are 400 and store nothing", async () => {
  const cases = [
    ["ab", PASSWORD, "a username has 3 to 32 characters"],
    ["   ab   ", PASSWORD, "a username has 3 to 32 characters"],
    ["a".repeat(33), PASSWORD, "a username has 3 to 32 characters"],
    ["a b c", PASSWORD, "a username may contain letters, digits, '.', '_' and '-' only"],
    ["al:ice", PASSWORD, "a username may contain letters, digits, '.', '_' and '-' only"],
    ["<script>", PASSWORD, "a username may contain letters, digits, '.', '_' and '-' only"],
    ["valid-name", "short12", "a password has 8 to 1024 bytes"],
    ["valid-name", "ünïcödé", "a password has 8 to 1024 bytes"],
    ["valid-name", "a".repeat(1025), "a password has 8 to 1024 bytes"],
    ["valid-name", "", "a password has 8 to 1024 bytes"],
  ];
  for (const [username, password, message] of cases) {
    await assertJsonError(await register(username, password), 400, message);
  }
  // Only the registration counters: every attempt counts, so
  // that registration cannot be used to probe which names exist.
  assert.deepEqual(
    (await redis.keys("*")).filter((k) => !k.startsWith("register:")),
    [],
    "nothing stored, not even a session",
  );
  // The limits' edges are accepted: 8 characters (12 bytes), 1024 bytes, 32 characters.
  assert.equal((await register("edge.case_1", "ünïcödé!")).status, 201);
  // (A password that contains the username is refused: the name is "b"s.)
  assert.equal((await register("b".repeat(32), LONG_PASSWORD)).status, 201);
  assert.equal((await login("edge.case_1", "ünïcödé!")).res.body.user, "edge.case_1");
  assert.equal((await login("b".repeat(32), LONG_PASSWORD)).res.body.user, "b".repeat(32));
});

test("every vector of tests/vectors/usernames.json: the worker registers the normalized name or refuses with the vector's reason", async () => {
  const vectors = JSON.parse(readFileSync(path.join(ROOT, "tests/vectors/usernames.json"), "utf8"));
  const MESSAGES = {
    length: "a username has 3 to 32 characters",
    characters: "a username may contain letters, digits, '.', '_' and '-' only",
    mixed_scripts: "a username's letters must all come from one script",
    disallowed: "a username may not contain invisible, unassigned or other characters RFC 8265 disallows, or mix writing directions",
    no_letter_or_digit: "a username needs at least one letter or digit",
    restricted: "a username may only use characters Unicode recommends for identifiers",
  };
  const registered = new Set();
  for (const v of vectors) {
    // Look-alikes among the vectors are the next test's; here each name
    // meets only the names themselves.
    const skeletons = await keysLike("user-skeleton:*");
    if (skeletons.length) await redis.del(skeletons);
    const res = await register(v.input);
    const what = `${JSON.stringify(v.input)}${v.why ? ` (${v.why})` : ""}`;
    if (v.error) {
      await assertJsonError(res, 400, MESSAGES[v.error]);
    } else if (registered.has(v.normalized)) {
      await assertJsonError(res, 409, "that username is taken");
    } else {
      assert.equal(res.status, 201, `${what}: ${res.text}`);
      assert.equal(res.body.user, v.normalized, what);
      registered.add(v.normalized);
      if (v.skeleton) assert.equal(await redis.get(`user-skeleton:${v.skeleton}`), v.normalized, `${what}: its UTS #39 skeleton`);
    }
  }
  assert.deepEqual(await keysLike("user:*"), [...registered].map((n) => `user:${n}`).sort());
});

test("a wrong password, an unknown user and an impossible name get the same answer, and change no session", async () => {
  await register("alice");
  const anon = await anonymous();
  const before = await redis.get(sess(anon.sid));
  const sessions = await keysLike("sess:*");
  const answers = [];
  for (const [username, password, ip] of [
    ["alice", WRONG_PASSWORD, "192.0.2.1"],
    ["nobody", PASSWORD, "192.0.2.2"],
    ["no body", PASSWORD, "192.0.2.3"],
    ["alice", WRONG_PASSWORD, "192.0.2.4"],
    ["alice", "a".repeat(1025), "192.0.2.5"],
  ]) {
    const res = await call(worker, "/api/login", { json: { username, password }, cookie: anon.cookie, ip });
    // Server-Timing's milliseconds differ from one request to the next; its
    // round trips are compared below.
    const headers = [...res.headers].filter(([k]) => k !== "date" && k !== "server-timing");
    const trips = res.headers.get("server-timing").match(/store;desc="([^"]*)"/)[1];
    answers.push({ status: res.status, text: res.text, headers, trips });
    assertNoSetCookie(res);
  }
  assert.equal(answers[0].status, 401);
  assert.equal(answers[0].text, BAD_CREDENTIALS);
  // An impossible name is refused before the store is asked (the naming
  // rules are public, so that says nothing about accounts): its store
  // traffic differs; a wrong password, an unknown user and an absurd
  // password cost the same round trips.
  for (const a of answers.slice(1)) {
    assert.deepEqual({ ...a, trips: undefined }, { ...answers[0], trips: undefined }, "indistinguishable answers");
  }
  for (const i of [1, 3, 4]) assert.equal(answers[i].trips, answers[0].trips, "the same store traffic");
  // Nothing happened to the visitor's session: not rotated, not logged in.
  assert.equal(await redis.get(sess(anon.sid)), before);
  assert.deepEqual(await keysLike("sess:*"), sessions, "no session was created");
  assert.deepEqual(await keysLike("user-sessions:*"), []);
  // A wrong password and an unknown user count as failures, for the name and
  // for the address. An impossible name is refused before any lookup and not
  // counted: it cannot be an account, and the rules are public anyway.
  assert.equal(await redis.get("login-fail:user:alice"), "3");
  assert.equal(await redis.get("login-fail:user:nobody"), "1");
  assert.deepEqual(await keysLike("login-fail:ip:*"), ["192.0.2.1", "192.0.2.2", "192.0.2.4", "192.0.2.5"].map((ip) => `login-fail:ip:${ip}`));
  // The Express side answers the same.
  const ex = await call(express, "/login", { json: { username: "nobody", password: PASSWORD } });
  assert.equal(ex.status, 401);
  assert.equal(ex.text, BAD_CREDENTIALS);
});

test("failed logins per username: 3 failures → 429 with Retry-After even for the right password, other users unaffected, released after the window", async () => {
  await register("alice");
  await register("bob");
  const sessions = await keysLike("sess:*");
  // Three failures from three addresses: only the name's counter reaches its limit.
  for (const ip of ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) {
    const res = await call(worker, "/api/login", { json: { username: "alice", password: WRONG_PASSWORD }, ip });
    assert.equal(res.status, 401);
    assert.equal(res.text, BAD_CREDENTIALS);
  }
  assert.equal(await redis.get("login-fail:user:alice"), "3");
  const ttl = await redis.ttl("login-fail:user:alice");
  assert.ok(ttl >= 1 && ttl <= WINDOW_S, `fixed window TTL ${ttl}`);

  // The right password from a fresh address is refused now, and so is a wrong one: same answer.
  const right = await call(worker, "/api/login", { json: { username: "alice", password: PASSWORD }, ip: "198.51.100.4" });
  await assertRateLimited(right);
  const wrong = await call(worker, "/api/login", { json: { username: "ALICE", password: WRONG_PASSWORD }, ip: "198.51.100.5" });
  await assertRateLimited(wrong);
  assert.equal(await redis.get("login-fail:user:alice"), "3", "refused attempts are not hashed nor counted");
  // Every attempt is counted first (so parallel guesses cannot pass the
  // limit) and refused ones are taken back: the address's counter is 0 or gone.
  assert.ok([null, "0"].includes(await redis.get("login-fail:ip:198.51.100.4")));
  assert.deepEqual(await keysLike("sess:*"), sessions, "no session was created by a refused login");
  // Another user is not limited by alice's failures.
  const bob = await login("bob", PASSWORD, { ip: "198.51.100.1" });
  assert.equal(bob.res.body.user, "bob");

  // Released after the window.
  await waitGone("login-fail:user:alice");
  const back = await login("alice", PASSWORD, { ip: "198.51.100.4" });
  assert.equal(back.res.body.user, "alice");
  assert.equal(await redis.exists("login-fail:user:alice"), 0, "a success forgives the name");
});

test("failed logins per client IP (CF-Connecting-IP): 5 failures → 429 for that address only, released after the window", async () => {
  await register("carol");
  const ip = "203.0.113.9";
  // Five failures on five different names: no name reaches its limit of 3.
  for (let i = 1; i <= 5; i++) {
    const res = await call(worker, "/api/login", { json: { username: `guess${i}`, password: WRONG_PASSWORD }, ip });
    assert.equal(res.status, 401);
  }
  // Miniflare passes the client's CF-Connecting-IP through as is: the
  // counter is named by the header's value.
  assert.equal(await redis.get(`login-fail:ip:${ip}`), "5");
  assert.deepEqual(await keysLike("login-fail:ip:*"), [`login-fail:ip:${ip}`]);

  const limited = await call(worker, "/api/login", { json: { username: "carol", password: PASSWORD }, ip });
  await assertRateLimited(limited);
  const elsewhere = await login("carol", PASSWORD, { ip: "203.0.113.10" });
  assert.equal(elsewhere.res.body.user, "carol", "another address is not limited");
  const v6 = await login("carol", PASSWORD, { ip: "2001:db8::1" });
  assert.equal(v6.res.body.user, "carol");
  assert.equal(await redis.get(`login-fail:ip:${ip}`), "5", "a success elsewhere does not forgive this address");

  await waitGone(`login-fail:ip:${ip}`);
  const released = await login("carol", PASSWORD, { ip });
  assert.equal(released.res.body.user, "carol");

  // Without the header (not possible behind Cloudflare) Miniflare supplies
  // the peer address itself.
  const noHeader = await call(worker, "/api/login", { json: { username: "carol", password: WRONG_PASSWORD } });
  assert.equal(noHeader.status, 401);
  assert.equal(await redis.get("login-fail:ip:127.0.0.1"), "1");
});

test("common passwords and passwords containing the username are refused with 400 and store nothing (NIST SP 800-63B); any Unicode of 8 characters or more is fine", async () => {
  for (const [username, password, reason] of [
    ["weak1", "password", /one of the most common passwords/],
    ["weak2", "12345678", /one of the most common passwords/],
    ["weak3", "Iloveyou", /one of the most common passwords/],
    ["weak4", "my weak4 password", /contains the username/],
    ["weak5", "My-WEAK5-pass", /contains the username/],
    ["weak8", "987654321", /repeated, or a run/],
    ["weak9", "88888888", /repeated, or a run/],
    ["weak10", "\uFF50\uFF41\uFF53\uFF53\uFF57\uFF4F\uFF52\uFF44", /one of the most common passwords/],
    // wrangler.toml's AUTH_CONTEXT_WORDS (OWASP ASVS V6.2.11).
    ["weak6", "My-Edge-Session-2026", /contains the name of this site or service/],
    ["weak7", "love CraftBeer!!", /contains the name of this site or service/],
  ]) {
    const res = await register(username, password);
    await assertJsonError(res, 400, reason);
    assert.equal(await redis.exists(`user:${username}`), 0, `${username} stored nothing`);
  }
  assert.equal((await register("strong1", "ünïcödé! ☕ x")).status, 201);
});

test("a pepper (AUTH_PEPPER) keys every new hash: the record names it, a worker without it cannot check the password, and rotating to a new pepper (the old one as AUTH_PEPPER_PREVIOUS) rehashes at the next login", async () => {
  const [oldPepper, newPepper] = ["o".repeat(40), "n".repeat(40)];
  const id = (p) => createHash("sha256").update(p).digest("hex").slice(0, 8);
  const start = (vars) => startWorker({ upstashUrl: upstash.url, vars: { ...LIMITS, AUTH_PBKDF2_ITERATIONS: "1000", ...vars } });
  const peppered = await start({ AUTH_PEPPER: oldPepper });
  const rotated = await start({ AUTH_PEPPER: newPepper, AUTH_PEPPER_PREVIOUS: oldPepper });
  const unpeppered = await start({});
  const short = await start({ AUTH_PEPPER: "too short" });
  try {
    assert.equal((await register("pepper1", PASSWORD, { base: peppered })).status, 201);
    const stored = JSON.parse(await redis.get("user:pepper1")).password;
    const parts = stored.split("$");
    assert.deepEqual(parts.slice(0, 3), ["pbkdf2-sha256-pepper", id(oldPepper), "1000"], stored);
    // The salt and hash alone do not verify the password: PBKDF2 of the plain password differs.
    const plain = pbkdf2Sync(PASSWORD, Buffer.from(parts[3], "base64"), 1000, 32, "sha256").toString("base64").replace(/=+$/, "");
    assert.notEqual(plain, parts[4], "the stored hash is not PBKDF2 of the password alone");
    const keyed = createHmac("sha256", oldPepper).update(PASSWORD).digest();
    const expected = pbkdf2Sync(keyed, Buffer.from(parts[3], "base64"), 1000, 32, "sha256").toString("base64").replace(/=+$/, "");
    assert.equal(parts[4], expected, "PBKDF2 of HMAC-SHA256(pepper, password)");
    assert.equal((await login("pepper1", PASSWORD, { base: peppered })).res.body.user, "pepper1");
    // Without the pepper: the hash cannot be checked, and nothing is let in.
    const without = await call(unpeppered, "/api/login", { json: { username: "pepper1", password: PASSWORD } });
    assert.equal(without.status, 500, without.text);
    assertNoSetCookie(without);
    // Rotated: the old pepper still verifies, and the record is rehashed with the new one.
    assert.equal((await login("pepper1", PASSWORD, { base: rotated })).res.body.user, "pepper1");
    assert.equal(JSON.parse(await redis.get("user:pepper1")).password.split("$")[1], id(newPepper));
    // A pepper shorter than 32 bytes is refused, naming the variable and not echoing it.
    const refused = await call(short, "/api/session", { method: "GET" });
    assert.equal(refused.status, 500);
    assert.match(refused.text, /AUTH_PEPPER is invalid: a secret of at least 32 bytes/);
    assert.ok(!refused.text.includes("too short"));
  } finally {
    for (const w of [peppered, rotated, unpeppered, short]) await w.stop();
  }
});

test("an absolute lifetime (SESSION_ABSOLUTE_TIMEOUT_SECONDS): a logged-in cookie replayed every second is logged out once the login is older than the limit, and its key is deleted", async () => {
  const limited = await startWorker({ upstashUrl: upstash.url, vars: { ...LIMITS, AUTH_PBKDF2_ITERATIONS: "1000", SESSION_ABSOLUTE_TIMEOUT_SECONDS: "3" } });
  try {
    assert.equal((await register("absolute1", PASSWORD, { base: limited })).status, 201);
    const { sid, cookie } = await login("absolute1", PASSWORD, { base: limited });
    const at = JSON.parse(await redis.get(sess(sid))).authenticatedAt;
    assert.equal(typeof at, "number", "the login's time is in the document, where Express sees it");
    const seen = [];
    for (;;) {
      const res = await getSession(cookie, limited);
      assert.equal(res.status, 200, res.text);
      seen.push(res.body.user ?? null);
      if (!res.body.user) {
        assert.ok(Date.now() >= at + 3000, "not logged out before the limit");
        assert.match(res.body.error, /SESSION_ABSOLUTE_TIMEOUT_SECONDS/);
        assert.match(res.headers.get("server-timing"), /session;desc="login-expired"/);
        break;
      }
      assert.ok(Date.now() < at + 6000, `still logged in 6 s after the login: ${JSON.stringify(seen)}`);
      await sleep(1000);
    }
    assert.ok(seen.filter(Boolean).length >= 2, `used while the login lasted: ${JSON.stringify(seen)}`);
    assert.equal(await redis.exists(sess(sid)), 0, "the expired login's key is deleted");
    // A Passport login made by Express records no time: the worker stamps
    // it at its first request and ends it the limit after that.
    assert.equal((await register("absolute2", PASSWORD, { base: limited })).status, 201);
    const e = await login("absolute2", PASSWORD, { base: express });
    assert.equal((await doc(e.sid)).authenticatedAt, undefined);
    assert.equal((await getSession(e.cookie, limited)).body.user, "absolute2");
    const stamped = (await doc(e.sid)).authenticatedAt;
    assert.equal(typeof stamped, "number", "stamped at the worker's first sight");
    await sleep(Math.max(0, stamped + 3000 - Date.now()) + 100);
    assert.equal((await getSession(e.cookie, limited)).body.user, undefined, "ended the limit after");
  } finally {
    await limited.stop();
  }
});

test("names that look alike or cannot be seen are refused (RFC 8265, UTS #39): an all-Cyrillic scope, a dotless ı, three HANGUL FILLERs, dots only", async () => {
  assert.equal((await register("scope-9731")).status, 201);
  const before = await snapshot();
  const cyrillic = await register("\u0455\u0441\u043E\u0440\u0435-9731");
  await assertJsonError(cyrillic, 409, "that username looks too much like one that is taken");
  assert.equal((await register("sectest-ping")).status, 201);
  await assertJsonError(await register("sectest-p\u0131ng"), 409, "that username looks too much like one that is taken");
  await assertJsonError(await register("SCOPE-973l"), 409, "that username looks too much like one that is taken");
  await assertJsonError(await register("\u3164\u3164\u3164"), 400, "a username may not contain invisible, unassigned or other characters RFC 8265 disallows, or mix writing directions");
  await assertJsonError(await register("ab\u200Bcd"), 400);
  await assertJsonError(await register("..."), 400, "a username needs at least one letter or digit");
  const after = await snapshot();
  for (const k of Object.keys(after)) if (!(k in before)) assert.match(k, /^(register:|sess:|user:sectest-ping$|user-skeleton:sectest-ping$|login-known:sectest-ping$|user-sessions:sectest-ping$)/, `only counters, sessions and sectest-ping (and its index: registering logs in) are new: ${k}`);
  assert.equal(await redis.get("user-skeleton:scope-973l"), "scope-9731");
  // The owner's own name is still its own: its login works, a second registration is "taken".
  assert.equal((await login("scope-9731")).res.body.user, "scope-9731");
  await assertJsonError(await register("scope-9731"), 409, "that username is taken");
});

test("an account nobody logs into expires with its skeleton (AUTH_UNVERIFIED_ACCOUNT_TTL_SECONDS); one logged into stays", async () => {
  const w = await startWorker({ upstashUrl: upstash.url, vars: { ...LIMITS, AUTH_PBKDF2_ITERATIONS: "1000", AUTH_UNVERIFIED_ACCOUNT_TTL_SECONDS: "2" } });
  try {
    assert.equal((await register("unused1", PASSWORD, { base: w })).status, 201);
    assert.equal((await register("used1", PASSWORD, { base: w })).status, 201);
    assert.equal((await login("used1", PASSWORD, { base: w })).res.body.user, "used1");
    await waitGone("user:unused1", 4000);
    // (UTS #39: the skeleton of 1 is l.)
    assert.equal(await redis.exists("user-skeleton:unusedl"), 0, "the skeleton went with it");
    assert.equal(await redis.exists("user:used1"), 1);
    assert.equal(await redis.ttl("user:used1"), -1);
    assert.equal(await redis.ttl("user-skeleton:usedl"), -1);
    assert.equal((await register("unused1", PASSWORD, { base: w })).status, 201, "the name is free again");
  } finally {
    await w.stop();
  }
});

test("requests without a usable address (a CF-Connecting-IP that is no IP; Miniflare fills in a missing one) share their own lower limit, AUTH_MAX_ATTEMPTS_WITHOUT_ADDRESS, for failed logins and registrations", async () => {
  const w = await startWorker({
    upstashUrl: upstash.url,
    vars: { ...LIMITS, AUTH_PBKDF2_ITERATIONS: "1000", AUTH_MAX_FAILURES_PER_IP: "50", AUTH_MAX_FAILURES_PER_USER: "50", AUTH_MAX_FAILURES_PER_USER_AND_IP: "50", AUTH_MAX_ATTEMPTS_WITHOUT_ADDRESS: "2", AUTH_FAILURE_WINDOW_SECONDS: "30" },
  });
  try {
    const reg = (name, ip) => call(w, "/api/register", { json: { username: name, password: PASSWORD }, ip });
    assert.equal((await reg("noaddr1", "not-an-address")).status, 201);
    assert.equal((await reg("noaddr2", "999.1.1.1")).status, 201, "any value that is no IP counts as none");
    assert.equal((await reg("noaddr3", "unknown")).status, 429, "the third registration without an address");
    assert.equal((await reg("noaddr3", "192.0.2.44")).status, 201, "a request with an address is not held by it");
    const guess = (ip) => call(w, "/api/login", { json: { username: "noaddr1", password: WRONG_PASSWORD }, ip });
    assert.equal((await guess("garbage")).status, 401);
    assert.equal((await guess("::ffff:not")).status, 401);
    assert.equal((await guess("-")).status, 429, "the third failure for the name without an address");
    const other = await call(w, "/api/login", { json: { username: "noaddr2", password: WRONG_PASSWORD }, ip: "garbage" });
    assert.equal(other.status, 401, "no shared bucket: another name without an address is not held");
    assert.equal((await guess("192.0.2.44")).status, 401, "an address still gets its own (higher) limit");
    assert.equal((await login("noaddr1", PASSWORD, { base: w, ip: "192.0.2.45" })).res.body.user, "noaddr1");
  } finally {
    await w.stop();
  }
});

test("the session index outlives its sessions and no more: its TTL is the longest session TTL, raised by every save and touch of a logged-in session, never lowered", async () => {
  // 30-day rolling sessions: longer than connect-redis's one-day ttl.
  const DAYS_30 = 30 * 86400;
  const long = await startWorker({
    upstashUrl: upstash.url,
    vars: { ...LIMITS, AUTH_PBKDF2_ITERATIONS: "1000", SESSION_MAX_AGE_MS: String(DAYS_30 * 1000), SESSION_ROLLING: "true" },
  });
  try {
    assert.equal((await register("indexttl1", PASSWORD, { base: long })).status, 201);
    const { cookie } = await login("indexttl1", PASSWORD, { base: long });
    const index = "user-sessions:indexttl1";
    assert.ok((await redis.ttl(index)) > DAYS_30 - 5, "the login's save gives the index the sessions' TTL");
    // As if the last save were long ago: a read (a touch, after the answer)
    // and a pour (a save) each raise it again.
    await redis.expire(index, 100);
    assert.equal((await getSession(`${cookie}; _redisDemo.user=indexttl1`, long)).body.user, "indexttl1");
    await eventually(async () => (await redis.ttl(index)) > DAYS_30 - 5, "the touch raises the index's TTL");
    await redis.expire(index, 100);
    assert.equal((await pour(cookie, long)).body.user, "indexttl1");
    assert.ok((await redis.ttl(index)) > DAYS_30 - 5, "the save raises it");
    // Never lowered: a worker with short sessions leaves a longer TTL alone.
    const short = await redis.ttl(index);
    assert.equal((await getSession(cookie)).body.user, "indexttl1");
    await sleep(300);
    assert.ok((await redis.ttl(index)) >= short - 1, "a shorter TTL does not lower it");
    // An anonymous session keeps no index.
    const anon = await anonymous();
    await pour(anon.cookie, long);
    assert.deepEqual(await keysLike("user-sessions:*"), [index]);
  } finally {
    await long.stop();
  }
});

test("a deleted account's cookie is logged out at its next request and pours no more as that user", async () => {
  assert.equal((await register("deleted1")).status, 201);
  const { sid, cookie } = await login("deleted1");
  await redis.del("user:deleted1");
  const read = await getSession(cookie);
  assert.equal(read.status, 200, read.text);
  assert.equal(read.body.user, undefined, "no longer logged in");
  assert.notEqual(read.body.sessionID, sid);
  assert.equal(await redis.exists(sess(sid)), 0, "the deleted user's session is gone");
  const poured = await pour(cookie);
  assert.equal(poured.status, 200, poured.text);
  assert.equal(poured.body.user, undefined);
  assert.equal(await redis.exists("user-beers:deleted1"), 0, "no lifetime beer for a deleted account");
});

test("a password change (POST /api/password) ends the user's other sessions, keeps this browser logged in under a new id, and the old password stops working", async () => {
  assert.equal((await register("changer1")).status, 201);
  const a = await login("changer1", PASSWORD, { ip: "198.51.100.61" });
  const b = await login("changer1", PASSWORD, { ip: "198.51.100.62" });
  // As the browser sends it: with the companion cookie naming the user.
  const aCookie = `${a.cookie}; _redisDemo.user=changer1`;
  const change = (password, newPassword) => call(worker, "/api/password", { json: { password, newPassword }, cookie: aCookie, ip: "198.51.100.61" });
  await assertJsonError(await change(WRONG_PASSWORD, OTHER_PASSWORD), 401, BAD_CREDENTIALS.match(/"error":"([^"]+)"/)[1]);
  await assertJsonError(await change(PASSWORD, "password"), 400, /one of the most common passwords/);
  assert.equal(await redis.exists(sess(b.sid)), 1, "a refused change ends nothing");
  const res = await change(PASSWORD, OTHER_PASSWORD);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.user, "changer1");
  assert.equal(res.body.sessionsEnded, 2);
  assert.equal(await redis.exists(sess(a.sid)), 0);
  assert.equal(await redis.exists(sess(b.sid)), 0, "the other browser's session ended");
  const after = (await getSession(b.cookie)).body;
  assert.equal(after.user, undefined, "the other browser is logged out");
  const mine = parseSetCookie(res);
  assert.equal((await getSession(mine.pair)).body.user, "changer1", "this browser goes on logged in");
  assert.deepEqual(await redis.sMembers("user-sessions:changer1"), [mine.sid]);
  const old = await call(worker, "/api/login", { json: { username: "changer1", password: PASSWORD } });
  assert.equal(old.status, 401);
  assert.equal((await login("changer1", OTHER_PASSWORD)).res.body.user, "changer1");
  // Not logged in: 401.
  await assertJsonError(await call(worker, "/api/password", { json: { password: PASSWORD, newPassword: OTHER_PASSWORD } }), 401, "log in first");
});

test("the address that registered is known: guesses from 20 other addresses do not keep the owner from the first login; one address refused by its own limit leaves the global cap to others", async () => {
  assert.equal((await register("fresh1", PASSWORD, { ip: "203.0.113.77" })).status, 201);
  for (let i = 0; i < 20; i++) {
    const res = await call(worker, "/api/login", { json: { username: "fresh1", password: WRONG_PASSWORD }, ip: `198.51.100.${i + 1}` });
    assert.ok([401, 429].includes(res.status), res.text);
  }
  assert.equal((await login("fresh1", PASSWORD, { ip: "203.0.113.77" })).res.body.user, "fresh1", "the first login, from where the owner registered");
  assert.equal(await redis.ttl("user:fresh1"), -1, "and the account is kept");

  const capped = await startWorker({ upstashUrl: upstash.url, vars: { ...LIMITS, AUTH_PBKDF2_ITERATIONS: "1000", AUTH_MAX_REGISTRATIONS_PER_IP: "2", AUTH_MAX_REGISTRATIONS: "5", AUTH_FAILURE_WINDOW_SECONDS: "30" } });
  await redis.del("register:all"); // fresh1's registration above
  try {
    for (let i = 0; i < 10; i++) await call(capped, "/api/register", { json: { username: "x", password: PASSWORD }, ip: "192.0.2.66" });
    const refused = await call(capped, "/api/register", { json: { username: "hog1", password: PASSWORD }, ip: "192.0.2.66" });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error, "too many registrations");
    assert.equal(await redis.get("register:all"), "2", "only the two the address's limit let through count globally");
    assert.equal((await call(capped, "/api/register", { json: { username: "other1", password: PASSWORD }, ip: "203.0.113.200" })).status, 201);
  } finally {
    await capped.stop();
  }
});

test("a password change wins over logins with the old password racing it: it is never refused for them, and no such login outlives it", async () => {
  for (let trial = 0; trial < 6; trial++) {
    const name = `racer${trial}`;
    assert.equal((await register(name)).status, 201);
    const owner = await login(name, PASSWORD, { ip: "203.0.113.9" });
    let stop = false;
    const theirs = [];
    const attacker = (async () => {
      while (!stop) {
        const a = await call(worker, "/api/login", { json: { username: name, password: PASSWORD }, ip: "192.0.2.200" });
        if (a.status === 200) theirs.push(parseSetCookie(a).pair);
        else assert.ok([401, 429].includes(a.status), a.text);
      }
    })();
    await sleep(30 + 40 * trial);
    const change = await call(worker, "/api/password", { json: { password: PASSWORD, newPassword: "a brand new passphrase" }, cookie: owner.cookie, ip: "203.0.113.9" });
    stop = true;
    await attacker;
    assert.equal(change.status, 200, `trial ${trial}: ${change.text}`);
    for (const cookie of theirs) assert.equal((await getSession(cookie)).body.user, undefined, `trial ${trial}: a racing login outlived the change`);
    assert.deepEqual(await redis.sMembers(`user-sessions:${name}`), [change.body.sessionID], `trial ${trial}: only the changer's new session is indexed`);
  }
});

test("registrations have a global cap per window beside the per-address one (AUTH_MAX_REGISTRATIONS), and IPv6 addresses share a /48", async () => {
  const capped = await startWorker({ upstashUrl: upstash.url, vars: { ...LIMITS, AUTH_PBKDF2_ITERATIONS: "1000", AUTH_MAX_REGISTRATIONS: "3", AUTH_MAX_REGISTRATIONS_PER_IP: "2" } });
  try {
    const reg = (name, ip) => register(name, PASSWORD, { base: capped, ip });
    assert.equal((await reg("cap1", "2001:db8:7:1::1")).status, 201);
    assert.equal((await reg("cap2", "2001:db8:7:2::1")).status, 201, "another /64 of the same /48");
    await assertRateLimited(await reg("cap3", "2001:db8:7:3::1"));
    // The attempt its address's limit refused is taken back from the global count.
    assert.equal(await redis.get("register:all"), "2");
    // From elsewhere: the global cap of 3.
    assert.equal((await reg("cap4", "198.51.100.99")).status, 201);
    await assertRateLimited(await reg("cap5", "192.0.2.5"));
    assert.deepEqual(await keysLike("user:cap*"), ["user:cap1", "user:cap2", "user:cap4"]);
    assert.equal(await redis.get("register:all"), "4", "an attempt the global cap refused stays counted");
  } finally {
    await capped.stop();
  }
});

test("lockout without denial of service: guesses from 20 addresses brake every new address, the owner still logs in from an address it used before; a shared address is held by the (name, address) limit", async () => {
  await register("erin");
  const home = "198.51.100.77";
  assert.equal((await login("erin", PASSWORD, { ip: home })).res.body.user, "erin");
  assert.deepEqual((await redis.sMembers("login-known:erin")).sort(), ["127.0.0.1", home].sort(), "the registering address (Miniflare's) and the login's are known");
  const ttl = await redis.ttl("login-known:erin");
  assert.ok(ttl > 89 * 24 * 3600 && ttl <= 90 * 24 * 3600, `known for 90 days: ${ttl}`);
  // The attack: one wrong guess from each of 20 addresses.
  const statuses = [];
  for (let i = 1; i <= 20; i++) {
    const res = await call(worker, "/api/login", { json: { username: "erin", password: WRONG_PASSWORD }, ip: `203.0.113.${100 + i}` });
    statuses.push(res.status);
  }
  assert.deepEqual(statuses, [...Array(3).fill(401), ...Array(17).fill(429)], "3 failures, then every new address waits");
  // The owner, from home, with the right password: in.
  const owner = await login("erin", PASSWORD, { ip: home });
  assert.equal(owner.res.body.user, "erin", "the attack does not lock the owner out");
  // An attacker behind the owner's address (a shared NAT): the pair's hard limit.
  const shared = [];
  for (let i = 0; i < 5; i++) {
    shared.push((await call(worker, "/api/login", { json: { username: "erin", password: WRONG_PASSWORD }, ip: home })).status);
  }
  assert.deepEqual(shared, [401, 401, 401, 401, 429], "4 failures of the name from one address, then 429");
  await waitGone(`login-fail:pair:erin:${home}`);
  assert.equal((await login("erin", PASSWORD, { ip: home })).res.body.user, "erin", "released after the window");
});

test(
  "Retry-After is exact: waiting that many seconds is enough, and it never exceeds the time left",
  async () => {
    await register("dave");
    for (const ip of ["198.51.100.21", "198.51.100.22", "198.51.100.23"]) {
      assert.equal((await call(worker, "/api/login", { json: { username: "dave", password: WRONG_PASSWORD }, ip })).status, 401);
    }
    const problems = [];
    // 0.7 s into the 2 s window: 1.3 s are left.
    await sleep(700);
    const first = await call(worker, "/api/login", { json: { username: "dave", password: PASSWORD }, ip: "198.51.100.24" });
    const left = await redis.pTTL("login-fail:user:dave");
    const wait = await assertRateLimited(first);
    if (wait * 1000 < left) problems.push(`Retry-After ${wait} s with ${left} ms left in the window`);
    await sleep(wait * 1000);
    const retry = await call(worker, "/api/login", { json: { username: "dave", password: PASSWORD }, ip: "198.51.100.24" });
    if (retry.status !== 200) {
      const pttl = await redis.pTTL("login-fail:user:dave");
      const again = retry.headers.get("retry-after");
      problems.push(`after waiting Retry-After (${wait} s): ${retry.status} ${retry.text}, Retry-After ${again}, ${pttl} ms left`);
      if (pttl > 0 && Number(again) > Math.ceil(pttl / 1000)) {
        problems.push(`Retry-After ${again} s with only ${pttl} ms left`);
      }
    }
    assert.deepEqual(problems, []);
  },
);

test(
  "the per-username limit holds against a burst of parallel guesses",
  async () => {
    await register("ivan");
    const statuses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        call(worker, "/api/login", { json: { username: "ivan", password: `${WRONG_PASSWORD}${i}` }, ip: `198.18.0.${i + 1}` }).then((r) => r.status),
      ),
    );
    const evaluated = statuses.filter((s) => s === 401).length;
    assert.deepEqual([...new Set(statuses)].sort(), [401, 429], `statuses ${statuses}`);
    assert.ok(evaluated <= 3, `${evaluated} of 12 parallel guesses were checked against the password; the limit is 3`);
  },
);

test("cross-site POSTs are refused with 403 and change nothing; same-origin ones pass; reads are never refused", async () => {
  await register("alice");
  const alice = await login("alice");
  await pour(alice.cookie);
  const state = await snapshot();

  const foreign = [
    { "sec-fetch-site": "cross-site" },
    { "sec-fetch-site": "same-site" },
    { origin: "http://evil.example" },
    { origin: "null" },
    // Sec-Fetch-Site wins over a matching Origin.
    { origin: worker.url, "sec-fetch-site": "cross-site" },
  ];
  const routes = [
    ["/api/pour", {}],
    ["/api/register", { form: { username: "mallory", password: PASSWORD } }],
    ["/api/login", { form: { username: "alice", password: PASSWORD } }],
    ["/api/logout", {}],
    ["/api/logout-all", {}],
  ];
  for (const headers of foreign) {
    for (const [path, body] of routes) {
      const res = await call(worker, path, { ...body, headers, cookie: alice.cookie });
      await assertJsonError(res, 403, CROSS_SITE);
    }
  }
  assert.deepEqual(await snapshot(), state, "a refused request reads and writes nothing");

  // Same-origin requests: our page (Sec-Fetch-Site same-origin, or Origin
  // alone from an older browser), a typed URL ("none"), or no browser at all.
  for (const headers of [{ "sec-fetch-site": "same-origin", origin: worker.url }, { origin: worker.url }, { "sec-fetch-site": "none" }, {}]) {
    const res = await pour(alice.cookie, worker, headers);
    assert.equal(res.status, 200, `${JSON.stringify(headers)}: ${res.text}`);
  }
  assert.equal(await redis.get("user-beers:alice"), "5");
  const sameOrigin = await call(worker, "/api/login", {
    form: { username: "alice", password: PASSWORD },
    headers: { "sec-fetch-site": "same-origin", origin: worker.url },
  });
  assert.equal(sameOrigin.status, 200);
  // A cross-site GET reads the session but changes nothing: allowed.
  const read = await getSession(alice.cookie);
  const crossRead = await call(worker, "/api/session", { method: "GET", cookie: alice.cookie, headers: { "sec-fetch-site": "cross-site" } });
  assert.equal(crossRead.status, 200);
  assert.equal(crossRead.body.user, read.body.user);
});

test("log out everywhere: 3 worker logins + 1 Express Passport login end in one DEL; other users untouched; the caller's cookie cleared", async () => {
  await register("alice");
  await register("bob");
  // Four cookie jars logged in as alice: three on the worker, one on Express.
  const jars = [await login("alice"), await login("ALICE", PASSWORD, { form: true }), await login("alice")];
  const viaExpress = await login("alice", PASSWORD, { base: express });
  assert.equal((await call(express, "/whoami", { method: "GET", cookie: viaExpress.cookie })).body.user, "alice");
  await pour(jars[1].cookie);
  const aliceSids = [...jars.map((j) => j.sid), viaExpress.sid];
  assert.deepEqual((await redis.sMembers("user-sessions:alice")).sort(), [...aliceSids].sort(), "the Express login is indexed too");
  // Bystanders: bob on both sides, and an anonymous visitor.
  const bob = await login("bob");
  const bobExpress = await login("bob", PASSWORD, { base: express });
  const anon = await anonymous();
  const bystanders = [bob.sid, bobExpress.sid, anon.sid];
  const bystanderDocs = await Promise.all(bystanders.map((sid) => redis.get(sess(sid))));
  const bobIndex = (await redis.sMembers("user-sessions:bob")).sort();

  const mon = await startMonitor(redis);
  const res = await call(worker, "/api/logout-all", { cookie: jars[0].cookie, headers: { "sec-fetch-site": "same-origin" } });
  const commands = await mon.stop();
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body, { sessionID: null, user: null, lifetimeBeers: null, sessionsEnded: 4 });
  // The caller's cookie is cleared: an expired, empty Set-Cookie.
  assert.deepEqual(res.cookies, ["_redisDemo=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly"]);

  // All four keys and the index went in one DEL (one round trip).
  const dels = commands.filter((c) => c[0].toUpperCase() === "DEL");
  const allAtOnce = dels.find((c) => aliceSids.every((sid) => c.includes(sess(sid))));
  assert.ok(allAtOnce, `no single DEL of all four sessions: ${JSON.stringify(dels)}`);
  assert.deepEqual(allAtOnce.slice(1).sort(), [...aliceSids.map(sess), "user-sessions:alice"].sort());
  for (const sid of aliceSids) assert.equal(await redis.exists(sess(sid)), 0, `${sess(sid)} is gone`);
  assert.equal(await redis.exists("user-sessions:alice"), 0);

  // Everyone else is as before; the lifetime count and the account stay.
  assert.deepEqual(await Promise.all(bystanders.map((sid) => redis.get(sess(sid)))), bystanderDocs);
  assert.deepEqual((await redis.sMembers("user-sessions:bob")).sort(), bobIndex);
  assert.equal(await redis.get("user-beers:alice"), "1");
  assert.ok(await redis.exists("user:alice"));

  // Any of the four cookies is anonymous now, on both sides.
  for (const jar of [...jars, viaExpress]) {
    const s = await getSession(jar.cookie);
    assert.equal(s.status, 200);
    assert.notEqual(parseSetCookie(s).sid, jar.sid);
    assert.equal(s.body.user, undefined);
    assert.equal(s.body.lifetimeBeers, undefined);
  }
  const who = await call(express, "/whoami", { method: "GET", cookie: viaExpress.cookie });
  assert.equal(who.body.user, null);
  assert.notEqual(who.body.sessionID, viaExpress.sid);
  // Bob is still logged in on both sides.
  assert.equal((await getSession(bob.cookie)).body.user, "bob");
  assert.equal((await call(express, "/whoami", { method: "GET", cookie: bobExpress.cookie })).body.user, "bob");

  // Not logged in: nothing to end.
  await assertJsonError(await call(worker, "/api/logout-all", { cookie: anon.cookie }), 401, "log in first");
});

test("a Passport login made by Express is a login on the worker and vice versa; a worker-registered user logs in on Express", async () => {
  await register("Alice"); // registered on the worker
  // Express, with the real passport + express-session: same hash format, same normalization.
  const e = await login("Ａｌｉｃｅ", PASSWORD, { base: express });
  assert.deepEqual(e.res.body, { sessionID: e.sid, user: "alice" });
  assert.deepEqual((await doc(e.sid)).passport, { user: "alice" });
  assert.deepEqual(await redis.sMembers("user-sessions:alice"), [e.sid], "indexed by edge-session-express (integrations/express)");
  assert.equal(await redis.ttl("user:alice"), -1, "an Express login keeps the account too (PERSIST)");
  assert.equal(await redis.ttl("user-sessions:alice"), 86400, "the same TTL from the Express side");
  // (express-session, saveUninitialized, sets a cookie even on a 401.)
  const refused = await call(express, "/login", { json: { username: "alice", password: WRONG_PASSWORD } });
  assert.equal(refused.status, 401);
  assert.equal(refused.text, BAD_CREDENTIALS);

  // The worker recognizes it, and counts beers for alice on it.
  const seen = await getSession(e.cookie);
  assert.equal(seen.status, 200);
  assertNoSetCookie(seen);
  assert.equal(seen.body.sessionID, e.sid);
  assert.equal(seen.body.user, "alice");
  assert.equal(seen.body.lifetimeBeers, 0);
  const poured = await pour(e.cookie);
  assert.equal(poured.body.lifetimeBeers, 1);
  assert.deepEqual(await call(express, "/whoami", { method: "GET", cookie: e.cookie }).then((r) => r.body), { sessionID: e.sid, user: "alice" });

  // A worker login, recognized by Express.
  const w = await login("alice");
  assert.deepEqual(await call(express, "/whoami", { method: "GET", cookie: w.cookie }).then((r) => r.body), { sessionID: w.sid, user: "alice" });
  // The worker's index pruned nothing live and added its own id.
  assert.deepEqual((await redis.sMembers("user-sessions:alice")).sort(), [e.sid, w.sid].sort());

  // Logging out crosses over too: Express logs out the worker's login, the worker logs out Express's.
  const eOut = await call(express, "/logout", { cookie: w.cookie });
  assert.equal(eOut.status, 200);
  assert.equal(await redis.exists(sess(w.sid)), 0);
  assert.equal((await getSession(w.cookie)).body.user, undefined);
  const wOut = await call(worker, "/api/logout", { cookie: e.cookie });
  assert.equal(wOut.status, 200);
  assert.equal(await redis.exists(sess(e.sid)), 0);
  assert.equal((await call(express, "/whoami", { method: "GET", cookie: e.cookie })).body.user, null);
  assert.equal(await redis.get("user-beers:alice"), "1");
});

test("edge-session-express (integrations/express): the worker's key layout, as a function or as middleware", async () => {
  assert.equal(indexKey("zoë"), "user-sessions:zoë");
  const index = indexLogin(redis);
  // Called in req.login's callback.
  await index({ sessionID: "sid-1", session: { passport: { user: "zoë" } } });
  // As middleware: next() after the write, next(err) on a bad user.
  const nextArgs = await new Promise((resolve) =>
    index({ sessionID: "sid-2", session: { passport: { user: "zoë" } } }, {}, (...a) => resolve(a)),
  );
  assert.deepEqual(nextArgs, []);
  const refused = await new Promise((resolve) =>
    index({ sessionID: "sid-3", session: { passport: { user: { id: 7 } } } }, {}, (...a) => resolve(a)),
  );
  assert.ok(refused[0] instanceof TypeError, "passport.user must be the username string");
  // Anonymous requests are left alone.
  await index({ sessionID: "sid-4", session: {} });
  assert.deepEqual((await redis.sMembers("user-sessions:zoë")).sort(), ["sid-1", "sid-2"]);
  assert.equal(await redis.ttl("user-sessions:zoë"), 86400, "the default index TTL: connect-redis's ttl");
  await indexLogin(redis, { ttlSeconds: 600 })({ sessionID: "sid-1", session: { passport: { user: "zoë" } } });
  assert.equal(await redis.ttl("user-sessions:zoë"), 86400, "never lowered");
  await indexLogin(redis, { ttlSeconds: 90000 })({ sessionID: "sid-1", session: { passport: { user: "zoë" } } });
  assert.equal(await redis.ttl("user-sessions:zoë"), 90000, "raised");
  assert.deepEqual(await keysLike("*"), ["user-sessions:zoë"]);
  // The worker prunes what the Express side added once those sessions are gone.
  await register("zoë");
  const l = await login("Zoë");
  assert.deepEqual(await redis.sMembers("user-sessions:zoë"), [l.sid]);
});

test("old hashes still verify and are rehashed at login when AUTH_PBKDF2_ITERATIONS rises", async () => {
  await register("erin");
  const old = await userRecord("erin");
  assert.equal(old.iterations, 1000);

  // A wrong password on the stronger worker changes nothing.
  assert.equal((await call(stronger, "/api/login", { json: { username: "erin", password: WRONG_PASSWORD } })).status, 401);
  assert.equal((await userRecord("erin")).raw, old.raw);

  // The right one logs in and upgrades the stored hash: new count, new salt.
  const up = await login("erin", PASSWORD, { base: stronger });
  assert.equal(up.res.body.user, "erin");
  const upgraded = await userRecord("erin");
  assert.equal(upgraded.iterations, 2000);
  assert.match(upgraded.record.password, /^pbkdf2-sha256\$2000\$/);
  assert.notEqual(upgraded.salt, old.salt, "a fresh salt");
  assert.equal(upgraded.record.username, "erin");
  assert.ok(hashMatches(upgraded, PASSWORD));
  assert.ok(!hashMatches(upgraded, WRONG_PASSWORD));

  // The old password still works everywhere; nothing downgrades it.
  assert.equal((await login("erin", PASSWORD, { base: stronger })).res.body.user, "erin");
  assert.equal((await login("erin")).res.body.user, "erin");
  assert.equal((await userRecord("erin")).raw, upgraded.raw, "a weaker policy does not rewrite the hash");
  assert.equal((await login("erin", PASSWORD, { base: express })).res.body.user, "erin", "Express verifies the upgraded hash");
  // New registrations on the stronger worker use its count.
  await register("frank", PASSWORD, { base: stronger });
  assert.equal((await userRecord("frank")).iterations, 2000);
});

test("lifetime beers survive logout and session expiry and show at the next login", async () => {
  await register("alice");
  const first = await login("alice");
  for (let n = 1; n <= 3; n++) assert.equal((await pour(first.cookie)).body.lifetimeBeers, n);
  const out = await call(worker, "/api/logout", { cookie: first.cookie });
  assert.equal(out.status, 200);
  const second = await login("alice");
  assert.equal(second.res.body.lifetimeBeers, 3, "after logout");
  assert.equal((await pour(second.cookie)).body.lifetimeBeers, 4);

  // The session expires (its key disappears, as with the 60 s TTL).
  await redis.del(sess(second.sid));
  const expired = await getSession(second.cookie);
  assert.equal(expired.status, 200);
  const anonSid = parseSetCookie(expired).sid;
  assert.notEqual(anonSid, second.sid);
  assert.equal(expired.body.user, undefined, "an expired login is anonymous");
  assert.equal(expired.body.lifetimeBeers, undefined);
  assert.equal(await redis.get("user-beers:alice"), "4");

  const third = await login("alice", PASSWORD, { cookie: parseSetCookie(expired).pair });
  assert.equal(third.res.body.lifetimeBeers, 4, "after expiry");
  const view = await getSession(third.cookie);
  assert.equal(view.body.lifetimeBeers, 4);
  assert.equal(view.body.beersViewed, undefined);
  // The expired and logged-out ids were pruned from the index at this login.
  assert.deepEqual(await redis.sMembers("user-sessions:alice"), [third.sid]);
});

test("anonymous sessions stay anonymous: pouring creates no per-user key and the answer has no user fields", async () => {
  await register("alice"); // an account exists (registering made a session), but this visitor never logs in
  const anon = await anonymous();
  const keys = await keysLike("*");
  for (let n = 1; n <= 3; n++) {
    const res = await pour(anon.cookie);
    assert.equal(res.body.beersViewed, n);
    assert.ok(!("user" in res.body) && !("lifetimeBeers" in res.body), res.text);
  }
  assert.deepEqual(await keysLike("*"), keys, "no key was added");
  assert.deepEqual(await keysLike("user-*"), ["user-skeleton:alice"], "the account's own keys only");
  const ttl = await redis.ttl(sess(anon.sid));
  assert.ok(ttl > 0 && ttl <= 60, `the anonymous session still expires (TTL ${ttl})`);
  assert.deepEqual(Object.keys(await doc(anon.sid)).sort(), ["cookie", "views"]);
});

test("AUTH_USER_PREFIX: users live under their own prefix", async () => {
  const other = await startWorker({ upstashUrl: upstash.url, vars: { AUTH_PBKDF2_ITERATIONS: "1000", AUTH_USER_PREFIX: "acct:" } });
  try {
    const reg = await register("Heidi", PASSWORD, { base: other });
    assert.equal(reg.status, 201);
    const raw = await redis.get("acct:heidi");
    assert.match(JSON.parse(raw).password, /^pbkdf2-sha256\$1000\$/);
    assert.equal(await redis.exists("user:heidi"), 0);
    assert.equal((await login("heidi", PASSWORD, { base: other })).res.body.user, "heidi");
    // The worker with the default prefix does not know her.
    const elsewhere = await call(worker, "/api/login", { json: { username: "heidi", password: PASSWORD } });
    assert.equal(elsewhere.status, 401);
  } finally {
    await other.stop();
  }
});

test("the production configuration of the README (production, a strong secret, __Host-sid, Secure, SameSite=Lax, a 12-hour absolute lifetime): every cookie keeps those attributes at login, logout and log-out-everywhere", async () => {
  const prod = await startWorker({
    upstashUrl: upstash.url,
    vars: {
      AUTH_PBKDF2_ITERATIONS: "1000",
      SESSION_ENVIRONMENT: "production",
      SESSION_SECRET: "a-strong-secret-of-at-least-32-bytes-for-tests",
      SESSION_COOKIE_NAME: "__Host-sid",
      SESSION_COOKIE_SECURE: "true",
      SESSION_COOKIE_SAMESITE: "lax",
      SESSION_ABSOLUTE_TIMEOUT_SECONDS: "43200",
      AUTH_PEPPER: "a-pepper-of-at-least-32-bytes-for-the-tests",
    },
  });
  try {
    // Behind Cloudflare the worker sees the visitor's https URL.
    const at = (p, init = {}) =>
      prod.mf.dispatchFetch(`https://beer.example${p}`, {
        method: "POST",
        redirect: "manual",
        ...init,
        headers: { "content-type": "application/json", origin: "https://beer.example", ...(init.headers ?? {}) },
      });
    const creds = JSON.stringify({ username: "grace", password: PASSWORD });
    assert.equal((await at("/api/register", { body: creds })).status, 201);
    const attrs = /^__Host-sid=s%3A[^;]+; Path=\/; Expires=[^;]+ GMT; HttpOnly; Secure; SameSite=Lax$/;
    const li = await at("/api/login", { body: creds });
    assert.equal(li.status, 200);
    const [line] = li.headers.getSetCookie();
    assert.match(line, attrs);
    const cookie = line.split(";")[0];
    const sid = decodeURIComponent(cookie.split("=")[1]).slice(2).split(".")[0];
    assert.equal(typeof JSON.parse(await redis.get(sess(sid))).authenticatedAt, "number", "the login's time is recorded");
    const lo = await at("/api/logout", { headers: { cookie } });
    assert.equal(lo.status, 200);
    assert.match(lo.headers.getSetCookie()[0], attrs);
    const li2 = await at("/api/login", { body: creds });
    // As a browser sends them: the session's cookie and its companions.
    const cookie2 = li2.headers.getSetCookie().map((l) => l.split(";")[0]).join("; ");
    assert.match(cookie2, /__Host-sid\.user=grace/);
    const all = await at("/api/logout-all", { headers: { cookie: cookie2 } });
    assert.equal(all.status, 200);
    assert.deepEqual(setCookieLines(all), ["__Host-sid=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax"]);
    assert.ok(
      all.headers.getSetCookie().includes("__Host-sid.user=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax"),
      "logout everywhere clears the companion that names the user",
    );
    // The companion cookies carry the same attributes.
    for (const r of [li, lo, li2, all]) {
      for (const l of r.headers.getSetCookie()) assert.match(l, /; HttpOnly; Secure; SameSite=Lax$/, l);
    }
    // A cross-site POST from another https site is refused there too.
    const cross = await at("/api/logout", { headers: { cookie: cookie2, origin: "https://evil.example" } });
    assert.equal(cross.status, 403);
    for (const r of [li, lo, li2, all, cross]) await r.arrayBuffer();
  } finally {
    await prod.stop();
  }
});

test("answers never contain a password, a salt or a hash", async () => {
  // Every kind of answer once more (201, 200, 400, 401, 403, 409, 429), on top of all earlier tests'.
  await register("alice", PASSWORD);
  await register("alice", OTHER_PASSWORD);
  await register("bob", "short");
  await call(worker, "/api/login", { form: { username: "alice", password: WRONG_PASSWORD }, headers: { "sec-fetch-site": "cross-site" } });
  const l = await login("alice");
  await pour(l.cookie);
  await getSession(l.cookie);
  for (let i = 0; i < 4; i++) await call(worker, "/api/login", { json: { username: "alice", password: WRONG_PASSWORD }, ip: `192.0.2.${50 + i}` });
  await userRecord("alice");
  await call(worker, "/api/logout-all", { cookie: l.cookie });

  assert.ok(transcript.length > 100, `${transcript.length} answers recorded`);
  const leaks = [];
  for (const { what, headers, text } of transcript) {
    const all = headers + text;
    for (const p of PASSWORDS) if (all.includes(p) || all.includes(encodeURIComponent(p))) leaks.push(`${what}: password ${p.slice(0, 12)}`);
    for (const s of secretsSeen) if (all.includes(s)) leaks.push(`${what}: salt or hash ${s}`);
    if (/pbkdf2/i.test(all)) leaks.push(`${what}: mentions pbkdf2: ${text.slice(0, 120)}`);
  }
  assert.deepEqual(leaks, []);
});

test("registrations are limited per client address (IPv6 by its /48), so registration is no free oracle of names", async () => {
  const limited = await startWorker({
    upstashUrl: upstash.url,
    vars: { AUTH_PBKDF2_ITERATIONS: "1000", AUTH_MAX_REGISTRATIONS_PER_IP: "2", AUTH_FAILURE_WINDOW_SECONDS: "2" },
  });
  try {
    const ip = "2001:db8:77:1::10";
    assert.equal((await register("reg-one", PASSWORD, { base: limited, ip })).status, 201);
    assert.equal((await register("reg-two", PASSWORD, { base: limited, ip })).status, 201);
    // A third attempt from another address of the same /48: refused before
    // the name is even looked at, so "taken" cannot be learned this way.
    const third = await register("reg-one", PASSWORD, { base: limited, ip: "2001:db8:77:5::99" });
    await assertRateLimited(third);
    assert.equal(await redis.exists("user:reg-three"), 0);
    // Another /48 is not limited.
    assert.equal((await register("reg-three", PASSWORD, { base: limited, ip: "2001:db8:78::10" })).status, 201);
  } finally {
    await limited.stop();
  }
});

test("logout of a session whose cookie has another Domain and Path also expires that cookie (the new Path=/ one would not replace it)", async () => {
  const sid = "0b1c1d7e-6a3e-4c1f-9d0e-2f6a8b7c5d4e";
  const expires = new Date(Date.now() + 60_000).toISOString();
  const doc = {
    cookie: { originalMaxAge: 60000, expires, secure: false, httpOnly: true, domain: "beer.localhost", path: "/api" },
    passport: { user: "alice" },
  };
  await redis.set(`sess:${sid}`, JSON.stringify(doc), { EX: 60 });
  const res = await call(worker, "/api/logout", { cookie: cookieFor(sid) });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.cookies.length, 2, JSON.stringify(res.cookies));
  assert.equal(res.cookies[0], "_redisDemo=; Domain=beer.localhost; Path=/api; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly");
  assert.match(res.cookies[1], /^_redisDemo=s%3A[^;]+; Path=\/; Expires=[^;]+ GMT; HttpOnly$/);
  assert.equal(await redis.exists(`sess:${sid}`), 0, "the logged-in key is gone");
});
