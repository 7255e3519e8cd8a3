// The demo page in a real browser: the real `wrangler dev` (worker + static
// assets from www/, as wrangler.toml configures them) in front of
// upstash-local and redis-server, driven by Debian's Chromium through
// playwright-core. Everything listens on 127.0.0.1 and is stopped by PID.
//
//   node --test --test-concurrency=1 tests/e2e/browser.test.mjs
//
// Prerequisites: build/index.js (scripts/build-worker.sh; it is run here
// too and returns at once when build/ is up to date), target/release/
// upstash-local, node_modules, /usr/bin/chromium.

import { before, after, test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { TOKEN, UUID_V4, sidOf, sleep, ensureBuilt, startRedis, startUpstashLocal, startWranglerDev } from "../support/index.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];
const SCREENSHOT = "/tmp/edge-session-page.png";
const SCREENSHOT_EXPIRED = "/tmp/edge-session-page-expired.png";
const SCREENSHOT_ERROR = "/tmp/edge-session-page-error.png";
const SCREENSHOT_ACCOUNT = "/tmp/edge-session-page-account.png";
/** For scripts/build-worker.sh, here and as wrangler's [build] command: only
 * the production build/ is needed, not build-lab/. */
const BUILD_ENV = { LAB: "0" };

let redis;
let upstash;
let wrangler;
let browser;
let context;
let page;
/** Every URL the page asked for: all must be the worker's own origin. */
const requested = [];
/** Uncaught exceptions and console errors of the page. */
const pageErrors = [];

const text = (id) => page.locator(`#${id}`).textContent();

/** Waits until the element `#id` has the text `want`. */
async function waitForText(id, want, timeout = 10_000) {
  await page.waitForFunction(
    ([i, w]) => document.getElementById(i)?.textContent === w,
    [id, want],
    { timeout, polling: 50 },
  );
}

before(async () => {
  ensureBuilt(BUILD_ENV);
  redis = await startRedis();
  upstash = await startUpstashLocal({ redisUrl: redis.url, token: TOKEN });
  wrangler = await startWranglerDev({ upstashUrl: upstash.url, token: TOKEN, env: BUILD_ENV });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  context = await browser.newContext({ viewport: { width: 1000, height: 820 } });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on("request", (req) => requested.push(req.url()));
  page.on("pageerror", (err) => pageErrors.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") pageErrors.push(`console: ${msg.text()}`);
  });
}, { timeout: 300_000 });

