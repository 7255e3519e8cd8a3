// X-Forwarded-Proto in capitals, recorded from the real packages: which
// Express setting SESSION_PROXY=true is. express-session's `proxy: true`
// lowercases the header (HTTPS is secure), Express's `trust proxy`
// (req.protocol) compares it as sent (HTTPS is not). SESSION_PROXY=true is
// `proxy: true`; with `trust proxy` the two differ on `HTTPS`, a deliberate
// difference listed in the README.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, startWorker, setCookieLines } from "../support/index.mjs";
import { startExpress } from "../fixtures/express-app.mjs";

let stack;

before(async () => {
  stack = await startStack({ worker: false });
});
after(async () => {
  await stack?.stop();
});

const UPPER = { "X-Forwarded-Proto": "HTTPS" };

async function expressCookie(config) {
  const app = await startExpress({ redisUrl: stack.redis.url, ...config });
  try {
    const res = await fetch(`${app.url}/api/session`, { headers: UPPER });
    await res.text();
    return setCookieLines(res);
  } finally {
    await app.stop();
  }
}

test("Node (recorded): secure 'auto' with X-Forwarded-Proto: HTTPS is Secure under proxy: true, not under trust proxy", async () => {
  const proxy = await expressCookie({ options: { proxy: true, cookie: { secure: "auto" } } });
  assert.match(proxy[0], /; Secure$|; Secure;/, `proxy: true: ${proxy[0]}`);
  const trust = await expressCookie({ options: { cookie: { secure: "auto" } }, trustProxy: true });
  assert.equal(trust.length, 1);
  assert.doesNotMatch(trust[0], /; Secure/, `trust proxy: the request is not secure, so 'auto' is not Secure: ${trust[0]}`);
});

test("worker: SESSION_PROXY=true reads X-Forwarded-Proto: HTTPS as express-session's proxy: true does", async () => {
  const worker = await startWorker({
    upstashUrl: stack.upstash.url,
    vars: { SESSION_PROXY: "true", SESSION_COOKIE_SECURE: "auto" },
  });
  try {
    const res = await worker.fetch("/api/session", { headers: UPPER });
    assert.match(setCookieLines(res)[0], /; Secure$|; Secure;/);
  } finally {
    await worker.stop();
  }
});
