// One "option set" → the options of BOTH implementations: express-session +
// connect-redis (+ Express's `trust proxy`) for the reference app, and the
// worker's wrangler vars (crates/edge-session/src/config.rs). The golden-vector recorder, the
// golden test and the interop test all build their two sides from here, so
// this file is also the migration table: copy your session({...}) options,
// read off the vars.
//
// | express-session / connect-redis / Express | wrangler var | note |
// |---|---|---|
// | name | SESSION_COOKIE_NAME | worker default `_redisDemo` (express-session: `connect.sid`) |
// | secret (string or array) | SESSION_SECRET | comma-separated, the first signs; a secret cannot contain `,` |
// | resave | SESSION_RESAVE | |
// | saveUninitialized | SESSION_SAVE_UNINITIALIZED | |
// | rolling | SESSION_ROLLING | |
// | unset ("keep" / "destroy") | SESSION_UNSET | |
// | cookie.maxAge (ms; none) | SESSION_MAX_AGE_MS | `none` = no maxAge: browser-session cookie, originalMaxAge null, TTL from `ttl` (worker default 60000, express-session default none) |
// | cookie.path | SESSION_COOKIE_PATH | |
// | cookie.domain | SESSION_COOKIE_DOMAIN | |
// | cookie.httpOnly | SESSION_COOKIE_HTTP_ONLY | |
// | cookie.secure (true/false/"auto") | SESSION_COOKIE_SECURE | worker default `false` (the seed's explicit value); `unset` = express-session's default (no `secure` member in the document) |
// | cookie.sameSite (true/false/"lax"/"strict"/"none"/"auto") | SESSION_COOKIE_SAMESITE | `auto` as express-session 1.19 |
// | cookie.partitioned | SESSION_COOKIE_PARTITIONED | |
// | cookie.priority | SESSION_COOKIE_PRIORITY | |
// | connect-redis prefix | SESSION_PREFIX | |
// | connect-redis ttl (seconds) | SESSION_TTL_SECONDS | only used without maxAge |
// | connect-redis disableTouch | SESSION_DISABLE_TOUCH | |
// | connect-redis disableTTL | SESSION_DISABLE_TTL | |
// | proxy: true (or app.set("trust proxy", …) with proxy unset, except that Express compares X-Forwarded-Proto case-sensitively: `HTTPS` is secure only with proxy: true) | SESSION_PROXY=true | believe the first X-Forwarded-Proto, any case (express-session's proxy: true) |
// | proxy: false, or neither | SESSION_PROXY unset/false | |
//
// Transport (how "https" is reached; a test parameter, not an option):
// - "http": plain http on both sides.
// - "https": the visitor's connection is https. Express: a real TLS socket
//   (test-only certificate), so express-session's `issecure` sees
//   `req.connection.encrypted`; worker: an `https://` request URL, which is
//   what a Worker sees behind Cloudflare. Neither needs a proxy setting.
// - "http-xfp": plain http carrying `X-Forwarded-Proto: https` (a proxy in
//   front of the app, or a forged header): secure only where the option set
//   trusts the proxy (`proxy: true` / `trustProxy` ↔ SESSION_PROXY=true).
// - "http-xfp-upper": the same with `HTTPS`. SESSION_PROXY=true is
//   express-session's `proxy: true`, which lowercases the header; Express's
//   `trust proxy` compares it as sent, so there `HTTPS` is not secure (a
//   deliberate difference, tests/e2e/proxy-header.test.mjs).
//
// Migration note: an Express app behind Cloudflare usually needs
// `app.set("trust proxy", 1)` (or `proxy: true`) because TLS ends at
// Cloudflare and Express only sees X-Forwarded-Proto. The worker runs at
// Cloudflare and sees the visitor's scheme in its URL: leave SESSION_PROXY
// off unless another proxy forwards to the worker over plain http.

import { randomUUID } from "node:crypto";

