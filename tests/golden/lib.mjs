// The machinery shared by the golden-vector recorder (tests/golden/record.mjs),
// the golden test and the interop test (tests/e2e/): the two sides (the
// Express reference app and the worker) behind one `request()`, and
// `runSequence()`, which turns a sequence's raw observations (status,
// answer, Set-Cookie, Redis commands, keys and TTLs) into a deterministic
// record through the one Normalizer of tests/support/normalize.mjs (the
// rules are at its top), with the MONITOR recorder of
// tests/support/monitor.mjs.

import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { CookieJar, closeAgents, cookieValue, nodeGet, rawGet, setCookieLines, startStack, Normalizer } from "../support/index.mjs";

/** A secret no option set configures: cookies signed with it never verify. */
export const FOREIGN_SECRET = "not a configured secret";
/** How the golden tests watch Redis: the commands of the sides only, without connection housekeeping. */
export const WATCH = { others: true, housekeeping: false };

// ---------------------------------------------------------------------------
// The two sides

function transportHeaders(transport) {
  if (transport === "http-xfp") return { "X-Forwarded-Proto": "https" };
  // The same header in capitals: express-session's `proxy: true` lowercases
  // it, Express's `trust proxy` (req.protocol) does not.
  if (transport === "http-xfp-upper") return { "X-Forwarded-Proto": "HTTPS" };
  if (transport === "http" || transport === "https") return {};
  throw new Error(`unknown transport ${transport}`);
}

/**
 * The Express side (an app from tests/fixtures/express-app.mjs started with
 * `tls: true`): "https" is a real TLS connection to its https listener.
 */
export function expressSide(app) {
  return {
    kind: "express",
    async request(path, { transport, cookie }) {
      const base = transport === "https" ? app.httpsUrl : app.url;
      const headers = { ...transportHeaders(transport) };
      if (cookie) headers.Cookie = cookie;
      return nodeGet(base + path, headers);
    },
  };
}

/**
 * The worker side (startWorker() of tests/support/processes.mjs, lab build):
 * "https" dispatches to an https:// URL through Miniflare, which is what a
 * Worker sees when the visitor used https.
 */
export function workerSide(worker) {
  const port = new URL(worker.url).port;
  return {
    kind: "worker",
    async request(path, { transport, cookie }) {
      const origin = transport === "https" ? `https://127.0.0.1:${port}` : worker.url;
      const headers = { ...transportHeaders(transport) };
      if (cookie) headers.Cookie = cookie;
      const res = await worker.mf.dispatchFetch(origin + path, { headers, redirect: "manual" });
      // The session's own lines: the companion cookies are no part of
      // express-session's answer (README, deliberate differences).
      return { status: res.status, setCookies: setCookieLines(res), text: await res.text() };
    },
  };
}

/**
 * redis-server, upstash-local in front of it, and a MONITOR on it watching
 * as {@link WATCH} says, for one test file. Returns { redis, upstash,
 * monitor, stop() }; stop() also closes the Express side's agents.
 */
export async function startWatchedStore() {
  const stack = await startStack({ worker: false, monitor: WATCH });
  return {
    ...stack,
    async stop() {
      await stack.stop();
      closeAgents();
    },
  };
}

// ---------------------------------------------------------------------------
// Running a sequence

/**
 * Runs `seq` (tests/golden/sequences.mjs) against `side` under option set
 * `set`, on Redis `redis` (the test's node-redis client, FLUSHDB'd by the
 * caller) watched by `monitor`. Returns one normalized record per step.
 */
