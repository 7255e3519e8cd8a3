// The page's forms without a browser (issue 13): a POST whose Accept asks
// for a page is answered 303 to / with the outcome kept in the session as
// connect-flash keeps it (`flash: {type: [messages]}`), which the real
// connect-flash of an Express app on the same Redis reads; the JSON API is
// unchanged. Against the real built worker (workerd via Miniflare),
// upstash-local, redis-server and the real express-session + connect-redis
// + connect-flash app of tests/fixtures/express-app.mjs.
//
//   node --test --test-concurrency=1 tests/e2e/forms.test.mjs

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, request, parseSetCookie } from "../support/index.mjs";
import { startExpress } from "../fixtures/express-app.mjs";

const PASSWORD = "correct horse battery";
const HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

let stack;
let worker;
let express;

before(async () => {
  stack = await startStack({ vars: { AUTH_PBKDF2_ITERATIONS: "1000" } });
  worker = stack.worker;
  express = await startExpress({ redisUrl: stack.redis.url });
});

after(async () => {
  await express?.stop();
  await stack?.stop();
});

/** A browser form's POST: form-encoded, Accept asking for a page, from the site's own page. */
const form = (path, fields = {}, cookie) =>
  request(worker, path, { method: "POST", form: fields, cookie, headers: { accept: HTML, origin: worker.url } });

const stored = async (sid) => JSON.parse(await stack.redis.client.get(`sess:${sid}`));

test("a form's pour is a 303 to / with the session's cookie; the beer it poured waits in the session for the page", async () => {
  const res = await form("/api/pour", { shown: "" });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("location"), "/");
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(res.text, "", "no body");
  const { sid, pair } = parseSetCookie(res);
  const doc = await stored(sid);
  assert.equal(doc.views, 1);
  assert.equal(typeof doc.lastBeer.name, "string");
  assert.equal(doc.lastBeer.source, "generator", "BEER_API_URL is off");
  assert.equal(doc.flash, undefined, "a pour says nothing more than its beer");
  // The JSON API's document stays the seed's: no lastBeer.
  const json = await request(worker, "/api/pour", { method: "POST", cookie: pair, headers: { origin: worker.url } });
  assert.equal(json.status, 200);
  assert.equal(json.body.beersViewed, 2);
  assert.deepEqual(Object.keys(await stored(sid)).sort(), ["cookie", "lastBeer", "views"]);
});

test("a pour from a page whose session is gone says so, in a new session", async () => {
  const res = await form("/api/pour", { shown: "a-session-that-expired" });
  const { sid } = parseSetCookie(res);
  assert.deepEqual((await stored(sid)).flash, { info: ["Your session had ended, so this pour started a new one: a new session id, counting from 1."] });
});

test("account forms: register, a wrong password in the account panel's flash, login, logout, logout everywhere into a fresh session", async () => {
  const name = `former${process.pid % 1000}`;
  let res = await form("/api/register", { username: name, password: PASSWORD });
  assert.equal(res.status, 303);
  let { sid, pair } = parseSetCookie(res);
  assert.deepEqual((await stored(sid)).flash, { account: [`Account ${name} created. You are logged in.`] });
  assert.equal((await stored(sid)).passport.user, name, "registering logs in");

  res = await form("/api/login", { username: name, password: "wrong password here" }, pair);
  assert.equal(res.status, 303, "a refusal is a redirect too");
  ({ sid, pair } = parseSetCookie(res).sid ? parseSetCookie(res) : { sid, pair });
  const refused = (await stored(sid)).flash;
  assert.equal(refused.account.length, 1, "the earlier message is still unread");
  assert.match(refused["account-error"][0], /username or password/i);

  res = await form("/api/login", { username: name, password: PASSWORD }, pair);
  assert.equal(res.status, 303);
  ({ sid, pair } = parseSetCookie(res));
  const doc = await stored(sid);
  assert.equal(doc.passport.user, name);
  assert.deepEqual(doc.flash, { account: [`Welcome back, ${name}.`] }, "login regenerates: only its own message");

  res = await form("/api/logout-all", {}, pair);
  assert.equal(res.status, 303);
  const fresh = parseSetCookie(res);
  assert.notEqual(fresh.sid, sid, "a new anonymous session carries the message");
  assert.equal(await stack.redis.client.get(`sess:${sid}`), null, "the logged-in one is gone");
  const after = await stored(fresh.sid);
  assert.equal(after.passport, undefined);
  assert.deepEqual(after.flash, { account: ["Logged out everywhere: 1 session ended."] });
});

test("connect-flash in the Express app reads the worker's messages, and empties them as it does its own", async () => {
  const res = await form("/api/login", { username: "nobody-here", password: "wrong password here" });
  const { sid, pair } = parseSetCookie(res);
  assert.ok((await stored(sid)).flash["account-error"]);
  const page = await fetch(express.url + "/", { headers: { cookie: pair } });
  const html = await page.text();
  assert.match(html, /<li>account-error: [^<]*username or password/i, "req.flash() in Express returned it");
  assert.deepEqual((await stored(sid)).flash, {}, "connect-flash leaves {}");
  // And the other way: a message Express left is in the same place.
  const pour = await fetch(express.url + "/pour", { method: "POST", headers: { cookie: pair }, redirect: "manual" });
  assert.equal(pour.status, 303);
  assert.deepEqual((await stored(sid)).flash, { info: ["Poured in Express: beers viewed 1."] });
});

test("a cross-site form is refused without a word written; the JSON API answers JSON as before", async () => {
  const before = await stack.redis.client.keys("*");
  const res = await request(worker, "/api/pour", { method: "POST", form: {}, headers: { accept: HTML, origin: "https://elsewhere.example" } });
  assert.equal(res.status, 403);
  assert.deepEqual((await stack.redis.client.keys("*")).sort(), before.sort(), "nothing written");
  const wrong = await request(worker, "/api/login", { method: "POST", json: { username: "nobody-here", password: "x".repeat(12) }, headers: { origin: worker.url } });
  assert.equal(wrong.status, 401);
  assert.match(wrong.body.error, /username or password/i);
  assert.deepEqual(wrong.headers.getSetCookie(), [], "no session made for a JSON refusal");
});
