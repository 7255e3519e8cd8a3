// Requests outside the session cookie's Path (SESSION_COOKIE_PATH /
// express-session's cookie.path), recorded from the real express-session
// and replayed on the worker: express-session gives such a request no
// session at all (no store call, no Set-Cookie), since the browser would
// never send that cookie back on that path. The worker does the same and
// answers 404 saying why; the demo's routes are under /api, so its
// SESSION_COOKIE_PATH must be / or /api.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, startWorker, startMonitor, assertJsonError, setCookieLines } from "../support/index.mjs";
import { startExpress } from "../fixtures/express-app.mjs";

let stack;
let redis;

before(async () => {
  stack = await startStack({ worker: false });
  redis = stack.redis.client;
});
after(async () => {
  await stack?.stop();
});

/** What one request did to Redis: the commands MONITOR saw. */
async function commandsOf(send) {
  const mon = await startMonitor(redis, { others: true });
  const res = await send();
  return { res, commands: await mon.stop() };
}

test("Node (recorded): with cookie.path /app, GET /api/session makes no store call and sets no cookie", async () => {
  const express = await startExpress({ redisUrl: stack.redis.url, options: { cookie: { path: "/app" } } });
  try {
    const { res, commands } = await commandsOf(() => fetch(`${express.url}/api/session`));
    await res.text();
    assert.deepEqual(setCookieLines(res), [], "no Set-Cookie");
    assert.deepEqual(commands, [], "no store traffic");
    // Inside the path the session works as usual (the fixture has no /app
    // route, so Express answers 404, but the session was made and saved).
    const inside = await commandsOf(() => fetch(`${express.url}/app/anything`));
    await inside.res.text();
    assert.equal(setCookieLines(inside.res).length, 1);
    assert.ok(inside.commands.some(([c]) => c.toUpperCase() === "SET"), JSON.stringify(inside.commands));
  } finally {
    await express.stop();
  }
});

test("worker: with SESSION_COOKIE_PATH=/app, GET /api/session is 404 with the reason, no store call, no cookie", async () => {
  const worker = await startWorker({ upstashUrl: stack.upstash.url, vars: { SESSION_COOKIE_PATH: "/app" } });
  try {
    const before = await redis.keys("*");
    const { res, commands } = await commandsOf(() => worker.fetch("/api/session"));
    await assertJsonError(res, 404, /outside the session cookie's Path=\/app \(SESSION_COOKIE_PATH\); the demo's routes are under \/api/);
    assert.deepEqual(commands, [], "no store traffic");
    assert.deepEqual(await redis.keys("*"), before, "no key minted");
    const pour = await worker.fetch("/api/pour", { method: "POST" });
    await assertJsonError(pour, 404);
  } finally {
    await worker.stop();
  }
});

test("worker: with SESSION_COOKIE_PATH=/api the demo works as usual", async () => {
  const worker = await startWorker({ upstashUrl: stack.upstash.url, vars: { SESSION_COOKIE_PATH: "/api" } });
  try {
    const res = await worker.fetch("/api/session");
    assert.equal(res.status, 200);
    assert.match(setCookieLines(res)[0], /; Path=\/api; /);
  } finally {
    await worker.stop();
  }
});
