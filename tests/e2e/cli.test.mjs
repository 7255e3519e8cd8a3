// The operator's command line, `edge-session` (issue 15), end to end: the
// real binary (target/release/edge-session) as a child process, configured
// like the worker (UPSTASH_REDIS_REST_URL/TOKEN of upstash-local, the same
// SESSION_SECRET and [vars]), against a real redis-server behind the real
// upstash-local, with sessions made by the real built worker (workerd via
// Miniflare) and by the real express-session + connect-redis + Passport of
// tests/fixtures/express-app.mjs on the same Redis: logged in and not, a
// corrupt document and a dangling index entry. Every `--json` line is
// parsed and checked against what Redis holds; every command but `sessions
// end` is checked to write nothing (a snapshot of Redis before and after,
// and no writing command in a MONITOR); the exit codes are the contract's
// (README "Operating it": 3 not found, 4 unreachable or timed out, 5 token
// refused, 6 corrupt, 7 configuration, 8 not confirmed); also with a
// read-only token (upstash-local --read-only-token) and a store that never
// answers.
//
//   node --test tests/e2e/cli.test.mjs
//
// Prerequisites (scripts/build.sh): build/index.js,
// target/release/upstash-local, target/release/edge-session.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  EDGE_SESSION_BIN,
  SECRET,
  TOKEN,
  cliEnvironment,
  COOKIE_NAME,
  CookieJar,
  allSetCookieLines,
  cookiePair,
  cookieValue,
  freePort,
  redisSnapshot,
  request,
  signed,
  silentServer,
  sleep,
  startMonitor,
  startStack,
  startUpstashLocal,
} from "../support/index.mjs";
import { startExpress } from "../fixtures/express-app.mjs";

const BIN = EDGE_SESSION_BIN;
const PASSWORD = "correct horse battery";
const WRONG_PASSWORD = "correct horse battery!";
const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
/** A secret of 32 bytes or more: what `doctor` accepts without a warning. */
const LONG_SECRET = "a-secret-of-well-over-thirty-two-bytes-for-doctor";
/** Small, test-friendly account limits, given to the worker and the CLI alike. */
const VARS = {
  AUTH_PBKDF2_ITERATIONS: "1000",
  AUTH_MAX_REGISTRATIONS_PER_IP: "10000",
  AUTH_MAX_FAILURES_PER_USER: "3",
  AUTH_MAX_FAILURES_PER_USER_AND_IP: "100",
  AUTH_MAX_FAILURES_PER_IP: "100",
  AUTH_FAILURE_WINDOW_SECONDS: "60",
};
/** Redis commands that change data: none may run while a read-only command does. */
const WRITES = new Set(
  ("SET SETEX PSETEX SETNX SETRANGE APPEND MSET MSETNX GETSET GETDEL GETEX DEL UNLINK EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST " +
    "SADD SREM SPOP SMOVE INCR INCRBY INCRBYFLOAT DECR DECRBY HSET HDEL RENAME RENAMENX COPY RESTORE FLUSHDB FLUSHALL " +
    "LPUSH RPUSH LPOP RPOP ZADD ZREM").split(" "),
);

let stack;
let worker;
let express;
let redis;
/** The CLI's working directory: empty, so that no .dev.vars is found by accident; --env-file files go here too. */
let cwd;
/** The CLI's environment: the worker's configuration and nothing of this process's (a developer's UPSTASH_* stays out). */
let cliEnv;

before(async () => {
  assert.ok(existsSync(BIN), `${BIN} is missing: cargo build --release -p edge-session-cli (scripts/build.sh)`);
  stack = await startStack({ vars: VARS });
  ({ worker } = stack);
  redis = stack.redis.client;
  express = await startExpress({ redisUrl: stack.redis.url });
  cwd = mkdtempSync(path.join(tmpdir(), "edge-session-cli-test-"));
  cliEnv = cliEnvironment({ home: cwd, upstashUrl: stack.upstash.url, vars: VARS });
});
after(async () => {
  await express?.stop();
  await stack?.stop();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});
beforeEach(async () => {
  await redis.flushDb();
});

// ---------------------------------------------------------------- the CLI

/**
 * Runs the binary with `args`, the worker's configuration as environment
 * (`env` over it; a value of `undefined` removes the variable), stdin not a
 * terminal (/dev/null, or a pipe fed `input`). Resolves with { code, signal,
 * stdout, stderr, what } once it exits; killed after 60 s.
 */
function cli(args, { env = {}, input } = {}) {
  const full = { ...cliEnv, ...env };
  for (const [k, v] of Object.entries(full)) if (v === undefined) delete full[k];
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { cwd, env: full, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, what: `edge-session ${args.join(" ")}` });
    });
    if (input !== undefined) child.stdin.end(input);
  });
}

