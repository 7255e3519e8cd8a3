// The request sequences of the golden matrix. Each step is one request to
// `/lab/<ops>` (src/app/lab.rs; the Express twin is in
// tests/fixtures/express-app.mjs) with:
// - `ops`, `query` (an object, or a function of the run's context);
// - `cookie`: "jar" (default: the session cookie last set, as a browser
//   would send it back), "none", `{ raw }` (sent verbatim), or
//   `{ seed | (jar), secret: 0 | 1 | "foreign", tamper }` (the seeded or
//   jar's sid, signed with the option set's secret of that index);
// - `transport` (overrides the option set's);
// - `before(ctx)`: direct Redis writes between requests (ctx.seed(),
//   ctx.redis, ctx.key(), ctx.jarSid(), ctx.sleep()).

import { nodeDoc } from "../support/documents.mjs";

const inSeconds = (s) => new Date(Date.now() + s * 1000).toISOString();

/** Fields of a document written by another app: nested, null, booleans, non-ASCII. */
export const FOREIGN_FIELDS = {
  passport: { user: { id: 42, name: "Zoë 🍺 日本語", roles: ["admin", null], active: true }, strategy: "local" },
  flash: {},
  cart: [{ sku: "A-1", qty: 2, price: 3.5 }, [], [[null]]],
  nothing: null,
  disabled: false,
  enabled: true,
  big: 1e21,
  tiny: 5e-7,
  text: 'quote " backslash \\ newline \n tab \t ctrl \u0001 del \u007f sep \u2028 lt </script>',
  "": "empty key",
  "ключ": "ünïcödé key",
  last: "tail",
};

/** A foreign document in a JSON spelling JSON.stringify would not produce. */
function nonCanonical(expires) {
  return (
    `{"cookie":{"originalMaxAge":60000,"expires":"${expires}","secure":false,"httpOnly":true,"path":"/"},` +
    `"escaped":"\\u00fc\\/\\u00e9","exp":1E2,"spaced": [ 1, 2 ],"dup":1,"dup":2}`
  );
}

const set = (key, value) => ({ ops: "set", query: { key, value: JSON.stringify(value) } });
const read = (extra = {}) => ({ ops: "read", ...extra });
// Members deliberately not in alphabetical order: Passport stores the user
// as serialized, so the stored order is the app's.
export const USER = { id: 7, name: "Zoë", roles: ["editor"], admin: false };