/** The seed demo's configuration (what the worker's vars default to). */
export const BASE = Object.freeze({
  name: "_redisDemo",
  secret: ["keyboard cat"],
  resave: false,
  saveUninitialized: true,
  rolling: false,
  unset: "keep",
  // proxy: absent (express-session: unset → req.secure, i.e. Express's trust proxy)
  trustProxy: false,
  cookie: { maxAge: 60000, secure: false, httpOnly: true, path: "/" },
  prefix: "sess:",
  // ttl: absent (connect-redis: 86400)
  disableTouch: false,
  disableTTL: false,
  transport: "http",
});

const COOKIE_KEYS = ["maxAge", "path", "domain", "httpOnly", "secure", "sameSite", "partitioned", "priority"];

/**
 * An option set: BASE with `overrides` (cookie merged); `omitCookie` lists
 * cookie options to leave out entirely (express-session's own default).
 */
export function optionSet(id, overrides = {}, { omitCookie = [] } = {}) {
  const cookie = { ...BASE.cookie, ...(overrides.cookie ?? {}) };
  for (const k of omitCookie) delete cookie[k];
  return { id, ...BASE, ...overrides, cookie };
}

/** The matrix of option sets: each option of the issue on and off. */
export const OPTION_SETS = [
  optionSet("defaults"),
  optionSet("rolling", { rolling: true }),
  optionSet("resave", { resave: true }),
  optionSet("saveUninitialized-false", { saveUninitialized: false }),
  optionSet("resave+saveUninitialized-false+rolling", { resave: true, saveUninitialized: false, rolling: true }),
  optionSet("unset-destroy", { unset: "destroy" }),
  optionSet("maxAge-none", { cookie: { maxAge: null } }),
  optionSet("maxAge-none+rolling", { rolling: true, cookie: { maxAge: null } }),
  optionSet("maxAge-3600000", { cookie: { maxAge: 3600000 } }),
  optionSet("path", { cookie: { path: "/lab" } }),
  optionSet("domain", { cookie: { domain: "example.com" } }),
  optionSet("httpOnly-false", { cookie: { httpOnly: false } }),
  optionSet("sameSite-lax", { cookie: { sameSite: "lax" } }),
  optionSet("sameSite-strict", { cookie: { sameSite: "strict" } }),
  optionSet("sameSite-none+secure-https", { transport: "https", cookie: { sameSite: "none", secure: true } }),
  optionSet("sameSite-true", { cookie: { sameSite: true } }),
  optionSet("sameSite-false", { cookie: { sameSite: false } }),
  // express-session 1.19's "auto": None over https, Lax over http.
  optionSet("sameSite-auto-http", { cookie: { sameSite: "auto" } }),
  optionSet("sameSite-auto-https", { transport: "https", cookie: { sameSite: "auto", secure: "auto" } }),
  optionSet("partitioned", { cookie: { partitioned: true } }),
  optionSet("partitioned-false", { cookie: { partitioned: false } }),
  optionSet("priority-high", { cookie: { priority: "high" } }),
  optionSet("priority-low", { cookie: { priority: "low" } }),
  optionSet("secure-true-http", { cookie: { secure: true } }),
  optionSet("secure-true-https", { transport: "https", cookie: { secure: true } }),
  optionSet("secure-auto-http", { cookie: { secure: "auto" } }),
  optionSet("secure-auto-https", { transport: "https", cookie: { secure: "auto" } }),
  optionSet("secure-auto-xfp-untrusted", { transport: "http-xfp", cookie: { secure: "auto" } }),
  optionSet("secure-auto-xfp-proxy", { transport: "http-xfp", proxy: true, cookie: { secure: "auto" } }),
  optionSet("secure-auto-xfp-proxy-false", { transport: "http-xfp", proxy: false, cookie: { secure: "auto" } }),
  optionSet("secure-auto-xfp-trust-proxy", { transport: "http-xfp", trustProxy: true, cookie: { secure: "auto" } }),
  optionSet("secure-true-xfp-proxy", { transport: "http-xfp", proxy: true, cookie: { secure: true } }),
  // `X-Forwarded-Proto: HTTPS`: SESSION_PROXY=true is express-session's
  // `proxy: true`, which reads the header case-insensitively.
  optionSet("secure-auto-xfp-upper-proxy", { transport: "http-xfp-upper", proxy: true, cookie: { secure: "auto" } }),
  optionSet("secure-unset", {}, { omitCookie: ["secure"] }),
  optionSet("prefix", { prefix: "app:sess:" }),
  optionSet("ttl", { ttl: 120, cookie: { maxAge: null } }),
  optionSet("disableTouch", { disableTouch: true }),
  optionSet("disableTTL", { disableTTL: true }),
  optionSet("name", { name: "connect.sid" }),
  optionSet("secrets", { secret: ["new secret", "keyboard cat"] }),
  optionSet("all-cookie-attributes", {
    transport: "https",
    cookie: { path: "/lab", domain: "127.0.0.1", httpOnly: true, secure: true, sameSite: "strict", partitioned: true, priority: "medium" },
  }),
];

