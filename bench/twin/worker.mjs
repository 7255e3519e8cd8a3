// The JavaScript twin of the demo worker, for the benchmark only (issue 14,
// target 3): the same session logic for four requests, written as a careful
// JavaScript author would write it for Workers, on the same Redis keys, the
// same documents and the same Upstash REST calls as the Rust worker
// (docs/PROTOCOL.md §4, §8.3, §11, §12), so that `bench/twin-cpu.mjs` can
// compare the CPU of the two in the same workerd:
//
//   GET  /api/session   without a cookie: a new session, saved (the save
//                       script), Set-Cookie signed. With a valid cookie:
//                       GET sess:<sid>, the panel's JSON, the touch (EXPIRE)
//                       after the answer (ctx.waitUntil).
//   POST /api/pour      GET, views + 1, the save script (compare-and-set).
//   POST /api/login     one pipeline of reads (the session, three rate-limit
//                       hits, the known address, the user record, the
//                       lifetime count, the session index), PBKDF2 with
//                       WebCrypto, then one pipeline of writes (the guarded
//                       save of a regenerated, indexed session, the counters
//                       settled, the record and skeleton kept, the address
//                       known, the index pruned).
//
// What it leaves out (each a difference from the Rust worker; the
// benchmark's requests meet only the shorter username check, on a login):
//   - every other route (404), browser forms and flash messages, gateway
//     mode, the lab routes, the beer API (the built-in beer names only);
//   - a logged-in read or pour (the user lookups and the index's touch: the
//     benchmark's read and pour rows are anonymous sessions);
//   - the username rules beyond NFKC, lowercase, length and the allowed
//     characters (no UTS #39 script and confusable checks), and the
//     skeleton of ASCII names only (`skeleton()` below);
//   - a rehash of an old password record, peppers, the conflict answers of
//     the save script other than "conflict" (a new session on "gone", as
//     ours, is not modelled: 409);
//   - the log line of error answers.
//
// Configuration: the Rust worker's own variables (SESSION_SECRET,
// SESSION_COOKIE_NAME, SESSION_MAX_AGE_MS, SESSION_PREFIX,
// UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN, AUTH_PBKDF2_ITERATIONS,
// AUTH_MAX_FAILURES_*) and the two Lua scripts' sources (TWIN_SAVE_LUA,
// TWIN_PRUNE_LUA: crates/edge-session/src/store/scripts/, so the SHA-1s sent
// with EVALSHA are ours), all bindings (bench/twin/start.mjs).

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Rate-limit window and the known-address set's TTL (docs/PROTOCOL.md §8). */
const FAILURE_WINDOW_SECONDS = 900;
const KNOWN_ADDRESS_SECONDS = 7776000;
/** connect-redis's default TTL when the cookie has no maxAge; the index's TTL is the larger of the two. */
const DEFAULT_TTL_SECONDS = 86400;
const SYNC_COOKIE_SECONDS = 30;
const PRUNE_BATCH = 32;
const SAVE_ATTEMPTS = 16;
const DECOY_SALT = enc.encode("edge-session-decoy-salt");

const API_HEADERS = [
  ["X-Content-Type-Options", "nosniff"],
  ["Content-Security-Policy", "frame-ancestors 'none'"],
  ["Referrer-Policy", "no-referrer"],
];

// ---------------------------------------------------------------------------
// Per isolate: the configuration, the HMAC key (imported once), the scripts'
// SHA-1s and the newest sync token, as the Rust worker keeps its state.

let statePromise = null;

