"use strict";
// edge-session-express: what an Express app on express-session +
// connect-redis adds to share its sessions with the edge-session worker.
//
// Written as CommonJS with a thin ES module wrapper (index.mjs), Node's
// advice for a dual package: one copy of the code and of its state, whether
// an app `require`s it or `import`s it. Types: index.d.ts.
//
// 1. The session index, for the worker's "log out everywhere"
//    (POST /api/logout-all). The worker keeps, per user, the set of session
//    ids logged in as that user (crates/edge-session/src/keys.rs
//    `user_sessions`, docs/PROTOCOL.md §8):
//
//      user-sessions:<user>   Redis set of session ids (the bare id, no
//                             `sess:` prefix), with a TTL of at least the
//                             longest a session lives, raised (never
//                             lowered) at each save or touch of a session it
//                             lists: a shorter one would let "log out
//                             everywhere" miss that session
//
//    `<user>` is the user as text: Passport's `passport.user` when it is a
//    string (the worker's own accounts store the canonical username), a
//    number as `String(n)`, or the member `userField` of an object
//    (the worker's SESSION_PASSPORT_USER_FIELD). POST /api/logout-all on the
//    worker deletes `<SESSION_PREFIX><id>` for every id in the set (the app
//    and the worker share connect-redis `prefix` = SESSION_PREFIX) and the
//    set itself, in one DEL. The Express side only adds ids; the worker
//    prunes the ones whose session is gone at each login.
//
//    Works with node-redis (v4 and later: `multi().sAdd()…`) and ioredis
//    (`multi().sadd()…`); the client is told apart by its methods.
//
// 2. The gateway's headers. In gateway mode (ORIGIN_URL) the worker
//    forwards requests to this app with `X-Session-Id`, `X-Session-User` and
//    `X-Session-Signature` (crates/edge-session/src/gateway.rs). They are
//    worth something only when signed with the shared GATEWAY_SECRET and
//    recent: anyone who can reach the app directly can send such headers.
//    `gatewaySession` checks them and drops them when they do not verify.

const { createHash, createHmac, timingSafeEqual } = require("node:crypto");

/**
 * The index TTL when none is given: connect-redis's default `ttl` (one day),
 * which is also the worker's when `cookie.maxAge` is shorter.
 */
const DEFAULT_INDEX_TTL_SECONDS = 86400;

/** How far the gateway's signature time may be from this clock, in seconds. */
const DEFAULT_MAX_SKEW_SECONDS = 60;

/** The first line of the signed text: the format and its version. */
const SIGNATURE_CONTEXT = "edge-session-gateway/1";

/** The Redis set of `user`'s session ids (crates/edge-session/src/keys.rs `user_sessions`). */
function indexKey(user) {
  return `user-sessions:${user}`;
}

/** The shortest GATEWAY_SECRET accepted, in bytes (the worker's in production). */
const MIN_GATEWAY_SECRET_BYTES = 32;

/** The session field a login's time is kept in (the worker's `authenticatedAt`). */
const AUTHENTICATED_AT = "authenticatedAt";

/**
 * Whether a stored `passport.user` is a login, as Passport 0.7 decides
 * (`if (su || su === 0)`): anything but `undefined`, `null`, `false`, `""`
 * and `NaN`.
 */
function isLogin(user) {
  return Boolean(user) || user === 0;
}

/**
 * The user of a Passport login as text, as the worker reads it
 * (`Session::passport_user_text`): a non-empty string as it is, a finite
 * number as `String(n)`, or, with `userField`, that member of an object
 * (a string or a number). `null` for anything else.
 */
function passportUserText(user, userField) {
  let named = user;
  if (userField && user !== null && typeof user === "object" && !Array.isArray(user)) named = user[userField];
  if (typeof named === "string" && named !== "") return named;
  if (typeof named === "number" && Number.isFinite(named)) return String(named);
  return null;
}