/**
 * The Express side of an option set: arguments for startExpress() of
 * tests/fixtures/express-app.mjs ({session, storeOptions, trustProxy}).
 */
export function expressConfig(set) {
  const cookie = {};
  for (const k of COOKIE_KEYS) if (k in set.cookie) cookie[k] = set.cookie[k];
  const session = {
    name: set.name,
    secret: [...set.secret],
    resave: set.resave,
    saveUninitialized: set.saveUninitialized,
    rolling: set.rolling,
    unset: set.unset,
    cookie,
    // The seed demo's ids (the worker's too): lowercase uuid v4.
    genid: () => randomUUID(),
  };
  if ("proxy" in set) session.proxy = set.proxy;
  const storeOptions = { prefix: set.prefix, disableTouch: set.disableTouch, disableTTL: set.disableTTL };
  if (set.ttl !== undefined) storeOptions.ttl = set.ttl;
  return { session, storeOptions, trustProxy: set.trustProxy ? true : undefined };
}

/** The worker side of an option set: its wrangler vars (all strings). */
export function workerVars(set) {
  const c = set.cookie;
  const vars = {
    SESSION_COOKIE_NAME: set.name,
    SESSION_SECRET: set.secret.join(","),
    SESSION_RESAVE: String(set.resave),
    SESSION_SAVE_UNINITIALIZED: String(set.saveUninitialized),
    SESSION_ROLLING: String(set.rolling),
    SESSION_UNSET: set.unset,
    SESSION_MAX_AGE_MS: c.maxAge === null || c.maxAge === undefined ? "none" : String(c.maxAge),
    SESSION_COOKIE_PATH: c.path,
    SESSION_COOKIE_HTTP_ONLY: String(c.httpOnly),
    SESSION_PREFIX: set.prefix,
    SESSION_DISABLE_TOUCH: String(set.disableTouch),
    SESSION_DISABLE_TTL: String(set.disableTTL),
    SESSION_PROXY: String(set.proxy === true || set.trustProxy === true),
  };
  // Left out (the worker's default) when express-session has none either.
  // The worker's default is the seed's explicit `false`; "unset" is
  // express-session's own default (no `secure` member in the document).
  vars.SESSION_COOKIE_SECURE = "secure" in c ? String(c.secure) : "unset";
  if (c.domain !== undefined) vars.SESSION_COOKIE_DOMAIN = c.domain;
  if (c.sameSite !== undefined) vars.SESSION_COOKIE_SAMESITE = String(c.sameSite);
  if (c.partitioned !== undefined) vars.SESSION_COOKIE_PARTITIONED = String(c.partitioned);
  if (c.priority !== undefined) vars.SESSION_COOKIE_PRIORITY = c.priority;
  if (set.ttl !== undefined) vars.SESSION_TTL_SECONDS = String(set.ttl);
  return vars;
}