export async function runSequence({ side, redis, monitor, set, seq, quirk }) {
  const norm = new Normalizer({ set, quirk });
  const seeds = new Map();
  // The session cookie as last set; a clearing cookie (the worker's
  // destroy) is NOT applied, so both sides get the same requests (Express
  // leaves the stale cookie in the browser).
  const jar = new CookieJar(set.name, { keepCleared: true });
  const known = new Set(); // every Redis key seen in this run
  const ctx = {
    set,
    redis,
    norm,
    key: (sid) => set.prefix + sid,
    /** The jar's sid; null when it is empty (e.g. a Secure cookie was never sent over http). */
    jarSid: () => jar.sid,
    seedSid: (name) => seeds.get(name),
    /** Writes `doc` under a fresh sid named `name`; `expires` are labelled relative to now. */
    async seed(name, doc, { ex, px } = {}) {
      const sid = randomUUID();
      seeds.set(name, sid);
      norm.sid(sid);
      const at = Date.now();
      const iso = doc.match(/"expires":"([^"]*)"/)?.[1];
      if (iso) norm.seedExpires(iso, at);
      const oma = doc.match(/"originalMaxAge":(-?[0-9.]+)/)?.[1];
      if (oma) norm.addNominalMaxAge(Number(oma));
      const opts = ex ? { expiration: { type: "EX", value: ex } } : px ? { expiration: { type: "PX", value: px } } : {};
      await redis.set(set.prefix + sid, doc, opts);
      known.add(set.prefix + sid);
      return sid;
    },
    sleep,
  };

  const records = [];
  for (const [i, step] of seq.steps.entries()) {
    if (step.before) await step.before(ctx);
    const transport = step.transport ?? set.transport;
    const query = typeof step.query === "function" ? step.query(ctx) : (step.query ?? {});
    if ("ms" in query) norm.addNominalMaxAge(JSON.parse(query.ms));
    const qs = new URLSearchParams(query).toString();
    const path = `/lab/${step.ops}${qs ? "?" + qs : ""}`;

    let cookie = null;
    let cookieSent = null;
    const spec = step.cookie ?? "jar";
    if (spec === "jar") {
      cookie = jar.pair;
    } else if (spec === "none") {
      cookie = null;
    } else if (spec.raw !== undefined) {
      cookie = `${set.name}=${spec.raw}`;
    } else {
      const sid = spec.seed ? seeds.get(spec.seed) : ctx.jarSid();
      if (!sid) throw new Error(`${seq.name}: no session id to sign`);
      const secret = spec.secret === "foreign" ? FOREIGN_SECRET : set.secret[spec.secret ?? 0] ?? FOREIGN_SECRET;
      let value = cookieValue(sid, secret);
      if (spec.tamper) value = value.slice(0, -1) + (value.endsWith("A") ? "B" : "A");
      cookie = `${set.name}=${value}`;
    }
    if (cookie) cookieSent = norm.setCookie(cookie, { t0: 0, t1: 0 });
    // The browser now holds what it sent ("none": a fresh browser).
    jar.set(cookie);

    const marker = await monitor.mark();
    const t0 = Date.now();
    const res = await side.request(path, { transport, cookie });
    const t1 = Date.now();
    const win = { t0, t1 };
    let commands = await monitor.since(marker);
    // (Express runs no scripts: this changes only what the worker sent.)
    if (/(^|[/,])(login|logout|regenerate)([,?]|$)/.test(path)) commands = regenerateAsExpressOrdersIt(commands);

    const keys = await redis.keys("*");
    for (const k of keys) known.add(k);
    const snapshot = {};
    for (const k of known) {
      const [doc, pttl] = await Promise.all([rawGet(redis, k), redis.pTTL(k)]);
      snapshot[k] = { doc: doc === null ? null : doc.toString("utf8"), pttl };
    }

    // Normalize in a fixed order: commands, cookies, answer, keys.
    const redisCmds = commands.map((c) => norm.command(c, win));
    const setCookie = res.setCookies.map((l) => norm.setCookie(l, win));
    const answer = norm.answer(res.status, res.text);
    const keyRecords = {};
    for (const k of [...known].sort((a, b) => norm.text(a).localeCompare(norm.text(b)))) {
      keyRecords[norm.text(k)] = { doc: norm.doc(snapshot[k].doc, win), ttl: norm.ttl(snapshot[k].pttl) };
    }
    const ordered = Object.fromEntries(Object.entries(keyRecords).sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true })));
    records.push({
      request: `${path}${transport === "http" ? "" : ` (${transport})`}`,
      cookieSent: cookieSent ? cookieSent : null,
      status: res.status,
      answer,
      setCookie,
      redis: redisCmds,
      keys: ordered,
    });

    jar.take(res.setCookies);
  }
  return { steps: records, quirks: norm.quirks };
}

/**
 * Whether `line` is the worker's extra Set-Cookie that expires the cookie of
 * a session a regenerate (login, logout, regenerate) ended, when that
 * cookie's Domain or Path differ from option set `set`'s, so the new cookie
 * would not replace it in the browser (a deliberate difference from
 * express-session, README "Deliberate differences"). Its exact shape is
 * checked: name, empty value, a Domain/Path other than the set's, the 1970
 * Expires.
 */
export function isEndedCookieClearing(line, set) {
  const m = line.match(/^([^=;]+)=; (?:Domain=([^;]+); )?Path=([^;]+); Expires=Thu, 01 Jan 1970 00:00:00 GMT(; [A-Za-z]+(=[A-Za-z]+)?)*$/);
  if (!m || m[1] !== set.name) return false;
  const [domain, path] = [m[2], m[3]];
  return domain !== set.cookie.domain || path !== (set.cookie.path ?? "/");
}

/**
 * The worker's commands of a step that regenerates (login, logout,
 * regenerate) in the order express-session sends them. express-session
 * deletes the ended key at once and then writes the new session; the worker
 * deletes it inside the compare-and-set script that writes the new session,
 * right after that `SET`, so that a store failing in between loses nothing
 * (a deliberate difference, README). Only that pattern is moved: a `DEL` a
 * script ran directly after a `SET` of another key in the same script goes
 * back before it. Everything else, and the Redis state, is compared as is.
 */
export function regenerateAsExpressOrdersIt(commands) {
  const out = [...commands];
  for (let i = 1; i < out.length; i++) {
    const [set, del] = [out[i - 1], out[i]];
    if (del.script && set.script && del[0] === "DEL" && set[0] === "SET" && !del.slice(1).includes(set[1])) {
      [out[i - 1], out[i]] = [del, set];
    }
  }
  return out;
}

/**
 * Express's commands for a Passport login or logout step as the worker sends
 * them (a deliberate difference, README): Passport saves the session itself
 * — at login the new session, which express-session then saves again at the
 * end of the request; at logout the old session without the user, which the
 * regenerate then deletes — and the worker leaves that save out, writing
 * everything at the commit in one compare-and-set script. So at login the
 * first of two `SET`s of the same key in a row goes, and at logout a `SET`
 * of a key followed by that key's `DEL`: one command, the first such, and
 * nothing else. The keys and bytes in Redis afterwards are compared as
 * they are.
 */
export function passportSavesOnce(commands, ops) {
  // Only the first such SET: Passport saves once; any other save of the
  // step stays in the comparison.
  const i = commands.findIndex((c, j) => {
    const next = commands[j + 1];
    if (c[0] !== "SET" || !next || next[1] !== c[1]) return false;
    return (ops.includes("login") && next[0] === "SET") || (ops.includes("logout") && next[0] === "DEL");
  });
  return i < 0 ? commands : commands.filter((_, j) => j !== i);
}
