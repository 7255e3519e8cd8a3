// Gateway mode (ORIGIN_URL, crates/edge-session/src/gateway.rs): the built
// worker in workerd in front of a real Express app (tests/fixtures/
// express-origin.mjs: express-session + connect-redis + Passport, and
// edge-session-express's gatewaySession) on the same redis-server. A session
// made at the edge is the origin's and the other way round; protected paths
// are refused at the edge; forged X-Session-* headers never reach the
// origin; bodies stream both ways; hop-by-hop headers stay on their hop.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { createHash, createHmac } from "node:crypto";
import {
  redisSnapshot,
  startStack,
  startWorker,
  request,
  parseSetCookie,
  setCookieLines,
  signed,
  assertJsonError,
  eventually,
  freePort,
  COOKIE_NAME,
  SECRET,
  ROOT,
  cookieFor,
  sleep,
} from "../support/index.mjs";
import { startOrigin } from "../fixtures/express-origin.mjs";
import { verifyGatewayHeaders } from "edge-session-express";
import { readFileSync } from "node:fs";
import { parse as parseToml } from "smol-toml";
import path from "node:path";

const GATEWAY_SECRET = "a shared gateway secret for the tests";
const PASSWORD = "correct horse battery";

let stack;
let origin;
let worker;
let logLines = [];

function gatewayVars(extra = {}) {
  return {
    ORIGIN_URL: origin.url,
    GATEWAY_SECRET,
    GATEWAY_REQUIRE_LOGIN: "/account/*,/admin/*",
    GATEWAY_LOGIN_URL: "/login",
    AUTH_PBKDF2_ITERATIONS: "1000",
    ...extra,
  };
}

before(async () => {
  stack = await startStack({ worker: false });
  origin = await startOrigin({ redisUrl: stack.redis.url, gatewaySecret: GATEWAY_SECRET });
  let log = "";
  const capture = (stream) => stream.on("data", (d) => (log += d));
  worker = await startWorker({
    upstashUrl: stack.upstash.url,
    vars: gatewayVars(),
    miniflare: { handleRuntimeStdio: (stdout, stderr) => (capture(stdout), capture(stderr)) },
  });
  logLines = () => log.split("\n").filter((l) => l.includes('"source":"edge-session"'));
});

after(async () => {
  await worker?.stop();
  await origin?.stop();
  await stack?.stop();
});

const snapshot = () => redisSnapshot(stack.redis.client, { expiry: "ignore" });

test("a session made at the edge is the origin's: the same id, its data, and X-Session-* signed for that request", async () => {
  const pour = await request(worker, "/api/pour", { method: "POST", headers: { origin: worker.url } });
  assert.equal(pour.status, 200);
  const { sid, pair } = parseSetCookie(pour);
  const seen = await request(worker, "/whoami", { cookie: pair });
  assert.equal(seen.status, 200);
  assert.equal(seen.body.sessionID, sid, "express-session read the cookie the worker set");
  assert.equal(seen.body.views, 1, "and the document the worker wrote");
  assert.deepEqual(seen.body.gateway, { sessionId: sid, user: null }, "gatewaySession verified the worker's headers");
  assert.equal(seen.body.headers.cookie, pair, "the Cookie header reaches the origin untouched");
  // A cookie of another app with UTF-8 bytes beside ours: Node reads the
  // header as latin1, the gateway hashed the bytes; both see the same bytes.
  const utf8 = Buffer.from("lang=é", "utf8").toString("latin1");
  const mixed = await request(worker, "/whoami", { cookie: `${utf8}; ${pair}` });
  assert.deepEqual(mixed.body.gateway, { sessionId: sid, user: null }, "verified with a non-ASCII cookie beside the session's");
  assert.match(seen.headers.get("server-timing"), /session;desc="hit", store;desc="1 round trip"/);
});