/** node-redis or ioredis: the MULTI of the four index commands. */
function indexCommands(redisClient, key, sessionID, ttlSeconds, record) {
  const multi = redisClient.multi();
  if (typeof multi.sAdd === "function") {
    // node-redis v4+: camel-cased commands.
    return multi.sAdd(key, sessionID).expire(key, ttlSeconds, "NX").expire(key, ttlSeconds, "GT").persist(record);
  }
  if (typeof multi.sadd === "function") {
    // ioredis: lower-case commands, options as arguments.
    return multi.sadd(key, sessionID).expire(key, ttlSeconds, "NX").expire(key, ttlSeconds, "GT").persist(record);
  }
  throw new TypeError("edge-session-express needs a node-redis (v4+) or ioredis client");
}

/**
 * Records that session `sessionID` is logged in as `user` (a string):
 * `SADD user-sessions:<user> <sessionID>`, then `EXPIRE … NX` and
 * `EXPIRE … GT` with `ttlSeconds` (set when the set has none, raised when it
 * is shorter, never lowered), and `PERSIST <userPrefix><user>` (a logged-in
 * account is no unverified one: the worker writes new records with a TTL,
 * AUTH_UNVERIFIED_ACCOUNT_TTL_SECONDS, that the first login removes), in
 * one MULTI, the commands the worker sends in its own login. `ttlSeconds`
 * is at least the longest TTL of your sessions: max(cookie.maxAge / 1000,
 * connect-redis `ttl`); `userPrefix` is the worker's AUTH_USER_PREFIX.
 * Rejects with a TypeError for a bad argument, with the client's error for
 * a failing Redis (nothing is half done: MULTI).
 */
async function indexSession(redisClient, user, sessionID, ttlSeconds = DEFAULT_INDEX_TTL_SECONDS, userPrefix = "user:") {
  if (typeof user !== "string" || user === "") {
    throw new TypeError("the session index needs the user as a non-empty string (see passportUserText)");
  }
  if (typeof sessionID !== "string" || sessionID === "") throw new TypeError("no session id to index");
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new TypeError("ttlSeconds is a whole number of seconds");
  let results;
  try {
    results = await indexCommands(redisClient, indexKey(user), sessionID, ttlSeconds, `${userPrefix}${user}`).exec();
  } catch (err) {
    // node-redis rejects a MULTI with one command's error reply inside a
    // MultiErrorReply ("1 commands failed"): the reply itself says why.
    const first = err && Array.isArray(err.errorIndexes) && err.replies ? err.replies[err.errorIndexes[0]] : null;
    throw first instanceof Error ? first : err;
  }
  // ioredis resolves a MULTI with [error, result] pairs instead of rejecting.
  const failed = Array.isArray(results) && results.find((r) => Array.isArray(r) && r[0] instanceof Error);
  if (failed) throw failed[0];
}

/**
 * Returns `index(req[, res, next])`, which indexes the request's session
 * under its logged-in user (`req.session.passport.user`, as Passport 0.6+
 * stores it, read with {@link passportUserText} and `userField`) and
 * `req.sessionID` (after `req.login`, the new, regenerated id). Use it in
 * `req.login`'s callback (`await index(req)`) or as middleware after a
 * login middleware (`passport.authenticate("local"), indexLogin(client)`);
 * mounted app-wide it also keeps the index alive on every request of a
 * logged-in session, as the worker does. A request without a user is left
 * alone. Called as middleware it passes a Redis error to `next`; called
 * alone it rejects with it.
 */
function indexLogin(redisClient, { ttlSeconds = DEFAULT_INDEX_TTL_SECONDS, userPrefix = "user:", userField } = {}) {
  return function index(req, _res, next) {
    const raw = req.session && req.session.passport ? req.session.passport.user : undefined;
    const user = isLogin(raw) ? passportUserText(raw, userField) : null;
    let done;
    if (!isLogin(raw)) done = Promise.resolve();
    else if (user === null) done = Promise.reject(new TypeError("passport.user has no text for the index: serialize a name or number, or pass userField"));
    else done = indexSession(redisClient, user, req.sessionID, ttlSeconds, userPrefix);
    if (typeof next !== "function") return done;
    done.then(() => next(), next);
  };
}

