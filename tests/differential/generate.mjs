// The differential test's generator (tests/e2e/differential.test.mjs):
// seeded random session documents written as RAW JSON TEXT, so that they can
// hold what JSON.stringify never writes (repeated keys, lone surrogates as
// \ud800 escapes, exact number spellings, whitespace, a `__proto__` member).
//
// Every document starts from the same base — a `cookie` object that
// express-session can load (a future `expires`, an `originalMaxAge`) and a
// few plain fields — and adds the awkwardness of ONE category, so that a
// difference is attributed to that category. Categories are switchable:
// `generate(seed, count, categories)` draws only from the ones named.

/** A seeded PRNG (mulberry32): `next()` in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = (xs) => xs[Math.floor(next() * xs.length)];
  const chance = (p) => next() < p;
  const shuffle = (xs) => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = int(0, i);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  };
  return { next, int, pick, chance, shuffle };
}

// ---------------------------------------------------------------------------
// JSON text pieces

const q = (s) => JSON.stringify(s);
const obj = (members) => `{${members.map(([k, v]) => `${k}:${v}`).join(",")}}`;
const arr = (items) => `[${items.join(",")}]`;

/** Number spellings whose value or text JSON.parse + JSON.stringify change, or that sit at the edges of a double. */
export const AWKWARD_NUMBERS = [
  "5e-324", "4.9e-324", "2.2250738585072014e-308", "1.7976931348623157e308", "-1.7976931348623157e+308",
  "-0", "-0.0", "0E0", "1.0", "1E2", "1e+2", "123e-20", "1e21", "1e-7", "-1.5e-7", "100000000000000000000",
  "9007199254740993", "9007199254740992", "-9007199254740993", "12345678901234567890", "18446744073709551616",
  "0.30000000000000004", "0.1000000000000000055511151231257827", "3.141592653589793238462643383279502884",
  "2.50", "1.5e300", "0.000001", "0.0000001",
];

/** String pieces as JSON text (inside the quotes): escapes, controls, separators, non-BMP. */
export const AWKWARD_STRING_PIECES = [
  '\\"', "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u0000", "\\u0001", "\\u001f", "\\u001F", "\u007f",
  "\\u007f", "\u2028", "\u2029", "\\u2028", "\\u2029", "\u{1F37A}", "\\ud83c\\udf7a", "\\uD83C\\uDF7A", "\\u0041",
  "é", "\\u00e9", "日本語", "</script>", "\u00a0", "\ufeff", "\\ufeff", "\uffff", "\u{10ffff}", "\\udbff\\udfff",
];

/** Lone surrogates, high and low, as escapes in the JSON text. */
export const LONE_SURROGATE_PIECES = ["\\ud800", "\\udc00", "\\uDBFF", "\\uDFFF", "\\udc00\\ud800", "\\ud83c"];

/** Top-level members express-session's Session has by prototype or definition (`in this` is true). */
export const PROTOTYPE_NAMES = ["constructor", "toString", "hasOwnProperty", "valueOf", "id", "req", "touch", "save", "reload", "regenerate", "destroy", "resetMaxAge"];

const RESERVED = new Set(["cookie", "views", "passport", "__proto__", ...PROTOTYPE_NAMES]);

function plainKey(r) {
  for (;;) {
    // Never integer-like: those are the "integer-keys" category's.
    const k = r.chance(0.1) ? "" : r.pick(["a", "b", "cart", "flash", "theme", "lang", "n", "x", "user_id", "last", "Zoë"]) + (r.chance(0.5) ? String(r.int(0, 99)) : "");
    if (!RESERVED.has(k)) return k;
  }
}

function plainString(r) {
  const n = r.int(0, 12);
  let s = "";
  for (let i = 0; i < n; i++) s += r.pick("abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789-_.:".split(""));
  return q(s);
}

