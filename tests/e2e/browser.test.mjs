// The demo page in a real browser: the real `wrangler dev` (the worker, and
// the static assets from build/www as wrangler.toml configures them) in
// front of upstash-local and redis-server, driven by Debian's Chromium
// through playwright-core, with JavaScript off and on. Everything listens
// on 127.0.0.1 and is stopped by PID. Screenshots at desktop and phone
// width go to artifacts/screenshots/ (git-ignored).
//
//   node --test --test-concurrency=1 tests/e2e/browser.test.mjs
//
// Prerequisites: build/index.js (scripts/build-worker.sh; it is run here
// too and returns at once when build/ is up to date), target/release/
// upstash-local, node_modules, /usr/bin/chromium.

import { before, after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { redisSnapshot, TOKEN, UUID_V4, sleep, ensureBuilt, launchChromium, startRedis, startUpstashLocal, startWranglerDev } from "../support/index.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SHOTS = path.join(ROOT, "artifacts/screenshots");
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
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
/** For scripts/build-worker.sh, here and as wrangler's [build] command: only
 * the production build/ is needed, not build-lab/. */
const BUILD_ENV = { LAB: "0" };
/** Quick hashes and room for the registrations of the tests. */
const VARS = { AUTH_PBKDF2_ITERATIONS: "1000", AUTH_MAX_REGISTRATIONS_PER_IP: "100", AUTH_MAX_REGISTRATIONS: "1000" };
const PASSWORD = "correct horse battery";
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 320, height: 720 };

let redis;
let upstash;
let wrangler;
let browser;
/** Every page's uncaught exceptions, console errors and CSP violations. */
const problems = [];
/** Every URL a page asked for: all must be the worker's own origin. */
const requested = [];
let users = 0;

/** A new user name for this run. */
const newUser = () => `taster${process.pid % 10000}x${++users}`;

before(async () => {
  ensureBuilt(BUILD_ENV);
  mkdirSync(SHOTS, { recursive: true });
  redis = await startRedis();
  upstash = await startUpstashLocal({ redisUrl: redis.url, token: TOKEN });
  wrangler = await startWranglerDev({ upstashUrl: upstash.url, token: TOKEN, env: BUILD_ENV, vars: VARS });
  browser = await launchChromium({ args: CHROMIUM_ARGS });
}, { timeout: 300_000 });

after(async () => {
  const failed = [];
  const step = async (what, fn) => {
    try {
      await fn();
    } catch (err) {
      failed.push(`${what}: ${err.message}`);
    }
  };
  if (browser) await step("chromium", () => browser.close());
  if (wrangler) await step("wrangler dev", () => wrangler.stop());
  if (upstash) await step("upstash-local", () => upstash.stop());
  if (redis) await step("redis-server", () => redis.stop());
  if (failed.length) throw new Error(failed.join("\n"));
}, { timeout: 60_000 });

/**
 * A browser context (JavaScript on or off) and a page in it whose errors,
 * console errors (CSP violations are reported there) and requests are
 * recorded. `navigations()` counts the main frame's loads.
 */
async function open({ js = true, viewport = DESKTOP, userAgent } = {}) {
  const context = await browser.newContext({ javaScriptEnabled: js, viewport, ...(userAgent ? { userAgent } : {}) });
  const page = await context.newPage();
  page.jsDisabled = !js;
  page.setDefaultTimeout(10_000);
  let loads = 0;
  page.on("framenavigated", (frame) => frame === page.mainFrame() && loads++);
  page.on("request", (req) => requested.push(req.url()));
  page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => msg.type() === "error" && problems.push(`console: ${msg.text()}`));
  return { context, page, navigations: () => loads };
}

const text = (page, id) => page.locator(`#${id}`).textContent();
const shown = (page, id) => page.locator(`#${id}`).isVisible();

/** Waits until `#id`'s text is `want` (a string) or matches it (a RegExp). */
async function waitForText(page, id, want, timeout = 10_000) {
  await page.waitForFunction(
    ([i, w, isRegExp]) => {
      const t = document.getElementById(i)?.textContent ?? "";
      return isRegExp ? new RegExp(w).test(t) : t === w;
    },
    [id, want instanceof RegExp ? want.source : want, want instanceof RegExp],
    { timeout, polling: 50 },
  );
}

/**
 * axe-core (WCAG 2.1 A and AA) on the page as it is: no violations. A page
 * without JavaScript cannot run axe (its promises never settle): its HTML
 * is then checked in a page with JavaScript that gets exactly that answer
 * for the same URL (styles and all).
 */
