// The machinery shared by the golden-vector recorder (tests/golden/record.mjs),
// the golden test and the interop test (tests/e2e/): the two sides (the
// Express reference app and the worker) behind one `request()`, a MONITOR
// recorder delimited by markers, and one normalizer that turns a step's raw
// observations (status, answer, Set-Cookie, Redis commands, keys and TTLs)
// into a deterministic record where only times and ids are abstracted.
//
// Normalization, in one place so both sides go through the same code:
// - session ids (uuid v4 on both sides) → `<sid1>`, `<sid2>`… in order of
//   first appearance within a sequence run (seeds, cookie sent, Redis
//   commands, Set-Cookie, answer, keys);
// - cookie signatures → `<sig:i>`, i = the index of the secret that makes
//   the signature verify (`<sig:invalid>` if none);
// - `cookie.expires` in documents → `<now+60s>`: seconds from the request
//   (the server read its clock inside the request's time window [t0, t1]),
//   or `<seed+30s>` for values the sequence wrote itself; an instant more
//   than two days away stays literal (seeded stale dates, 1970);
// - Set-Cookie `Expires` (rounded down to the second) → `<now+60s>`, solved
//   from the window the same way and preferring nominal lifetimes;
// - TTLs → a class: "-1" (no expiry), "-2" (gone), else the seconds left,
//   rounded up to a nominal lifetime when within 2 s of it (time passes
//   between the write and the reading);
// - Node's clock quirk (Express side only, `quirk: true`): Cookie's maxAge
//   setter reads the clock twice, so originalMaxAge comes out 1–3 ms short
//   of the value the app asked for; such values are put back to the nominal
//   value. The worker is compared without this allowance.

import http from "node:http";
import https from "node:https";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import signature from "cookie-signature";
import { RESP_TYPES } from "redis";
import { startRedis, startUpstashLocal } from "../e2e/harness.mjs";
import { parseMonitorLine } from "../e2e/support.mjs";

export { sleep };

const UUID_G = /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/g;
const TWO_DAYS = 2 * 86400 * 1000;
/** A secret no option set configures: cookies signed with it never verify. */
export const FOREIGN_SECRET = "not a configured secret";
/** Commands of connection housekeeping, not session traffic. */
const NOISE = new Set(["CLIENT", "HELLO", "SELECT", "PING", "AUTH", "INFO", "COMMAND", "READONLY"]);

// ---------------------------------------------------------------------------
// The two sides

const insecureTls = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
const plainAgent = new http.Agent({ keepAlive: true });

/** A GET with node:http(s), so the test-only certificate can be accepted. */
function nodeGet(url, headers) {
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

/** Destroys the shared keep-alive agents (call once at the very end). */
export function closeAgents() {
  insecureTls.destroy();
  plainAgent.destroy();
}

function transportHeaders(transport) {
  if (transport === "http-xfp") return { "X-Forwarded-Proto": "https" };
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
 * The worker side (startWorker() of tests/e2e/harness.mjs, lab build):
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
      return { status: res.status, setCookies: res.headers.getSetCookie(), text: await res.text() };
    },
  };
}

// ---------------------------------------------------------------------------
// The store the golden and interop tests share

/**
 * redis-server, upstash-local in front of it, and a MONITOR on it, for one
 * test file. Returns { redis, upstash, monitor, stop() }.
 */
export async function startWatchedStore() {
  const redis = await startRedis();
  const upstash = await startUpstashLocal({ redisUrl: redis.url });
  const monitor = await startMonitor(redis.client);
  return {
    redis,
    upstash,
    monitor,
    async stop() {
      await monitor.stop();
      await upstash.stop();
      await redis.stop();
      closeAgents();
    },
  };
}

// ---------------------------------------------------------------------------
// MONITOR, delimited by markers

/**
 * One MONITOR connection for a whole test file. `mark()` sends an ECHO
 * marker through `client` (the test's own connection) and `since(marker)`
 * returns, after waiting for a new marker, every command other connections
 * ran in between (the test's own commands are left out by address).
 */
