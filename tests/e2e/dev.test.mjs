// `make dev` as a newcomer runs it (scripts/dev.sh, on free ports): the
// demo page at the worker's port, filled in, and the Express companion on
// its own port of 127.0.0.1 serving the same session (cookies on 127.0.0.1
// are shared across ports): "Open this session in Express" shows the same
// id and count, and a pour there shows up on the worker's page. Driven by
// Chromium; the whole process group is stopped by PID.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { UUID_V4, freePort, launchChromium, sleep, within } from "../support/index.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const MARKER = "# written by scripts/dev.sh; delete to regenerate";
const ownDevVars = existsSync(path.join(ROOT, ".dev.vars")) && !readFileSync(path.join(ROOT, ".dev.vars"), "utf8").includes(MARKER);

test("make dev: the page at the worker's port, and the Express companion serving the same session", { skip: ownDevVars && "a .dev.vars of your own is in the way (scripts/dev.sh refuses to overwrite it)", timeout: 300_000 }, async () => {
  const ports = { REDIS_PORT: await freePort(), UPSTASH_PORT: await freePort(), PORT: await freePort(), EXPRESS_PORT: await freePort() };
  let out = "";
  const dev = spawn(path.join(ROOT, "scripts/dev.sh"), [], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), NO_COLOR: "1" },
  });
  dev.stdout.on("data", (d) => (out += d));
  dev.stderr.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => dev.once("exit", resolve));
  const worker = `http://127.0.0.1:${ports.PORT}`;
  const express = `http://127.0.0.1:${ports.EXPRESS_PORT}`;
  const browser = await launchChromium({ args: ["--headless", "--no-sandbox", "--disable-gpu"] });
  try {
    // Up when both answer (the first run builds the worker).
    for (let i = 0; ; i++) {
      const up = await Promise.all([worker, express].map((u) => fetch(u + "/").then((r) => r.ok, () => false)));
      if (up.every(Boolean)) break;
      assert.ok(i < 480 && dev.exitCode === null, `make dev did not come up:\n${out.slice(-3000)}`);
      await sleep(250);
    }
    const page = await (await browser.newContext()).newPage();
    await page.goto(worker + "/", { waitUntil: "load" });
    await page.locator("#pour").click();
    await page.waitForFunction(() => document.getElementById("beers-viewed").textContent === "1");
    const sid = await page.locator("#session-id").textContent();
    assert.match(sid, UUID_V4);
    assert.match(await page.locator("#page-cost-text").textContent(), /store round trip/);
    assert.match(await page.locator("#stored-document").textContent(), /"views":1/);
    assert.equal(await page.locator("#express-panel").isVisible(), true);
    await Promise.all([page.waitForNavigation(), page.locator("#express-link").click()]);
    assert.equal(page.url(), express + "/");
    assert.equal(await page.locator("#session-id").textContent(), sid, "the same session, served by Node");
    assert.equal(await page.locator("#beers-viewed").textContent(), "1", "the same count");
    await Promise.all([page.waitForNavigation(), page.locator("#pour").click()]);
    assert.equal(await page.locator("#beers-viewed").textContent(), "2");
    await page.goto(worker + "/", { waitUntil: "load" });
    assert.equal(await page.locator("#session-id").textContent(), sid);
    assert.equal(await page.locator("#beers-viewed").textContent(), "2", "the pour in Express shows up here");
  } finally {
    await browser.close();
    try {
      process.kill(-dev.pid, "SIGINT");
    } catch {}
    if (!(await within(exited, 15_000))) {
      try {
        process.kill(-dev.pid, "SIGKILL");
      } catch {}
      await exited;
    }
  }
});
