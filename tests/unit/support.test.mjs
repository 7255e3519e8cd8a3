// The pure parts of tests/support/: what wrangler.toml says, the MONITOR
// line parser, cookies and the jar, and the normalization rules.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  wranglerConfig,
  parseMonitorLine,
  sessionCommands,
  CookieJar,
  COOKIE_NAME,
  cookieFor,
  sidOf,
  signed,
  Labels,
  relabelKeys,
  sortKeys,
  undoClockQuirk,
  withExpires,
  docShape,
  setCookieShape,
  imfOf,
  freshDoc,
} from "../support/index.mjs";

test("wranglerConfig reads compatibility_date and the default [vars] from wrangler.toml", () => {
  const config = wranglerConfig();
  assert.match(config.compatibilityDate, /^\d{4}-\d{2}-\d{2}$/);
  assert.equal(config.main, "build/index.js");
  assert.equal(config.vars.SESSION_COOKIE_NAME, COOKIE_NAME);
  for (const v of Object.values(config.vars)) assert.equal(typeof v, "string", "wrangler vars are strings");
  assert.equal(wranglerConfig("wrangler.toml"), config, "read once");
});

test("parseMonitorLine decodes Redis's escapes as UTF-8 bytes", () => {
  const line = '1700000000.123456 [0 127.0.0.1:5678] "SET" "sess:a" "{\\"z\\":\\"Zo\\xc3\\xab \\\\ \\n\\"}" "EX" "60"';
  assert.deepEqual(parseMonitorLine(line), { addr: "127.0.0.1:5678", args: ["SET", "sess:a", '{"z":"Zoë \\ \n"}', "EX", "60"] });
  assert.deepEqual(
    sessionCommands([["set", "sess:a", "{}", "EX", "60"], ["get", "user:x"], ["DEL", "sess:a", "sess:b"]]),
    [["SET", "sess:a", "EX", "60"], ["DEL", "sess:a", "sess:b"]],
  );
});

test("cookies: signed like express-session; the jar keeps the last value, clearing cookies empty it unless keepCleared", () => {
  const sid = "00000000-0000-4000-8000-000000000000";
  assert.match(signed(sid), /^s:00000000-0000-4000-8000-000000000000\.[A-Za-z0-9+/]{43}$/);
  const pair = cookieFor(sid);
  assert.ok(pair.startsWith(`${COOKIE_NAME}=s%3A${sid}.`));
  assert.equal(sidOf(pair), sid);
  const set = (...lines) => lines.map((l) => `${l}; Path=/; HttpOnly`);
  const jar = new CookieJar();
  assert.deepEqual(jar.headers(), {});
  jar.take(set(pair, "other=1"));
  assert.equal(jar.pair, pair);
  assert.equal(jar.sid, sid);
  assert.deepEqual(jar.headers({ a: "b" }), { a: "b", cookie: pair });
  jar.take(set(`${COOKIE_NAME}=`));
  assert.equal(jar.pair, null);
  const sticky = new CookieJar(COOKIE_NAME, { keepCleared: true });
  sticky.set(pair);
  sticky.take(set(`${COOKIE_NAME}=`));
  assert.equal(sticky.pair, pair);
});

test("normalization: labels, key order, the clock quirk, document and Set-Cookie shapes", () => {
  const labels = new Labels((n) => `#${n}`);
  assert.deepEqual(
    relabelKeys([["GET", "sess:x"], ["SET", "sess:y", "EX", "60"], ["DEL", "sess:x"]], (sid) => labels.of(sid)),
    [["GET", "sess:#1"], ["SET", "sess:#2", "EX", "60"], ["DEL", "sess:#1"]],
  );
  assert.equal(JSON.stringify(sortKeys({ b: [{ d: 1, c: 2 }], a: null })), '{"a":null,"b":[{"c":2,"d":1}]}');
  assert.equal(undoClockQuirk(59999, [60000]), 60000);
  assert.equal(undoClockQuirk(59997, [60000]), 60000);
  assert.equal(undoClockQuirk(59990, [60000]), 60000, "10 ms: a pause between the reads, seen on a busy machine");
  assert.equal(undoClockQuirk(59899, [60000]), 59899, "more than NODE_CLOCK_QUIRK_MS short is no quirk");
  assert.equal(undoClockQuirk(60001, [60000]), 60001, "never over");
  const doc = freshDoc("2026-01-02T03:04:05.678Z", 59998) + "";
  assert.equal(withExpires(doc), freshDoc("<expires>", 59998));
  assert.equal(docShape(doc, { node: true }), freshDoc("<expires>"));
  assert.equal(docShape(doc, { node: false }), freshDoc("<expires>", 59998), "the worker gets no allowance");
  assert.equal(
    setCookieShape(`${cookieFor("abc")}; Path=/; Expires=${imfOf("2026-01-02T03:04:05.678Z")}; HttpOnly`),
    `${COOKIE_NAME}=s%3A<sid>.<sig>; Path=/; Expires=<date>; HttpOnly`,
  );
  assert.equal(imfOf("2026-01-02T03:04:05.678Z"), "Fri, 02 Jan 2026 03:04:05 GMT");
});
