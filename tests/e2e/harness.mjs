// Test harness: real redis-server, the real upstash-local server and the real
// built worker in workerd (Miniflare), each on a free port of 127.0.0.1 and
// stopped by PID. Every end-to-end test file builds on these.
//
// Prerequisites (done by scripts/test.sh): `build/index.js` from
// scripts/build-worker.sh and `target/release/upstash-local`.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "redis";
import { Miniflare } from "miniflare";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const SECRET = "keyboard cat";
export const TOKEN = "local-test-token";
export const COMPATIBILITY_DATE = "2026-04-01";

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freePort() {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** Kills a child process (and waits for it) by PID. */
async function stopChild(child, signal = "SIGTERM") {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  try {
    process.kill(child.pid, signal);
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(child.pid, "SIGKILL");
    } catch {}
  }, 3000);
  await exited;
  clearTimeout(timer);
}

/** Resolves with the first stdout line matching `re`, or rejects on exit/timeout. */
function waitForLine(child, re, what, timeoutMs = 15000) {
  return new Promise((resolve, reject) => {
    let buf = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`${what}: no "${re}" within ${timeoutMs} ms\n${buf}${err}`)), timeoutMs);
    child.stdout.on("data", (d) => {
      buf += d;
      const m = buf.match(re);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}\n${buf}${err}`));
    });
  });
}

/**
 * Starts redis-server on a free port, without persistence.
 * Returns { port, url, client (node-redis, connected), stop() }.
 */
export async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "edge-session-redis-"));
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  await waitForLine(child, /Ready to accept connections/, "redis-server");
  const url = `redis://127.0.0.1:${port}`;
  const client = createClient({ url });
  client.on("error", () => {}); // a test that stops Redis on purpose must not crash the runner
  await client.connect();
  return {
    port,
    url,
    client,
    pid: child.pid,
    async stop() {
      try {
        await client.quit();
      } catch {}
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts target/release/upstash-local in front of `redisUrl`.
 * Returns { url, token, pid, stop() }.
 */
export async function startUpstashLocal({ redisUrl, token = TOKEN }) {
  const bin = path.join(ROOT, "target/release/upstash-local");
  const child = spawn(bin, ["--listen", "127.0.0.1:0", "--redis-url", redisUrl, "--token", token], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const m = await waitForLine(child, /listening on (http:\/\/\S+)/, "upstash-local");
  return { url: m[1], token, pid: child.pid, stop: () => stopChild(child, "SIGINT") };
}

/**
 * Runs the built worker (build/index.js) in workerd through Miniflare.
 * `vars` are added to / override the defaults below; `build: "build-lab"`
 * runs the variant with the /lab/* routes (scripts/build-worker.sh). Returns
 * { mf, fetch(path, init) -> Response, url, stop() } where `url` is a real
 * http://127.0.0.1:<port> origin the worker listens on.
 */
export async function startWorker({ upstashUrl, token = TOKEN, vars = {}, build = "build" }) {
  const port = await freePort();
  const mf = new Miniflare({
    modules: true,
    scriptPath: path.join(ROOT, build, "index.js"),
    modulesRoot: path.join(ROOT, build),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: COMPATIBILITY_DATE,
    cf: false,
    host: "127.0.0.1",
    port,
    bindings: {
      SESSION_SECRET: SECRET,
      UPSTASH_REDIS_REST_URL: upstashUrl,
      UPSTASH_REDIS_REST_TOKEN: token,
      SESSION_COOKIE_NAME: "_redisDemo",
      SESSION_MAX_AGE_MS: "60000",
      SESSION_PREFIX: "sess:",
      ...vars,
    },
  });
  const url = (await mf.ready).origin;
  return {
    mf,
    url,
    fetch: (p, init) => mf.dispatchFetch(new URL(p, url), { redirect: "manual", ...init }),
    stop: () => mf.dispose(),
  };
}

/**
 * Redis + upstash-local + worker. Returns { redis, upstash, worker, stop() }.
 */
export async function startStack({ vars, build } = {}) {
  const redis = await startRedis();
  const upstash = await startUpstashLocal({ redisUrl: redis.url });
  const worker = await startWorker({ upstashUrl: upstash.url, vars, build });
  return {
    redis,
    upstash,
    worker,
    async stop() {
      await worker.stop();
      await upstash.stop();
      await redis.stop();
    },
  };
}

/** The `name=value` part of a Set-Cookie header, or null. */
export function cookiePair(setCookie) {
  return setCookie ? setCookie.split(";")[0] : null;
}

/** The session id inside a `_redisDemo=s%3A<sid>.<sig>` pair. */
export function sidOf(pair) {
  const value = decodeURIComponent(pair.slice(pair.indexOf("=") + 1));
  return value.slice(2, value.lastIndexOf("."));
}