export async function startMonitor(client) {
  const info = String(await client.sendCommand(["CLIENT", "INFO"]));
  const own = info.match(/\baddr=(\S+)/)[1];
  const mon = client.duplicate();
  mon.on("error", () => {});
  await mon.connect();
  let lines = [];
  await mon.monitor((line) => lines.push(String(line)));
  const mark = async () => {
    const token = `golden-marker-${randomUUID()}`;
    await client.sendCommand(["ECHO", token]);
    return token;
  };
  const waitFor = async (token) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const i = lines.findIndex((l) => l.includes(token));
      if (i >= 0) return i;
      if (Date.now() > deadline) throw new Error("MONITOR did not see the marker");
      await sleep(1);
    }
  };
  return {
    mark,
    /** Commands of other connections between marker `from` and a new marker. */
    async since(from) {
      const to = await mark();
      const start = await waitFor(from);
      const end = await waitFor(to);
      const slice = lines.slice(start + 1, end);
      lines = lines.slice(end + 1);
      return slice
        .map(parseMonitorLine)
        .filter((c) => c.addr !== own && !NOISE.has(c.args[0]?.toUpperCase()))
        .map((c) => c.args);
    },
    async stop() {
      mon.destroy();
    },
  };
}

// ---------------------------------------------------------------------------
// Normalization

/** Everything about one run of one sequence that normalization needs. */
export class Normalizer {
  constructor({ set, quirk }) {
    this.set = set;
    this.quirk = quirk;
    this.sids = new Map();
    this.expiresLabels = new Map();
    this.nominalMaxAges = new Set(typeof set.cookie.maxAge === "number" ? [set.cookie.maxAge] : []);
    this.nominalSeconds = new Set([86400, set.ttl ?? 86400]);
    for (const ms of this.nominalMaxAges) this.nominalSeconds.add(Math.ceil(ms / 1000));
    this.quirks = 0;
  }

  addNominalMaxAge(ms) {
    if (typeof ms !== "number") return;
    this.nominalMaxAges.add(ms);
    this.nominalSeconds.add(Math.ceil(ms / 1000));
  }

  sid(real) {
    if (!this.sids.has(real)) this.sids.set(real, `<sid${this.sids.size + 1}>`);
    return this.sids.get(real);
  }

  text(s) {
    return s.replace(UUID_G, (m) => this.sid(m));
  }

  /** Registers a seeded expires instant under a fixed label. */
  seedExpires(iso, seededAt) {
    if (!this.expiresLabels.has(iso)) {
      const d = Date.parse(iso) - seededAt;
      this.expiresLabels.set(iso, Math.abs(d) > TWO_DAYS ? iso : `<seed${d < 0 ? "-" : "+"}${Math.round(Math.abs(d) / 1000)}s>`);
    }
  }

  expires(iso, win) {
    let label = this.expiresLabels.get(iso);
    if (label) return label;
    const t = Date.parse(iso);
    if (Number.isNaN(t) || Math.abs(t - win.t0) > TWO_DAYS) {
      label = iso;
    } else {
      // expires = clock + lifetime, the clock read inside [t0, t1].
      const lo = Math.ceil((t - win.t1 - 5) / 1000);
      const hi = Math.floor((t - win.t0 + 5) / 1000);
      label = lo <= hi ? relative(this.pick(lo, hi)) : `<now${sign((t - win.t0) / 1000)}${Math.abs((t - win.t0) / 1000).toFixed(3)}s?>`;
    }
    this.expiresLabels.set(iso, label);
    return label;
  }

  /** The one nominal candidate in [lo, hi], else the lowest candidate. */
  pick(lo, hi) {
    const nominal = [];
    for (let s = lo; s <= hi; s++) if (this.nominalSeconds.has(s)) nominal.push(s);
    if (nominal.length === 1) return nominal[0];
    return lo === hi ? lo : `${lo}..${hi}`;
  }

  /** An originalMaxAge as written: Node's 1–3 ms clock quirk undone (Express side only). */
  maxAge(v) {
    if (!this.quirk || typeof v !== "number" || this.nominalMaxAges.has(v)) return v;
    const n = [...this.nominalMaxAges].filter((n) => n - v > 0 && n - v <= 3).sort((a, b) => a - b)[0];
    if (n === undefined) return v;
    this.quirks += 1;
    return n;
  }

  /** A stored document: ids, the cookie's expires and originalMaxAge abstracted; everything else byte for byte. */
  doc(text, win) {
    if (text === null) return null;
    let out = this.text(text);
    const m = out.match(/^\{"cookie":\{([^{}]*)\}/);
    if (!m) return out;
    let inner = m[1]
      .replace(/"expires":"([^"]*)"/, (_, iso) => `"expires":"${this.expires(iso, win)}"`)
      .replace(/"originalMaxAge":(-?[0-9.eE+-]+)/, (_, v) => `"originalMaxAge":${this.maxAge(Number(v))}`);
    return `{"cookie":{${inner}}` + out.slice(m[0].length);
  }