after(async () => {
  const problems = [];
  const step = async (what, fn) => {
    try {
      await fn();
    } catch (err) {
      problems.push(`${what}: ${err.message}`);
    }
  };
  if (browser) await step("chromium", () => browser.close());
  if (wrangler) {
    await step("wrangler dev", async () => {
      const killed = await wrangler.stop();
      // Not a failure of the demo, but worth knowing: wrangler left these.
      if (killed.length) console.error(`note: killed what wrangler dev left running after SIGINT: ${killed.join("; ")}`);
      // --log-level warn: anything it printed is a warning or an error,
      // apart from the worker's log of the 503 the last test provokes.
      const said = wrangler
        .output()
        .replace(/\x1b\[[0-9;]*m/g, "")
        .split("\n")
        .filter((l) => !/"path":"\/api\/pour".*"status":503|"status":503.*"path":"\/api\/pour"|"level":"warn"|Logs were written to/.test(l))
        .join("\n")
        .trim();
      if (said) console.error(`note: wrangler dev said:\n${said.slice(-4000)}`);
    });
  }
  if (upstash) await step("upstash-local", () => upstash.stop());
  if (redis) await step("redis-server", () => redis.stop());
  if (problems.length) throw new Error(problems.join("\n"));
}, { timeout: 60_000 });

test("wrangler dev serves the page and its files from www/ as static assets", async () => {
  for (const [file, type] of [
    ["/", /^text\/html/],
    ["/app.js", /javascript/],
    ["/style.css", /^text\/css/],
  ]) {
    const res = await fetch(wrangler.url + file);
    assert.equal(res.status, 200, `${file}: ${res.status}`);
    assert.match(res.headers.get("content-type") ?? "", type, `${file}: content-type`);
    assert.ok(res.headers.get("etag"), `${file}: an asset has an ETag`);
    assert.equal(res.headers.getSetCookie().length, 0, `${file}: the worker did not run, no cookie`);
  }
  const html = await (await fetch(wrangler.url + "/")).text();
  for (const id of [
    "session-id", "expires-in", "beers-viewed", "pour", "beer-name", "beer-style", "error",
    "username", "password", "register", "login", "logout", "logout-all", "user", "lifetime-beers",
  ]) {
    assert.match(html, new RegExp(`id="${id}"`), `the page has #${id}`);
  }
});

test("the page loads, shows a new session and counts its expiry down", async () => {
  const session = page.waitForResponse((r) => r.url().endsWith("/api/session"));
  const res = await page.goto(wrangler.url + "/", { waitUntil: "load" });
  assert.equal(res.status(), 200);
  assert.equal((await session).status(), 200);
  assert.match(await page.title(), /Craft beer/);
  assert.match(await page.locator("h1").textContent(), /Craft beer/);
  assert.equal(await page.locator("#pour").getAttribute("type"), "button");

  await page.waitForFunction(() => /^[0-9a-f-]{36}$/.test(document.getElementById("session-id").textContent));
  const sid = await text("session-id");
  assert.match(sid, UUID_V4);
  assert.equal(await text("beers-viewed"), "0", "a new session has viewed no beer");
  assert.equal(await page.locator("#error").isHidden(), true, `no error shown: ${await text("error")}`);

  const t1 = performance.now();
  const first = Number.parseFloat(await text("expires-in"));
  assert.ok(first > 55 && first <= 60, `expires in ${first} s, not about 60`);
  await sleep(1500);
  const second = Number.parseFloat(await text("expires-in"));
  const wall = (performance.now() - t1) / 1000;
  assert.ok(second < first, `the countdown did not move: ${first} then ${second}`);
  // The page redraws every 0.1 s and shows one decimal; each read takes a
  // round trip to the browser.
  const moved = first - second;
  assert.ok(moved > 1.0 && Math.abs(moved - wall) < 0.5, `the countdown moved ${moved.toFixed(2)} s in ${wall.toFixed(2)} s`);
  assert.equal(await page.locator("#expired").isHidden(), true);
});

test("Pour three times: beers viewed 1, 2, 3 and a beer on the page", async () => {
  const sid = await text("session-id");
  for (let n = 1; n <= 3; n++) {
    const answer = page.waitForResponse((r) => r.url().endsWith("/api/pour"));
    await page.locator("#pour").click();
    const res = await answer;
    assert.equal(res.status(), 200, `pour ${n}: ${res.status()}`);
    assert.equal(res.request().method(), "POST");
    await waitForText("beers-viewed", String(n));
    const name = (await text("beer-name")).trim();
    const style = (await text("beer-style")).trim();
    const body = await res.json();
    assert.equal(name, body.beerName, `pour ${n}: the page shows the poured beer`);
    assert.equal(style, body.beerStyle);
    assert.ok(name.length > 0 && name !== "Nothing poured yet", `pour ${n}: beer name "${name}"`);
    assert.ok(style.length > 0, `pour ${n}: beer style "${style}"`);
    assert.equal(await text("session-id"), sid, "pouring keeps the session");
  }
  assert.equal(await page.locator("#error").isHidden(), true, `no error shown: ${await text("error")}`);
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
});

test("a reload shows the same session with 3 beers viewed", async () => {
  const sid = await text("session-id");
  const session = page.waitForResponse((r) => r.url().endsWith("/api/session"));
  await page.reload({ waitUntil: "load" });
  assert.equal((await session).status(), 200);
  await waitForText("session-id", sid);
  await waitForText("beers-viewed", "3");
  const left = Number.parseFloat(await text("expires-in"));
  assert.ok(left > 0 && left <= 60, `expires in ${left} s`);
});

test("the session cookie is HttpOnly and Redis holds the session with views 3", async () => {
  const sid = await text("session-id");
  const cookies = await context.cookies(wrangler.url);
  const cookie = cookies.find((c) => c.name === "_redisDemo");
  assert.ok(cookie, `no _redisDemo cookie in ${JSON.stringify(cookies)}`);
  assert.equal(cookie.httpOnly, true, "the cookie is HttpOnly");
  assert.equal(cookie.path, "/");
  assert.equal(cookie.secure, false, "no Secure cookie over plain http");
  assert.equal(sidOf(`_redisDemo=${cookie.value}`), sid, "the cookie carries the id the page shows");
  assert.equal(await page.evaluate(() => document.cookie.includes("_redisDemo")), false, "scripts cannot read it");

  const raw = await redis.client.get(`sess:${sid}`);
  assert.ok(raw, `Redis has no sess:${sid}`);
  const doc = JSON.parse(raw);
  assert.equal(doc.views, 3);
  assert.equal(doc.cookie.httpOnly, true);
  const ttl = await redis.client.ttl(`sess:${sid}`);
  assert.ok(ttl > 0 && ttl <= 60, `TTL ${ttl}`);
});

test("the page fetched nothing but its own origin and raised no error", () => {
  const origin = new URL(wrangler.url).origin;
  const foreign = requested.filter((u) => !u.startsWith("data:") && new URL(u).origin !== origin);
  assert.deepEqual(foreign, [], "requests outside the worker's origin");
  assert.deepEqual(pageErrors, [], "errors in the page");
});

test("accounts on the page: register, log in, pour, log out, log back in shows the lifetime count; errors and 429 in the alert; no CSP violation", async () => {
  // The page is served with the strict policy of www/_headers.
  const home = await fetch(wrangler.url + "/");
  assert.match(home.headers.get("content-security-policy") ?? "", /default-src 'self'/, "the CSP header is served");
  await home.arrayBuffer();

  // A browser of its own (own cookie jar), so the session of the tests
  // around this one is not touched.
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 1000 } });
  const violations = [];
  const problems = [];
  await ctx.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`),
    );
  });
  const p = await ctx.newPage();
  p.setDefaultTimeout(10_000);
  p.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
  p.on("console", (msg) => {
    if (/Content Security Policy|Refused to/i.test(msg.text())) violations.push(msg.text());
    // The wrong password and the 429 below are failed fetches Chromium logs; nothing else may be.
    else if (msg.type() === "error" && !/status of (401|429)/.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  const txt = (id) => p.locator(`#${id}`).textContent();
  const until = (id, want) =>
    p.waitForFunction(([i, w]) => document.getElementById(i)?.textContent === w, [id, want], { polling: 50 });
  /**
   * Clicks `#button` and resolves with the answer of `path`, once the page
   * has dealt with it (the button is no longer aria-disabled).
   */
  const act = async (button, path) => {
    const answer = p.waitForResponse((r) => r.url().endsWith(path));
    await p.locator(`#${button}`).click();
    const res = await answer;
    await p.waitForFunction((id) => !document.getElementById(id).hasAttribute("aria-disabled"), button, { polling: 20 });
    return res;
  };
  const name = "browser.user";
  const password = "correct horse battery";
  try {
    await p.goto(wrangler.url + "/", { waitUntil: "load" });
    await p.waitForFunction(() => /^[0-9a-f-]{36}$/.test(document.getElementById("session-id").textContent));
    const anonSid = await txt("session-id");
    assert.equal(await p.locator("#logged-out").isVisible(), true, "anonymous at first");
    assert.equal(await p.locator("#logged-in").isHidden(), true);
    assert.equal(await p.locator("#lifetime-row").isHidden(), true, "no lifetime count for an anonymous session");
    assert.equal(await p.locator("#logout").isHidden(), true);
    assert.equal(await p.locator("#password").getAttribute("type"), "password");

    // Register (the name is normalized: the page shows the canonical one).
    await p.locator("#username").fill("Browser.User");
    await p.locator("#password").fill(password);
    const reg = await act("register", "/api/register");
    assert.equal(reg.status(), 201, await reg.text());
    assert.equal(reg.request().method(), "POST");
    await p.waitForFunction(() => /created/.test(document.getElementById("account-message").textContent));
    assert.equal(await p.locator("#username").inputValue(), name);
    assert.equal(await p.locator("#error").isHidden(), true, `no error: ${await txt("error")}`);
    const record = JSON.parse(await redis.client.get(`user:${name}`));
    assert.match(record.password, /^pbkdf2-sha256\$20000\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/, "the default 20000 iterations");
    // Registering logs in (issue 13, point 8): a new session id with the user.
    await until("user", name);
    const regSid = await txt("session-id");
    assert.notEqual(regSid, anonSid, "registering gives a new session id");
    assert.equal(await redis.client.exists(`sess:${anonSid}`), 0);
    assert.deepEqual(JSON.parse(await redis.client.get(`sess:${regSid}`)).passport, { user: name });
    // Log out, to log in with the form below.
    assert.equal((await act("logout", "/api/logout")).status(), 200);
    await p.locator("#logged-out").waitFor({ state: "visible" });
    const beforeLogin = await txt("session-id");
    await p.locator("#username").fill(name);
    await p.locator("#password").fill(password);

    // Log in: a new session id, the user and a lifetime count of 0.
    const li = await act("login", "/api/login");
    assert.equal(li.status(), 200, await li.text());
    await until("user", name);
    await until("lifetime-beers", "0");
    assert.equal(await p.locator("#logged-in").isVisible(), true);
    assert.match(await p.locator("#logged-in").textContent(), new RegExp(`Logged in as ${name.replace(".", "\\.")}`));
    assert.equal(await p.locator("#lifetime-row").isVisible(), true);
    assert.equal(await p.locator("#account-form").isHidden(), true);
    assert.equal(await p.locator("#password").inputValue(), "", "the password is not kept on the page");
    const userSid = await txt("session-id");
    assert.match(userSid, UUID_V4);
    assert.notEqual(userSid, beforeLogin, "login gives a new session id");
    assert.equal(await redis.client.exists(`sess:${beforeLogin}`), 0);
    assert.deepEqual(JSON.parse(await redis.client.get(`sess:${userSid}`)).passport, { user: name });

    // Pour twice: this session's count and the lifetime count, side by side.
    for (const n of ["1", "2"]) {
      const res = await act("pour", "/api/pour");
      assert.equal(res.status(), 200);
      await until("beers-viewed", n);
      await until("lifetime-beers", n);
    }

    // Log out: a new anonymous session; the lifetime count is kept in Redis.
    const lo = await act("logout", "/api/logout");
    assert.equal(lo.status(), 200);
    await p.locator("#logged-out").waitFor({ state: "visible" });
    assert.equal(await txt("user"), "");
    assert.equal(await p.locator("#lifetime-row").isHidden(), true);
    await until("beers-viewed", "0");
    const loggedOutSid = await txt("session-id");
    assert.notEqual(loggedOutSid, userSid);
    assert.equal(await redis.client.exists(`sess:${userSid}`), 0, "the logged-in key is gone");
    assert.equal(await redis.client.get(`user-beers:${name}`), "2");

    // A wrong password: the worker's 401 in the alert, nothing else changes.
    await p.locator("#username").fill(name);
    await p.locator("#password").fill("not the password");
    const bad = await act("login", "/api/login");
    assert.equal(bad.status(), 401);
    await p.locator("#error").waitFor({ state: "visible" });
    assert.match(await txt("error"), /401.*invalid username or password/);
    assert.equal(await p.locator("#error").getAttribute("role"), "alert");
    assert.equal(await txt("session-id"), loggedOutSid);

    // Log back in: this session has 0 beers, the lifetime count shows 2.
    await p.locator("#password").fill(password);
    const again = await act("login", "/api/login");
    assert.equal(again.status(), 200);
    await until("user", name);
    await until("lifetime-beers", "2");
    await until("beers-viewed", "0");
    assert.equal(await p.locator("#error").isHidden(), true, "a success clears the error");
    const res = await act("pour", "/api/pour");
    assert.equal(res.status(), 200);
    await until("lifetime-beers", "3");
    await until("beers-viewed", "1");
    await p.screenshot({ path: SCREENSHOT_ACCOUNT, fullPage: true });

    // Log out everywhere: this browser's session ends too.
    const sid = await txt("session-id");
    const all = await act("logout-all", "/api/logout-all");
    assert.equal(all.status(), 200);
    await p.waitForFunction(() => /1 session ended/.test(document.getElementById("account-message").textContent));
    await p.locator("#logged-out").waitFor({ state: "visible" });
    assert.notEqual(await txt("session-id"), sid);
    assert.equal(await redis.client.exists(`sess:${sid}`), 0);

    // Too many failed logins: the 429 and when to try again, in the alert.
    await p.locator("#username").fill("nobody-here");
    let last;
    for (let i = 0; i < 6; i++) {
      await p.locator("#password").fill(`wrong password ${i}`);
      last = await act("login", "/api/login");
      await p.locator("#error").waitFor({ state: "visible" });
    }
    assert.equal(last.status(), 429);
    await p.waitForFunction(() => /429/.test(document.getElementById("error").textContent));
    assert.match(await txt("error"), /try again in \d+ s/);

    assert.deepEqual(await p.evaluate(() => window.__csp), [], "securitypolicyviolation events");
    assert.deepEqual(violations, [], "CSP messages in the console");
    assert.deepEqual(problems, [], "errors in the page");
  } finally {
    await ctx.close();
  }
});

