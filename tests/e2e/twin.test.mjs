// The benchmark's JavaScript twin (bench/twin/worker.mjs) does what our
// worker does for the four requests bench/twin.mjs compares: the same
// answer (status, JSON members in order, Set-Cookie names) and the same
// store calls (the commands of each HTTP call, counted by upstash-local
// `--stats`, the touch after the answer included). A count, so a test; the
// CPU is the benchmark's.
//
//   node --test tests/e2e/twin.test.mjs
//
// Prerequisites: build/index.js (scripts/build.sh), target/release/upstash-local.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { COOKIE_NAME, CookieJar, allSetCookieLines, cookiePair, request, resetStoreStats, sleep, startStack, storeStats } from "../support/index.mjs";
import { startTwin } from "../../bench/twin/start.mjs";

const PASSWORD = "correct horse battery staple";
/** How long the counts must stay unchanged to be taken as complete (a touch goes after the answer). */
const SETTLE_MS = 300;

let stack;
let twin;

before(async () => {
  stack = await startStack({ upstashArgs: ["--stats"] });
  twin = await startTwin({ upstashUrl: stack.upstash.url });
});

after(async () => {
  await twin?.stop();
  await stack?.stop();
});

const shape = (res) => ({
  status: res.status,
  members: Object.keys(res.body ?? {}),
  cookies: allSetCookieLines(res).map((line) => line.split("=")[0]),
});

/** One request's answer shape and every store call it caused. */
async function measured(send) {
  await sleep(SETTLE_MS);
  await resetStoreStats(stack.upstash);
  const res = await send();
  // Until the counts stop changing (at most 5 s): the touch after the
  // answer may come late on a busy machine.
  let calls = (await storeStats(stack.upstash)).calls;
  for (let waited = 0; waited < 5000; waited += SETTLE_MS) {
    await sleep(SETTLE_MS);
    const now = (await storeStats(stack.upstash)).calls;
    if (now.length === calls.length) break;
    calls = now;
  }
  return { shape: shape(res), calls, res };
}

/** The four requests on `worker`, as user `name` (registered by our worker): each one's shape and calls. */
async function sequence(worker, name) {
  const reg = await request(stack.worker, "/api/register", { method: "POST", json: { username: name, password: PASSWORD } });
  assert.equal(reg.status, 201, reg.text);
  // Each script once, unmeasured: a cold cache adds an EVAL.
  const warm = await request(worker, "/api/login", { method: "POST", json: { username: name, password: PASSWORD } });
  assert.equal(warm.status, 200, warm.text);
  const first = await measured(() => request(worker, "/api/session"));
  const cookie = cookiePair(allSetCookieLines(first.res).find((l) => l.startsWith(`${COOKIE_NAME}=`)));
  const read = await measured(() => request(worker, "/api/session", { cookie }));
  const pour = await measured(() => request(worker, "/api/pour", { method: "POST", cookie, body: "" }));
  const jar = new CookieJar();
  jar.take(warm);
  const login = await measured(() => request(worker, "/api/login", { method: "POST", json: { username: name, password: PASSWORD }, cookie: jar.pair }));
  assert.equal(read.res.body.sessionID, first.res.body.sessionID);
  assert.equal(pour.res.body.beersViewed, 1);
  assert.equal(login.res.body.user, name);
  return { first, read, pour, login };
}

test("the twin answers the benchmark's four requests as our worker does, with the same store calls", async (t) => {
  const ours = await sequence(stack.worker, "twintestours");
  const theirs = await sequence(twin, "twintesttwin");
  for (const row of ["first", "read", "pour", "login"]) {
    const text = (calls) => calls.map((c) => c.join("+")).join(" | ");
    t.diagnostic(`${row}: ours ${text(ours[row].calls)}; twin ${text(theirs[row].calls)}`);
    assert.deepEqual(theirs[row].shape, ours[row].shape, `${row}: the answer`);
    assert.deepEqual(theirs[row].calls, ours[row].calls, `${row}: the store calls`);
  }
});