test("a session made by the origin is the edge's: its Set-Cookie passes back unchanged", async () => {
  const before = origin.setCookies.length;
  const made = await request(worker, "/origin/pour", { method: "POST" });
  assert.equal(made.status, 200);
  const sent = origin.setCookies.slice(before);
  assert.equal(sent.length, 1);
  assert.deepEqual(setCookieLines(made), sent, "byte for byte what express-session sent");
  const { sid, pair } = parseSetCookie(made);
  assert.equal(made.body.sessionID, sid);
  const edge = await request(worker, "/api/session", { cookie: pair });
  assert.equal(edge.body.sessionID, sid);
  assert.equal(edge.body.beersViewed, 1);
  // Several Set-Cookie lines of the origin's own stay separate lines.
  const cookies = await request(worker, "/cookies", { cookie: pair });
  assert.deepEqual(
    setCookieLines(cookies).filter((l) => !l.startsWith(`${COOKIE_NAME}=`)),
    ["theme=dark; Path=/; SameSite=Lax", "lang=en; Path=/; Max-Age=60; HttpOnly"],
  );
});

test("a login at the edge opens the origin's protected pages; without one they are refused at the edge", async () => {
  const reg = await request(worker, "/api/register", { method: "POST", json: { username: "gwalice", password: PASSWORD }, headers: { origin: worker.url } });
  assert.equal(reg.status, 201, reg.text);
  const login = await request(worker, "/api/login", { method: "POST", json: { username: "gwalice", password: PASSWORD }, headers: { origin: worker.url } });
  assert.equal(login.status, 200, login.text);
  const { sid, pair } = parseSetCookie(login);
  const page = await request(worker, "/account/profile", { cookie: pair });
  assert.equal(page.status, 200);
  assert.deepEqual(page.body, { page: "profile", gateway: { sessionId: sid, user: "gwalice" }, passportUser: "gwalice" });

  // Anonymous: 401 at the edge (the origin never sees it), or for a page
  // asked by a browser, a 303 to the login page.
  const before = await snapshot();
  for (const path of ["/account/profile", "/ACCOUNT/profile", "/account/", "/%61ccount/profile", "/admin/x", "//account/profile"]) {
    await assertJsonError(await request(worker, path), 401, "log in first");
  }
  const html = await request(worker, "/account/profile?tab=2", { headers: { accept: "text/html,*/*;q=0.8" } });
  assert.equal(html.status, 303);
  assert.equal(html.headers.get("location"), "/login?next=%2Faccount%2Fprofile%3Ftab%3D2");
  // A forged or stale cookie is anonymous too.
  const forged = `${COOKIE_NAME}=${encodeURIComponent(signed(sid, "another secret"))}`;
  await assertJsonError(await request(worker, "/account/profile", { cookie: forged }), 401, "log in first");
  assert.deepEqual(await snapshot(), before, "refusals write nothing");
  // Every refusal is one structured log line.
  await eventually(() => logLines().some((l) => JSON.parse(l).status === 401), "the 401 logged");
  const line = JSON.parse(logLines().find((l) => JSON.parse(l).status === 401));
  assert.deepEqual(Object.keys(line).sort(), ["level", "message", "method", "outcome", "path", "roundTrips", "source", "status", "storeMs"].sort());
  assert.equal(line.level, "warn");
});

test("a login at the origin (Passport, any serialized user) is seen at the edge, with SESSION_PASSPORT_USER_FIELD for objects", async () => {
  const byField = await startWorker({ upstashUrl: stack.upstash.url, vars: gatewayVars({ SESSION_PASSPORT_USER_FIELD: "id" }) });
  try {
    for (const [user, want] of [["carol", "carol"], [42, "42"], [{ id: 7, name: "Dan" }, "7"], [{ id: "zoë smith" }, "zoë smith"]]) {
      const login = await request(byField, "/origin/login", { method: "POST", json: { user } });
      assert.equal(login.status, 200, login.text);
      const { sid, pair } = parseSetCookie(login);
      const page = await request(byField, "/account/profile", { cookie: pair });
      assert.equal(page.status, 200, `${JSON.stringify(user)}: ${page.text}`);
      assert.deepEqual(page.body.gateway, { sessionId: sid, user: want });
      assert.deepEqual(page.body.passportUser, user);
    }
  } finally {
    await byField.stop();
  }
  // Without the option an object user still counts as logged in (the page
  // opens), but has no name to send.
  const login = await request(worker, "/origin/login", { method: "POST", json: { user: { id: 7 } } });
  const page = await request(worker, "/account/profile", { cookie: parseSetCookie(login).pair });
  assert.equal(page.status, 200);
  assert.equal(page.body.gateway.user, null);
});

