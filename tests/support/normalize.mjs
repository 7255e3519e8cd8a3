// Normalization: the rules by which observations that legitimately differ
// between runs and between writers (session ids, signatures, instants,
// TTLs, Node's clock quirk, key order) are abstracted, so that what is left
// can be compared byte for byte. Defined once, for the e2e tests, the golden
// recorder and its replay alike:
//
// - session ids (uuid v4 on both sides) → labels in order of first
//   appearance (`<sid1>`, `<sid2>`… in the golden vectors);
// - cookie signatures → `<sig:i>`, i = the index of the secret that makes
//   the signature verify (`<sig:invalid>` if none);
// - `cookie.expires` in documents → `<expires>` where only the shape is
//   compared, or `<now+60s>`: seconds from the request (the server read its
//   clock inside the request's time window [t0, t1]), or `<seed+30s>` for
//   values the test wrote itself; an instant more than two days away stays
//   literal (seeded stale dates, 1970);
// - Set-Cookie `Expires` (rounded down to the second) → `<date>`, or
//   `<now+60s>` solved from the window the same way, preferring nominal
//   lifetimes;
// - TTLs → a class: "-1" (no expiry), "-2" (gone), else the seconds left,
//   rounded up to a nominal lifetime when within 2 s of it (time passes
//   between the write and the reading); a TTL read in whole seconds is the
//   nominal 60 or, a second boundary later, 59;
// - Node's clock quirk (documents written by Node only): Cookie's maxAge
//   setter reads the clock twice, so originalMaxAge comes out short of the
//   value the app asked for by the time between the two reads: usually
//   1–3 ms, but 10 ms was seen with `make test` on two busy cores (a
//   pause between the reads), so up to NODE_CLOCK_QUIRK_MS is put back to
//   the nominal value. The worker is compared without this allowance.

import assert from "node:assert/strict";
import { safeDecode, signed } from "./cookies.mjs";

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Every uuid v4 in a text (for String.prototype.replace). */
export const UUID_ANY = /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/g;
/** A `cookie.expires` as Date.prototype.toISOString writes it. */
export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** Instants further than this from the request stay literal. */
export const TWO_DAYS = 2 * 86400 * 1000;
/** Node's originalMaxAge may come out this many ms short of the nominal value, at most (a pause between its two clock reads). */
export const NODE_CLOCK_QUIRK_MS = 100;

// ---------------------------------------------------------------------------
// Labels, key order

/** Labels in order of first appearance: `of(x)` is `format(1)` for the first x seen, `format(2)` for the next… */
export class Labels {
  constructor(format) {
    this.format = format;
    this.map = new Map();
  }

  of(real) {
    if (!this.map.has(real)) this.map.set(real, this.format(this.map.size + 1));
    return this.map.get(real);
  }

  get size() {
    return this.map.size;
  }
}

/** Commands with each `prefix` key's id replaced by `label(id)` (e.g. a Labels' `of`, or roles). */
export function relabelKeys(commands, label, prefix = "sess:") {
  return commands.map((c) => c.map((a) => (a.startsWith(prefix) ? prefix + label(a.slice(prefix.length)) : a)));
}

/** `x` with every object's members in sorted order (for comparing regardless of key order). */
export function sortKeys(x) {
  if (Array.isArray(x)) return x.map(sortKeys);
  if (x && typeof x === "object") return Object.fromEntries(Object.keys(x).sort().map((k) => [k, sortKeys(x[k])]));
  return x;
}

// ---------------------------------------------------------------------------
// Instants and TTLs

/** The IMF-fixdate of an ISO instant rounded down to the second (a Set-Cookie Expires). */
export function imfOf(iso) {
  return new Date(Math.floor(Date.parse(iso) / 1000) * 1000).toUTCString();
}

/** The `cookie.expires` of a stored document (asserting its format). */
export function expiresOf(doc) {
  const m = doc.match(/"expires":"([^"]*)"/);
  assert.ok(m, `no expires in ${doc}`);
  assert.match(m[1], ISO);
  return m[1];
}

/** Asserts a TTL (whole seconds) is the nominal `seconds` (one less when a second boundary passed meanwhile). */
export function assertTtl(ttl, seconds, what = "TTL") {
  assert.ok(ttl === seconds || ttl === seconds - 1, `${what} is ${ttl}, expected ${seconds}`);
}

/** Asserts a TTL is the demo's 60 s (59 when a second boundary passed meanwhile). */
export function assertTtl60(ttl, what = "TTL") {
  assertTtl(ttl, 60, what);
}

// ---------------------------------------------------------------------------
// Documents and Set-Cookie lines, by shape

/** Node's clock quirk undone: `v` up to NODE_CLOCK_QUIRK_MS short of one of `nominals` becomes it; anything else stays. */
export function undoClockQuirk(v, nominals) {
  if (typeof v !== "number" || nominals.includes(v)) return v;
  return nominals.filter((n) => n - v > 0 && n - v <= NODE_CLOCK_QUIRK_MS).sort((a, b) => a - b)[0] ?? v;
}

/** A document with its `cookie.expires` instant replaced by `label`. */
export function withExpires(doc, label = "<expires>") {
  return doc.replace(/("cookie":\{[^}]*"expires":")[^"]*"/, `$1${label}"`);
}

/**
 * A stored document with the parts that legitimately differ between writers
 * replaced: the `expires` instant (each writer's own clock) and, for a
 * document written by Node (`node: true`), Node's clock quirk on
 * `originalMaxAge` (nominal `originalMaxAge`), reported to `onQuirk(got)`.
 */
export function docShape(doc, { node = false, originalMaxAge = 60000, onQuirk } = {}) {
  let out = withExpires(doc);
  const m = out.match(/^\{"cookie":\{"originalMaxAge":(\d+),/);
  assert.ok(m, `unexpected document start: ${doc}`);
  const got = Number(m[1]);
  if (node && undoClockQuirk(got, [originalMaxAge]) !== got) {
    onQuirk?.(got);
    out = out.replace(`"originalMaxAge":${got},`, `"originalMaxAge":${originalMaxAge},`);
  }
  return out;
}

/** A Set-Cookie line with its signed value → `s%3A<sid>.<sig>` and its Expires → `<date>`. */
export function setCookieShape(line) {
  return line.replace(/^([^=]+=s%3A)[^.]+\.[^;]+/, "$1<sid>.<sig>").replace(/Expires=[^;]+/, "Expires=<date>");
}

// ---------------------------------------------------------------------------
// The golden vectors' normalizer

/** Everything about one run of one sequence that normalization needs (`set`: an option set of tests/golden/options.mjs). */
export class Normalizer {
  constructor({ set, quirk }) {
    this.set = set;
    this.quirk = quirk;
    this.sids = new Labels((n) => `<sid${n}>`);
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
    return this.sids.of(real);
  }

  text(s) {
    return s.replace(UUID_ANY, (m) => this.sid(m));
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

  /** An originalMaxAge as written: Node's clock quirk undone (Express side only). */
  maxAge(v) {
    if (!this.quirk) return v;
    const n = undoClockQuirk(v, [...this.nominalMaxAges]);
    if (!Object.is(n, v)) this.quirks += 1;
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
        const sid = decoded.slice(2, decoded.lastIndexOf("."));
        const i = this.set.secret.findIndex((secret) => signed(sid, secret) === decoded);
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