async function axe(page, state) {
  if (page.jsDisabled) {
    return axeOfHtml(page.url(), await page.content(), state);
  }
  await page.evaluate(AXE);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] }, resultTypes: ["violations"] }),
  );
  const found = result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  assert.deepEqual(found, [], `axe-core at WCAG 2.1 AA, ${state}`);
}

/** {@link axe} on `html` served as the answer for `url`. */
async function axeOfHtml(url, html, state) {
  const { context, page } = await open({ js: true });
  try {
    await page.route(url, (route) =>
      route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", headers: { "cache-control": "no-store" }, body: html }),
    );
    await page.goto(url, { waitUntil: "load" });
    await axe(page, `${state} (its HTML)`);
  } finally {
    await context.close();
  }
}

/** Saves a full-page screenshot as artifacts/screenshots/<name>.png. */
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

/** Whether the page is wider than its viewport (a horizontal scroll bar). */
const overflows = (page) => page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);

/** Fills the account form and presses `button` (login or register). */
async function account(page, button, name, password = PASSWORD) {
  await page.locator("#username").fill(name);
  await page.locator("#password").fill(password);
  await page.locator(`#${button}`).click();
}

/** Submits the form of `#button` and, with JavaScript off, waits for the page it leads to. */
async function press(page, button, js) {
  if (js) return page.locator(`#${button}`).click();
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.locator(`#${button}`).click()]);
}

test("the page and its files: / is filled in by the worker and never cached, the stylesheet and script are named by content and cached for a year", async () => {
  const res = await fetch(wrangler.url + "/");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/html/);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(
    res.headers.get("content-security-policy"),
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  );
  assert.equal(res.headers.get("etag"), null, "no validator for a page of one visitor");
  assert.match(res.headers.get("server-timing"), /store;desc="1 round trip"/);
  const html = await res.text();
  assert.match(html, /<code id="session-id">[0-9a-f-]{36}<\/code>/, "the session id is in the first answer's HTML");
  assert.doesNotMatch(html, /<script>|<style>| style="| on[a-z]+="/, "no inline script or style");
  const assets = [...html.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(assets.map((a) => a.replace(/\.[0-9a-f]{12}\./, ".HASH.")), ["/assets/style.HASH.css", "/assets/app.HASH.js"]);
  for (const asset of assets) {
    const file = await fetch(wrangler.url + asset);
    assert.equal(file.status, 200, asset);
    assert.equal(file.headers.get("cache-control"), "public, max-age=31536000, immutable", asset);
    assert.equal(file.headers.getSetCookie().length, 0, `${asset}: the worker did not run`);
    await file.arrayBuffer();
  }
  for (const gone of ["/app.js", "/style.css"]) assert.equal((await fetch(wrangler.url + gone)).status, 404, gone);
  const head = await fetch(wrangler.url + "/", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("cache-control"), "no-store");
  assert.equal((await head.text()).length, 0, "HEAD: no body");
  const index = await fetch(wrangler.url + "/index.html", { redirect: "manual" });
  assert.equal(index.status, 307, "the unfilled file is not served as it is");
  assert.equal(index.headers.get("location"), "/");
});

