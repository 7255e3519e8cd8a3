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
import { createHash, createHmac } from "node:crypto";
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
  const names = ["AUTHENTICATED_AT", "MIN_GATEWAY_SECRET_BYTES", "DEFAULT_INDEX_TTL_SECONDS", "DEFAULT_MAX_SKEW_SECONDS", "SIGNATURE_CONTEXT", "indexKey", "passportUserText", "indexSession", "indexLogin", "loginTime", "verifyGatewayHeaders", "gatewaySession"];
  assert.deepEqual(Object.keys(esm).sort(), [...names].sort());
  for (const name of names) assert.equal(esm[name], cjs[name], name);
});

test("the package ships its code and types, and the types check against a use of each export", () => {
  const packed = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: PACKAGE, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
  assert.deepEqual(packed[0].files.map((f) => f.path).sort(), ["LICENSE", "README.md", "index.cjs", "index.d.ts", "index.mjs", "package.json"]);
  // Inside the repository (target/ is ignored), so that the package
  // resolves through node_modules as in an app.
  mkdirSync(path.join(ROOT, "target"), { recursive: true });
  const dir = mkdtempSync(path.join(ROOT, "target", "edge-session-express-types-"));
  try {
    // Each export used as the README uses it, in an Express 5 app with
    // express-session's and Passport's own types: the handlers after ours
    // must still get their types (no implicit any).
    writeFileSync(
      path.join(dir, "use.ts"),
      `import express, { type RequestHandler } from "express";
import session from "express-session";
import passport from "passport";
import { indexLogin, indexSession, gatewaySession, loginTime, verifyGatewayHeaders, passportUserText, indexKey, type GatewayVerdict } from "edge-session-express";
declare const client: { multi(): unknown };
const app = express();
app.use(gatewaySession({ secret: "a-32-byte-or-longer-random-secret", maxSkewSeconds: 30, requireGateway: true }));
app.use(gatewaySession({ secret: ["a-32-byte-or-longer-random-secret", "the-old-one-also-32-bytes-or-more"] }));
app.use(session({ secret: ["s"], resave: false, saveUninitialized: false }));
app.use(passport.session());
app.use(loginTime());
const index = indexLogin(client, { ttlSeconds: 3600, userPrefix: "user:", userField: "id" });
app.post("/login", express.json(), passport.authenticate("local"), index, (req, res) => res.json({ user: req.user, id: req.sessionID }));
app.use(index);
const asHandler: RequestHandler = indexLogin(client);
app.get("/account", (req, res) => res.json({ user: req.gateway?.user ?? null, id: req.gateway?.sessionId ?? null }));
const done: Promise<void> | undefined = index({ sessionID: "s", session: { passport: { user: { id: 7 } } } });
const again: Promise<void> = indexSession(client, "alice", "s", 60);
const v: GatewayVerdict = verifyGatewayHeaders({ method: "GET", originalUrl: "/", headers: {} }, { secret: "a-32-byte-or-longer-random-secret" });
if (v.ok) { const who: string | null = v.user; void who; } else { const why: "missing" | "malformed" | "expired" | "mismatch" = v.reason; void why; }
const text: string | null = passportUserText(42);
const key: string = indexKey("alice");
void done; void again; void text; void key; void asHandler;
`,
    );
    const tsc = path.join(ROOT, "node_modules/typescript/bin/tsc");
    const flags = ["--noEmit", "--strict", "--esModuleInterop", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--types", "node"];
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

const SECRET32 = "a-32-byte-or-longer-random-secret";

test("gatewaySession drops unverified X-Session-* headers and can refuse requests that skipped the gateway", () => {
  const run = (mw, headers) => {
    const req = { method: "GET", originalUrl: "/x", headers: { ...headers } };
    const res = { statusCode: 200, headers: {}, setHeader(k, v) { this.headers[k] = v; }, end(body) { this.body = body; } };
    let nexted = false;
    mw(req, res, () => (nexted = true));
    return { req, res, nexted };
  };
  const open = run(esm.gatewaySession({ secret: SECRET32 }), { "x-session-user": "admin", "x-session-anything": "1", accept: "*/*" });
  assert.equal(open.nexted, true);
  assert.equal(open.req.gateway, null);
  assert.deepEqual(Object.keys(open.req.headers), ["accept"]);
  const closed = run(esm.gatewaySession({ secret: SECRET32, requireGateway: true }), { "x-session-user": "admin" });
  assert.equal(closed.nexted, false);
  assert.equal(closed.res.statusCode, 403);
  assert.match(JSON.parse(closed.res.body).error, /through the edge-session gateway only \(missing signature\)/);
  // A list of secrets while GATEWAY_SECRET changes: either verifies.
  const t = Math.floor(Date.now() / 1000);
  const other = "the-next-gateway-secret-of-32-bytes";
  const mac = createHmac("sha256", other).update(["edge-session-gateway/1", t, "GET", "/x", "", "", ""].join("\n")).digest("base64url");
  const rotating = run(esm.gatewaySession({ secret: [other, SECRET32] }), { "x-session-signature": `t=${t},v1=${mac}` });
  assert.deepEqual(rotating.req.gateway, { sessionId: null, user: null });
  assert.equal(run(esm.gatewaySession({ secret: SECRET32 }), { "x-session-signature": `t=${t},v1=${mac}` }).req.gateway, null);
  assert.throws(() => esm.gatewaySession({ secret: [] }), TypeError);
  assert.throws(() => esm.gatewaySession({ secret: [SECRET32, "short"] }), TypeError);
  // A request object without headers is an unsigned request, not a crash.
  let nexted = false;
  const bare = { method: "GET", url: "/" };
  esm.gatewaySession({ secret: SECRET32 })(bare, {}, () => (nexted = true));
  assert.equal(nexted, true);
  assert.equal(bare.gateway, null);
});

test("bad options are refused at once (TypeError), never turned into a check that passes or fails everything", () => {
  for (const options of [{}, { secret: "short" }, { secret: " " + SECRET32 }, { secret: SECRET32 + "\n" }, { secret: 42 }, { secret: SECRET32, maxSkewSeconds: Number.NaN }, { secret: SECRET32, maxSkewSeconds: -1 }]) {
    assert.throws(() => esm.gatewaySession(options), TypeError, JSON.stringify(options));
  }
  const request = { method: "GET", originalUrl: "/", headers: {} };
  assert.throws(() => esm.verifyGatewayHeaders(request, { secret: SECRET32, now: Number.NaN }), TypeError);
  assert.throws(() => esm.verifyGatewayHeaders(request, { secret: SECRET32, maxSkewSeconds: Number("unset") }), TypeError);
});

test("verifyGatewayHeaders never throws on what a request holds", () => {
  const verify = (request) => esm.verifyGatewayHeaders(request, { secret: SECRET32 });
  for (const [request, reason] of [
    [null, "missing"],
    [undefined, "missing"],
    [{}, "missing"],
    [{ headers: null }, "missing"],
    [{ method: "GET", headers: { "x-session-signature": 42 } }, "missing"],
    [{ method: "GET", headers: { "x-session-signature": { t: 1 } } }, "missing"],
    [{ method: "GET", headers: { "x-session-signature": ["t=1", 2] } }, "missing"],
    [{ method: "GET", headers: { "x-session-signature": "t=1,v1=short" } }, "malformed"],
    [{ method: "GET", headers: { "x-session-signature": `t=${"9".repeat(30)},v1=${"A".repeat(43)}` } }, "malformed"],
    [{ method: "GET", headers: { "x-session-signature": `t=1,v1=${"A".repeat(43)}` } }, "expired"],
    [{ method: 7, url: {}, headers: { "x-session-signature": `t=${Math.floor(Date.now() / 1000)},v1=${"A".repeat(43)}`, "x-session-user": ["a", "b"] } }, "mismatch"],
  ]) {
    assert.deepEqual(verify(request), { ok: false, reason }, JSON.stringify(request));
  }
});

test("loginTime keeps authenticatedAt: set for a login without one, replaced at a login, removed without a login", () => {
  const run = (session, options) => {
    const req = { session };
    esm.loginTime(options)(req, {}, () => {});
    return req.session;
  };
  const before = Date.now();
  const stamped = run({ passport: { user: "alice" } });
  assert.ok(stamped.authenticatedAt >= before && stamped.authenticatedAt <= Date.now());
  assert.equal(run({ passport: { user: 0 }, authenticatedAt: 5 }).authenticatedAt, 5, "kept between logins");
  assert.ok(run({ passport: { user: 0 } }).authenticatedAt > 0, "0 is a login (Passport)");
  // Passport's keepSessionInfo: alice's old time survives a logout and the next login.
  assert.ok(run({ passport: { user: "bob" }, authenticatedAt: 5 }, { atLogin: true }).authenticatedAt >= before, "a login records its own time");
  for (const session of [{ authenticatedAt: 5 }, { passport: {}, authenticatedAt: 5 }, { passport: { user: false }, authenticatedAt: 5 }, { passport: { user: "" } }]) {
    assert.equal(run(session).authenticatedAt, undefined, JSON.stringify(session));
  }
  assert.equal(run(undefined), undefined);
});

test("the signature's cookie line ignores white space around the Cookie header, as the gateway hashes it", () => {
  const t = Math.floor(Date.now() / 1000);
  const digest = createHash("sha256").update("sid=abc").digest("base64url");
  const mac = createHmac("sha256", SECRET32).update(["edge-session-gateway/1", t, "GET", "/", digest, "", ""].join("\n")).digest("base64url");
  for (const cookie of ["sid=abc", "sid=abc   ", "\tsid=abc"]) {
    const v = esm.verifyGatewayHeaders({ method: "GET", url: "/", headers: { cookie, "x-session-signature": `t=${t},v1=${mac}` } }, { secret: SECRET32 });
    assert.equal(v.ok, true, JSON.stringify(cookie));
  }
});