test("X-Session-* headers from the client never reach the origin; sent to the origin directly they do not verify", async () => {
  const forged = { "x-session-user": "admin", "x-session-id": "forged", "x-session-signature": "t=1,v1=" + "A".repeat(43), "x-session-role": "root" };
  const through = await request(worker, "/whoami", { headers: forged });
  assert.deepEqual(through.body.gateway, { sessionId: null, user: null }, "the gateway's own, signed: anonymous");
  assert.equal(through.body.headers.xSessionUser, null);
  const protectedPage = await request(worker, "/admin/x", { headers: forged });
  assert.equal(protectedPage.status, 401, "a forged user opens nothing");

  // Straight to the origin: forged headers are dropped by gatewaySession.
  const direct = await request(origin, "/whoami", { headers: forged });
  assert.equal(direct.body.gateway, null);
  assert.equal(direct.body.headers.xSessionUser, null);
  // A real signature replayed on another path or with another user fails.
  const login = await request(worker, "/origin/login", { method: "POST", json: { user: "erin" } });
  const cookie = parseSetCookie(login).pair;
  const seen = await request(worker, "/whoami", { cookie });
  assert.equal(seen.body.gateway.user, "erin");
  // What the origin got, signed as the worker signs (gateway.rs signed_text).
  const now = Date.now();
  const t = Math.floor(now / 1000);
  const sessionId = seen.body.gateway.sessionId;
  const cookieDigest = createHash("sha256").update(cookie).digest("base64url");
  const text = ["edge-session-gateway/1", t, "GET", "/whoami", cookieDigest, sessionId, "erin"].join("\n");
  const mac = createHmac("sha256", GATEWAY_SECRET).update(text).digest("base64url");
  const captured = { method: "GET", originalUrl: "/whoami", headers: { cookie, "x-session-id": sessionId, "x-session-user": "erin", "x-session-signature": `t=${t},v1=${mac}` } };
  assert.deepEqual(verifyGatewayHeaders(captured, { secret: GATEWAY_SECRET, now }), { ok: true, sessionId, user: "erin" });
  assert.deepEqual(verifyGatewayHeaders({ ...captured, originalUrl: "/admin" }, { secret: GATEWAY_SECRET, now }), { ok: false, reason: "mismatch" });
  assert.deepEqual(verifyGatewayHeaders({ ...captured, headers: { ...captured.headers, "x-session-user": "admin" } }, { secret: GATEWAY_SECRET, now }), { ok: false, reason: "mismatch" });
  assert.deepEqual(verifyGatewayHeaders(captured, { secret: GATEWAY_SECRET, now: now + 61_000 }), { ok: false, reason: "expired" });
  assert.deepEqual(verifyGatewayHeaders(captured, { secret: "another secret of at least 32 bytes!", now }), { ok: false, reason: "mismatch" });
  // The real headers the worker sent, copied onto a request without the
  // visitor's cookie, straight to the origin: refused (the cookie is signed).
  const replayed = await request(origin, "/whoami", { headers: seen.body.headers.gatewayHeaders });
  assert.equal(replayed.body.gateway, null, "replayed without the cookie");
  const withIt = await request(origin, "/whoami", { headers: seen.body.headers.gatewayHeaders, cookie });
  assert.deepEqual(withIt.body.gateway, { sessionId, user: "erin" }, "the same headers with the visitor's own cookie, within the minute");
});