/** A plain value: what JSON.stringify writes back unchanged. */
function plainValue(r, depth = 0) {
  const kinds = depth >= 2 ? ["int", "str", "bool", "null", "float"] : ["int", "str", "bool", "null", "float", "obj", "arr"];
  switch (r.pick(kinds)) {
    case "int":
      return String(r.int(-1000, 100000));
    case "float":
      return r.pick(["1.5", "-0.25", "3.14", "1e-7", "1e+21", "0.1"]);
    case "str":
      return plainString(r);
    case "bool":
      return r.pick(["true", "false"]);
    case "null":
      return "null";
    case "obj": {
      const keys = [...new Set(Array.from({ length: r.int(0, 4) }, () => plainKey(r)))];
      return obj(keys.map((k) => [q(k), plainValue(r, depth + 1)]));
    }
    default:
      return arr(Array.from({ length: r.int(0, 4) }, () => plainValue(r, depth + 1)));
  }
}

/** A value of `leaf()` leaves, nested `depth` levels in objects and arrays. */
function nested(r, depth, leaf) {
  if (depth === 0) return leaf();
  if (r.chance(0.5)) return arr(Array.from({ length: r.int(1, 2) }, () => nested(r, depth - 1, leaf)));
  const keys = [...new Set(Array.from({ length: r.int(1, 2) }, () => plainKey(r)))];
  return obj(keys.map((k) => [q(k), nested(r, depth - 1, leaf)]));
}

function stringOf(r, pieces, n) {
  let s = "";
  for (let i = 0; i < n; i++) s += r.chance(0.3) ? r.pick("abc xyz".split("")) : r.pick(pieces);
  return `"${s}"`;
}

// ---------------------------------------------------------------------------
// The cookie

/** express-session's Cookie members in the order its toJSON writes them. */
export const COOKIE_ORDER = ["originalMaxAge", "partitioned", "priority", "expires", "secure", "httpOnly", "domain", "path", "sameSite"];

/** The base cookie: what the demo writes (originalMaxAge, expires, secure, httpOnly, path). */
function baseCookie(r, now) {
  const originalMaxAge = r.pick([60000, 60000, 3600000, 86400000, 30000 + r.int(0, 600000)]);
  const expires = new Date(now + r.int(20, 7200) * 1000 + r.int(0, 999)).toISOString();
  return new Map([
    ["originalMaxAge", String(originalMaxAge)],
    ["expires", q(expires)],
    ["secure", "false"],
    ["httpOnly", "true"],
    ["path", q("/")],
  ]);
}

const inOrder = (cookie) => COOKIE_ORDER.filter((k) => cookie.has(k)).map((k) => [q(k), cookie.get(k)]).concat([...cookie].filter(([k]) => !COOKIE_ORDER.includes(k)).map(([k, v]) => [q(k), v]));

// ---------------------------------------------------------------------------
// Categories

/**
 * Each category turns a draft { cookie: Map name → value text, cookieMembers
 * (null: `inOrder(cookie)`), members: [keyText, valueText][], cookieAt (the
 * index of `cookie` among the members), raw (undefined, or the whole text) } into
 * its awkward variant.
 */
