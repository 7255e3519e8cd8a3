// "Where you're signed in" end to end (issue 13, point 4, and the first of
// point 8): the real built worker in workerd, redis-server behind
// upstash-local, and the real express-session + connect-redis + Passport of
// tests/fixtures/express-accounts.mjs on the same Redis.
//
// Two browsers (cookie jars, with their own User-Agent) log in as one user;
// the first lists both sessions by opaque handle, ends the second, which is
// anonymous at its next request; a forged handle and another user's are 404
// with Redis unchanged; logout-others keeps this browser and ends the rest;
// an Express login indexed by edge-session-express is listed (no device).
// Registering logs the browser in.
//
//   node --test tests/e2e/devices.test.mjs
//
// Prerequisites: build/index.js (scripts/build.sh), target/release/upstash-local.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { redisSnapshot, COOKIE_NAME, SECRET, TOKEN, allSetCookieLines, cookiePair, request, startStack } from "../support/index.mjs";
import { startExpressAccounts } from "../fixtures/express-accounts.mjs";

const PASSWORD = "correct horse battery";
const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const SAFARI =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
const EDGE =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86";
const HANDLE = /^[0-9a-f]{32}$/;

let stack;
let worker;
let redis;
let express;

before(async () => {
  stack = await startStack({ vars: { AUTH_PBKDF2_ITERATIONS: "1000", AUTH_MAX_REGISTRATIONS_PER_IP: "10000" } });
  ({ worker } = stack);
  redis = stack.redis.client;
  express = await startExpressAccounts({ redisUrl: stack.redis.url });
});
after(async () => {
  await express?.stop();
  await stack?.stop();
});
beforeEach(async () => {
  await redis.flushDb();
});

/** A browser: a cookie jar and a User-Agent; every answer's Set-Cookie lines update the jar. */
function browser(userAgent, base = worker) {
  const jar = new Map();
  const send = async (path, { method = "GET", json } = {}) => {
    const cookie = [...jar.values()].join("; ") || undefined;
    const headers = { "user-agent": userAgent, "sec-fetch-site": "same-origin" };
    const res = await request(base, path, { method, json, cookie, headers });
    for (const line of allSetCookieLines(res)) {
      const pair = cookiePair(line);
      const name = pair.split("=")[0];
      if (/Expires=Thu, 01 Jan 1970/.test(line) || pair.length === name.length + 1) jar.delete(name);
      else jar.set(name, pair);
    }
    return res;
  };
  return {
    jar,
    get: (path) => send(path),
    post: (path, json = {}) => send(path, { method: "POST", json }),
    register: (username) => send("/api/register", { method: "POST", json: { username, password: PASSWORD } }),
    login: (username, path = "/api/login") => send(path, { method: "POST", json: { username, password: PASSWORD } }),
  };
}

const snapshot = () => redisSnapshot(redis, { expiry: "ignore" });

/** The handle the worker gives session `sid`: HMAC-SHA256(secret, context + sid), 16 bytes, hex. */
const handleOf = (sid) => createHmac("sha256", SECRET).update(`edge-session-device-handle/1\n${sid}`).digest().subarray(0, 16).toString("hex");

test("registering logs this browser in: a new session with passport.user, indexed, the <name>.user cookie, the device recorded", async () => {
  const b = browser(EDGE);
  const anon = await b.post("/api/pour");
  const anonSid = anon.body.sessionID;
  const reg = await b.register("Newbie");
  assert.equal(reg.status, 201, reg.text);
  const sid = reg.body.sessionID;
  assert.notEqual(sid, anonSid, "a fresh id at registration, as at a login");
  assert.deepEqual(reg.body, { sessionID: sid, user: "newbie", lifetimeBeers: 0 });
  assert.equal(b.jar.get(`${COOKIE_NAME}.user`), `${COOKIE_NAME}.user=newbie`);
  assert.equal(await redis.exists(`sess:${anonSid}`), 0, "the anonymous key is gone");
  const doc = JSON.parse(await redis.get(`sess:${sid}`));
  assert.deepEqual(doc.passport, { user: "newbie" });
  assert.equal(doc.device.label, "Edge on Windows");
  assert.ok(Math.abs(doc.device.signedInAt - Date.now()) < 60_000, "signedInAt is a time in ms");
  assert.ok(!JSON.stringify(doc).includes("Mozilla"), "never the raw User-Agent");
  assert.deepEqual(await redis.sMembers("user-sessions:newbie"), [sid]);
  const seen = await b.get("/api/session");
  assert.equal(seen.body.user, "newbie", "logged in");
  assert.equal(seen.body.sessionID, sid);
  assert.equal(seen.body.lifetimeBeers, 0);
  // A taken name logs nobody in and leaves the browser's session alone.
  const other = browser(SAFARI);
  const before = (await other.post("/api/pour")).body.sessionID;
  const taken = await other.register("newbie");
  assert.equal(taken.status, 409, taken.text);
  assert.equal(allSetCookieLines(taken).length, 0);
  const still = await other.get("/api/session");
  assert.equal(still.body.sessionID, before);
  assert.equal(still.body.user, undefined);
  assert.deepEqual(await redis.sMembers("user-sessions:newbie"), [sid], "nothing indexed for the refused registration");
});