/** Asserts the exit code, with what the command printed in the message. */
function assertExit(run, code) {
  assert.equal(run.code, code, `${run.what}: exit ${run.code ?? run.signal}, expected ${code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
}

/** Every stdout line of a `--json` run, each parsed and asserted to be one JSON object (nothing else on stdout). */
function jsonLines(run) {
  const lines = run.stdout.split("\n");
  assert.equal(lines.pop(), "", `${run.what}: stdout does not end with a newline: ${JSON.stringify(run.stdout)}`);
  return lines.map((line) => {
    let v;
    assert.doesNotThrow(() => (v = JSON.parse(line)), `${run.what}: a stdout line is not JSON: ${line}`);
    assert.ok(v !== null && typeof v === "object" && !Array.isArray(v), `${run.what}: a stdout line is not an object: ${line}`);
    return v;
  });
}

/** The one JSON line of a `--json` run. */
function oneLine(run) {
  const lines = jsonLines(run);
  assert.equal(lines.length, 1, `${run.what}: expected one JSON line, got ${lines.length}:\n${run.stdout}`);
  return lines[0];
}

/** Runs `args` with --json, asserts exit `code`, returns the parsed lines. */
async function json(args, { code = 0, ...opts } = {}) {
  const run = await cli([...args, "--json"], opts);
  assertExit(run, code);
  return jsonLines(run);
}

// ---------------------------------------------------------------- Redis

const snapshot = () => redisSnapshot(redis, { expiry: "exact" });

/**
 * Waits until Redis stops changing (the worker writes a touch after its
 * answer): three equal snapshots 100 ms apart, at most 5 s.
 */
async function settled() {
  let last = JSON.stringify(await snapshot());
  let same = 0;
  const deadline = Date.now() + 5000;
  while (same < 2) {
    assert.ok(Date.now() < deadline, "Redis kept changing for 5 s");
    await sleep(100);
    const now = JSON.stringify(await snapshot());
    same = now === last ? same + 1 : 0;
    last = now;
  }
}

/**
 * Runs `fn` (CLI runs) between two snapshots of Redis and under a MONITOR:
 * asserts that the data is byte for byte the same, expiries included, and
 * that no writing command ran (scripts' inner commands included) but those
 * `allow(command)` accepts (the snapshot still has to be the same).
 * Resolves with what `fn` resolved with.
 */
async function assertWritesNothing(fn, { allow = () => false } = {}) {
  await settled();
  const before = await snapshot();
  const mon = await startMonitor(redis, { others: true, view: "all" });
  let result;
  try {
    result = await fn();
  } finally {
    const commands = await mon.stop();
    const writes = commands.filter((c) => WRITES.has(c[0]?.toUpperCase()) && !allow(c));
    assert.deepEqual(writes, [], "a read-only command wrote to Redis");
  }
  assert.deepEqual(await snapshot(), before, "Redis changed");
  return result;
}

/**
 * doctor's write_access check: a DEL of a random key that does not exist (a
 * read-only token is refused it with NOPERM before it runs). A write command
 * that changes no data, documented in README "Operating it"; the spec says
 * doctor never writes, and the snapshot comparison still shows it did not.
 */
const doctorProbe = (c) => c.length === 2 && c[0].toUpperCase() === "DEL" && /^edge-session-doctor:[0-9a-f-]{36}$/.test(c[1]);

/** What a `sessions list` line must say of `sess:<id>`, read from Redis directly (ttl_seconds: Redis's TTL now). */
async function expectedSession(id) {
  const key = `sess:${id}`;
  const raw = await redis.get(key);
  assert.ok(raw !== null, `no ${key}`);
  const ttl = await redis.ttl(key);
  let doc = null;
  try {
    doc = JSON.parse(raw);
  } catch {}
  const loads = doc !== null && typeof doc === "object" && !Array.isArray(doc);
  return {
    id,
    user: loads && typeof doc.passport?.user === "string" ? doc.passport.user : null,
    ttl_seconds: ttl < 0 ? null : ttl,
    views: loads && typeof doc.views === "number" ? doc.views : null,
    bytes: Buffer.byteLength(raw),
    writer: loads && doc.device ? "worker" : null,
    loads,
  };
}

/** Asserts a `sessions list` line against {@link expectedSession} (TTL within 3 s: it counts down). */
function assertSessionLine(line, expected) {
  const { ttl_seconds, problem, ...rest } = line;
  const { ttl_seconds: ttl, ...want } = expected;
  assert.deepEqual(rest, want, `sessions list line of ${expected.id}: ${JSON.stringify(line)}`);
  if (ttl === null) assert.equal(ttl_seconds, null, `ttl of ${expected.id}`);
  else assert.ok(Number.isInteger(ttl_seconds) && ttl_seconds <= ttl + 1 && ttl_seconds >= ttl - 3, `ttl of ${expected.id}: ${ttl_seconds}, Redis ${ttl}`);
  if (expected.loads) assert.equal(problem, null, `problem of ${expected.id}`);
  else assert.ok(typeof problem === "string" && problem.length > 0, `a corrupt document's problem is explained: ${JSON.stringify(line)}`);
}

/** Every `sess:` key's id, sorted as the CLI sorts (by id). */
async function sessionIds(prefix = "sess:") {
  return (await redis.keys(`${prefix}*`)).map((k) => k.slice(prefix.length)).sort();
}

// ---------------------------------------------------------------- browsers

/**
 * A browser on `base` (the worker or the Express app): every cookie it is
 * sent (the session's and the worker's companions), a User-Agent, and the
 * session id it holds.
 */
function browser(base) {
  const jar = new Map();
  const send = async (p, { method = "GET", json: body } = {}) => {
    const cookie = [...jar.values()].join("; ") || undefined;
    const res = await request(base, p, { method, json: body, cookie, headers: { "user-agent": FIREFOX, "sec-fetch-site": "same-origin" } });
    for (const line of allSetCookieLines(res)) {
      const pair = cookiePair(line);
      const name = pair.slice(0, pair.indexOf("="));
      if (pair.length > name.length + 1) jar.set(name, pair);
      else jar.delete(name);
    }
    return res;
  };
  return {
    send,
    /** Takes the cookies of `from` (a Map of name → pair): another browser's, or made here. */
    adopt(from) {
      for (const [k, v] of from) jar.set(k, v);
      return this;
    },
    get pair() {
      return jar.get(COOKIE_NAME) ?? null;
    },
    get sid() {
      const jarOne = new CookieJar();
      jarOne.set(jar.get(COOKIE_NAME));
      return jarOne.sid;
    },
  };
}

async function ok(res, status = 200) {
  assert.equal(res.status, status, `${res.status} ${res.text}`);
  return res;
}

/**
 * The shared scene most tests start from, on a flushed Redis:
 * - alice registers on the worker (browser a1, logged in, one pour: views 1,
 *   lifetime beers 1) and logs in again on another browser (a2): both
 *   worker-written (`device`), both in user-sessions:alice;
 * - bob registers (b1): logged in, indexed;
 * - an anonymous worker session with 2 pours (w0);
 * - an anonymous Express session with 3 pours (e0);
 * - an Express login as alice through Passport (`/lab/login`, e1): a
 *   document with passport.user "alice" that the index does not list;
 * - a corrupt document under sess:<corrupt>;
 * - a dangling entry in user-sessions:alice (an id with no key).
 */
async function scene() {
  const a1 = browser(worker);
  await ok(await a1.send("/api/register", { method: "POST", json: { username: "alice", password: PASSWORD } }), 201);
  await ok(await a1.send("/api/pour", { method: "POST" }));
  const a2 = browser(worker);
  await ok(await a2.send("/api/login", { method: "POST", json: { username: "alice", password: PASSWORD } }));
  const b1 = browser(worker);
  await ok(await b1.send("/api/register", { method: "POST", json: { username: "bob", password: PASSWORD } }), 201);
  const w0 = browser(worker);
  await ok(await w0.send("/api/pour", { method: "POST" }));
  await ok(await w0.send("/api/pour", { method: "POST" }));
  const e0 = browser(express);
  for (let i = 0; i < 3; i++) await ok(await e0.send("/api/pour", { method: "POST" }));
  const e1 = browser(express);
  const login = await ok(await e1.send(`/lab/login?user=${encodeURIComponent(JSON.stringify("alice"))}`, { method: "POST" }));
  assert.equal(login.body.user, "alice");
  const corrupt = randomUUID();
  await redis.set(`sess:${corrupt}`, '{"cookie":{"originalMaxAge":60000,"expires":"2030-01-01T00:00:00.000Z"},"views":', { EX: 600 });
  const ghost = randomUUID();
  await redis.sAdd("user-sessions:alice", ghost);
  await settled();
  // The scene as the tests rely on it.
  const ids = { a1: a1.sid, a2: a2.sid, b1: b1.sid, w0: w0.sid, e0: e0.sid, e1: e1.sid, corrupt, ghost };
  for (const k of ["a1", "a2", "b1", "w0", "e0", "e1"]) assert.ok(ids[k], `browser ${k} holds no session`);
  assert.deepEqual((await redis.sMembers("user-sessions:alice")).sort(), [ids.a1, ids.a2, ghost].sort(), "alice's index");
  assert.equal(JSON.parse(await redis.get(`sess:${ids.e1}`)).passport.user, "alice");
  assert.equal(JSON.parse(await redis.get(`sess:${ids.e0}`)).views, 3);
  return { browsers: { a1, a2, b1, w0, e0, e1 }, ids };
}

// ---------------------------------------------------------------- tests

test("--help of every command exits 0 and prints a usage", async () => {
  const commands = [
    [],
    ["sessions"],
    ["sessions", "list"],
    ["sessions", "show"],
    ["sessions", "end"],
    ["users"],
    ["users", "list"],
    ["users", "show"],
    ["stats"],
    ["doctor"],
    ["cookie"],
    ["cookie", "sign"],
    ["cookie", "verify"],
  ];
  for (const c of commands) {
    const run = await cli([...c, "--help"]);
    assertExit(run, 0);
    assert.match(run.stdout, /usage/i, `${run.what} prints no usage`);
  }
  // A usage error is clap's 2.
  assertExit(await cli(["sessions", "no-such-command"]), 2);
  assertExit(await cli(["sessions", "list", "--limit", "many"]), 2);
});

test("sessions list: every session of the worker and of Express, logged in or not, the corrupt one explained; --limit; --json before the command", async () => {
  const { ids } = await scene();
  const { lines, limited, before } = await assertWritesNothing(async () => ({
    lines: await json(["sessions", "list"]),
    limited: await json(["sessions", "list", "--limit", "2"]),
    before: jsonLines(await cli(["--json", "sessions", "list"])),
  }));
  const all = await sessionIds();
  assert.deepEqual(all.length, 7, "a1 a2 b1 w0 e0 e1 corrupt");
  assert.deepEqual(
    lines.map((l) => l.id),
    all,
    "one line per session, sorted by id",
  );
  for (const line of lines) assertSessionLine(line, await expectedSession(line.id));
  const byId = Object.fromEntries(lines.map((l) => [l.id, l]));
  // What the scene made, spelled out.
  assert.equal(byId[ids.a1].user, "alice");
  assert.equal(byId[ids.a1].writer, "worker");
  assert.equal(byId[ids.a1].views, 1);
  assert.equal(byId[ids.a2].user, "alice");
  assert.equal(byId[ids.b1].user, "bob");
  assert.equal(byId[ids.w0].user, null);
  assert.equal(byId[ids.w0].views, 2);
  assert.equal(byId[ids.e0].views, 3);
  assert.equal(byId[ids.e0].writer, null, "Express writes no device");
  assert.equal(byId[ids.e1].user, "alice");
  assert.equal(byId[ids.e1].writer, null);
  assert.equal(byId[ids.corrupt].loads, false);
  assert.equal(byId[ids.ghost], undefined, "a dangling index entry is no session");

  assert.equal(limited.length, 2, "--limit 2");
  assert.deepEqual(limited.map((l) => l.id), [...limited.map((l) => l.id)].sort(), "--limit: sorted by id");
  for (const l of limited) assert.ok(all.includes(l.id));
  assert.deepEqual(before.map((l) => l.id), all, "--json before the subcommand");
});

test("without --json: text for people on stdout, the same exit codes, nothing written", async () => {
  const { ids } = await scene();
  await assertWritesNothing(async () => {
    for (const [args, code] of [
      [["sessions", "list"], 0],
      [["sessions", "list", "--user", "alice"], 0],
      [["sessions", "show", ids.a1], 0],
      [["sessions", "show", ids.corrupt], 6],
      [["sessions", "end", "--user", "alice", "--dry-run"], 0],
      [["users", "list"], 0],
      [["users", "show", "alice"], 0],
      [["stats"], 0],
      [["doctor"], 0],
      [["cookie", "sign", ids.a1], 0],
      [["sessions", "show", randomUUID()], 3],
    ]) {
      const run = await cli(args);
      assertExit(run, code);
      if (code === 0) assert.ok(run.stdout.trim().length > 0, `${run.what}: nothing on stdout`);
      const first = run.stdout.split("\n")[0];
      assert.ok(!first.startsWith("{"), `${run.what}: JSON without --json: ${first}`);
    }
  }, { allow: doctorProbe });
});

test("sessions list --user: the index members whose key exists, not the dangling one", async () => {
  const { ids } = await scene();
  const [alice, bob] = await assertWritesNothing(async () => [
    await json(["sessions", "list", "--user", "alice"]),
    await json(["sessions", "list", "--user", "bob"]),
  ]);
  assert.deepEqual(alice.map((l) => l.id), [ids.a1, ids.a2].sort());
  for (const line of alice) assertSessionLine(line, await expectedSession(line.id));
  assert.deepEqual(bob.map((l) => l.id), [ids.b1]);
  assertSessionLine(bob[0], await expectedSession(ids.b1));
});

test("sessions show: the document, its cookie, TTL, user and writer; a corrupt one is explained (exit 6) and left alone", async () => {
  const { ids } = await scene();
  const [w, e, c] = await assertWritesNothing(async () => [
    await json(["sessions", "show", ids.a1]),
    await json(["sessions", "show", ids.e0]),
    await json(["sessions", "show", ids.corrupt], { code: 6 }),
  ]);
  for (const [[line], id] of [
    [w, ids.a1],
    [e, ids.e0],
  ]) {
    const raw = await redis.get(`sess:${id}`);
    const doc = JSON.parse(raw);
    const want = await expectedSession(id);
    assert.equal(line.id, id);
    assert.equal(line.key, `sess:${id}`);
    assert.equal(line.bytes, Buffer.byteLength(raw));
    assert.ok(Math.abs(line.ttl_seconds - want.ttl_seconds) <= 3, `ttl ${line.ttl_seconds} vs ${want.ttl_seconds}`);
    assert.equal(Date.parse(line.cookie_expires), Date.parse(doc.cookie.expires), "cookie_expires");
    assert.equal(line.cookie_max_age_ms, doc.cookie.originalMaxAge, "cookie_max_age_ms");
    assert.equal(line.user, want.user);
    assert.equal(line.writer, want.writer);
    assert.equal(line.loads, true);
    assert.equal(line.problem, null);
    assert.deepEqual(line.document, doc, "the parsed document");
    assert.equal(line.text, raw, "the stored text, byte for byte");
  }
  assert.equal(w[0].user, "alice");
  assert.equal(w[0].writer, "worker");
  assert.equal(e[0].user, null);
  const [bad] = c;
  assert.equal(bad.id, ids.corrupt);
  assert.equal(bad.loads, false);
  assert.ok(typeof bad.problem === "string" && bad.problem.length > 0, "the problem is explained");
  assert.equal(bad.document, null);
  assert.equal(bad.text, await redis.get(`sess:${ids.corrupt}`));
  // Humans get it too, and the same exit code.
  const human = await cli(["sessions", "show", ids.corrupt]);
  assertExit(human, 6);
  assert.ok(human.stdout.length + human.stderr.length > 0);
});

test("users list and show: no password hash, lifetime beers, live sessions, verified, rate limited", async () => {
  const { ids } = await scene();
  // carol registers and is then rate limited by three wrong passwords (AUTH_MAX_FAILURES_PER_USER=3).
  const c1 = browser(worker);
  await ok(await c1.send("/api/register", { method: "POST", json: { username: "carol", password: PASSWORD } }), 201);
  for (let i = 0; i < 3; i++) {
    const res = await browser(worker).send("/api/login", { method: "POST", json: { username: "carol", password: WRONG_PASSWORD } });
    assert.equal(res.status, 401, res.text);
  }
  const runs = await assertWritesNothing(async () => ({
    list: await cli(["users", "list", "--json"]),
    alice: await cli(["users", "show", "alice", "--json"]),
    bob: await cli(["users", "show", "bob", "--json"]),
    carol: await cli(["users", "show", "carol", "--json"]),
    humans: await cli(["users", "list"]),
  }));
  for (const run of Object.values(runs)) {
    assertExit(run, 0);
    assert.doesNotMatch(run.stdout + run.stderr, /pbkdf2|password/i, `${run.what} shows a password (hash)`);
    for (const name of ["alice", "bob", "carol"]) {
      const hash = JSON.parse(await redis.get(`user:${name}`)).password.split("$");
      assert.ok(!(run.stdout + run.stderr).includes(hash[3]), `${run.what} shows ${name}'s hash`);
    }
  }
  const list = jsonLines(runs.list);
  assert.deepEqual(list.map((u) => u.name), ["alice", "bob", "carol"], "sorted by name");
  const byName = Object.fromEntries(list.map((u) => [u.name, u]));
  assert.deepEqual(byName.alice, { name: "alice", verified: true, lifetime_beers: 1, live_sessions: 2, rate_limited: false });
  assert.deepEqual(byName.bob, { name: "bob", verified: false, lifetime_beers: 0, live_sessions: 1, rate_limited: false });
  assert.equal(byName.carol.rate_limited, true, JSON.stringify(byName.carol));
  assert.equal(byName.carol.verified, false);

  const alice = oneLine(runs.alice);
  const SHOW = ["failed_logins", "lifetime_beers", "live_sessions", "name", "rate_limited", "retry_after_seconds", "session_ids", "ttl_seconds", "verified"];
  for (const k of SHOW) assert.ok(k in alice, `users show: no ${k}: ${JSON.stringify(alice)}`);
  // The binary adds `record`, the stored record without its password (not in the spec; allowed if it is just that).
  const extra = Object.keys(alice).filter((k) => !SHOW.includes(k));
  assert.ok(extra.every((k) => k === "record"), `users show: unexpected members ${extra}`);
  if ("record" in alice) {
    const { password, ...stored } = JSON.parse(await redis.get("user:alice"));
    assert.ok(password);
    assert.deepEqual(alice.record, stored, "the record without its password");
  }
  assert.equal(alice.name, "alice");
  assert.equal(alice.verified, true, "a password login persisted the record");
  assert.equal(alice.ttl_seconds, null);
  assert.equal(alice.lifetime_beers, 1);
  assert.equal(alice.live_sessions, 2, "the index's live members (the dangling one and the unindexed Express login aside)");
  assert.deepEqual([...alice.session_ids].sort(), [ids.a1, ids.a2].sort());
  assert.equal(alice.failed_logins, 0);
  assert.equal(alice.rate_limited, false);
  assert.equal(alice.retry_after_seconds, null);

  const bob = oneLine(runs.bob);
  assert.equal(bob.verified, false, "registered, never logged in with a password");
  const bobTtl = await redis.ttl("user:bob");
  assert.ok(bobTtl > 0 && Math.abs(bob.ttl_seconds - bobTtl) <= 3, `bob's ttl ${bob.ttl_seconds}, Redis ${bobTtl}`);
  assert.deepEqual(bob.session_ids, [ids.b1]);

  const carol = oneLine(runs.carol);
  assert.equal(carol.failed_logins, 3);
  assert.equal(carol.rate_limited, true);
  const wait = await redis.ttl("login-fail:user:carol");
  assert.ok(Number.isInteger(carol.retry_after_seconds) && carol.retry_after_seconds >= 1 && carol.retry_after_seconds <= 60, `retry_after ${carol.retry_after_seconds}`);
  assert.ok(Math.abs(carol.retry_after_seconds - wait) <= 3, `retry_after ${carol.retry_after_seconds}, Redis TTL ${wait}`);
});

test("stats: counts, dangling index entries, corrupt documents, size and TTL histograms agree with Redis", async () => {
  const { ids } = await scene();
  const [s] = await assertWritesNothing(() => json(["stats"]));
  const all = await sessionIds();
  const expected = await Promise.all(all.map((id) => expectedSession(id)));
  assert.equal(s.sessions, 7);
  assert.equal(s.logged_in, 4, "a1 a2 b1 e1");
  assert.equal(s.corrupt, 1);
  assert.ok(s.anonymous === 2 || s.anonymous === 3, `anonymous: w0 e0 (and the corrupt one?): ${s.anonymous}`);
  assert.equal(s.users, 2, "alice and bob");
  assert.equal(s.index_entries, 4, "alice: a1 a2 ghost; bob: b1");
  assert.equal(s.dangling_index_entries, 1, `the ghost ${ids.ghost}`);
  const sizes = expected.map((e) => e.bytes);
  assert.equal(s.bytes.total, sizes.reduce((a, b) => a + b, 0));
  assert.equal(s.bytes.max, Math.max(...sizes));
  const histogram = (h, values, what) => {
    assert.ok(Array.isArray(h) && h.length > 0, what);
    let low = -Infinity;
    for (const b of h) {
      const high = b.le ?? Infinity;
      assert.ok(high > low, `${what}: buckets increase`);
      low = high;
    }
    assert.equal(h.reduce((a, b) => a + b.count, 0), values.length, `${what}: the counts add up`);
  };
  histogram(s.bytes.histogram, sizes, "bytes");
  assert.equal(s.bytes.histogram.at(-1).le, null, "bytes: the last bucket is open");
  for (const b of s.bytes.histogram) {
    const lowEdge = s.bytes.histogram[s.bytes.histogram.indexOf(b) - 1]?.le ?? -Infinity;
    assert.equal(b.count, sizes.filter((n) => n > lowEdge && n <= (b.le ?? Infinity)).length, `bytes bucket ≤ ${b.le}`);
  }
  assert.equal(s.ttl_seconds.no_ttl, expected.filter((e) => e.ttl_seconds === null).length);
  histogram(s.ttl_seconds.histogram, expected.filter((e) => e.ttl_seconds !== null), "ttl");
});

test("sessions list under a prefix nothing is under (SESSION_PREFIX=nothing-here:): exit 3", async () => {
  await scene();
  const env = { SESSION_PREFIX: "nothing-here:" };
  const run = await cli(["sessions", "list", "--json"], { env });
  assertExit(run, 3);
  assert.equal(run.stdout, "", "nothing on stdout");
  assert.ok(run.stderr.length > 0, "a message on stderr");
  // stats prints its zeros and exits 3 too (a misspelt prefix, most likely);
  // doctor warns, without failing (a new deployment has no sessions yet).
  const stats = await cli(["stats", "--json"], { env });
  assertExit(stats, 3);
  assert.equal(oneLine(stats).sessions, 0);
  assert.match(stats.stderr, /nothing-here:/);
  const doctor = await cli(["doctor", "--json"], { env: { ...env, SESSION_SECRET: LONG_SECRET } });
  assertExit(doctor, 0);
  const documents = jsonLines(doctor).find((l) => l.check === "documents");
  assert.equal(documents.status, "warn", JSON.stringify(documents));
  assert.match(documents.fix, /SESSION_PREFIX/);
});

test("odd keys do not stop a scan: a name that is not UTF-8 under the prefix, an index that is not a set (each named on stderr)", async () => {
  const { ids } = await scene();
  await redis.set(Buffer.from([...Buffer.from("sess:bin"), 0xff, 0xfe]), "{}");
  await redis.set("user-sessions:weird", "not a set");
  // (No snapshot here: the support helpers read keys as strings, which this
  // one is not; the other tests check that these commands write nothing.)
  const list = await cli(["sessions", "list", "--json"]);
  assertExit(list, 0);
  assert.match(list.stderr, /not UTF-8.*sess:bin\\xff\\xfe/, list.stderr);
  const stats = await cli(["stats", "--json"]);
  assertExit(stats, 0);
  assert.match(stats.stderr, /user-sessions:weird is not a set/, stats.stderr);
  const dry = await cli(["sessions", "end", "--all-expired-index-entries", "--dry-run", "--json"]);
  assertExit(dry, 0);
  const lines = jsonLines(list);
  assert.deepEqual(lines.map((l) => l.id).sort(), (await sessionIds()).filter((id) => !id.includes("\ufffd")).sort());
  assert.equal(await redis.exists(Buffer.from([...Buffer.from("sess:bin"), 0xff, 0xfe])), 1, "left as it was");
  assert.equal(await redis.get("user-sessions:weird"), "not a set");
  assert.ok(lines.some((l) => l.id === ids.a1));
});

test("a reader that stops early (| head -1) is no failure: exit 0", async () => {
  // Enough sessions that the output outgrows a pipe's buffer.
  const doc = JSON.stringify({ cookie: { originalMaxAge: 60000, expires: "2030-01-01T00:00:00.000Z", httpOnly: true, path: "/" }, views: 1 });
  const multi = redis.multi();
  for (let i = 0; i < 3000; i++) multi.set(`sess:${String(i).padStart(6, "0")}-${"x".repeat(40)}`, doc);
  await multi.exec();
  const run = await new Promise((resolve, reject) => {
    const full = { ...cliEnv };
    const child = spawn("bash", ["-o", "pipefail", "-c", `"${BIN}" --json sessions list | head -1 >/dev/null`], { cwd, env: full, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
  assert.equal(run.code, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /Broken pipe/);
});

test("sessions end --user: every session of the user, indexed or found by scanning, ends; every browser's next request is anonymous", async () => {
  const { browsers, ids } = await scene();
  const alice = [ids.a1, ids.a2, ids.e1].sort();
  // Logged in as alice before, on every browser (the Express login's cookie on the worker too).
  const e1OnWorker = () => browser(worker).adopt(new Map([[COOKIE_NAME, browsers.e1.pair]]));
  for (const b of [browsers.a1, browsers.a2, e1OnWorker()]) assert.equal((await ok(await b.send("/api/session"))).body.user, "alice");
  assert.equal((await ok(await browsers.e1.send("/lab/read"))).body.user, "alice");
  // The dry run first: the same answer, nothing written.
  const [dry] = await assertWritesNothing(() => json(["sessions", "end", "--user", "alice", "--dry-run", "--yes"]));
  const before = await snapshot();
  const [done] = await json(["sessions", "end", "--user", "alice", "--yes"]);
  for (const [line, dryRun] of [
    [dry, true],
    [done, false],
  ]) {
    assert.equal(line.dry_run, dryRun);
    assert.equal(line.ended, 3, JSON.stringify(line));
    assert.equal(line.from_index, 2, "a1 and a2 from user-sessions:alice");
    assert.equal(line.from_scan, 1, "the Express login, found by SCAN");
    assert.deepEqual([...line.ids].sort(), alice);
    assert.equal(line.index_entries_removed, 3, "the whole index goes, as in log out everywhere: a1, a2 and the dangling entry");
  }
  // Exactly alice's sessions and her index are gone; nothing else changed.
  const now = await snapshot();
  const gone = Object.keys(before).filter((k) => !(k in now)).sort();
  assert.deepEqual(gone, [...alice.map((id) => `sess:${id}`), "user-sessions:alice"].sort());
  for (const k of Object.keys(now)) assert.deepEqual(now[k], before[k], `${k} changed`);

  // Every browser alice used is anonymous at its next request: on the worker,
  // and on Express for the Express one; bob still is bob.
  for (const [name, b] of [
    ["a1", browsers.a1],
    ["a2", browsers.a2],
    ["e1 on the worker", e1OnWorker()],
  ]) {
    const res = await ok(await b.send("/api/session"));
    assert.equal(res.body.user ?? null, null, `${name} is still logged in: ${res.text}`);
    assert.ok(!alice.includes(res.body.sessionID), `${name} kept its session`);
  }
  const onExpress = await ok(await browsers.e1.send("/lab/read"));
  assert.equal(onExpress.body.user, null, "the Express login, on Express");
  assert.ok(!alice.includes(onExpress.body.sessionID));
  const bob = await ok(await browsers.b1.send("/api/session"));
  assert.equal(bob.body.user, "bob");

  // Ending a user with no sessions left: not found.
  assertExit(await cli(["sessions", "end", "--user", "alice", "--yes", "--json"]), 3);
});

test("sessions end ID…: ends those sessions as logout does, cleans the index; unknown id exit 3; --dry-run writes nothing", async () => {
  const { browsers, ids } = await scene();
  // A dry run asks nothing (README "Operating it": it only says what it would do).
  const [dry] = await assertWritesNothing(() => json(["sessions", "end", ids.a1, ids.w0, "--dry-run"]));
  assert.equal(dry.dry_run, true);
  assert.equal(dry.ended, 2);
  assert.deepEqual([...dry.ids].sort(), [ids.a1, ids.w0].sort());
  const [done] = await json(["sessions", "end", ids.a1, ids.w0, "--yes"]);
  assert.equal(done.dry_run, false);
  assert.equal(done.ended, 2);
  assert.deepEqual([...done.ids].sort(), [ids.a1, ids.w0].sort());
  assert.equal(done.index_entries_removed, 1, "a1 out of user-sessions:alice");
  assert.equal(await redis.exists(`sess:${ids.a1}`), 0);
  assert.equal(await redis.exists(`sess:${ids.w0}`), 0);
  assert.deepEqual((await redis.sMembers("user-sessions:alice")).sort(), [ids.a2, ids.ghost].sort());
  const a1 = await ok(await browsers.a1.send("/api/session"));
  assert.equal(a1.body.user ?? null, null);
  const a2 = await ok(await browsers.a2.send("/api/session"));
  assert.equal(a2.body.user, "alice", "the other browser stays logged in");

  await settled();
  const before = await snapshot();
  const unknown = await cli(["sessions", "end", randomUUID(), "--yes", "--json"]);
  assertExit(unknown, 3);
  assert.ok(unknown.stderr.length > 0);
  const mixed = await cli(["sessions", "end", ids.e0, randomUUID(), "--yes", "--json"]);
  assertExit(mixed, 3);
  assert.deepEqual(await snapshot(), before, "an unknown id among known ones: nothing ended");
});

test("sessions end without --yes, stdin not a terminal: exit 8, nothing written", async () => {
  const { ids } = await scene();
  await assertWritesNothing(async () => {
    for (const args of [["sessions", "end", ids.a1], ["sessions", "end", "--user", "alice"], ["sessions", "end", "--all-expired-index-entries"]]) {
      assertExit(await cli([...args, "--json"]), 8);
      // Not even a "y" on a pipe confirms: only a terminal or --yes does.
      assertExit(await cli([...args, "--json"], { input: "y\n" }), 8);
    }
  });
});

test("sessions end --all-expired-index-entries: removes only the entries that point at nothing", async () => {
  const { ids } = await scene();
  const ghostBob = randomUUID();
  await redis.sAdd("user-sessions:bob", ghostBob);
  const [dry] = await assertWritesNothing(() => json(["sessions", "end", "--all-expired-index-entries", "--dry-run", "--yes"]));
  assert.deepEqual(dry, { dry_run: true, index_entries_removed: 2, users: ["alice", "bob"] });
  const before = await snapshot();
  const [done] = await json(["sessions", "end", "--all-expired-index-entries", "--yes"]);
  assert.deepEqual(done, { dry_run: false, index_entries_removed: 2, users: ["alice", "bob"] });
  assert.deepEqual((await redis.sMembers("user-sessions:alice")).sort(), [ids.a1, ids.a2].sort());
  assert.deepEqual(await redis.sMembers("user-sessions:bob"), [ids.b1]);
  const now = await snapshot();
  for (const k of Object.keys(before)) if (!k.startsWith("user-sessions:")) assert.deepEqual(now[k], before[k], `${k} changed`);
  const [again] = await json(["sessions", "end", "--all-expired-index-entries", "--yes"]);
  assert.deepEqual(again, { dry_run: false, index_entries_removed: 0, users: [] });
});

test("doctor: ok with a long secret, warns of a short one, fails a wrong token, an unreachable URL, a missing secret, SameSite=None without Secure; a corrupt document is reported", async () => {
  // Sessions that load (the scene's corrupt document comes last).
  const w = browser(worker);
  await ok(await w.send("/api/pour", { method: "POST" }));
  const e = browser(express);
  await ok(await e.send("/api/pour", { method: "POST" }));
  const ORDER = ["config", "url", "token", "write_access", "scripts", "secret", "documents", "cookie"];
  const doctor = async (env, code) => {
    const run = await cli(["doctor", "--json"], { env });
    assertExit(run, code);
    const lines = jsonLines(run);
    assert.deepEqual(lines.map((l) => l.check), ORDER, "one line per check, in order");
    for (const l of lines) {
      assert.ok(["ok", "warn", "fail", "skip"].includes(l.status), JSON.stringify(l));
      assert.equal(typeof l.message, "string");
      assert.ok(l.message.length > 0, JSON.stringify(l));
      assert.ok(l.fix === null || (typeof l.fix === "string" && l.fix.length > 0), JSON.stringify(l));
      if (l.status === "fail" || l.status === "warn") assert.equal(typeof l.fix, "string", `a ${l.status} says what to do: ${JSON.stringify(l)}`);
    }
    return Object.fromEntries(lines.map((l) => [l.check, l]));
  };
  const unreachable = `http://127.0.0.1:${await freePort()}`;
  const results = await assertWritesNothing(async () => ({
    good: await doctor({ SESSION_SECRET: LONG_SECRET }, 0),
    short: await doctor({}, 0),
    token: await doctor({ UPSTASH_REDIS_REST_TOKEN: "not-the-token" }, 1),
    url: await doctor({ UPSTASH_REDIS_REST_URL: unreachable }, 1),
    missing: await doctor({ SESSION_SECRET: undefined }, 1),
    sameSite: await doctor({ SESSION_SECRET: LONG_SECRET, SESSION_COOKIE_SAMESITE: "none", SESSION_COOKIE_SECURE: "false" }, 1),
  }), { allow: doctorProbe });
  for (const check of ORDER) assert.equal(results.good[check].status, "ok", `good: ${JSON.stringify(results.good[check])}`);
  assert.equal(results.short.secret.status, "warn", `"${SECRET}" is ${Buffer.byteLength(SECRET)} bytes`);
  for (const check of ORDER.filter((c) => c !== "secret")) assert.equal(results.short[check].status, "ok", JSON.stringify(results.short[check]));
  assert.equal(results.token.url.status, "ok");
  assert.equal(results.token.token.status, "fail");
  for (const check of ["write_access", "scripts", "documents"]) assert.equal(results.token[check].status, "skip", `after a wrong token: ${check}`);
  assert.equal(results.url.url.status, "fail");
  for (const check of ["token", "write_access", "scripts", "documents"]) assert.equal(results.url[check].status, "skip", `after an unreachable URL: ${check}`);
  assert.equal(results.missing.secret.status, "fail");
  assert.equal(results.sameSite.cookie.status, "fail", JSON.stringify(results.sameSite.cookie));

  // A document that would not load, in the sample: not ok (warn or fail, exit to match).
  await redis.set(`sess:${randomUUID()}`, "garbage, not JSON", { EX: 600 });
  const run = await cli(["doctor", "--json"], { env: { SESSION_SECRET: LONG_SECRET } });
  const documents = jsonLines(run).find((l) => l.check === "documents");
  assert.ok(documents?.status === "warn" || documents?.status === "fail", `a corrupt document: ${JSON.stringify(documents)}`);
  assertExit(run, documents.status === "fail" ? 1 : 0);
});

test("a read-only token (upstash-local --read-only-token): doctor fails write_access; every read-only command works with it; end is refused (exit 1)", async () => {
  const { ids } = await scene();
  const RO = "read-only-test-token";
  const ro = await startUpstashLocal({ redisUrl: stack.redis.url, args: ["--read-only-token", RO] });
  try {
    const env = { UPSTASH_REDIS_REST_URL: ro.url, UPSTASH_REDIS_REST_TOKEN: RO, SESSION_SECRET: LONG_SECRET };
    await assertWritesNothing(async () => {
      const run = await cli(["doctor", "--json"], { env });
      assertExit(run, 1);
      const lines = jsonLines(run);
      const by = Object.fromEntries(lines.map((l) => [l.check, l]));
      assert.equal(by.token?.status, "ok", JSON.stringify(by.token));
      assert.equal(by.write_access?.status, "fail", JSON.stringify(by.write_access));
      assert.match(by.write_access.fix ?? "", /./, "says what to do");
      assert.deepEqual(lines.map((l) => l.check), ["config", "url", "token", "write_access", "scripts", "secret", "documents", "cookie"], "one line per check, in order");
      // Reads need no write access: the same answers as with the full token.
      for (const args of [["sessions", "list"], ["sessions", "list", "--user", "alice"], ["sessions", "show", ids.a1], ["users", "list"], ["users", "show", "alice"]]) {
        const withRo = await json(args, { env });
        const withFull = await json(args);
        const strip = (lines) => lines.map(({ ttl_seconds, ...rest }) => rest);
        assert.deepEqual(strip(withRo), strip(withFull), `edge-session ${args.join(" ")} with the read-only token`);
      }
      await json(["stats"], { env });
      // Ending is refused (NOPERM), not half done: "the store answered an
      // error", 1 in README "Operating it" (not 5: the token itself is accepted).
      const end = await cli(["sessions", "end", ids.a1, "--yes", "--json"], { env });
      assertExit(end, 1);
      assert.match(end.stderr, /NOPERM|permission/i, "says why");
      assert.equal(end.stdout, "");
      assert.ok(end.stderr.length > 0);
    }, { allow: doctorProbe });
  } finally {
    await ro.stop();
  }
});

test("bad input: unknown id 3, unknown user 3, wrong token 5, unreachable 4, no URL 7", async () => {
  const { ids } = await scene();
  const unreachable = `http://127.0.0.1:${await freePort()}`;
  await assertWritesNothing(async () => {
    const cases = [
      [["sessions", "show", randomUUID()], {}, 3],
      [["users", "show", "nobody"], {}, 3],
      [["sessions", "list", "--user", "nobody"], {}, 3],
      [["sessions", "list"], { UPSTASH_REDIS_REST_TOKEN: "not-the-token" }, 5],
      [["stats"], { UPSTASH_REDIS_REST_TOKEN: "not-the-token" }, 5],
      [["sessions", "show", ids.a1], { UPSTASH_REDIS_REST_TOKEN: "not-the-token" }, 5],
      [["sessions", "list"], { UPSTASH_REDIS_REST_URL: unreachable }, 4],
      [["users", "list"], { UPSTASH_REDIS_REST_URL: unreachable }, 4],
      [["sessions", "list"], { UPSTASH_REDIS_REST_URL: undefined }, 7],
      [["sessions", "end", ids.a1, "--yes"], { UPSTASH_REDIS_REST_TOKEN: "not-the-token" }, 5],
    ];
    for (const [args, env, code] of cases) {
      const run = await cli([...args, "--json"], { env });
      assertExit(run, code);
      assert.equal(run.stdout, "", `${run.what}: nothing on stdout`);
      assert.ok(run.stderr.trim().length > 0, `${run.what}: a message on stderr`);
      assert.ok(!run.stderr.includes(TOKEN) && !run.stderr.includes("not-the-token"), `${run.what}: the token is printed`);
    }
  });
});

test("a store that accepts connections and never answers: exit 4 (timed out), doctor's url fails", async () => {
  const silent = await silentServer();
  try {
    const env = { UPSTASH_REDIS_REST_URL: silent.url };
    const list = await cli(["sessions", "list", "--json"], { env });
    assertExit(list, 4);
    assert.equal(list.stdout, "");
    const doctor = await cli(["doctor", "--json"], { env });
    assertExit(doctor, 1);
    assert.equal(jsonLines(doctor).find((l) => l.check === "url")?.status, "fail");
    assert.ok(silent.accepted() > 0, "the CLI did connect");
  } finally {
    await silent.stop();
  }
});

test("--env-file: read like .dev.vars; the environment wins over the file", async () => {
  const { ids } = await scene();
  const file = path.join(cwd, "test.dev.vars");
  writeFileSync(
    file,
    `# a .dev.vars\nUPSTASH_REDIS_REST_URL="${stack.upstash.url}"\nUPSTASH_REDIS_REST_TOKEN="${TOKEN}"\nSESSION_SECRET="${SECRET}"\n`,
    { mode: 0o600 },
  );
  const bare = { UPSTASH_REDIS_REST_URL: undefined, UPSTASH_REDIS_REST_TOKEN: undefined, SESSION_SECRET: undefined };
  await assertWritesNothing(async () => {
    const fromFile = await json(["sessions", "list", "--env-file", file], { env: bare });
    assert.deepEqual(fromFile.map((l) => l.id), await sessionIds());
    const before = await json(["--env-file", file, "sessions", "show", ids.a1], { env: bare });
    assert.equal(before[0].id, ids.a1);
    // The environment's wrong token wins over the file's right one.
    await json(["sessions", "list", "--env-file", file], { env: { ...bare, UPSTASH_REDIS_REST_TOKEN: "not-the-token" }, code: 5 });
    // The file's wrong token loses to the environment's right one.
    writeFileSync(file, `UPSTASH_REDIS_REST_URL=${stack.upstash.url}\nUPSTASH_REDIS_REST_TOKEN=not-the-token\n`, { mode: 0o600 });
    await json(["sessions", "list", "--env-file", file], { env: { UPSTASH_REDIS_REST_URL: undefined } });
  });
});

/** The Cookie pair a browser sends for `sid`. */
function cookiePairFor(sid, secret = SECRET) {
  return `${COOKIE_NAME}=${cookieValue(sid, secret)}`;
}

test("cookie sign and verify: a round trip, the worker's own cookie, a rotated secret; a tampered cookie exits 1", async () => {
  const { browsers, ids } = await scene();
  await assertWritesNothing(async () => {
    const [s] = await json(["cookie", "sign", ids.a1]);
    assert.deepEqual(s, { id: ids.a1, value: signed(ids.a1), cookie: cookiePairFor(ids.a1) }, "signed as cookie-signature signs");
    for (const input of [s.value, encodeURIComponent(s.value), s.cookie, browsers.a1.pair, browsers.e0.pair]) {
      const [v] = await json(["cookie", "verify", input]);
      const want = input === browsers.e0.pair ? ids.e0 : ids.a1;
      assert.equal(v.id, want, `verify ${input}`);
      assert.equal(v.signed, true);
      assert.equal(v.secret_index, 0);
      assert.equal(typeof v.value, "string");
    }
    // The second secret of a rotation list verifies at index 1.
    const [rotated] = await json(["cookie", "verify", browsers.a1.pair], { env: { SESSION_SECRET: `${LONG_SECRET},${SECRET}` } });
    assert.equal(rotated.signed, true);
    assert.equal(rotated.secret_index, 1);
    assert.equal(rotated.id, ids.a1);
    // A value signed with the new first secret.
    const [fresh] = await json(["cookie", "sign", ids.w0], { env: { SESSION_SECRET: `${LONG_SECRET},${SECRET}` } });
    assert.equal(fresh.value, signed(ids.w0, LONG_SECRET), "the first secret signs");
    // Tampered: the last character of the signature changed.
    const last = s.value.at(-1);
    const tampered = s.value.slice(0, -1) + (last === "A" ? "B" : "A");
    const run = await cli(["cookie", "verify", tampered, "--json"]);
    assertExit(run, 1);
    const [t] = jsonLines(run);
    assert.equal(t.signed, false);
    assert.equal(t.secret_index, null);
    // Another id under a valid signature of a different one.
    const swapped = `s:${ids.a2}.${s.value.slice(s.value.lastIndexOf(".") + 1)}`;
    assertExit(await cli(["cookie", "verify", swapped, "--json"]), 1);
    // Signed with another secret only.
    assertExit(await cli(["cookie", "verify", cookiePairFor(ids.a1, LONG_SECRET), "--json"]), 1);
    // A whole Cookie header as a browser sends it: the session cookie's name picks the pair.
    const [header] = await json(["cookie", "verify", `Cookie: theme=dark; ${s.cookie}; other=1`]);
    assert.equal(header.id, ids.a1);
    assert.equal(header.signed, true);
    // The Set-Cookie line for people: as the worker sends it, Expires included.
    const text = await cli(["cookie", "sign", ids.a1]);
    assertExit(text, 0);
    const line = text.stdout.split("\n").find((l) => l.startsWith("Set-Cookie"));
    assert.match(line, /; Path=\/; Expires=\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT; HttpOnly/, line);
  });
});

test("sessions end and list take a user's name as typed or in its canonical form; repeated ids count once; --limit 0 is a usage error", async () => {
  const { ids } = await scene();
  const list = await json(["sessions", "list", "--user", "ALICE"]);
  assert.deepEqual(list.map((l) => l.id).sort(), [ids.a1, ids.a2].sort(), "ALICE is alice");
  assertExit(await cli(["sessions", "list", "--limit", "0"]), 2);
  const [dry] = await json(["sessions", "end", ids.b1, ids.b1, "--dry-run"]);
  assert.equal(dry.ended, 1);
  assert.deepEqual(dry.ids, [ids.b1]);
  const [done] = await json(["sessions", "end", ids.b1, ids.b1, "--yes"]);
  assert.equal(done.ended, 1);
  assert.equal(done.index_entries_removed, 1, "b1 out of user-sessions:bob, counted as it happened");
  // An app of its own that indexed a session under the name as the user typed it.
  const doc = JSON.stringify({ cookie: { originalMaxAge: 60000, expires: "2030-01-01T00:00:00.000Z", httpOnly: true, path: "/" }, passport: { user: "Alice" } });
  await redis.set("sess:typed-Alice", doc);
  await redis.sAdd("user-sessions:Alice", "typed-Alice");
  const listed = await json(["sessions", "list", "--user", "Alice"]);
  assert.deepEqual(listed.map((l) => l.id).sort(), [ids.a1, ids.a2, "typed-Alice"].sort(), "both spellings' indexes");
  const [user] = await json(["sessions", "end", "--user", "Alice", "--yes"]);
  assert.equal(user.from_index, 3, "a1, a2 and the typed spelling's");
  assert.equal(user.from_scan, 1, "the Express login of alice");
  assert.equal(user.ended, 4);
  assert.equal(await redis.exists("user-sessions:alice"), 0);
  assert.equal(await redis.exists("user-sessions:Alice"), 0);
  assert.equal(await redis.exists("sess:typed-Alice"), 0);
});