async function init(env) {
  const maxAgeMs = Number(env.SESSION_MAX_AGE_MS ?? 86400000);
  const hmac = await crypto.subtle.importKey("raw", enc.encode(env.SESSION_SECRET), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
  const script = async (source) => ({ source, sha: hex(await crypto.subtle.digest("SHA-1", enc.encode(source))) });
  return {
    hmac,
    cookieName: env.SESSION_COOKIE_NAME ?? "connect.sid",
    prefix: env.SESSION_PREFIX ?? "sess:",
    maxAgeMs,
    ttlSeconds: Math.ceil(maxAgeMs / 1000),
    indexTtlSeconds: Math.max(Math.ceil(maxAgeMs / 1000), DEFAULT_TTL_SECONDS),
    url: env.UPSTASH_REDIS_REST_URL.replace(/\/+$/, ""),
    auth: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}`,
    iterations: Number(env.AUTH_PBKDF2_ITERATIONS ?? 20000),
    storeTimeoutMs: Number(env.SESSION_STORE_TIMEOUT_MS ?? 5000),
    limits: {
      perUser: Number(env.AUTH_MAX_FAILURES_PER_USER ?? 10),
      perPair: Number(env.AUTH_MAX_FAILURES_PER_USER_AND_IP ?? 5),
      perAddress: Number(env.AUTH_MAX_FAILURES_PER_IP ?? 20),
    },
    save: await script(env.TWIN_SAVE_LUA),
    prune: await script(env.TWIN_PRUNE_LUA),
    syncToken: null,
  };
}

// ---------------------------------------------------------------------------
// Small helpers.

function hex(buf) {
  let s = "";
  for (const b of new Uint8Array(buf)) s += b.toString(16).padStart(2, "0");
  return s;
}

function toBase64(bytes) {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

function fromBase64(text) {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

const sha1hex = async (bytes) => hex(await crypto.subtle.digest("SHA-1", bytes));

/** The value of cookie `name` in a Cookie header, percent-decoded, or null. */
function cookieValue(header, name) {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    let v = part.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    try {
      return decodeURIComponent(v);
    } catch {
      return v;
    }
  }
  return null;
}

const httpDate = (ms) => new Date(ms).toUTCString();

// ---------------------------------------------------------------------------
// The signed cookie (express-session's cookie-signature): "s:" + id + "." +
// base64(HMAC-SHA256(secret, id)) without padding.

async function unsign(st, value) {
  if (!value?.startsWith("s:")) return null;
  const dot = value.lastIndexOf(".");
  if (dot < 3) return null;
  const sid = value.slice(2, dot);
  let mac;
  try {
    const b64 = value.slice(dot + 1);
    mac = fromBase64(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  } catch {
    return null;
  }
  return (await crypto.subtle.verify("HMAC", st.hmac, mac, enc.encode(sid))) ? sid : null;
}

async function sign(st, sid) {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", st.hmac, enc.encode(sid)));
  return `s:${sid}.${toBase64(mac).replace(/=+$/, "")}`;
}

// ---------------------------------------------------------------------------
// Upstash REST (docs/PROTOCOL.md §5): one command to the URL, or a pipeline
// to /pipeline; bulk strings come back base64 (Upstash-Encoding: base64).

class StoreError extends Error {}

/** One store call for one request: counts its round trips and keeps the token of its last write. */
class Store {
  constructor(st, browserToken) {
    this.st = st;
    this.token = browserToken; // the browser's token of its last write, else the isolate's newest
    this.trips = 0;
    this.ms = 0;
    this.written = null;
  }

  async send(path, body, writes) {
    const headers = { Authorization: this.st.auth, "Content-Type": "application/json", "Upstash-Encoding": "base64" };
    const token = this.token ?? this.st.syncToken;
    if (token) headers["upstash-sync-token"] = token;
    const t0 = Date.now();
    // Each call has its own time limit, as ours (SESSION_STORE_TIMEOUT_MS).
    const signal = AbortSignal.timeout(this.st.storeTimeoutMs);
    const res = await fetch(this.st.url + path, { method: "POST", headers, body: JSON.stringify(body), signal });
    const text = await res.text();
    this.trips += 1;
    this.ms += Date.now() - t0;
    const got = res.headers.get("upstash-sync-token");
    if (got) {
      this.st.syncToken = got;
      this.token = null;
      if (writes) this.written = got;
    }
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      throw new StoreError(`store answered ${res.status}, not JSON`);
    }
    if (res.status !== 200 && !(res.status === 400 && json?.error && !/authorization/i.test(json.error))) {
      throw new StoreError(`store answered ${res.status}: ${text}`);
    }
    return json;
  }

  /** One command; its result (bulk strings still base64). */
  async one(command, writes = false) {
    const answer = await this.send("", command, writes);
    if (answer.error) throw new StoreError(answer.error);
    return answer.result;
  }

  /** A pipeline; its envelopes. */
  pipeline(commands, writes = false) {
    return this.send("/pipeline", commands, writes);
  }

  /** A script call, sent again as EVAL after NOSCRIPT (docs/PROTOCOL.md §11). */
  async script(script, keys, args) {
    const tail = [String(keys.length), ...keys, ...args];
    const answer = await this.send("", ["EVALSHA", script.sha, ...tail], true);
    if (answer.error?.startsWith("NOSCRIPT")) return this.one(["EVAL", script.source, ...tail], true);
    if (answer.error) throw new StoreError(answer.error);
    return answer.result;
  }
}

const evalsha = (script, keys, args) => ["EVALSHA", script.sha, String(keys.length), ...keys, ...args];

// ---------------------------------------------------------------------------
// Sessions: express-session's document (JSON.stringify of the session, the
// cookie first), its load, and its commit (save when modified or new, else
// touch after the answer), each save the compare-and-set script.

class Session {
  constructor(st, { id, doc, loadedKey = null, loadedBytes = null, loadedSha = "", cookieMatched = false }) {
    this.st = st;
    this.id = id;
    this.doc = doc;
    this.loadedKey = loadedKey;
    this.loadedBytes = loadedBytes;
    this.loadedSha = loadedSha;
    this.cookieMatched = cookieMatched;
    this.fieldsAtLoad = loadedKey ? fieldsText(doc) : null;
    this.retired = [];
    this.index = null; // { set, member }
    this.guard = null; // { key, sha }
    this.updates = []; // functions run again on a newer document (a conflict)
  }

  static fresh(st, now) {
    return new Session(st, { id: crypto.randomUUID(), doc: { cookie: cookieOf(st, now) } });
  }

  key() {
    return this.st.prefix + this.id;
  }

  get isNew() {
    return this.loadedKey === null;
  }

  modified() {
    return this.isNew || this.loadedKey !== this.key() || fieldsText(this.doc) !== this.fieldsAtLoad;
  }

  /** Seconds until the loaded cookie's expiry, as the panel shows it. */
  expiresIn(now) {
    const at = Date.parse(this.doc.cookie?.expires);
    return Number.isFinite(at) ? (at - now) / 1000 : null;
  }

  update(fn) {
    this.updates.push(fn);
    fn(this.doc);
  }

  /** Passport's login: a fresh id (the old key retired), `passport.user`, indexed. */
  regenerate(now) {
    if (this.loadedKey) this.retired.push(this.loadedKey);
    this.loadedKey = null;
    this.loadedBytes = null;
    this.loadedSha = "";
    this.id = crypto.randomUUID();
    this.doc = { cookie: cookieOf(this.st, now) };
    this.updates = [];
  }
}

const cookieOf = (st, now) => ({
  originalMaxAge: st.maxAgeMs,
  expires: new Date(now + st.maxAgeMs).toISOString(),
  secure: false,
  httpOnly: true,
  path: "/",
});

function fieldsText(doc) {
  const { cookie, ...fields } = doc;
  return JSON.stringify(fields);
}

/** Loads the request's session with `reads` in the same call: { session, found (the reads' envelopes) }. */
async function load(st, store, req, now, reads = []) {
  const sid = await unsign(st, cookieValue(req.headers.get("Cookie"), st.cookieName));
  if (!sid && reads.length === 0) return { session: Session.fresh(st, now), found: [] };
  const key = sid ? st.prefix + sid : null;
  const commands = key ? [["GET", key], ...reads] : reads;
  let first;
  let found;
  if (commands.length === 1) {
    first = await store.one(commands[0]);
    found = [];
  } else {
    const answers = await store.pipeline(commands);
    for (const a of answers) if (a.error) throw new StoreError(a.error);
    found = answers.map((a) => a.result);
    first = key ? found.shift() : null;
  }
  if (first == null) return { session: Session.fresh(st, now), found };
  const bytes = fromBase64(first);
  let doc;
  try {
    doc = JSON.parse(dec.decode(bytes));
  } catch {
    doc = null;
  }
  if (!doc || typeof doc !== "object" || typeof doc.cookie !== "object") return { session: Session.fresh(st, now), found };
  const session = new Session(st, { id: sid, doc, loadedKey: key, loadedBytes: bytes, loadedSha: await sha1hex(bytes), cookieMatched: true });
  return { session, found };
}

/**
 * The commit: a save (with `writes` in the same pipeline) or, for an
 * unmodified loaded session, the touch handed to waitUntil. Resolves with
 * the Set-Cookie lines.
 */
async function commit(st, store, ctx, session, now, writes = []) {
  if (!session.modified() && writes.length === 0) {
    const key = session.key();
    ctx.waitUntil(store.one(["EXPIRE", key, String(st.ttlSeconds)], true).catch((e) => console.error(`twin: touch of ${key}: ${e.message}`)));
    return { cookies: [], deferred: 1 };
  }
  for (let attempt = 1; ; attempt++) {
    session.doc.cookie = cookieOf(st, now);
    const body = JSON.stringify(session.doc);
    const keys = [session.key(), session.loadedKey ?? session.key(), ...session.retired];
    if (session.index) keys.push(session.index.set);
    if (session.guard) keys.push(session.guard.key);
    const args = [
      session.loadedSha,
      body,
      String(st.ttlSeconds),
      String(session.retired.length),
      session.index?.member ?? "",
      "",
      session.index ? String(st.indexTtlSeconds) : "",
      session.guard?.sha ?? "",
      "",
    ];
    let answer;
    if (writes.length) {
      const answers = await store.pipeline([evalsha(st.save, keys, args), ...writes], true);
      for (const [i, a] of answers.entries()) {
        if (!a.error) continue;
        if (!a.error.startsWith("NOSCRIPT")) throw new StoreError(a.error);
        // Sent again alone as EVAL (the script did not run).
        const cmd = i === 0 ? evalsha(st.save, keys, args) : writes[i - 1];
        const script = cmd[1] === st.save.sha ? st.save : st.prune;
        answers[i] = { result: await store.one(["EVAL", script.source, ...cmd.slice(2)], true) };
      }
      answer = answers[0].result;
      writes = []; // sent once, also when the save is tried again
    } else {
      answer = await store.script(st.save, keys, args);
    }
    if (answer[0] === 1) break;
    if (answer[0] === 0 && attempt < SAVE_ATTEMPTS && session.updates.length) {
      // A newer document: the changes again on it.
      const bytes = fromBase64(answer[1]);
      session.loadedBytes = bytes;
      session.loadedSha = await sha1hex(bytes);
      session.doc = JSON.parse(dec.decode(bytes));
      for (const fn of session.updates) fn(session.doc);
      continue;
    }
    throw new Conflict(answer[0]);
  }
  session.loadedKey = session.key();
  return { cookies: [await sessionCookie(st, session, now)], deferred: 0 };
}

class Conflict extends Error {
  constructor(code) {
    super(code === -3 ? "stale" : `save refused (${code})`);
    this.code = code;
  }
}

async function sessionCookie(st, session, now) {
  const value = encodeURIComponent(await sign(st, session.id));
  return `${st.cookieName}=${value}; Path=/; Expires=${httpDate(now + st.maxAgeMs)}; HttpOnly`;
}

// ---------------------------------------------------------------------------
// Answers.

function json(status, body, { cookies = [], store, outcome, deferred = 0 } = {}) {
  const headers = new Headers(API_HEADERS);
  headers.set("Content-Type", "application/json; charset=utf-8");
  headers.set("Cache-Control", "no-store");
  for (const c of cookies) headers.append("Set-Cookie", c);
  if (store) {
    const trips = store.trips === 1 ? "1 round trip" : `${store.trips} round trips`;
    let timing = `store;desc="${trips}";dur=${store.ms.toFixed(1)}`;
    if (outcome) timing = `session;desc="${outcome}", ${timing}`;
    if (deferred) timing += `, deferred;desc="${deferred}"`;
    headers.set("Server-Timing", timing);
  }
  return new Response(JSON.stringify(body), { status, headers });
}

const error = (status, message, extra = {}) => json(status, { error: message }, extra);

/** The `<name>.sync` cookie of the request's last write (docs/PROTOCOL.md §12.2). */
function withSync(st, store, cookies, now) {
  if (store.written) cookies.push(`${st.cookieName}.sync=${store.written}; Path=/; Expires=${httpDate(now + SYNC_COOKIE_SECONDS * 1000)}; HttpOnly`);
  return cookies;
}

/** Why the Cookie header is refused (ours: 8192 bytes, 180 cookies, 4096 bytes a cookie), or null. */
function cookieHeaderProblem(header) {
  if (!header) return null;
  if (header.length > 8192) return `the Cookie header is ${header.length} bytes long`;
  const pairs = header.split(";").filter((p) => p.includes("="));
  if (pairs.length > 180) return `the Cookie header carries ${pairs.length} cookies`;
  return pairs.some((p) => p.trim().length - 1 > 4096) ? "a cookie is over 4096 bytes" : null;
}

function sameOrigin(req, url) {
  const site = req.headers.get("Sec-Fetch-Site");
  if (site) return ["same-origin", "none"].includes(site.trim());
  const origin = req.headers.get("Origin");
  if (!origin) return true;
  try {
    return new URL(origin).origin === url.origin;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// The routes.

function panel(session, expiresIn) {
  const view = { sessionID: session.id, sessionExpireTime: expiresIn };
  if (session.doc.views !== undefined) view.beersViewed = session.doc.views;
  return Object.assign(view, { beerName: null, beerStyle: null, error: null });
}

async function showSession(st, store, req, ctx, now) {
  const { session } = await load(st, store, req, now);
  const expiresIn = session.expiresIn(now);
  const outcome = session.isNew ? "new" : "hit";
  const { cookies, deferred } = await commit(st, store, ctx, session, now);
  return json(200, panel(session, expiresIn), { cookies: withSync(st, store, cookies, now), store, outcome, deferred });
}

const ADJECTIVES = ["Hazy", "Golden", "Smoky", "Wild", "Midnight", "Crooked", "Foggy", "Rusty", "Velvet", "Hoppy", "Bitter", "Sunny", "Salty", "Lazy", "Electric", "Old", "Barrel-Aged", "Frosty", "Copper", "Dank"];
const NOUNS = ["Otter", "Lighthouse", "Fox", "Anchor", "Raven", "Harbor", "Pine", "Badger", "Comet", "Tractor", "Heron", "Bison", "Lantern", "Mammoth", "Walrus", "Cactus", "Ferry", "Owl", "Glacier", "Moose"];
const STYLES = ["American IPA", "New England IPA", "Double IPA", "Pale Ale", "Pilsner", "Helles Lager", "Oatmeal Stout", "Imperial Stout", "Porter", "Saison", "Hefeweizen", "Witbier", "Gose", "Berliner Weisse", "Amber Ale", "Brown Ale", "Barleywine", "Kölsch", "Märzen", "Sour Ale"];
const SUFFIXES = ["Ale", "Lager", "IPA", "Stout", "Brew", "Reserve", "Pils", "Porter"];

function randomBeer() {
  const r = crypto.getRandomValues(new Uint32Array(4));
  const at = (list, n) => list[n % list.length];
  return { name: `${at(ADJECTIVES, r[0])} ${at(NOUNS, r[1])} ${at(SUFFIXES, r[2])}`, style: at(STYLES, r[3]) };
}

/** The seed's `views ? views + 1 : 1`, refusing objects and arrays as ours does. */
function nextViews(v) {
  if (v !== null && typeof v === "object") throw new Refused(409, "the session's `views` field is not a number; it was left unchanged");
  return v ? v + 1 : 1;
}

class Refused extends Error {
  constructor(status, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

async function pour(st, store, req, ctx, now) {
  const { session } = await load(st, store, req, now);
  const expiresIn = session.expiresIn(now);
  const outcome = session.isNew ? "new" : "hit";
  const beer = randomBeer();
  session.update((doc) => {
    doc.views = nextViews(doc.views);
  });
  const { cookies } = await commit(st, store, ctx, session, now);
  const view = panel(session, expiresIn);
  view.beerName = beer.name;
  view.beerStyle = beer.style;
  view.beerSource = "generator";
  return json(200, view, { cookies: withSync(st, store, cookies, now), store, outcome });
}

/** The canonical username (docs/PROTOCOL.md §8.1, without the UTS #39 checks), or null. */
function canonicalName(raw) {
  const name = raw.trim().normalize("NFKC").toLowerCase().normalize("NFKC");
  return /^[\p{L}\p{N}._-]{3,32}$/u.test(name) && /[\p{L}\p{N}]/u.test(name) ? name : null;
}

/** UTS #39's skeleton for the ASCII names the benchmark uses: the confusables of digits and `m`. */
const skeleton = (name) => name.replace(/[01m]/g, (c) => ({ 0: "O", 1: "l", m: "rn" })[c]);

/** An IPv4 address as is, anything else `unknown` (ours also buckets IPv6 by /64). */
const bucketOf = (ip) => (ip && /^\d{1,3}(\.\d{1,3}){3}$/.test(ip) ? ip : "unknown");

/** A coarse device label from the User-Agent, as the session's `device` records it. */
function deviceLabel(ua) {
  if (!ua) return "Unknown browser";
  const browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox" : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : null;
  const os = /Windows/.test(ua) ? "Windows" : /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Mac OS X/.test(ua) ? "macOS" : /Linux/.test(ua) ? "Linux" : null;
  return browser ? (os ? `${browser} on ${os}` : browser) : "Unknown browser";
}

async function pbkdf2(password, salt, iterations) {
  const key = await crypto.subtle.importKey("raw", enc.encode(password), "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256));
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

const pad = (b64) => b64 + "=".repeat((4 - (b64.length % 4)) % 4);

/** Whether `password` matches the stored record's `pbkdf2-sha256$<iterations>$<salt>$<hash>`. */
async function verifyPassword(record, password) {
  const parts = String(record.password).split("$");
  if (parts.length !== 4 || parts[0] !== "pbkdf2-sha256") throw new Refused(500, "unreadable user record");
  const hash = await pbkdf2(password, fromBase64(pad(parts[2])), Number(parts[1]));
  return equalBytes(hash, fromBase64(pad(parts[3])));
}

/** A Redis counter's value (an integer string, base64 here), 0 when absent. */
const counterValue = (b64) => (b64 == null ? 0 : Number.parseInt(dec.decode(fromBase64(b64)), 10) || 0);

async function login(st, store, req, ctx, now) {
  let creds;
  try {
    creds = JSON.parse(await req.text());
  } catch {
    creds = null;
  }
  if (typeof creds?.username !== "string" || typeof creds?.password !== "string") {
    throw new Refused(400, "bad request: expected JSON with username and password (strings)");
  }
  const name = canonicalName(creds.username);
  if (!name) throw new Refused(401, "wrong username or password");
  const bucket = bucketOf(req.headers.get("CF-Connecting-IP"));
  const counters = [`login-fail:user:${name}`, `login-fail:ip:${bucket}`, `login-fail:pair:${name}:${bucket}`];
  const known = `login-known:${name}`;
  const userKey = `user:${name}`;
  const index = `user-sessions:${name}`;
  const reads = [
    ...counters.flatMap((k) => [["INCR", k], ["EXPIRE", k, String(FAILURE_WINDOW_SECONDS), "NX"], ["PTTL", k]]),
    ["SISMEMBER", known, bucket],
    ["GET", userKey],
    ["GET", `user-beers:${name}`],
    ["SMEMBERS", index],
  ];
  const { session, found } = await load(st, store, req, now, reads);
  const hits = [0, 1, 2].map((i) => ({ count: found[3 * i], pttl: found[3 * i + 2] }));
  const [isKnown, recordB64, beersB64, members] = found.slice(9);
  // The gate: the name's limit is soft (a known address passes it); the
  // address's and the pair's are hard (docs/PROTOCOL.md §8.2).
  const l = st.limits;
  const limitsOf = [isKnown === 1 && bucket !== "unknown" ? Infinity : l.perUser, bucket === "unknown" ? Infinity : l.perAddress, l.perPair];
  const over = hits.filter((h, i) => h.count > limitsOf[i]);
  if (over.length) {
    await store.pipeline(counters.map((k) => ["DECR", k]), true);
    const wait = Math.max(...over.map((h) => (h.pttl > 0 ? Math.ceil(h.pttl / 1000) : FAILURE_WINDOW_SECONDS)));
    throw new Refused(429, "too many failed logins; try again later", wait);
  }
  if (recordB64 == null || enc.encode(creds.password).length > 1024) {
    await pbkdf2(creds.password, DECOY_SALT, st.iterations); // the same work for an unknown user
    throw new Refused(401, "wrong username or password");
  }
  const recordBytes = fromBase64(recordB64);
  const record = JSON.parse(dec.decode(recordBytes));
  if (!(await verifyPassword(record, creds.password))) throw new Refused(401, "wrong username or password");

  const skeletonKey = `user-skeleton:${skeleton(name)}`;
  const writes = [
    ["DECR", counters[1]],
    ["DEL", counters[0], counters[2]],
    ["PERSIST", userKey],
    ["SET", skeletonKey, name, "NX"],
    ["PERSIST", skeletonKey],
  ];
  if (bucket !== "unknown") writes.push(["SADD", known, bucket], ["EXPIRE", known, String(KNOWN_ADDRESS_SECONDS)]);
  session.regenerate(now);
  session.doc.passport = { user: name };
  session.doc.device = { label: deviceLabel(req.headers.get("User-Agent")), signedInAt: now };
  session.index = { set: index, member: session.id };
  session.guard = { key: userKey, sha: await sha1hex(recordBytes) };
  // Housekeeping in the same call: ids in the index whose sessions are gone.
  const others = (members ?? []).map((m) => dec.decode(fromBase64(m))).filter((id) => id !== session.id).slice(0, PRUNE_BATCH);
  if (others.length) writes.push(evalsha(st.prune, [index, ...others.map((id) => st.prefix + id)], others));
  let cookies;
  try {
    ({ cookies } = await commit(st, store, ctx, session, now, writes));
  } catch (e) {
    if (e instanceof Conflict && e.code === -3) throw new Refused(401, "wrong username or password");
    throw e;
  }
  cookies.push(`${st.cookieName}.user=${encodeURIComponent(name)}; Path=/; HttpOnly`);
  const view = { sessionID: session.id, user: name, lifetimeBeers: counterValue(beersB64) };
  return json(200, view, { cookies: withSync(st, store, cookies, now), store, outcome: "hit" });
}

const ROUTES = {
  "GET /api/session": showSession,
  "HEAD /api/session": showSession,
  "POST /api/pour": pour,
  "POST /api/login": login,
};

export default {
  async fetch(req, env, ctx) {
    statePromise ??= init(env);
    const st = await statePromise;
    const url = new URL(req.url);
    const route = ROUTES[`${req.method} ${url.pathname.toLowerCase().replace(/(.)\/$/, "$1")}`];
    if (!route) return error(404, `no route for ${url.pathname}`);
    const problem = cookieHeaderProblem(req.headers.get("Cookie"));
    if (problem) return error(400, problem);
    if (req.method === "POST" && !sameOrigin(req, url)) {
      return error(403, "cross-site request refused: state-changing requests must come from this site's own pages");
    }
    const store = new Store(st, cookieValue(req.headers.get("Cookie"), `${st.cookieName}.sync`));
    const now = Date.now();
    try {
      return await route(st, store, req, ctx, now);
    } catch (e) {
      if (e instanceof Refused) {
        const extra = e.retryAfter ? { retryAfter: e.retryAfter } : {};
        return json(e.status, { error: e.message, ...extra }, { store });
      }
      if (e instanceof Conflict) return json(409, { error: e.message }, { store });
      if (e instanceof StoreError) return json(503, { error: "the session store is unavailable; try again shortly", retryAfter: 5 }, { store });
      throw e;
    }
  },
};