test("registering with the scripts not cached: the registration script, sent again as EVAL, still goes before the save it guards; with only the save script cached, the save that ran first is sent again", async () => {
  // Neither cached: both come back NOSCRIPT and are sent again as EVAL, the
  // registration first. Only the save cached: it ran before the registration
  // (found no record, wrote nothing), which is then sent as EVAL, and the
  // save once more. Two round trips more either way, once per script cache.
  const saveScript = readFileSync(new URL("../../crates/edge-session/src/store/scripts/save.lua", import.meta.url), "utf8");
  for (const [name, preload] of [["coldcache", false], ["halfcold", true]]) {
    await redis.scriptFlush();
    if (preload) {
      // Through upstash-local, which loads a script with Upstash's shebang flag as Upstash does.
      const loaded = await fetch(stack.upstash.url, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(["SCRIPT", "LOAD", saveScript]),
      });
      assert.equal(loaded.status, 200, await loaded.clone().text());
    }
    const b = browser(SAFARI);
    const reg = await b.register(name);
    assert.equal(reg.status, 201, reg.text);
    assert.match(reg.headers.get("server-timing"), /store;desc="4 round trips"/, name);
    const seen = await b.get("/api/session");
    assert.equal(seen.body.user, name);
    assert.equal(seen.body.sessionID, reg.body.sessionID);
    assert.deepEqual(await redis.sMembers(`user-sessions:${name}`), [reg.body.sessionID]);
    assert.equal(JSON.parse(await redis.get(`sess:${reg.body.sessionID}`)).device.label, "Safari on iOS");
  }
});