  /** One Set-Cookie line. */
  setCookie(line, win) {
    const [pair, ...attrs] = line.split("; ");
    const eq = pair.indexOf("=");
    const name = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    let value = raw;
    if (raw !== "") {
      const decoded = raw.includes("%") ? safeDecode(raw) : raw;
      if (decoded.startsWith("s:") && decoded.lastIndexOf(".") > 1) {
        const dot = decoded.lastIndexOf(".");
        const sid = decoded.slice(2, dot);
        const i = this.set.secret.findIndex((secret) => signature.sign(sid, secret) === decoded.slice(2));
        const prefix = raw.startsWith("s%3A") ? "s%3A" : "s:";
        value = `${prefix}${this.text(sid)}.<sig:${i < 0 ? "invalid" : i}>`;
      } else {
        value = `<unsigned:${this.text(raw)}>`;
      }
    }
    const out = attrs.map((a) => {
      const [k, v] = splitOnce(a, "=");
      if (k.toLowerCase() !== "expires" || v === undefined) return a;
      const t = Date.parse(v);
      if (Number.isNaN(t) || Math.abs(t - win.t0) > TWO_DAYS) return a;
      // Expires = floor_s(clock + lifetime), the clock read inside [t0, t1].
      const lo = Math.ceil((t - win.t1 - 5) / 1000);
      const hi = Math.floor((t - win.t0 + 1005) / 1000);
      return `${k}=${relative(this.pick(lo, hi))}`;
    });
    return [`${name}=${value}`, ...out].join("; ");
  }

  ttl(pttl) {
    if (pttl < 0) return String(pttl);
    const s = Math.ceil(pttl / 1000);
    for (const n of this.nominalSeconds) if (n - s >= 0 && n - s <= 2) return String(n);
    return String(s);
  }

  command(args, win) {
    const verb = args[0].toUpperCase();
    const out = [verb, ...args.slice(1).map((a) => this.text(a))];
    if (verb === "SET" && args.length >= 3) out[2] = this.doc(args[2], win);
    return out;
  }

  answer(status, text) {
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      return { text: "<not JSON>" };
    }
    if (status !== 200 || !("sessionID" in body)) return { error: "error" in body ? "<message>" : "<unexpected>" };
    return JSON.parse(this.text(JSON.stringify(body)));
  }
}

function relative(s) {
  return typeof s === "number" ? `<now${sign(s)}${Math.abs(s)}s>` : `<now+${s}s>`;
}
function sign(x) {
  return x < 0 ? "-" : "+";
}
function splitOnce(s, sep) {
  const i = s.indexOf(sep);
  return i < 0 ? [s] : [s.slice(0, i), s.slice(i + 1)];
}
function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// ---------------------------------------------------------------------------
// Running a sequence

/** The Cookie header value a browser would send back for `sid`, signed with `secret`. */
export function cookieValue(sid, secret) {
  return encodeURIComponent("s:" + signature.sign(sid, secret));
}

/**
 * Runs `seq` (tests/golden/sequences.mjs) against `side` under option set
 * `set`, on Redis `redis` (the test's node-redis client, FLUSHDB'd by the
 * caller) watched by `monitor`. Returns one normalized record per step.
 */
export async function runSequence({ side, redis, monitor, set, seq, quirk }) {
  const norm = new Normalizer({ set, quirk });
  const seeds = new Map();
  let jar = null; // the session cookie's `name=value` as last set
  const known = new Set(); // every Redis key seen in this run
  const raw = redis.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  const ctx = {
    set,
    redis,
    norm,
    key: (sid) => set.prefix + sid,
    jarSid() {
      if (!jar) return null; // e.g. a Secure cookie was never sent over http
      const v = safeDecode(jar.slice(jar.indexOf("=") + 1));
      return v.slice(2, v.lastIndexOf("."));
    },
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
      cookie = jar;
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
    jar = cookie;

    const marker = await monitor.mark();
    const t0 = Date.now();
    const res = await side.request(path, { transport, cookie });
    const t1 = Date.now();
    const win = { t0, t1 };
    const commands = await monitor.since(marker);

    const keys = await redis.keys("*");
    for (const k of keys) known.add(k);
    const snapshot = {};
    for (const k of known) {
      const [doc, pttl] = await Promise.all([raw.get(k), redis.pTTL(k)]);
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

    // The jar keeps the last session cookie set; a clearing cookie (the
    // worker's destroy) is NOT applied, so both sides get the same requests
    // (Express leaves the stale cookie in the browser).
    for (const line of res.setCookies) {
      const pair = line.split(";")[0];
      if (pair.startsWith(set.name + "=") && pair.length > set.name.length + 1) jar = pair;
    }
  }
  return { steps: records, quirks: norm.quirks };
}