/**
 * Returns middleware that keeps `req.session.authenticatedAt` (`Date.now()`
 * of the login), the field the worker's SESSION_ABSOLUTE_TIMEOUT_SECONDS
 * ends a login by. Mount it app-wide after `passport.session()`: a login
 * without a time gets one, and a session without a login loses a time it
 * kept (Passport's `keepSessionInfo` carries fields across a logout, and a
 * stale time would end the next login early). In the login route, after
 * the login middleware, mount `loginTime({ atLogin: true })`: it records
 * this login's time even over an older one. The worker records its own
 * logins; without this, a login made by Express has no time and the
 * gateway, which never writes, cannot end it.
 */
function loginTime({ atLogin = false } = {}) {
  return function stamp(req, _res, next) {
    const s = req.session;
    if (s && typeof s === "object") {
      const loggedIn = Boolean(s.passport) && isLogin(s.passport.user);
      if (!loggedIn) delete s[AUTHENTICATED_AT];
      else if (atLogin || !Number.isFinite(s[AUTHENTICATED_AT])) s[AUTHENTICATED_AT] = Date.now();
    }
    next();
  };
}

/** A header's one value from Node's `req.headers`: a string, or `undefined` for anything else. */
function headerOf(headers, name) {
  const value = headers[name];
  if (Array.isArray(value)) return value.every((v) => typeof v === "string") ? value.join(", ") : undefined;
  return typeof value === "string" ? value : undefined;
}

/**
 * The text the gateway signs (crates/edge-session/src/gateway.rs
 * `signed_text`): the context, the time, the method, the path and query,
 * the SHA-256 of the Cookie header (base64url, empty without one), the
 * session id header and the user header as received, one a line.
 */
function signedText(t, method, pathAndQuery, cookie, sessionId, userHeader) {
  const cookieDigest = cookie === undefined ? "" : createHash("sha256").update(Buffer.from(cookie, "latin1")).digest("base64url");
  return [SIGNATURE_CONTEXT, String(t), method, pathAndQuery, cookieDigest, sessionId || "", userHeader || ""].join("\n");
}

/** Throws a TypeError unless `secret` is a usable GATEWAY_SECRET. */
function checkSecret(secret, what) {
  const bytes = typeof secret === "string" ? Buffer.byteLength(secret) : secret instanceof Uint8Array ? secret.length : -1;
  if (bytes < 0) throw new TypeError(`${what} needs the shared GATEWAY_SECRET (a string)`);
  if (bytes < MIN_GATEWAY_SECRET_BYTES) throw new TypeError(`GATEWAY_SECRET has ${bytes} bytes; it needs at least ${MIN_GATEWAY_SECRET_BYTES}, as the worker in production`);
  if (typeof secret === "string" && secret.trim() !== secret) throw new TypeError("GATEWAY_SECRET starts or ends with white space (a newline from a file?); the worker's would not");
}

/** Throws a TypeError unless `n` is a finite number of at least 0 (a NaN skew would turn the age check off). */
function checkNumber(n, what) {
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) throw new TypeError(`${what} must be a finite number of at least 0, not ${String(n)}`);
}

/**
 * Checks the gateway's headers of a request. `request` is Express's `req`
 * or any `{ method, originalUrl | url, headers }` with Node's lower-cased
 * header names. Returns `{ ok: true, sessionId, user }` (`sessionId` and
 * `user` are `null` when the gateway found no stored session or no login;
 * `user` is decoded) or `{ ok: false, reason }` with `reason` one of
 * `missing`, `malformed`, `expired`, `mismatch`. Never throws for what a
 * request holds; throws a TypeError for bad options (a secret under 32
 * bytes, a `maxSkewSeconds` or `now` that is not a finite number).
 */