test("two browsers: the list, ending the other by its handle, forged and foreign handles 404 with Redis unchanged, logout-others", async () => {
  const one = browser(FIREFOX);
  const two = browser(SAFARI);
  assert.equal((await one.register("alice")).status, 201);
  assert.equal((await two.login("alice")).status, 200);
  const twoSid = (await two.get("/api/session")).body.sessionID;

  const res = await one.get("/api/sessions");
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get("cache-control"), "no-store");
  const { sessions } = res.body;
  assert.equal(sessions.length, 2, res.text);
  for (const s of sessions) {
    assert.deepEqual(Object.keys(s).sort(), ["current", "device", "handle", "lastActiveAt", "signedInAt"]);
    assert.match(s.handle, HANDLE);
    assert.equal(typeof s.signedInAt, "number");
    assert.equal(typeof s.lastActiveAt, "number");
  }
  assert.deepEqual(sessions.map((s) => s.current), [true, false], "this one first, exactly one current");
  assert.deepEqual(sessions.map((s) => s.device), ["Firefox on Linux", "Safari on iOS"]);
  assert.equal(sessions[1].handle, handleOf(twoSid), "HMAC of the id under the signing secret");
  assert.ok(!res.text.includes(twoSid), "no session id in the list");
  assert.ok(!res.text.includes(one.jar.get(COOKIE_NAME).split("=")[1]), "no cookie either");

  // Another user, and handles that are not alice's.
  const bob = browser(EDGE);
  assert.equal((await bob.register("bob")).status, 201);
  const bobHandle = (await bob.get("/api/sessions")).body.sessions[0].handle;
  const before = await snapshot();
  for (const handle of ["0123456789abcdef0123456789abcdef", bobHandle, twoSid, "x"]) {
    const r = await one.post(`/api/sessions/${handle}/logout`);
    assert.equal(r.status, 404, `${handle}: ${r.text}`);
    assert.match(r.body.error, /none of your signed-in sessions has that handle/);
  }
  assert.deepEqual(await snapshot(), before, "nothing written");
  assert.equal((await bob.get("/api/session")).body.user, "bob");
  // Anonymous: 401.
  const anonymous = await browser(SAFARI).get("/api/sessions");
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.body.error, /log in first/);
  // A cross-site POST is refused before anything else.
  const cross = await request(worker, `/api/sessions/${sessions[1].handle}/logout`, {
    method: "POST",
    cookie: [...one.jar.values()].join("; "),
    headers: { "sec-fetch-site": "cross-site" },
  });
  assert.equal(cross.status, 403);

  // One ends two.
  const ended = await one.post(`/api/sessions/${sessions[1].handle}/logout`);
  assert.equal(ended.status, 200, ended.text);
  assert.deepEqual(ended.body, { sessionsEnded: 1 });
  assert.equal(await redis.exists(`sess:${twoSid}`), 0);
  assert.deepEqual(await redis.sMembers("user-sessions:alice"), [(await one.get("/api/session")).body.sessionID]);
  const after = await two.get("/api/session");
  assert.equal(after.status, 200);
  assert.equal(after.body.user, undefined, "the ended session's next request is anonymous");
  assert.notEqual(after.body.sessionID, twoSid);
  assert.equal((await one.post(`/api/sessions/${sessions[1].handle}/logout`)).status, 404, "ended already");
  assert.equal((await one.get("/api/session")).body.user, "alice", "this browser is still logged in");

  // Logout-others: two more browsers, both ended; this one stays.
  const three = browser(EDGE);
  const four = browser(SAFARI);
  assert.equal((await three.login("alice")).status, 200);
  assert.equal((await four.login("alice")).status, 200);
  assert.equal((await one.get("/api/sessions")).body.sessions.length, 3);
  const others = await one.post("/api/logout-others");
  assert.equal(others.status, 200, others.text);
  assert.deepEqual(others.body, { sessionsEnded: 2 });
  assert.equal((await three.get("/api/session")).body.user, undefined);
  assert.equal((await four.get("/api/session")).body.user, undefined);
  assert.equal((await one.get("/api/session")).body.user, "alice");
  assert.equal((await one.get("/api/sessions")).body.sessions.length, 1);
  assert.deepEqual((await one.post("/api/logout-others")).body, { sessionsEnded: 0 });
  assert.equal((await bob.get("/api/session")).body.user, "bob", "another user's sessions are not touched");

  // Its own handle: a logout of this browser (a new anonymous session, the id unindexed).
  const own = (await one.get("/api/sessions")).body.sessions[0];
  assert.equal(own.current, true);
  const self = await one.post(`/api/sessions/${own.handle}/logout`);
  assert.equal(self.status, 200, self.text);
  assert.deepEqual(self.body, { sessionsEnded: 1 });
  assert.equal(one.jar.has(`${COOKIE_NAME}.user`), false, "the <name>.user cookie is cleared");
  assert.equal((await one.get("/api/session")).body.user, undefined);
  assert.equal(await redis.exists("user-sessions:alice"), 0, "the index is empty");
});

test("an Express login (express-session + connect-redis + Passport, indexed by edge-session-express) is listed, without a device, and can be ended from the worker", async () => {
  const edge = browser(FIREFOX);
  assert.equal((await edge.register("carol")).status, 201);
  const node = browser(SAFARI, express);
  const login = await node.login("carol", "/login");
  assert.equal(login.status, 200, login.text);
  const expressSid = login.body.sessionID;
  assert.ok((await redis.sMembers("user-sessions:carol")).includes(expressSid), "indexed by edge-session-express");

  const { sessions } = (await edge.get("/api/sessions")).body;
  assert.equal(sessions.length, 2, JSON.stringify(sessions));
  const listed = sessions.find((s) => !s.current);
  assert.equal(listed.handle, handleOf(expressSid));
  assert.equal(listed.device, null, "Express records no device");
  assert.equal(typeof listed.lastActiveAt, "number", "expires − originalMaxAge of the stored cookie");

  const ended = await edge.post(`/api/sessions/${listed.handle}/logout`);
  assert.deepEqual(ended.body, { sessionsEnded: 1 });
  const who = await node.get("/whoami");
  assert.equal(who.body.user, null, "Express sees the ended session as anonymous");
});
