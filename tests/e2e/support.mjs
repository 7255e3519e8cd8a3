// Helpers shared by the end-to-end test files (not a test file itself).

import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import signature from "cookie-signature";
import { RESP_TYPES } from "redis";
import { SECRET } from "./harness.mjs";

export { sleep };

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** The demo's Set-Cookie line, capturing the value, the sid and the Expires date. */
export const SET_COOKIE = /^_redisDemo=(s%3A([^.;]+)\.([A-Za-z0-9%]+)); Path=\/; Expires=([^;]+ GMT); HttpOnly$/;

/** `s:<sid>.<sig>`, signed like express-session. */
export function signed(sid, secret = SECRET) {
  return "s:" + signature.sign(sid, secret);
}

/** A Cookie request header carrying `sid`, as a browser sends it back. */
export function cookieFor(sid, secret = SECRET) {
  return `_redisDemo=${encodeURIComponent(signed(sid, secret))}`;
}

/**
 * The one Set-Cookie line of a response (asserting there is exactly one),
 * split into its parts; the signature is checked with the real
 * cookie-signature `unsign`.
 */
export function parseSetCookie(res) {
  const lines = res.headers.getSetCookie();
  assert.equal(lines.length, 1, `expected one Set-Cookie, got ${JSON.stringify(lines)}`);
  const line = lines[0];
  const m = line.match(SET_COOKIE);
  assert.ok(m, `Set-Cookie has not the demo's shape: ${line}`);
  const value = decodeURIComponent(m[1]);
  assert.equal(signature.unsign(value.slice(2), SECRET), m[2], `signature does not verify: ${line}`);
  return { line, pair: line.split(";")[0], sid: m[2], expires: m[4] };
}

/** Asserts a response sets no cookie. */
export function assertNoSetCookie(res) {
  assert.deepEqual(res.headers.getSetCookie(), [], "unexpected Set-Cookie");
}

/** The IMF-fixdate of an ISO instant rounded down to the second. */
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

/** The raw bytes under `key` (null when absent): compared as Buffers so nothing is lost to decoding. */
export async function rawGet(client, key) {
  return client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).get(key);
}

/** The demo's fresh document, with the given `expires`. */
export function freshDoc(expires, originalMaxAge = 60000) {
  return `{"cookie":{"originalMaxAge":${originalMaxAge},"expires":"${expires}","secure":false,"httpOnly":true,"path":"/"}}`;
}

/** Asserts a TTL is the demo's 60 s (59 when a second boundary passed meanwhile). */
export function assertTtl60(ttl, what = "TTL") {
  assert.ok(ttl === 60 || ttl === 59, `${what} is ${ttl}, expected 60`);
}

/** A session document as express-session + JSON.stringify would write it, with foreign fields. */
export function foreignDocument({ withViews, originalMaxAge = 59999 }) {
  const expires = new Date(Date.now() + 30_000).toISOString();
  const sess = {
    cookie: { originalMaxAge, expires, secure: false, httpOnly: true, path: "/" },
    passport: { user: { id: 42, name: "Zoë 🍺 日本語", roles: ["admin", null], active: true, score: 0.30000000000000004 } },
    flash: {},
    cart: [{ sku: "A-1", qty: 2, price: 3.5 }, [], [[null]]],
    nothing: null,
    disabled: false,
    big: 1e21,
    tiny: 5e-7,
    huge: 12345678901234567890,
    text: 'quote " backslash \\ newline \n tab \t ctrl \u0001 del \u007f sep \u2028 lt </script> lone surrogate \ud800',
    "": "empty key",
    "ключ": "ünïcödé key",
  };
  if (withViews) sess.views = 7;
  sess.last = "tail";
  return { doc: JSON.stringify(sess), expires };
}

/**
 * Records every command Redis executes (MONITOR on a second connection).
 * `stop()` flushes with a marker command and returns the commands, each as
 * an array of strings, in order; those of `client` itself included.
 */
export async function startMonitor(client) {
  const mon = client.duplicate();
  mon.on("error", () => {});
  await mon.connect();
  const lines = [];
  await mon.monitor((line) => lines.push(String(line)));
  return {
    async stop() {
      const marker = `monitor-marker-${randomUUID()}`;
      await client.sendCommand(["ECHO", marker]);
      const deadline = Date.now() + 5000;
      let end;
      while ((end = lines.findIndex((l) => l.includes(marker))) < 0) {
        assert.ok(Date.now() < deadline, "MONITOR did not see the marker");
        await sleep(5);
      }
      mon.destroy();
      return lines.slice(0, end).map((l) => parseMonitorLine(l).args);
    },
  };
}

/** `1700000000.123 [0 127.0.0.1:1234] "SET" "k" "v"` → {addr, args (UTF-8 strings)}. */
export function parseMonitorLine(line) {
  const addr = line.match(/\[\d+ ([^\]]+)\]/)?.[1];
  const args = [];
  const rest = line.slice(line.indexOf("]") + 1);
  for (const m of rest.matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
    const bytes = [];
    const s = m[1];
    for (let i = 0; i < s.length; i++) {
      if (s[i] !== "\\") {
        bytes.push(s.charCodeAt(i));
        continue;
      }
      const e = s[++i];
      if (e === "x") {
        bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        bytes.push(({ n: 10, r: 13, t: 9, a: 7, b: 8 })[e] ?? e.charCodeAt(0));
      }
    }
    args.push(Buffer.from(bytes).toString("utf8"));
  }
  return { addr, args };
}

/** Monitored commands that name a `sess:` key, as `VERB key [rest…]`, with the SET payload dropped. */
export function sessionCommands(commands) {
  return commands
    .filter((c) => c.slice(1).some((a) => a.startsWith("sess:")))
    .map((c) => {
      const verb = c[0].toUpperCase();
      return verb === "SET" ? [verb, c[1], ...c.slice(3)] : [verb, ...c.slice(1)];
    });
}

/** A TCP server on 127.0.0.1 that accepts connections and never answers. */
export async function silentServer() {
  const sockets = new Set();
  let total = 0;
  const srv = createServer((s) => {
    total += 1;
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  });
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  return {
    url: `http://127.0.0.1:${srv.address().port}`,
    /** How many connections were accepted so far. */
    accepted: () => total,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}
