// The Express companion as a user installs it: the npm package
// edge-session-express (integrations/express), imported by its name as an
// ES module and required as CommonJS, its types checked by the TypeScript
// compiler, and its session index written through both Redis clients an
// Express app uses (node-redis and ioredis) to a real redis-server, with the
// commands and TTLs the worker's own login sends.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import path from "node:path";
import { Redis as IORedis } from "ioredis";
import * as esm from "edge-session-express";
import { startRedis, connectRedis, ROOT } from "../support/index.mjs";

const require = createRequire(import.meta.url);
const cjs = require("edge-session-express");
const PACKAGE = path.join(ROOT, "integrations/express");

let redis;
let nodeRedis;
let ioredis;

before(async () => {
  redis = await startRedis();
  nodeRedis = await connectRedis(redis.url);
  ioredis = new IORedis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await ioredis.connect();
});

after(async () => {
  await nodeRedis?.quit().catch(() => {});
  ioredis?.disconnect();
  await redis?.stop();
});

test("import and require give the same functions (one copy of the code)", () => {
  const names = ["DEFAULT_INDEX_TTL_SECONDS", "DEFAULT_MAX_SKEW_SECONDS", "SIGNATURE_CONTEXT", "indexKey", "passportUserText", "indexSession", "indexLogin", "verifyGatewayHeaders", "gatewaySession"];
  assert.deepEqual(Object.keys(esm).sort(), [...names].sort());
  for (const name of names) assert.equal(esm[name], cjs[name], name);
});

test("the package ships its code and types, and the types check against a use of each export", () => {
  const packed = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: PACKAGE, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
  assert.deepEqual(packed[0].files.map((f) => f.path).sort(), ["README.md", "index.cjs", "index.d.ts", "index.mjs", "package.json"]);
  // Inside the repository (target/ is ignored), so that the package
  // resolves through node_modules as in an app.
  mkdirSync(path.join(ROOT, "target"), { recursive: true });
  const dir = mkdtempSync(path.join(ROOT, "target", "edge-session-express-types-"));
  try {
    writeFileSync(
      path.join(dir, "use.ts"),
      `import { indexLogin, indexSession, gatewaySession, verifyGatewayHeaders, passportUserText, indexKey, type GatewayVerdict } from "edge-session-express";
declare const client: { multi(): unknown };
const index = indexLogin(client, { ttlSeconds: 3600, userPrefix: "user:", userField: "id" });
const done: Promise<void> = index({ sessionID: "s", session: { passport: { user: { id: 7 } } } });
const again: Promise<void> = indexSession(client, "alice", "s", 60);
const mw = gatewaySession({ secret: "x", maxSkewSeconds: 30, requireGateway: true });
const v: GatewayVerdict = verifyGatewayHeaders({ method: "GET", originalUrl: "/", headers: {} }, { secret: "x" });
if (v.ok) { const who: string | null = v.user; void who; } else { const why: "missing" | "malformed" | "expired" | "mismatch" = v.reason; void why; }
const text: string | null = passportUserText(42);
const key: string = indexKey("alice");
void done; void again; void mw; void text; void key;
`,
    );
    const tsc = path.join(ROOT, "node_modules/typescript/bin/tsc");
    const flags = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022"];
    try {
      execFileSync(process.execPath, [tsc, ...flags, path.join(dir, "use.ts")], { cwd: ROOT, encoding: "utf8" });
    } catch (e) {
      assert.fail(`tsc refused the types:\n${e.stdout}${e.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [label, client] of [["node-redis", () => nodeRedis], ["ioredis", () => ioredis]]) {
  test(`${label}: indexSession sends SADD, EXPIRE NX, EXPIRE GT and PERSIST in one MULTI`, async () => {
    const user = `pkg-${label}`;
    await nodeRedis.set(`user:${user}`, "{}", { EX: 600 });
    await esm.indexSession(client(), user, "sid-1", 120);
    assert.deepEqual(await nodeRedis.sMembers(`user-sessions:${user}`), ["sid-1"]);
    assert.equal(await nodeRedis.ttl(`user-sessions:${user}`), 120, "set when it had none");
    assert.equal(await nodeRedis.ttl(`user:${user}`), -1, "the account record made permanent by a login");
    await esm.indexSession(client(), user, "sid-2", 60);
    assert.equal(await nodeRedis.ttl(`user-sessions:${user}`), 120, "never lowered");
    await esm.indexSession(client(), user, "sid-2", 300);
    assert.equal(await nodeRedis.ttl(`user-sessions:${user}`), 300, "raised");
    assert.deepEqual((await nodeRedis.sMembers(`user-sessions:${user}`)).sort(), ["sid-1", "sid-2"]);
  });

  test(`${label}: indexLogin reads passport.user as the worker does (userField for objects) and reports Redis errors`, async () => {
    const index = esm.indexLogin(client(), { ttlSeconds: 60, userField: "id" });
    await index({ sessionID: "s-num", session: { passport: { user: 42 } } });
    await index({ sessionID: "s-obj", session: { passport: { user: { id: 7, name: "Dan" } } } });
    assert.deepEqual(await nodeRedis.sMembers("user-sessions:42"), ["s-num"]);
    assert.deepEqual(await nodeRedis.sMembers("user-sessions:7"), ["s-obj"]);
    // A wrong type at the key: the MULTI fails and the error reaches next().
    await nodeRedis.set(`user-sessions:${label}-wrongtype`, "not a set");
    const err = await new Promise((resolve) => index({ sessionID: "s", session: { passport: { user: `${label}-wrongtype` } } }, {}, resolve));
    assert.ok(err instanceof Error && /WRONGTYPE/.test(err.message), String(err));
  });
}

test("passportUserText: the worker's reading of passport.user", () => {
  for (const [user, field, want] of [
    ["alice", undefined, "alice"],
    [42, undefined, "42"],
    [4.5e21, undefined, "4.5e+21"],
    [{ id: 7 }, "id", "7"],
    [{ id: 7 }, undefined, null],
    [{ id: { deep: 1 } }, "id", null],
    ["", undefined, null],
    [true, undefined, null],
    [null, undefined, null],
    [Number.NaN, undefined, null],
  ]) {
    assert.equal(esm.passportUserText(user, field), want, JSON.stringify([user, field]));
  }
});

test("gatewaySession drops unverified X-Session-* headers and can refuse requests that skipped the gateway", () => {
  const run = (mw, headers) => {
    const req = { method: "GET", originalUrl: "/x", headers: { ...headers } };
    const res = { statusCode: 200, headers: {}, setHeader(k, v) { this.headers[k] = v; }, end(body) { this.body = body; } };
    let nexted = false;
    mw(req, res, () => (nexted = true));
    return { req, res, nexted };
  };
  const open = run(esm.gatewaySession({ secret: "s" }), { "x-session-user": "admin", "x-session-anything": "1", accept: "*/*" });
  assert.equal(open.nexted, true);
  assert.equal(open.req.gateway, null);
  assert.deepEqual(Object.keys(open.req.headers), ["accept"]);
  const closed = run(esm.gatewaySession({ secret: "s", requireGateway: true }), { "x-session-user": "admin" });
  assert.equal(closed.nexted, false);
  assert.equal(closed.res.statusCode, 403);
  assert.match(JSON.parse(closed.res.body).error, /through the edge-session gateway only \(missing signature\)/);
  assert.throws(() => esm.gatewaySession({}), TypeError);
});