/** A request with node:http, which can send hop-by-hop headers (fetch refuses them). */
function rawGet(url, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "GET", headers, agent: false }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: JSON.parse(text) }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("hop-by-hop headers stay on their hop (RFC 9110 §7.6.1); X-Forwarded-* tell the origin the visitor's scheme and host", async () => {
  const res = await rawGet(`${worker.url}/whoami`, {
    Connection: "keep-alive, X-Secret-Hop",
    "X-Secret-Hop": "private to this hop",
    "Keep-Alive": "timeout=5",
    "X-Forwarded-For": "198.51.100.7",
    "CF-Connecting-IP": "203.0.113.9",
  });
  assert.equal(res.status, 200);
  assert.equal(res.body.headers.xSecretHop, null, "named by Connection: not forwarded");
  assert.equal(res.body.headers.keepAlive, null);
  assert.equal(res.body.headers.xForwardedFor, "198.51.100.7, 203.0.113.9");
  assert.equal(res.body.headers.xForwardedProto, "http");
  assert.equal(res.body.headers.xForwardedHost, new URL(worker.url).host);
});

test("the origin's redirects reach the browser instead of being followed", async () => {
  const res = await request(worker, "/redirect");
  assert.equal(res.status, 302);
  assert.equal(res.headers.get("location"), "/elsewhere");
});

test("bodies stream both ways: the origin reads an upload before it ends, the visitor reads a download before it ends", async () => {
  // Upload: the first chunk must reach the origin while the rest is held
  // back; a gateway that buffered would deliver nothing until the end.
  let push;
  const body = new ReadableStream({
    start(controller) {
      controller.enqueue(new Uint8Array(64 * 1024).fill(97));
      push = controller;
    },
  });
  const uploading = fetch(`${worker.url}/upload?id=stream`, { method: "POST", body, duplex: "half", headers: { "content-type": "application/octet-stream", origin: worker.url } });
  await eventually(async () => (await request(origin, "/upload/seen?id=stream")).body.seen, "the first chunk at the origin before the upload ends", 10_000);
  push.enqueue(new Uint8Array(1024 * 1024).fill(98));
  push.close();
  const uploaded = await uploading;
  assert.equal(uploaded.status, 200);
  assert.deepEqual(await uploaded.json(), { bytes: 64 * 1024 + 1024 * 1024 }, "every byte, over the 16 KiB the worker's own routes read");

  // Download: the first chunk reaches the visitor while the origin waits.
  // Asked without compression: workerd (like Cloudflare's edge) gzips a
  // text answer for a client that accepts it, and the compressor holds
  // small chunks back until it has enough, gateway or not.
  const res = await fetch(`${worker.url}/download`, { headers: { "accept-encoding": "identity" } });
  const reader = res.body.getReader();
  const first = await reader.read();
  assert.equal(new TextDecoder().decode(first.value), "first\n");
  assert.deepEqual((await request(origin, "/download/release", { method: "POST" })).body, { released: true });
  let rest = "";
  for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
  assert.equal(rest, "second\n");
});

test("DEMO_ROUTES=false hands the demo's routes to the origin; ACCOUNTS_REGISTRATION=false closes registration", async () => {
  assert.ok((await request(worker, "/api/session")).body.sessionID, "the worker's own route by default");
  const handed = await startWorker({ upstashUrl: stack.upstash.url, vars: gatewayVars({ DEMO_ROUTES: "false", ACCOUNTS_REGISTRATION: false }) });
  try {
    assert.deepEqual((await request(handed, "/api/session")).body, { from: "origin" });
    const before = await snapshot();
    const closed = await request(handed, "/api/register", { method: "POST", json: { username: "nobody", password: PASSWORD }, headers: { origin: handed.url } });
    await assertJsonError(closed, 403, "registration is closed on this site");
    assert.deepEqual(await snapshot(), before, "nothing written");
  } finally {
    await handed.stop();
  }
});