test("with JavaScript off: the first answer holds the session; pour three times; register, log out, a wrong password, log in, log out everywhere; reload keeps the session", async () => {
  const { context, page } = await open({ js: false });
  try {
    await page.goto(wrangler.url + "/", { waitUntil: "load" });
    const sid = await text(page, "session-id");
    assert.match(sid, UUID_V4);
    assert.equal(await text(page, "beers-viewed"), "0");
    assert.match(await text(page, "expires-in"), /^(59|60)\.\d$/);
    assert.equal(await text(page, "beer-name"), "Nothing poured yet");
    await axe(page, "no JavaScript, a new session");
    for (const n of [1, 2, 3]) {
      await press(page, "pour", false);
      assert.equal(await text(page, "beers-viewed"), String(n), `pour ${n}`);
    }
    assert.equal(await text(page, "session-id"), sid, "the same session throughout");
    assert.notEqual(await text(page, "beer-name"), "Nothing poured yet", "the last beer poured is shown");
    assert.match(await text(page, "stored-document"), /"views":3/, "the stored document, as it is in Redis");
    assert.equal(await text(page, "stored-document"), await redis.client.get(`sess:${sid}`), "byte for byte");
    assert.match(await text(page, "page-cost-text"), /^\d+ store round trips?, \d+\.\d ms/);
    await page.reload({ waitUntil: "load" });
    assert.equal(await text(page, "session-id"), sid, "a reload keeps the session");
    assert.equal(await text(page, "beers-viewed"), "3");
    await shot(page, "desktop-nojs-poured");

    const name = newUser();
    await Promise.all([page.waitForNavigation(), account(page, "register", name)]);
    assert.equal(await shown(page, "logged-in"), true, "registering logs you in");
    assert.equal(await text(page, "user"), name);
    assert.match(await text(page, "account-message"), new RegExp(`Account ${name} created`));
    assert.equal(await shown(page, "account-form"), false);
    await axe(page, "no JavaScript, logged in with a flash message");
    await press(page, "logout", false);
    assert.equal(await shown(page, "logged-out"), true);
    assert.match(await text(page, "account-message"), /Logged out/);

    await Promise.all([page.waitForNavigation(), account(page, "login", name, "not the password")]);
    assert.equal(await shown(page, "account-error"), true, "a wrong password shows in the account panel");
    assert.match(await text(page, "account-error"), /username or password/i);
    assert.equal(await shown(page, "error"), false, "not in a page-wide banner");
    await axe(page, "no JavaScript, a wrong password");
    await shot(page, "desktop-nojs-wrong-password");
    await page.reload({ waitUntil: "load" });
    assert.equal(await shown(page, "account-error"), false, "a flash message shows once");

    await Promise.all([page.waitForNavigation(), account(page, "login", name)]);
    assert.match(await text(page, "account-message"), new RegExp(`Welcome back, ${name}`));
    assert.equal(await text(page, "lifetime-beers"), "0");
    await press(page, "pour", false);
    assert.equal(await text(page, "lifetime-beers"), "1");
    const loggedIn = await text(page, "session-id");
    await press(page, "logout-all", false);
    assert.equal(await shown(page, "logged-out"), true);
    assert.match(await text(page, "account-message"), /Logged out everywhere: 1 session ended/);
    assert.notEqual(await text(page, "session-id"), loggedIn, "a fresh anonymous session");
    assert.equal(await text(page, "beers-viewed"), "0");
    assert.equal(await text(page, "beer-name"), "Nothing poured yet", "the old session's beer is gone");
  } finally {
    await context.close();
  }
});

test("with JavaScript on: the same flows without a reload; focus stays; the session cookie is HttpOnly; no console error, CSP violation or request elsewhere", async () => {
  const { context, page, navigations } = await open({ js: true });
  try {
    await page.goto(wrangler.url + "/", { waitUntil: "load" });
    const sid = await text(page, "session-id");
    assert.match(sid, UUID_V4);
    const first = Number(await text(page, "expires-in"));
    await sleep(400);
    assert.ok(Number(await text(page, "expires-in")) < first, "the countdown runs");
    for (const n of [1, 2, 3]) {
      await page.locator("#pour").click();
      await waitForText(page, "beers-viewed", String(n));
    }
    assert.equal(await page.evaluate(() => document.activeElement?.id), "pour", "focus stays on Pour");
    const name = newUser();
    await account(page, "register", name);
    await waitForText(page, "user", name);
    assert.match(await text(page, "account-message"), new RegExp(`Account ${name} created`));
    await axe(page, "JavaScript, logged in");
    await shot(page, "desktop-js-logged-in");
    // Logging out from this browser's own row: the list goes away with the
    // login, and focus lands on the account heading, not on nothing.
    await page.locator("#devices li", { hasText: "this browser" }).getByRole("button", { name: /Log out/ }).click();
    await page.locator("#logged-out").waitFor({ state: "visible" });
    assert.equal(await page.evaluate(() => document.activeElement?.id), "account-heading");
    await account(page, "login", name, "not the password");
    await page.locator("#account-error").waitFor({ state: "visible" });
    assert.equal(await page.locator("#username").inputValue(), name, "the name typed is kept");
    assert.equal(await shown(page, "error"), false);
    await account(page, "login", name);
    await waitForText(page, "account-message", new RegExp(`Welcome back, ${name}`));
    await page.locator("#logout-all").click();
    await waitForText(page, "account-message", /Logged out everywhere/);
    assert.equal(await text(page, "beer-name"), "Nothing poured yet", "the fresh session's panel");
    assert.equal(await text(page, "beers-viewed"), "0");
    assert.equal(navigations(), 1, "no reload after the first load");

    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "_redisDemo");
    assert.ok(session?.httpOnly, "the session cookie is HttpOnly");
    assert.doesNotMatch(await page.evaluate(() => document.cookie), /_redisDemo=/, "page script cannot read it");
    assert.deepEqual(problems, [], "no page error, console error or CSP violation");
    const elsewhere = requested.filter((u) => !u.startsWith(wrangler.url));
    assert.deepEqual(elsewhere, [], "nothing fetched from another origin");
  } finally {
    await context.close();
  }
});

