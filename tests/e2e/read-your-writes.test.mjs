// Read-your-writes across requests (issue 10, point 5). An Upstash Global
// database serves reads from the nearest replica; a request that follows a
// write may land on one that has not caught up. Here upstash-local serves
// reads from a second redis-server replicating the first (`--replica`), and
// replication is held back (`holdReplication`), so every read without a
// sync token is stale. The worker hands the browser its last write's
// `upstash-sync-token` in the `<name>.sync` cookie; a request that brings it
// back has its reads honoured as Upstash honours a token (the replica waits
// for that write, or upstash-local answers from the primary).
//
// Each write goes to worker A and each read to worker B, as a browser's
// next request lands in another isolate (often another location): B never
// saw A's token, so only the cookie carries it.
//
// - With the cookie: 0 stale reads over ROUNDS pours, and a login is seen
//   by the next read.
// - Without it: the stale read is shown (the pour is missing), which is
//   what the cookie prevents.
//
//   node --test --test-concurrency=1 tests/e2e/read-your-writes.test.mjs
//
// Prerequisites: build/index.js (scripts/build.sh), target/release/upstash-local.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { COOKIE_NAME, allSetCookieLines, cookiePair, holdReplication, request, startStack, startWorker } from "../support/index.mjs";

const ROUNDS = 10;
const PASSWORD = "correct horse battery";
const SAME_ORIGIN = { "sec-fetch-site": "same-origin" };
const SYNC = `${COOKIE_NAME}.sync`;

let stack;
let writer;
let reader;

before(async () => {
  stack = await startStack({ replica: true, worker: false });
  writer = await startWorker({ upstashUrl: stack.upstash.url });
  reader = await startWorker({ upstashUrl: stack.upstash.url });
});

after(async () => {
  await holdReplication(stack?.upstash, false).catch(() => {});
  await reader?.stop();
  await writer?.stop();
  await stack?.stop();
});

/** A browser's cookie jar: every cookie it was sent, the companions included. */
class Browser {
  jar = new Map();

  take(res) {
    for (const line of allSetCookieLines(res)) {
      const pair = cookiePair(line);
      const name = pair.split("=")[0];
      if (pair.length > name.length + 1) this.jar.set(name, pair);
      else this.jar.delete(name);
    }
    return res;
  }

  /** The Cookie header, without the cookies named in `without`. */
  cookie(without = []) {
    return [...this.jar.entries()].filter(([name]) => !without.includes(name)).map(([, pair]) => pair).join("; ");
  }
}

const read = (browser, opts) => request(reader, "/api/session", { cookie: browser.cookie(opts?.without) });
const post = (target, path, browser, json) =>
  request(target, path, { method: "POST", cookie: browser.cookie(), json, headers: SAME_ORIGIN });

/** Lets the replica catch up with everything written so far, then holds it back again. */
async function replicateThenHold() {
  await holdReplication(stack.upstash, false); // answers once the replica has caught up
  await holdReplication(stack.upstash, true);
}

/** A browser with a session that the replica has. */
async function visitor() {
  const browser = new Browser();
  const res = browser.take(await request(writer, "/api/session"));
  assert.equal(res.status, 200, res.text);
  await replicateThenHold();
  return browser;
}

test(`with the sync cookie a browser reads its own pours: 0 stale reads in ${ROUNDS}, replication held back throughout`, async () => {
  const browser = await visitor();
  let stale = 0;
  for (let n = 1; n <= ROUNDS; n += 1) {
    const poured = browser.take(await post(writer, "/api/pour", browser));
    assert.equal(poured.status, 200, poured.text);
    assert.equal(poured.body.beersViewed, n);
    assert.ok(browser.jar.has(SYNC), "a pour hands the browser its sync token");
    const seen = browser.take(await read(browser));
    assert.equal(seen.status, 200, seen.text);
    if (seen.body.beersViewed !== n) stale += 1;
  }
  assert.equal(stale, 0, `stale reads with the sync cookie`);
});

test("without the sync cookie the same read is stale: the replica has not got the pour", async () => {
  const browser = await visitor();
  const poured = browser.take(await post(writer, "/api/pour", browser));
  assert.equal(poured.body.beersViewed, 1);
  const without = await read(browser, { without: [SYNC] });
  assert.equal(without.status, 200, without.text);
  assert.equal(without.body.beersViewed, undefined, "the read without the token is served by the held-back replica");
  const withToken = await read(browser);
  assert.equal(withToken.body.beersViewed, 1, "the same read with the token sees the pour");
});

test("a sync cookie the store refuses (made up, or from before a store restart) costs a call again without it, never an error, and is dropped; one that cannot be a token is ignored", async () => {
  const browser = await visitor();
  await holdReplication(stack.upstash, false);
  const name = `rft${Date.now() % 100000}`;
  const refused = `${SYNC}=99999:garbage`;
  const cases = [
    ["read", () => read(browser), 200, 'store;desc="2 round trips"'],
    ["register", () => post(writer, "/api/register", browser, { username: name, password: PASSWORD }), 201, null],
    ["login", () => post(writer, "/api/login", browser, { username: name, password: PASSWORD }), 200, null],
  ];
  for (const [what, send, status, timing] of cases) {
    browser.jar.set(SYNC, refused);
    const res = await send();
    assert.equal(res.status, status, `${what}: ${res.text}`);
    if (timing) assert.ok(res.headers.get("server-timing").includes(timing), `${what}: the refused call and the one without the token`);
    const sync = allSetCookieLines(res).find((l) => l.startsWith(`${SYNC}=`));
    assert.ok(sync && !sync.startsWith(refused), `${what}: the refused token is replaced or dropped: ${sync}`);
    browser.take(res);
  }
  for (const junk of ["%00", "%7F"]) {
    browser.jar.set(SYNC, `${SYNC}=${junk}`);
    const res = await read(browser);
    assert.equal(res.status, 200, `${junk}: ${res.text}`);
    assert.match(res.headers.get("server-timing"), /store;desc="1 round trip"/, `${junk} is no token: not sent`);
  }
  await holdReplication(stack.upstash, true);
});

test("a login is seen by the next read on another isolate, with replication held back", async () => {
  const browser = await visitor();
  const name = `ryw${Date.now() % 100000}`;
  assert.equal((await post(writer, "/api/register", browser, { username: name, password: PASSWORD })).status, 201);
  await replicateThenHold();
  const login = browser.take(await post(writer, "/api/login", browser, { username: name, password: PASSWORD }));
  assert.equal(login.status, 200, login.text);
  // Without the token first: the reader's isolate keeps the newest token it
  // has seen, so after a read with it, that isolate would wait as well.
  const without = await read(browser, { without: [SYNC] });
  assert.equal(without.status, 200, without.text);
  assert.equal(without.body.user, undefined, "without the token the replica does not have the login yet");
  const seen = await read(browser);
  assert.equal(seen.status, 200, seen.text);
  assert.equal(seen.body.user, name, "the session read right after the login is the logged-in one");
});