export const CATEGORIES = {
  /** The base alone: the demo's cookie and plain fields. */
  plain: () => {},
  /** Awkward number spellings as field values and inside arrays/objects. */
  numbers: (r, d) => {
    for (let i = r.int(1, 3); i > 0; i--) d.members.push([q(plainKey(r)), r.chance(0.6) ? r.pick(AWKWARD_NUMBERS) : nested(r, r.int(1, 2), () => r.pick(AWKWARD_NUMBERS))]);
  },
  /** `views` (the counter a pour increments) with an awkward number spelling. */
  "views-numbers": (r, d) => {
    d.members.push([q("views"), r.pick(AWKWARD_NUMBERS)]);
  },
  /** Escapes, control characters, U+2028/2029, non-BMP, in values and keys. */
  strings: (r, d) => {
    for (let i = r.int(1, 3); i > 0; i--) d.members.push([r.chance(0.3) ? stringOf(r, AWKWARD_STRING_PIECES, r.int(1, 3)) : q(plainKey(r)), stringOf(r, AWKWARD_STRING_PIECES, r.int(1, 6))]);
  },
  /** Lone surrogates (high and low) written as escapes, in a string value (top level or nested), with other escapes around them. */
  "lone-surrogate-values": (r, d) => {
    const s = stringOf(r, AWKWARD_STRING_PIECES, r.int(0, 2)).slice(0, -1) + r.pick(LONE_SURROGATE_PIECES) + stringOf(r, AWKWARD_STRING_PIECES, r.int(0, 2)).slice(1);
    d.members.push([q(plainKey(r)), r.chance(0.7) ? s : nested(r, r.int(1, 2), () => s)]);
  },
  /** Lone surrogates written as escapes in a member name. */
  "lone-surrogate-keys": (r, d) => {
    d.members.push([stringOf(r, ["a", "\\u0041", "é"], r.int(0, 1)).slice(0, -1) + r.pick(LONE_SURROGATE_PIECES) + stringOf(r, ["b", "\\n"], r.int(0, 1)).slice(1), plainValue(r)]);
  },
  /** Deeply nested objects and arrays of plain values. */
  nested: (r, d) => {
    d.members.push([q(plainKey(r)), nested(r, r.int(3, 7), () => plainValue(r, 2))]);
  },
  /** Whitespace between tokens (what a hand-written or pretty-printed document has). */
  whitespace: (r, d) => {
    d.spaced = true;
  },
  /** The cookie without `secure`. */
  "cookie-missing-secure": (r, d) => {
    d.cookie.delete("secure");
  },
  /** The cookie without `httpOnly` (and maybe without others). */
  "cookie-missing-httponly": (r, d) => {
    d.cookie.delete("httpOnly");
    if (r.chance(0.3)) d.cookie.delete(r.pick(["secure", "path"]));
  },
  /** The cookie without `path` (and maybe without others). */
  "cookie-missing-path": (r, d) => {
    d.cookie.delete("path");
    if (r.chance(0.3)) d.cookie.delete(r.pick(["secure", "httpOnly"]));
  },
  /** Cookie members express-session knows, with other values (domain, sameSite, priority, partitioned, secure, httpOnly, path). */
  "cookie-values": (r, d) => {
    const options = {
      domain: () => q(r.pick(["example.com", ".example.com", "127.0.0.1"])),
      sameSite: () => r.pick([q("lax"), q("strict"), q("none"), q("Lax"), "true", "false"]),
      priority: () => q(r.pick(["low", "medium", "high", "High"])),
      partitioned: () => r.pick(["true", "false"]),
      secure: () => r.pick(["true", "false"]),
      httpOnly: () => r.pick(["true", "false"]),
      path: () => q(r.pick(["/", "/api", "/a b"])),
    };
    for (const k of r.shuffle(Object.keys(options)).slice(0, r.int(1, 4))) d.cookie.set(k, options[k]());
  },
  /** Optional cookie members stored as null (e.g. `domain: process.env.X ?? null` in an Express app). */
  "cookie-null-members": (r, d) => {
    const names = ["domain", "sameSite", "priority", "partitioned", "secure", "httpOnly", "path"];
    for (const k of r.shuffle(names).slice(0, r.int(1, 3))) d.cookie.set(k, "null");
    // Sometimes without originalMaxAge too: a stored "expires":null then goes.
    if (r.chance(0.3)) {
      d.cookie.delete("originalMaxAge");
      d.cookie.set("expires", "null");
    }
  },
  /** Cookie members express-session does not know (dropped by its Cookie). */
  "cookie-extra": (r, d) => {
    const extras = { foo: () => "1", data: () => "{}", maxAge: () => "5000", originalmaxage: () => "1", "": () => q("x"), nested: () => plainValue(r) };
    for (const k of r.shuffle(Object.keys(extras)).slice(0, r.int(1, 2))) d.cookie.set(k, extras[k]());
  },
  /** The cookie's members in another order. */
  "cookie-order": (r, d) => {
    let members = inOrder(d.cookie);
    do members = r.shuffle(members);
    while (members.map(([k]) => k).join() === inOrder(d.cookie).map(([k]) => k).join());
    d.cookieMembers = members;
  },
  /** Other ISO 8601 spellings of `expires` (Date reads them; toISOString writes them back its way). */
  "expires-iso-variants": (r, d) => {
    const t = Date.parse(JSON.parse(d.cookie.get("expires")));
    const s = r.pick([
      () => new Date(Math.floor(t / 1000) * 1000).toISOString().replace(".000Z", "Z"),
      () => new Date(t).toISOString().replace("Z", "+00:00"),
      () => new Date(t).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z"),
    ])();
    d.cookie.set("expires", q(s));
  },
  /** `expires` as an HTTP date (Date.prototype.toUTCString), which Date reads too. */
  "expires-http-date": (r, d) => {
    d.cookie.set("expires", q(new Date(Date.parse(JSON.parse(d.cookie.get("expires")))).toUTCString()));
  },
  /** `originalMaxAge` spelled as a float or with an exponent, with an integer value. */
  "max-age-spelling": (r, d) => {
    d.cookie.set("originalMaxAge", r.pick(["6e4", "60000.0", "6.0E4", "3.6e6", "8.64E+7"]));
  },
  /** `originalMaxAge` with a fraction of a millisecond. */
  "max-age-fraction": (r, d) => {
    d.cookie.set("originalMaxAge", r.pick(["60000.5", "3599999.999", "60000.25", "86400000.1"]));
  },
  /** A browser-session cookie: `originalMaxAge` null, `expires` null or absent. */
  "max-age-null": (r, d) => {
    d.cookie.set("originalMaxAge", "null");
    if (r.chance(0.5)) d.cookie.set("expires", "null");
    else d.cookie.delete("expires");
  },
  /** `cookie` not the first member; more members around it. */
  "key-order": (r, d) => {
    if (d.members.length === 0) d.members.push([q(plainKey(r)), plainValue(r)]);
    d.cookieAt = r.int(1, d.members.length);
  },
  /** Integer-like keys (JavaScript objects put them first, in ascending order). */
  "integer-keys": (r, d) => {
    for (let i = r.int(1, 3); i > 0; i--) d.members.push([q(r.pick(["0", "1", "7", "42", "10", "4294967294", "4294967295", "01", "-1", "1.5"])), plainValue(r)]);
    if (r.chance(0.5)) d.members.push([q(plainKey(r)), obj([[q("2"), "1"], [q("b"), "2"], [q("1"), "3"]])]);
  },
  /** A member written twice (JSON.parse: the last value, at the first place). */
  "repeated-keys": (r, d) => {
    const candidates = d.members.filter(([name]) => name !== q("passport"));
    const [k] = candidates.length ? r.pick(candidates) : [q("dup")];
    d.members.splice(r.int(0, d.members.length), 0, [k, plainValue(r)]);
    if (r.chance(0.3)) d.members.push([k, plainValue(r)]);
  },
  /** A member repeated inside a nested object (a field's value). */
  "repeated-nested-keys": (r, d) => {
    const k = q(plainKey(r));
    const inner = [[k, plainValue(r, 1)], [q(plainKey(r)), plainValue(r, 1)], [k, plainValue(r, 1)]];
    d.members.push([q(plainKey(r)), r.chance(0.5) ? obj(inner) : arr([obj(inner)])]);
  },
  /** A repeated member inside the cookie. */
  "repeated-cookie-keys": (r, d) => {
    const members = inOrder(d.cookie);
    const [k, v] = r.pick(members.filter(([name]) => name !== q("expires")));
    members.splice(r.int(0, members.length), 0, [k, k === q("originalMaxAge") ? String(r.int(30000, 90000)) : v]);
    d.cookieMembers = members;
  },
  /** A top-level `__proto__` member (an own property for JSON.parse). */
  proto: (r, d) => {
    d.members.splice(r.int(0, d.members.length), 0, [q("__proto__"), r.pick([obj([[q("admin"), "true"]]), "null", "1", q("x")])]);
  },
  /** A `__proto__` member inside a field's value (JSON.parse: an own property there too, kept by Node). */
  "nested-proto": (r, d) => {
    d.members.push([q(plainKey(r)), obj([[q("a"), "1"], [q("__proto__"), r.pick([obj([[q("admin"), "true"]]), "null", "2"])]])]);
  },
  /** Top-level members named like what express-session's Session has (`constructor`, `id`, `touch`…). */
  "prototype-names": (r, d) => {
    d.members.push([q(r.pick(PROTOTYPE_NAMES)), plainValue(r)]);
  },
  /** `expires` in the past (the key still in Redis: connect-redis does not check it). */
  expired: (r, d, now) => {
    d.cookie.set("expires", q(new Date(now - r.int(1, 86400) * 1000).toISOString()));
  },
  /**
   * Values JSON.parse reads as falsy (null, false, 0, ""): express-session
   * finds no session and starts a new one under a new id, as the worker does
   * with a document that is not an object.
   */
  unloadable: (r, d) => {
    d.raw = r.pick(["null", "false", "0", '""', " null\n", "-0", "0e5"]);
  },
  /** `expires`, `originalMaxAge` or both left out of the cookie. */
  "lifetime-missing": (r, d) => {
    for (const k of r.pick([["expires"], ["originalMaxAge"], ["expires", "originalMaxAge"]])) d.cookie.delete(k);
  },
};

