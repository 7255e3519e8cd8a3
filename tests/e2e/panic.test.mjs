// A panic costs its request, not the isolate (issue 14; README, "When the
// worker panics"). The lab build's `/lab/panic` op panics on purpose. The deployed
// build has the same panic handling: worker-build's panic recovery (the
// default of worker-build 0.8) gives wasm-bindgen an abort handler and a
// function that resets the module's state, so the request that panicked
// answers 500 and the next request on the same isolate runs on a fresh
// instance. Checked here in workerd: the panicking request answers 500 and
// writes nothing (Redis compared before and after), the same workerd
// process then serves the same session normally, again and again. What
// the abort costs besides (README): a request the isolate is serving at
// that moment answers 500 too, and writes nothing.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { redisSnapshot, startStack, startWorker, childrenNamed, parseSetCookie, request } from "../support/index.mjs";

let stack;
let worker;
let workerd; // the PID of the workerd process serving the worker
let lines = []; // what the worker logged

before(async () => {
  const before = new Set(childrenNamed("workerd"));
  stack = await startStack({ worker: false });
  // A worker of its own, so that its log can be read.
  worker = await startWorker({
    upstashUrl: stack.upstash.url,
    build: "build-lab",
    miniflare: {
      handleRuntimeStdio(stdout, stderr) {
        for (const s of [stdout, stderr]) s.on("data", (b) => lines.push(...String(b).split("\n")));
      },
    },
  });
  [workerd] = childrenNamed("workerd").filter((p) => !before.has(p));
  assert.ok(workerd, "the workerd process of this worker");
});
after(async () => {
  await worker?.stop();
  await stack?.stop();
});

const snapshot = () => redisSnapshot(stack.redis.client);

test("a request that panics answers 500 and writes nothing; the next request on the same isolate is served normally", async () => {
  const first = await request(worker, `/lab/set?key=beer&value=${encodeURIComponent('"stout"')}`);
  assert.equal(first.status, 200, first.text);
  const { sid, pair } = parseSetCookie(first);

  for (let round = 1; round <= 3; round++) {
    const stored = await snapshot();
    lines = [];
    // The `set` runs before the panic, in memory only: the panic ends the
    // request before anything is saved.
    const panicked = await request(worker, `/lab/set,panic?key=beer&value=${encodeURIComponent('"lager"')}`, { cookie: pair });
    assert.equal(panicked.status, 500, `round ${round}: ${panicked.text}`);
    assert.deepEqual(panicked.cookies, [], "no cookie from a request that panicked");
    assert.deepEqual(await snapshot(), stored, `round ${round}: nothing written, nothing lost`);
    assert.ok(
      lines.some((l) => l.includes("/lab/panic: a deliberate panic")),
      `round ${round}: the panic's message is in the worker's log:\n${lines.join("\n")}`,
    );

    // The same process (no restart), and the next requests are served:
    // the session as stored, a read, a write, a new visitor.
    assert.ok(childrenNamed("workerd").includes(workerd), "the same workerd process serves on");
    const read = await request(worker, "/lab/read", { cookie: pair });
    assert.equal(read.status, 200, read.text);
    assert.equal(read.body.sessionID, sid, "the same session, read normally after the panic");
    const session = await request(worker, "/api/session", { cookie: pair });
    assert.equal(session.status, 200, session.text);
    assert.equal(session.body.sessionID, sid, "the demo's own routes serve the session too");
    const pour = await request(worker, "/api/pour", { method: "POST", cookie: pair, headers: { origin: worker.url } });
    assert.equal(pour.status, 200, pour.text);
    assert.equal(pour.body.beersViewed, round, "writes work after the panic");
    const fresh = await request(worker, "/api/session");
    assert.equal(fresh.status, 200, fresh.text);
    assert.notEqual(parseSetCookie(fresh).sid, sid, "a new visitor gets a new session");
  }
});

test("a request in flight on the isolate when another panics answers 500 and writes nothing; the next ones are served", async () => {
  const first = await request(worker, "/api/session");
  assert.equal(first.status, 200, first.text);
  const { sid, pair } = parseSetCookie(first);
  const stored = await snapshot();
  // Changed in memory, then waiting (a timer in the isolate) before its save.
  const slow = request(worker, `/lab/set,wait,save?key=beer&value=${encodeURIComponent('"porter"')}&wait_ms=1000`, { cookie: pair });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const panicked = await request(worker, "/lab/panic", { cookie: pair });
  assert.equal(panicked.status, 500, panicked.text);
  const inFlight = await slow;
  assert.equal(inFlight.status, 500, `the request in flight shares the reset: ${inFlight.text}`);
  assert.deepEqual(await snapshot(), stored, "neither wrote anything");
  const read = await request(worker, "/lab/read", { cookie: pair });
  assert.equal(read.status, 200, read.text);
  assert.equal(read.body.sessionID, sid);
});
