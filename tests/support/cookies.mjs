// Session cookies as express-session makes them: signed with the real
// cookie-signature, Set-Cookie lines taken apart, and a browser-like jar.

import assert from "node:assert/strict";
import signature from "cookie-signature";
import { SECRET, wranglerConfig } from "./config.mjs";

/** The demo's cookie name (wrangler.toml [vars] SESSION_COOKIE_NAME). */
export const COOKIE_NAME = wranglerConfig().vars.SESSION_COOKIE_NAME;

const reEscape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The demo's Set-Cookie line, capturing the value, the sid, the signature and the Expires date. */
export const SET_COOKIE = new RegExp(
  `^${reEscape(COOKIE_NAME)}=(s%3A([^.;]+)\\.([A-Za-z0-9%]+)); Path=\\/; Expires=([^;]+ GMT); HttpOnly$`,
);

/** `s:<sid>.<sig>`, signed like express-session. */
export function signed(sid, secret = SECRET) {
  return "s:" + signature.sign(sid, secret);
}

/** The cookie value a browser sends back for `sid`: `signed()` percent-encoded. */
export function cookieValue(sid, secret = SECRET) {
  return encodeURIComponent(signed(sid, secret));
}

/** A Cookie request header carrying `sid`, as a browser sends it back. */
export function cookieFor(sid, secret = SECRET, name = COOKIE_NAME) {
  return `${name}=${cookieValue(sid, secret)}`;
}

/** The `name=value` part of a Set-Cookie line, or null. */
export function cookiePair(setCookie) {
  return setCookie ? setCookie.split(";")[0] : null;
}

/** decodeURIComponent, or the text itself where it is not valid percent-encoding. */
export function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The session id inside a `name=s%3A<sid>.<sig>` pair (the signature is after the last dot). */
export function sidOf(pair) {
  const value = safeDecode(pair.slice(pair.indexOf("=") + 1));
  return value.slice(2, value.lastIndexOf("."));
}

/**
 * Whether a Set-Cookie line is one of the two cookies the worker sends
 * beside the session's own (`<name>.user`, `<name>.sync`: docs/PROTOCOL.md
 * §12, a deliberate difference from express-session with tests of its own
 * in tests/e2e/round-trips.test.mjs and tests/e2e/read-your-writes.test.mjs).
 */
export const isCompanion = (line) => /^[^=;]*\.(user|sync)=/.test(line);

/** Every Set-Cookie line of a fetch Response, of an api.mjs answer, or of a list of lines, the companions included. */
export function allSetCookieLines(res) {
  return Array.isArray(res) ? res : res.headers.getSetCookie();
}

/**
 * The session's Set-Cookie lines of a fetch Response, of an api.mjs answer,
 * or of a list of lines: what express-session would send, so the companion
 * cookies ({@link isCompanion}) are left out.
 */
export function setCookieLines(res) {
  return allSetCookieLines(res).filter((line) => !isCompanion(line));
}

/**
 * The one Set-Cookie line of a response (asserting there is exactly one),
 * split into its parts; the signature is checked by the real
 * cookie-signature `unsign` with `secret` (the tests' own by default).
 */
export function parseSetCookie(res, secret = SECRET) {
  const lines = setCookieLines(res);
  assert.equal(lines.length, 1, `expected one Set-Cookie, got ${JSON.stringify(lines)}`);
  const line = lines[0];
  const m = line.match(SET_COOKIE);
  assert.ok(m, `Set-Cookie has not the demo's shape: ${line}`);
  const value = decodeURIComponent(m[1]);
  assert.equal(signature.unsign(value.slice(2), secret), m[2], `signature does not verify: ${line}`);
  return { line, pair: cookiePair(line), sid: m[2], expires: m[4] };
}

/** Asserts a response sets no cookie. */
export function assertNoSetCookie(res) {
  assert.deepEqual(setCookieLines(res), [], "unexpected Set-Cookie");
}

/**
 * A browser's jar for one cookie name: `pair` is the `name=value` it sends
 * back (null when it holds none). `take(res)` applies a response's
 * Set-Cookie lines of that name: the last one with a value wins; an empty
 * value (a clearing cookie) empties the jar, unless `keepCleared` (then the
 * jar keeps sending the stale cookie, as express-session leaves it).
 */
export class CookieJar {
  constructor(name = COOKIE_NAME, { keepCleared = false } = {}) {
    this.name = name;
    this.keepCleared = keepCleared;
    this.pair = null;
  }

  /** Holds exactly `pair` (or nothing). */
  set(pair) {
    this.pair = pair ?? null;
  }

  take(res) {
    for (const line of setCookieLines(res)) {
      const pair = cookiePair(line);
      if (!pair.startsWith(`${this.name}=`)) continue;
      if (pair.length > this.name.length + 1) this.pair = pair;
      else if (!this.keepCleared) this.pair = null;
    }
    return this;
  }

  /** The session id the cookie carries, or null. */
  get sid() {
    return this.pair ? sidOf(this.pair) : null;
  }

  /** Request headers carrying the cookie (none when empty). */
  headers(extra = {}) {
    return this.pair ? { ...extra, cookie: this.pair } : { ...extra };
  }
}