test("an origin that does not answer, or answers what cannot be a Workers answer (a status outside 200-599), is a 502 with Retry-After; nothing is written", async () => {
  // A raw origin: Node's http server will not send such a status line.
  const raw = net.createServer((socket) => {
    socket.once("data", () => socket.end("HTTP/1.1 600 Weird\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
  });
  await new Promise((resolve) => raw.listen(0, "127.0.0.1", resolve));
  try {
    for (const port of [await freePort(), raw.address().port]) {
      const worker = await startWorker({ upstashUrl: stack.upstash.url, vars: gatewayVars({ ORIGIN_URL: `http://127.0.0.1:${port}` }) });
      try {
        const before = await snapshot();
        const res = await request(worker, "/whoami");
        assert.equal(res.status, 502, `origin on ${port}`);
        assert.equal(res.headers.get("retry-after"), "5");
        assert.match(res.body.error, /origin server did not answer/);
        assert.deepEqual(await snapshot(), before);
      } finally {
        await worker.stop();
      }
    }
  } finally {
    await new Promise((resolve) => raw.close(resolve));
  }
});

test("gateway options are checked at start: a bad ORIGIN_URL or a GATEWAY_* without ORIGIN_URL names the variable", async () => {
  for (const [vars, name] of [
    [{ ORIGIN_URL: "https://origin.example/app", GATEWAY_SECRET }, "ORIGIN_URL"],
    [{ ORIGIN_URL: origin.url }, "GATEWAY_SECRET"],
    [{ GATEWAY_REQUIRE_LOGIN: "/account/*" }, "GATEWAY_REQUIRE_LOGIN"],
    [{ ORIGIN_URL: origin.url, GATEWAY_SECRET, GATEWAY_REQUIRE_LOGIN: "account" }, "GATEWAY_REQUIRE_LOGIN"],
  ]) {
    const w = await startWorker({ upstashUrl: stack.upstash.url, vars });
    try {
      const res = await request(w, "/anything");
      assert.equal(res.status, 500);
      assert.ok(res.body.error.startsWith(`worker misconfigured: ${name}`), res.body.error);
      assert.ok(!res.body.error.includes(GATEWAY_SECRET));
    } finally {
      await w.stop();
    }
  }
  // The secret of the tests signs cookies: SECRET is not the gateway's.
  assert.notEqual(SECRET, GATEWAY_SECRET);
});

/** The `[vars]` of the README's wrangler.production.toml (Deploy, step 4). */
function readmeProductionVars() {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const step = readme.slice(readme.indexOf("### Step 4: Write the production configuration"));
  const toml = /```toml\n([\s\S]*?)```/.exec(step)[1];
  return parseToml(toml).vars;
}

test("the README's path, run locally: its production [vars] in front of its Express example share logins, refuse anonymous visitors at the edge and hand the demo's routes to the origin", async () => {
  const vars = readmeProductionVars();
  assert.equal(vars.ORIGIN_URL, "https://origin.example.com", "the README's example, replaced here by the local origin");
  // Step 5's secrets: strong ones, as production refuses short ones.
  const sessionSecret = "a-strong-session-secret-of-32-bytes-or-more";
  const gatewaySecret = "a-strong-gateway-secret-of-32-bytes-or-more";
  // The README's Express example: the same cookie, prefix and options, trust proxy 1, indexLogin app-wide.
  const app = await startOrigin({
    redisUrl: stack.redis.url,
    gatewaySecret,
    trustProxy: 1,
    index: { ttlSeconds: 86400 },
    stampLogins: true,
    session: {
      name: "connect.sid",
      secret: [sessionSecret],
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 24 * 3600 * 1000, secure: true, httpOnly: true, sameSite: "lax" },
    },
  });
  const edge = await startWorker({
    upstashUrl: stack.upstash.url,
    vars: { ...vars, ORIGIN_URL: app.url, SESSION_ENVIRONMENT: "production", SESSION_SECRET: sessionSecret, GATEWAY_SECRET: gatewaySecret },
  });
  const site = (p, init = {}) => edge.fetch(`https://www.example.com${p}`, init);
  try {
    // A login at the origin, through the gateway over https.
    const login = await site("/origin/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user: "alice" }) });
    assert.equal(login.status, 200, await login.clone().text());
    const [line] = login.headers.getSetCookie();
    assert.match(line, /^connect\.sid=s%3A[^;]+; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=Lax$/, line);
    const cookie = line.split(";")[0];
    const sid = (await login.json()).sessionID;
    assert.equal(cookie, cookieFor(sid, sessionSecret, "connect.sid"));
    assert.deepEqual(await stack.redis.client.sMembers("user-sessions:alice"), [sid], "indexed for log out everywhere");
    const doc = JSON.parse(await stack.redis.client.get(`sess:${sid}`));
    assert.ok(Math.abs(doc.authenticatedAt - Date.now()) < 60_000, "loginTime recorded the login for SESSION_ABSOLUTE_TIMEOUT_SECONDS");
    // The README's /account/orders: the gateway vouches for alice.
    const orders = await site("/account/orders", { headers: { cookie } });
    assert.equal(orders.status, 200);
    assert.deepEqual(await orders.json(), { user: "alice", orders: [] });
    assert.match(orders.headers.get("server-timing"), /session;desc="hit"/);
    // Anonymous: refused at the edge (GATEWAY_REQUIRE_LOGIN), a page sent to GATEWAY_LOGIN_URL.
    await assertJsonError(await site("/account/orders"), 401, "log in first");
    const page = await site("/account/orders", { headers: { accept: "text/html" } });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get("location"), "/login?next=%2Faccount%2Forders");
    // DEMO_ROUTES = false and ACCOUNTS_ROUTES = false: the origin answers /api/*.
    assert.deepEqual(await (await site("/api/session")).json(), { from: "origin" });
    // Straight to the origin, a forged header opens nothing.
    const direct = await request(app, "/account/orders", { headers: { "x-session-user": "alice", "x-session-signature": "t=1,v1=x", "x-forwarded-proto": "https" } });
    assert.equal(direct.status, 403);
  } finally {
    await edge.stop();
    await app.stop();
  }
});

test("protected files cannot be reached by spellings an origin decodes: express.static behind GATEWAY_REQUIRE_LOGIN", async () => {
  assert.equal((await request(worker, "/public/hello.txt")).text, "hello\n", "a public file passes");
  for (const p of [
    "/account/invoice.txt",
    "/x%2F..%2Faccount/invoice.txt",
    "/x/..%2Faccount/invoice.txt",
    "/x/%2e%2e%2Faccount/invoice.txt",
    "/x/..%5Caccount/invoice.txt",
    "/x/%252e%252e%252Faccount/invoice.txt",
    // Empty segments and backslashes, which origins read differently.
    "/x//..%2Faccount/invoice.txt",
    "/x%2F%2F..%2Faccount/invoice.txt",
    "/x%2F/..%2Faccount/invoice.txt",
    "/public//..%2Faccount/invoice.txt",
    "/x%5Cy/..%2Faccount/invoice.txt",
    "/x%5C/..%2Faccount/invoice.txt",
  ]) {
    const res = await request(worker, p);
    assert.equal(res.status, 401, `${p}: ${res.status} ${res.text}`);
  }
  const login = await request(worker, "/origin/login", { method: "POST", json: { user: "ivy" } });
  const res = await request(worker, "/account/invoice.txt", { cookie: parseSetCookie(login).pair });
  assert.equal(res.text, "PRIVATE INVOICE\n", "with a login it opens");
});

test("a Cookie header over the worker's own limits is the origin's to judge: forwarded with the session resolved", async () => {
  const made = await request(worker, "/origin/pour", { method: "POST" });
  const { sid, pair } = parseSetCookie(made);
  for (const cookie of [`big=${"x".repeat(10_000)}; ${pair}`, `${Array.from({ length: 200 }, (_, i) => `c${i}=1`).join("; ")}; ${pair}`, `${pair}   `]) {
    const res = await rawGet(`${worker.url}/whoami`, { Cookie: cookie });
    assert.equal(res.status, 200);
    assert.equal(res.body.sessionID, sid);
    assert.equal(res.body.gateway.sessionId, sid);
  }
});

test("an origin that does not send its headers within GATEWAY_ORIGIN_TIMEOUT_MS is a 504; the redirect to the login page carries every answer's headers", async () => {
  const slow = await startWorker({ upstashUrl: stack.upstash.url, vars: gatewayVars({ GATEWAY_ORIGIN_TIMEOUT_MS: 300 }) });
  try {
    const res = await request(slow, "/hang");
    assert.equal(res.status, 504);
    // A POST without a body (fetch sends Content-Length: 0) is no upload:
    // it is timed like a GET.
    const empty = await request(slow, "/hang", { method: "POST", headers: { origin: slow.url } });
    assert.equal(empty.status, 504, "an empty POST is timed");
    // An upload that takes longer than the timeout is not cut off: the
    // origin answers once it has the whole body.
    let push;
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new Uint8Array(1024).fill(97));
        push = controller;
      },
    });
    const uploading = fetch(`${slow.url}/upload?id=slow`, { method: "POST", body, duplex: "half" });
    await eventually(async () => (await request(origin, "/upload/seen?id=slow")).body.seen, "the first chunk at the origin", 10_000);
    await sleep(600);
    push.enqueue(new Uint8Array(1024).fill(98));
    push.close();
    const uploaded = await uploading;
    assert.equal(uploaded.status, 200, "no 504 for a slow upload");
    assert.deepEqual(await uploaded.json(), { bytes: 2048 });
    assert.match(res.body.error, /did not answer in time/);
    assert.equal(res.headers.get("retry-after"), "5");
    const page = await request(slow, "/account/x", { headers: { accept: "text/html" } });
    assert.equal(page.status, 303);
    for (const h of ["x-content-type-options", "content-security-policy", "referrer-policy", "cache-control"]) assert.ok(page.headers.get(h), h);
  } finally {
    await slow.stop();
  }
});