export const SEQUENCES = [
  { name: "new-read", steps: [read({ cookie: "none" })] },
  { name: "new-set", steps: [set("a", 1)] },
  { name: "read-existing", steps: [set("a", 1), read(), read()] },
  { name: "modify", steps: [set("a", 1), set("a", 2), set("obj", { x: [1, null, true], s: "ü" })] },
  {
    // Numbers as JSON.stringify spells them (1.5, 1e+21, 5e-7, 0, 12345678901234567000, 1).
    name: "numbers",
    steps: [{ ops: "set", query: { key: "n", value: "[1.50,1e21,5e-7,0.1,-0,12345678901234567890,1.0,2e2]" } }, read()],
  },
  { name: "same-value", steps: [set("a", 1), set("a", 1)] },
  { name: "regenerate", steps: [set("a", 1), { ops: "regenerate" }, read()] },
  { name: "regenerate-set", steps: [set("a", 1), { ops: "regenerate,set", query: { key: "b", value: "2" } }, read()] },
  { name: "destroy", steps: [set("a", 1), { ops: "destroy" }, read()] },
  { name: "destroy-new", steps: [{ ops: "set,destroy", query: { key: "a", value: "1" }, cookie: "none" }] },
  {
    name: "reload-concurrent",
    steps: [
      set("a", 1),
      {
        // Another request changed the session meanwhile; this one's unsaved
        // change to `a` is dropped by reload.
        before: concurrentWrite,
        ops: "set,reload",
        query: { key: "a", value: "9" },
      },
      read(),
    ],
  },
  {
    name: "reload-then-set",
    steps: [set("a", 1), { before: concurrentWrite, ops: "reload,set", query: { key: "b", value: "2" } }, read()],
  },
  {
    name: "reload-vanished",
    steps: [
      { ops: "reload", cookie: "none" },
      set("a", 1),
      { before: deleteJarKey, ops: "reload" },
    ],
  },
  { name: "save", steps: [set("a", 1), { ops: "set,save", query: { key: "b", value: "2" } }, { ops: "save" }, read()] },
  { name: "touch", steps: [set("a", 1), { ops: "touch" }, read()] },
  { name: "max-age-alone", steps: [set("a", 1), { ops: "max-age", query: { ms: "3600000" } }, read()] },
  {
    name: "max-age-with-set",
    steps: [set("a", 1), { ops: "max-age,set", query: { ms: "3600000", key: "remember", value: "true" } }, read()],
  },
  {
    name: "max-age-null",
    steps: [
      set("a", 1),
      { ops: "max-age,set", query: { ms: "null", key: "b", value: "2" } },
      read(),
      { ops: "max-age", query: { ms: "null" }, cookie: "none" },
    ],
  },
  {
    name: "unset",
    steps: [set("a", 1), { ops: "unset" }, read(), { ops: "set,unset", query: { key: "a", value: "2" }, cookie: "none" }],
  },
  {
    name: "passport",
    steps: [
      set("a", 1),
      { ops: "login", query: { user: JSON.stringify(USER) } },
      read(),
      set("b", 2),
      { ops: "logout" },
      read(),
    ],
  },
  { name: "login-new", steps: [{ ops: "login", query: { user: JSON.stringify(USER) }, cookie: "none" }, read()] },
  { name: "expired-deleted", steps: [set("a", 1), { before: deleteJarKey, ops: "read" }, read()] },
  {
    name: "expired-ttl",
    steps: [
      set("a", 1),
      {
        before: async (ctx) => {
          const sid = ctx.jarSid();
          if (sid) await ctx.redis.pExpire(ctx.key(sid), 30);
          await ctx.sleep(80);
        },
        ops: "read",
      },
    ],
  },
  {
    name: "stale-expires",
    steps: [
      {
        // Redis TTL is the only authority: a live key whose stored expires
        // is long past is still a session.
        before: (ctx) => ctx.seed("s", nodeDoc({ expires: "2001-02-03T04:05:06.789Z", fields: { a: 1 } }), { ex: 30 }),
        ops: "read",
        cookie: { seed: "s" },
      },
      set("b", 2),
    ],
  },
  {
    name: "original-max-age-59999",
    steps: [
      {
        before: (ctx) => ctx.seed("s", nodeDoc({ originalMaxAge: 59999, expires: inSeconds(30), fields: { a: 1 } }), { ex: 30 }),
        ops: "read",
        cookie: { seed: "s" },
      },
      set("b", 2),
      read(),
    ],
  },
  {
    name: "foreign-document",
    steps: [
      {
        before: (ctx) => ctx.seed("s", nodeDoc({ expires: inSeconds(30), fields: FOREIGN_FIELDS }), { ex: 30 }),
        ops: "read",
        cookie: { seed: "s" },
      },
      set("views", 8),
      set("enabled", false),
      { ops: "logout" },
    ],
  },
  {
    name: "foreign-non-canonical",
    steps: [
      { before: (ctx) => ctx.seed("s", nonCanonical(inSeconds(30)), { ex: 30 }), ops: "read", cookie: { seed: "s" } },
      set("a", 1),
    ],
  },
  {
    name: "bad-cookies",
    steps: [
      { before: (ctx) => ctx.seed("s", nodeDoc({ expires: inSeconds(30), fields: { a: 1 } }), { ex: 30 }), ops: "read", cookie: { raw: "plain-unsigned" } },
      { ops: "read", cookie: { seed: "s", tamper: true } },
      { ops: "read", cookie: { seed: "s", secret: "foreign" } },
      { ops: "read", cookie: { raw: "s%3Anot-signed-at-all" } },
    ],
  },
  {
    name: "second-secret",
    steps: [
      {
        // Signed with the option set's second secret (a foreign one when it has only one).
        before: (ctx) => ctx.seed("s", nodeDoc({ expires: inSeconds(30), fields: { a: 1 } }), { ex: 30 }),
        ops: "read",
        cookie: { seed: "s", secret: 1 },
      },
      { ops: "set", query: { key: "b", value: "2" }, cookie: { seed: "s", secret: 1 } },
      read(),
    ],
  },
  {
    name: "transport-switch",
    steps: [
      { ...set("a", 1), transport: "https" },
      { ...set("b", 2), transport: "http" },
      { ...read(), transport: "https" },
      { ...set("c", 3), transport: "http-xfp" },
    ],
  },
];

/** Another writer changes the stored session (same TTL). */
async function concurrentWrite(ctx) {
  const sid = ctx.jarSid();
  const stored = sid && (await ctx.redis.get(ctx.key(sid)));
  if (!stored) return; // no session to change (no cookie was set)
  const key = ctx.key(sid);
  const doc = JSON.parse(stored);
  doc.a = 5;
  doc.c = "concurrent";
  await ctx.redis.set(key, JSON.stringify(doc), { KEEPTTL: true });
}

/** The session in the cookie jar expires (its key is deleted). */
async function deleteJarKey(ctx) {
  const sid = ctx.jarSid();
  if (sid) await ctx.redis.del(ctx.key(sid));
}