function verifyGatewayHeaders(request, { secret, maxSkewSeconds = DEFAULT_MAX_SKEW_SECONDS, now = Date.now() } = {}) {
  checkSecret(secret, "verifyGatewayHeaders");
  checkNumber(maxSkewSeconds, "maxSkewSeconds");
  checkNumber(now, "now");
  const headers = request && typeof request.headers === "object" && request.headers !== null ? request.headers : {};
  const signature = headerOf(headers, "x-session-signature");
  if (signature === undefined || signature === "") return { ok: false, reason: "missing" };
  const match = /^t=(\d{1,15}),v1=([A-Za-z0-9_-]{43})$/.exec(signature.trim());
  if (!match) return { ok: false, reason: "malformed" };
  const t = Number(match[1]);
  if (Math.abs(Math.floor(now / 1000) - t) > maxSkewSeconds) return { ok: false, reason: "expired" };
  const sessionId = headerOf(headers, "x-session-id") || null;
  const userHeader = headerOf(headers, "x-session-user") || null;
  const target = typeof request.originalUrl === "string" ? request.originalUrl : typeof request.url === "string" ? request.url : "/";
  const method = typeof request.method === "string" ? request.method : "";
  // The Cookie header without surrounding white space, as the gateway hashed it.
  const cookie = headerOf(headers, "cookie");
  const text = signedText(t, method, target, cookie === undefined ? undefined : cookie.replace(/^[ \t]+|[ \t]+$/g, ""), sessionId, userHeader);
  const want = createHmac("sha256", secret).update(text).digest();
  const got = Buffer.from(match[2], "base64url");
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, reason: "mismatch" };
  let user = null;
  if (userHeader) {
    try {
      user = decodeURIComponent(userHeader);
    } catch {
      return { ok: false, reason: "malformed" };
    }
  }
  return { ok: true, sessionId, user };
}

/**
 * Express middleware for an app behind the gateway: sets `req.gateway` to
 * `{ sessionId, user }` when the request's X-Session-* headers verify
 * ({@link verifyGatewayHeaders}), and otherwise to `null`, deleting every
 * `x-session-*` header from `req.headers` so that no later code can read a
 * forged one. With `requireGateway: true` a request that did not come
 * through the gateway gets a 403 instead (for an origin that should only
 * ever be reached through the worker). `secret` may be a list while the
 * secret changes (any of them verifies). Throws a TypeError at once for a
 * bad secret or skew, rather than treating every request as unsigned.
 */
function gatewaySession({ secret, maxSkewSeconds = DEFAULT_MAX_SKEW_SECONDS, requireGateway = false } = {}) {
  const secrets = Array.isArray(secret) ? secret : [secret];
  if (secrets.length === 0) throw new TypeError("gatewaySession needs the shared GATEWAY_SECRET");
  for (const s of secrets) checkSecret(s, "gatewaySession");
  checkNumber(maxSkewSeconds, "maxSkewSeconds");
  return function gateway(req, res, next) {
    let verdict;
    for (const s of secrets) {
      verdict = verifyGatewayHeaders(req, { secret: s, maxSkewSeconds });
      if (verdict.ok || verdict.reason !== "mismatch") break;
    }
    if (verdict.ok) {
      req.gateway = { sessionId: verdict.sessionId, user: verdict.user };
      return next();
    }
    req.gateway = null;
    const headers = req.headers && typeof req.headers === "object" ? req.headers : {};
    for (const name of Object.keys(headers)) if (name.startsWith("x-session-")) delete headers[name];
    if (!requireGateway) return next();
    res.statusCode = 403;
    res.setHeader("Content-Type", "application/json; charset=utf-8");
    res.end(JSON.stringify({ error: `this server is reached through the edge-session gateway only (${verdict.reason} signature)` }));
  };
}

module.exports = {
  AUTHENTICATED_AT,
  MIN_GATEWAY_SECRET_BYTES,
  DEFAULT_INDEX_TTL_SECONDS,
  DEFAULT_MAX_SKEW_SECONDS,
  SIGNATURE_CONTEXT,
  indexKey,
  passportUserText,
  indexSession,
  indexLogin,
  loginTime,
  verifyGatewayHeaders,
  gatewaySession,
};