test("the countdown ends with the 'session has expired' message", async () => {
  // The real max age is 60 s; an answer with 0.6 s left shows the end.
  const p = await context.newPage();
  try {
    await p.route("**/api/session", (route) =>
      route.fulfill({
        status: 200,
        contentType: "application/json",
        body: JSON.stringify({
          sessionID: "00000000-0000-4000-8000-000000000000",
          sessionExpireTime: 0.6,
          beersViewed: 2,
          beerName: null,
          beerStyle: null,
          error: null,
        }),
      }),
    );
    await p.goto(wrangler.url + "/");
    await p.locator("#expired").waitFor({ state: "visible", timeout: 5000 });
    assert.match(await p.locator("#expired").textContent(), /expired.*(reload|pour)/is);
    assert.equal(await p.locator("#expires-in").textContent(), "0.0");
    await p.screenshot({ path: SCREENSHOT_EXPIRED, fullPage: true });
  } finally {
    await p.close();
  }
});

test("the page says when to retry from the error body's retryAfter, else from the Retry-After header", async () => {
  const p = await context.newPage();
  try {
    /** Answers `path` with a JSON error `body` and a Retry-After header. */
    const failWith = (path, status, retryAfter, body) =>
      p.route(`**${path}`, (route) =>
        route.fulfill({ status, contentType: "application/json; charset=utf-8", headers: { "Retry-After": retryAfter }, body: JSON.stringify(body) }),
      );
    // A 429 whose body and header disagree: the body wins.
    await failWith("/api/login", 429, "3", { error: "too many failed logins", retryAfter: 7 });
    // A 503 without retryAfter in its body: the header.
    await failWith("/api/pour", 503, "4", { error: "the session store is unavailable" });
    await p.goto(wrangler.url + "/", { waitUntil: "load" });
    await p.waitForFunction(() => /^[0-9a-f-]{36}$/.test(document.getElementById("session-id").textContent));
    const shown = () => p.locator("#error").textContent();

    await p.locator("#username").fill("someone");
    await p.locator("#password").fill("a password");
    await p.locator("#login").click();
    await p.waitForFunction(() => /429/.test(document.getElementById("error").textContent));
    assert.match(await shown(), /^The server answered 429[^:]*: too many failed logins \(try again in 7 s\)$/);

    await p.locator("#pour").click();
    await p.waitForFunction(() => /503/.test(document.getElementById("error").textContent));
    assert.match(await shown(), /^The server answered 503[^:]*: the session store is unavailable \(retry in 4 s\)$/);
  } finally {
    await p.close();
  }
});

test("with the store down, Pour shows the worker's 503 and its error", async () => {
  await upstash.stop();
  const answer = page.waitForResponse((r) => r.url().endsWith("/api/pour"));
  await page.locator("#pour").click();
  const res = await answer;
  assert.equal(res.status(), 503);
  await page.locator("#error").waitFor({ state: "visible" });
  const shown = await text("error");
  assert.match(shown, /503/, `the status is shown: ${shown}`);
  assert.match(shown, /session store is unavailable/, `the worker's error is shown: ${shown}`);
  assert.equal(await page.locator("#error").getAttribute("role"), "alert");
  assert.equal(await text("beers-viewed"), "3", "a failed pour changes nothing on the page");
  await page.screenshot({ path: SCREENSHOT_ERROR, fullPage: true });
});