export const CATEGORY_NAMES = Object.keys(CATEGORIES);

/** The whole document text of a draft. */
function render(d, r) {
  if (d.raw !== undefined) return d.raw;
  const cookieText = obj(d.cookieMembers ?? inOrder(d.cookie));
  const members = [...d.members];
  members.splice(d.cookieAt, 0, [q("cookie"), cookieText]);
  let text = obj(members);
  if (d.spaced) {
    // Whitespace only outside strings: after every structural character.
    let out = "";
    let inString = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      out += c;
      if (inString) {
        if (c === "\\") out += text[++i];
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if ("{}[]:,".includes(c)) out += r.pick([" ", "\n", "\t", "\r\n  ", ""]);
    }
    text = r.pick([" ", "\n", ""]) + out + r.pick([" ", "\n", ""]);
  }
  return text;
}

/**
 * One document of `category`: { category, text, ttlMs (the TTL to store it
 * with: until its expires, or a day) }. `user`: a name to seed as
 * `passport: {user}` (a logged-in session).
 */
export function documentOf(r, category, { now = Date.now(), user } = {}) {
  const d = { cookie: baseCookie(r, now), cookieMembers: null, members: [], cookieAt: 0, spaced: false };
  for (let i = r.int(0, 3); i > 0; i--) d.members.push([q(plainKey(r)), plainValue(r)]);
  if (user !== undefined) d.members.splice(r.int(0, d.members.length), 0, [q("passport"), obj([[q("user"), q(user)]])]);
  CATEGORIES[category](r, d, now);
  // Unique keys (unless the category repeats them on purpose); the member
  // added last, the category's, wins.
  if (category !== "repeated-keys") {
    const seen = new Set();
    d.members = d.members.reverse().filter(([k]) => (seen.has(k) ? false : seen.add(k))).reverse();
  }
  const text = render(d, r);
  const expires = d.raw === undefined ? Date.parse(JSON.parse(d.cookie.get("expires") ?? "null")) : NaN;
  const ttlMs = Number.isNaN(expires) || expires <= now ? 86400_000 : expires - now;
  return { category, text, ttlMs };
}

/**
 * `count` documents per category of `categories`, from `seed` (each category
 * its own stream, so switching one off changes no other). `userOf(i)`: the
 * `passport.user` to seed in the i-th document of a category, or undefined.
 */
export function generate(seed, count, categories = CATEGORY_NAMES, { now, userOf = () => undefined } = {}) {
  return Object.fromEntries(
    categories.map((c) => {
      const r = prng(seed ^ hash(c));
      return [c, Array.from({ length: count }, (_, i) => documentOf(r, c, { now, user: userOf(i) }))];
    }),
  );
}

function hash(s) {
  let h = 2166136261;
  for (const ch of s) h = Math.imul(h ^ ch.codePointAt(0), 16777619);
  return h >>> 0;
}