test("where you're signed in: two browsers log in as one user; the first ends the second from its list, whose next page is anonymous; a forged handle ends nothing", async () => {
  const name = newUser();
  const firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
  const a = await open({ js: false });
  const b = await open({ js: true, userAgent: firefox });
  try {
    await a.page.goto(wrangler.url + "/", { waitUntil: "load" });
    await Promise.all([a.page.waitForNavigation(), account(a.page, "register", name)]);
    assert.equal(await shown(a.page, "devices-panel"), true, "registering logs in");
    assert.equal(await a.page.locator("#devices li").count(), 1);
    assert.equal(await shown(a.page, "logout-others"), false, "no other session to end");

    await b.page.goto(wrangler.url + "/", { waitUntil: "load" });
    await account(b.page, "login", name);
    await waitForText(b.page, "user", name);
    assert.equal(await b.page.locator("#devices li").count(), 2);
    assert.match(await b.page.locator("#devices li", { hasText: "this browser" }).textContent(), /Firefox on Windows/);

    await a.page.reload({ waitUntil: "load" });
    const items = a.page.locator("#devices li");
    assert.equal(await items.count(), 2);
    const html = await a.page.locator("#devices").innerHTML();
    const bSid = (await b.context.cookies()).find((c) => c.name === "_redisDemo").value;
    assert.ok(!html.includes(decodeURIComponent(bSid).slice(2, 38)), "no other session's id on the page");
    await axe(a.page, "no JavaScript, two sessions listed");
    await shot(a.page, "desktop-nojs-devices");

    // A forged handle: 404, and nothing in Redis changes.
    const before = await snapshot();
    const forged = await a.page.request.post(`${wrangler.url}/api/sessions/${"0".repeat(32)}/logout`, { headers: { origin: wrangler.url } });
    assert.equal(forged.status(), 404);
    assert.deepEqual(await snapshot(), before, "nothing ended or written");

    // The second browser logs out by itself: the first one's list is now
    // stale, and signing that row out says so in the account panel.
    await b.page.locator("#logout").click();
    await b.page.locator("#logged-out").waitFor({ state: "visible" });
    const stale = a.page.locator("#devices li", { hasText: "Firefox on Windows" });
    await Promise.all([a.page.waitForNavigation(), stale.getByRole("button", { name: /Sign out/ }).click()]);
    assert.equal(await shown(a.page, "account-error"), true, "a refusal shows while logged in");
    assert.match(await text(a.page, "account-error"), /none of your signed-in sessions has that handle/);
    assert.equal(await a.page.locator("#devices li").count(), 1);
    await account(b.page, "login", name);
    await waitForText(b.page, "user", name);
    await a.page.reload({ waitUntil: "load" });

    const other = a.page.locator("#devices li", { hasText: "Firefox on Windows" });
    await Promise.all([a.page.waitForNavigation(), other.getByRole("button", { name: /Sign out/ }).click()]);
    assert.match(await text(a.page, "account-message"), /Signed out the session on Firefox on Windows/);
    assert.equal(await a.page.locator("#devices li").count(), 1);
    assert.equal(await shown(a.page, "logged-in"), true, "this one stays logged in");

    await b.page.reload({ waitUntil: "load" });
    assert.equal(await shown(b.page, "logged-out"), true, "the ended session's next request is anonymous");
    assert.equal(await shown(b.page, "devices-panel"), false);
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

const snapshot = () => redisSnapshot(redis.client, { expiry: "ignore" });

test("keyboard only: Tab to Pour and Enter pours; Tab through the account form and Enter logs in; focus is always visible", async () => {
  const name = newUser();
  {
    const res = await fetch(wrangler.url + "/api/register", {
      method: "POST",
      headers: { "content-type": "application/json", origin: wrangler.url },
      body: JSON.stringify({ username: name, password: PASSWORD }),
    });
    assert.equal(res.status, 201);
  }
  const { context, page } = await open({ js: true });
  try {
    await page.goto(wrangler.url + "/", { waitUntil: "load" });
    /** Tabs until `#id` has focus; its outline must show. */
    const tabTo = async (id) => {
      for (let i = 0; i < 30; i++) {
        await page.keyboard.press("Tab");
        if ((await page.evaluate(() => document.activeElement?.id)) === id) {
          const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
          assert.notEqual(outline, "none", `#${id} shows its focus`);
          return;
        }
      }
      assert.fail(`Tab never reached #${id}`);
    };
    await tabTo("pour");
    await page.keyboard.press("Enter");
    await waitForText(page, "beers-viewed", "1");
    await tabTo("username");
    await page.keyboard.type(name);
    await tabTo("password");
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press("Enter");
    await waitForText(page, "user", name);
    assert.equal(await shown(page, "logged-in"), true);
  } finally {
    await context.close();
  }
});

test("at 320 px and at 200 % zoom nothing scrolls sideways; screenshots at phone width", async () => {
  for (const [viewport, what] of [
    [PHONE, "phone"],
    [{ width: 640, height: 450 }, "200% zoom of 1280x900"],
  ]) {
    const { context, page } = await open({ js: true, viewport });
    try {
      await page.goto(wrangler.url + "/", { waitUntil: "load" });
      await page.locator("#pour").click();
      await waitForText(page, "beers-viewed", "1");
      assert.equal(await overflows(page), false, `no horizontal scrolling at ${what}`);
      await axe(page, what);
      if (viewport === PHONE) await shot(page, "phone-js-poured");
    } finally {
      await context.close();
    }
  }
  const { context, page } = await open({ js: false, viewport: PHONE });
  try {
    await page.goto(wrangler.url + "/", { waitUntil: "load" });
    assert.equal(await overflows(page), false);
    await shot(page, "phone-nojs-new");
  } finally {
    await context.close();
  }
});

test("SESSION_MAX_AGE_MS=5000: the countdown reaches zero, the panel says expired, the next pour starts a new session and says so; with BEER_API_URL the page says where the name came from", async () => {
  // A small upstream beer API (BEER_API_URL), counting its calls.
  let calls = 0;
  const upstream = createServer((_req, res) => {
    calls++;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify([{ name: "Upstream Stout", style: "Stout" }]));
  });
  await new Promise((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const vars = { ...VARS, SESSION_MAX_AGE_MS: "5000", BEER_API_URL: `http://127.0.0.1:${upstream.address().port}/beers`, BEER_CACHE_SECONDS: "60" };
  const short = await startWranglerDev({ upstashUrl: upstash.url, token: TOKEN, env: BUILD_ENV, vars });
  const { context, page } = await open({ js: true });
  try {
    await page.goto(short.url + "/", { waitUntil: "load" });
    await page.locator("#pour").click();
    await waitForText(page, "beers-viewed", "1");
    assert.equal(await text(page, "beer-name"), "Upstream Stout");
    assert.match(await text(page, "beer-source"), /beer API just now/);
    assert.equal(calls, 1);
    const sid = await text(page, "session-id");
    assert.ok(Number(await text(page, "expires-in")) <= 5);
    await page.locator("#expired").waitFor({ state: "visible", timeout: 8_000 });
    assert.equal(await text(page, "expires-in"), "0.0");
    await axe(page, "expired");
    await shot(page, "desktop-js-expired");
    await page.locator("#pour").click();
    await waitForText(page, "flash", /session had ended, so this pour started a new one/);
    assert.notEqual(await text(page, "session-id"), sid, "a new session id");
    assert.equal(await text(page, "beers-viewed"), "1", "counting from 1");
    assert.equal(await shown(page, "expired"), false);
    assert.match(await text(page, "beer-source"), /cached in Redis: no call/);
    assert.equal(calls, 1, "the second name came from the cache");
    await axe(page, "a new session after expiry, with its flash message");
  } finally {
    await context.close();
    await short.stop();
    await new Promise((resolve) => upstream.close(resolve));
  }
});

test("with the store down, a pour says so on the page and changes nothing", async () => {
  const { context, page } = await open({ js: true });
  try {
    await page.goto(wrangler.url + "/", { waitUntil: "load" });
    await page.locator("#pour").click();
    await waitForText(page, "beers-viewed", "1");
    await upstash.stop();
    upstash = null;
    await page.locator("#pour").click();
    await page.locator("#error").waitFor({ state: "visible" });
    assert.match(await text(page, "error"), /503.*session store is unavailable/);
    assert.equal(await page.locator("#error").getAttribute("role"), "alert");
    assert.equal(await text(page, "beers-viewed"), "1", "a failed pour changes nothing on the page");
    await shot(page, "desktop-js-store-down");
    problems.length = 0; // the 503 is a console error of its own
  } finally {
    await context.close();
  }
  // Without JavaScript the page itself says so (503, not raw JSON).
  const { context: plain, page: nojs } = await open({ js: false });
  try {
    const res = await nojs.goto(wrangler.url + "/", { waitUntil: "load" });
    assert.equal(res.status(), 503);
    assert.match(res.headers()["content-type"], /^text\/html/);
    assert.equal(await shown(nojs, "error"), true);
    assert.match(await text(nojs, "error"), /503: the session store is unavailable/);
    problems.length = 0;
  } finally {
    await plain.close();
  }
});