test("with SESSION_PROXY=true the origin gets the scheme the worker believed (X-Forwarded-Proto of the proxy in front)", async () => {
  const proxied = await startWorker({ upstashUrl: stack.upstash.url, vars: gatewayVars({ SESSION_PROXY: true }) });
  try {
    const res = await request(proxied, "/whoami", { headers: { "x-forwarded-proto": "https" } });
    assert.equal(res.body.headers.xForwardedProto, "https");
    const plain = await request(worker, "/whoami", { headers: { "x-forwarded-proto": "https" } });
    assert.equal(plain.body.headers.xForwardedProto, "http", "not believed without SESSION_PROXY");
  } finally {
    await proxied.stop();
  }
});

test("SESSION_ABSOLUTE_TIMEOUT_SECONDS ends an Express login at the edge once loginTime records when it happened", async () => {
  const stamping = await startOrigin({ redisUrl: stack.redis.url, gatewaySecret: GATEWAY_SECRET, stampLogins: true });
  const edge = await startWorker({
    upstashUrl: stack.upstash.url,
    vars: gatewayVars({ ORIGIN_URL: stamping.url, SESSION_ABSOLUTE_TIMEOUT_SECONDS: 3600, DEMO_ROUTES: false, ACCOUNTS_ROUTES: false }),
  });
  try {
    const login = await request(edge, "/origin/login", { method: "POST", json: { user: "judy" } });
    const { sid, pair } = parseSetCookie(login);
    const doc = JSON.parse(await stack.redis.client.get(`sess:${sid}`));
    assert.ok(Math.abs(doc.authenticatedAt - Date.now()) < 60_000, "the login's time, recorded by Express");
    assert.equal((await request(edge, "/account/profile", { cookie: pair })).status, 200, "within the lifetime");
    // Two hours later (the stored time moved back, rather than waiting).
    doc.authenticatedAt -= 7200 * 1000;
    await stack.redis.client.set(`sess:${sid}`, JSON.stringify(doc), { KEEPTTL: true });
    const late = await request(edge, "/account/profile", { cookie: pair });
    assert.equal(late.status, 401);
    assert.match(late.headers.get("server-timing"), /session;desc="login-expired"/);
  } finally {
    await edge.stop();
    await stamping.stop();
  }
});
