// How tests, the golden recorder and the benchmarks start things: a real
// redis-server, the real upstash-local, the real built worker in workerd
// (Miniflare), the real `wrangler dev`, and the Express fixtures' servers;
// each on a free port of 127.0.0.1, each stopped by PID (or by its own
// process group), and what /proc says about their CPU time.
//
// Prerequisites (scripts/build.sh): build/index.js (build-lab/ for the lab
// routes) and target/release/upstash-local.

import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { createServer as createHttpsServer } from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "redis";
import { Miniflare } from "miniflare";
import { chromium } from "playwright-core";
import { ROOT, SECRET, TOKEN, wranglerConfig } from "./config.mjs";
import { startMonitor } from "./monitor.mjs";

// ---------------------------------------------------------------------------
// Ports and children

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freePort() {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** Stops a child process by PID with `signal` (SIGKILL after 3 s) and waits for it. */
export async function stopChild(child, signal = "SIGTERM") {
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

/** Resolves with the first stdout match of `re`, or rejects on exit/timeout. */
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

/** Resolves true when `promise` settles within `ms`, false otherwise (no timer left behind). */
export async function within(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------
// Redis and upstash-local

/** A connected node-redis client on `url`; its errors are swallowed (tests stop Redis on purpose). */
export async function connectRedis(url) {
  const client = createClient({ url });
  client.on("error", () => {});
  await client.connect();
  return client;
}

/**
 * Starts redis-server on a free port, without persistence, with `args`
 * added (e.g. ["--replicaof", "127.0.0.1", port]); its files (a replica's
 * snapshot) go to a temporary directory removed by stop().
 * Returns { port, url, client (node-redis, connected), pid, stop() }.
 */
export async function startRedis({ args = [] } = {}) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "edge-session-redis-"));
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  await waitForLine(child, /Ready to accept connections/, "redis-server");
  const url = `redis://127.0.0.1:${port}`;
  const client = await connectRedis(url);
  return {
    port,
    url,
    client,
    pid: child.pid,
    async stop() {
      // Closed at once, not QUIT: a server already gone (a Ctrl-C reaches
      // the whole process group) never answers QUIT, and the process would
      // end waiting for it, before the rest is stopped and removed.
      client.destroy();
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts target/release/upstash-local in front of `redisUrl`, listening on
 * `listen` (a free port by default; the same address again starts a
 * replacement of a stopped one), with `args` added (e.g.
 * ["--fault-injection"]). Returns { url, token, pid, stop() }.
 */
export async function startUpstashLocal({ redisUrl, token = TOKEN, listen = "127.0.0.1:0", args = [] }) {
  const bin = path.join(ROOT, "target/release/upstash-local");
  const child = spawn(bin, ["--listen", listen, "--redis-url", redisUrl, "--token", token, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const m = await waitForLine(child, /listening on (http:\/\/\S+)/, "upstash-local");
  return { url: m[1], token, pid: child.pid, stop: () => stopChild(child, "SIGINT") };
}

/**
 * Sets the fault switch of an upstash-local started with
 * `args: ["--fault-injection"]` (docs/PROTOCOL.md §5.5): `fault` is
 * {mode, delay_ms?, only?, times?}.
 */
export async function setFault(upstash, fault) {
  const res = await fetch(`${upstash.url}/_fault`, {
    method: "POST",
    headers: { authorization: `Bearer ${upstash.token}`, "content-type": "application/json" },
    body: JSON.stringify(fault),
  });
  if (res.status !== 200) throw new Error(`upstash-local refused the fault ${JSON.stringify(fault)}: ${res.status} ${await res.text()}`);
}

/**
 * One call to a control endpoint of upstash-local (`/_stats`…), with its
 * token and `body` (sent as JSON when given): the JSON answer.
 */
async function control(upstash, method, path, body) {
  const headers = { authorization: `Bearer ${upstash.token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${upstash.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`upstash-local ${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/**
 * The counts of an upstash-local started with `args: ["--stats"]`
 * (docs/PROTOCOL.md §5.5) since its start or the last reset:
 * { http_calls, commands, by_endpoint: {"/", "/pipeline", "/multi-exec"},
 * calls: [[command names of each call], …], servers: ["primary" |
 * "replica" | null (it reached no Redis), one per call] }. A call is
 * counted once its answer is ready, so the calls a client has had answered
 * are all in.
 */
export const storeStats = (upstash) => control(upstash, "GET", "/_stats");

/** Starts the counts of {@link storeStats} again from zero; resolves with the counts it cleared. */
export const resetStoreStats = (upstash) => control(upstash, "POST", "/_stats/reset");

/**
 * Holds replication back (`hold` true) or lets the replica catch up (false)
 * on an upstash-local started with `--replica` (startStack({ replica: true
 * }); docs/PROTOCOL.md §5.5). Held, a read without a sync token is served
 * stale by the replica; one with a newer token waits 500 ms, then the
 * primary serves it. A release resolves once the replica has caught up.
 * Resolves with the state: { hold, state: "following"|"held"|"catching-up",
 * primary_offset, replica_offset }.
 */
export const holdReplication = (upstash, hold) => control(upstash, "POST", "/_replication", { hold });

/** The replication state of {@link holdReplication}, without changing it. */
export const replicationState = (upstash) => control(upstash, "GET", "/_replication");

// ---------------------------------------------------------------------------
// workerd (Miniflare)

/**
 * Runs a script in workerd through Miniflare, on a free port of 127.0.0.1,
 * with the compatibility_date of `wrangler` (a wrangler.toml). `options`
 * are Miniflare's (script or scriptPath, modules, bindings…). Returns
 * { mf, url, fetch(path, init) -> Response, stop() } where `url` is the real
 * http://127.0.0.1:<port> origin and `fetch` dispatches through Miniflare.
 */
export async function startMiniflare({ wrangler = "wrangler.toml", ...options }) {
  for (let attempt = 1; ; attempt++) {
    const mf = new Miniflare({
      modules: true,
      compatibilityDate: wranglerConfig(wrangler).compatibilityDate,
      cf: false,
      host: "127.0.0.1",
      port: await freePort(),
      ...options,
    });
    try {
      const url = (await mf.ready).origin;
      return {
        mf,
        url,
        fetch: (p, init) => mf.dispatchFetch(new URL(p, url), { redirect: "manual", ...init }),
        stop: () => mf.dispose(),
      };
    } catch (e) {
      await mf.dispose().catch(() => {});
      // The port freePort() found was bound by another process before
      // workerd bound it (test files run side by side, and Miniflare and
      // workerd take ports of their own): try another, unless the caller
      // chose the port.
      if (e?.code !== "ERR_ADDRESS_IN_USE" || options.port !== undefined || attempt >= 3) throw e;
    }
  }
}

/**
 * Runs a built worker (`build`/index.js, a directory relative to the
 * repository root or absolute: "build", "build-lab" for the /lab/* routes,
 * "examples/minimal/build"…) in workerd. Its bindings are the test secret,
 * upstash-local's URL and token, the [vars] of `wrangler` (a wrangler.toml,
 * relative to the root or absolute; its compatibility_date too), and `vars`
 * over them; `miniflare`: more of Miniflare's options (e.g.
 * handleRuntimeStdio, to read the worker's log); `assets`: the page's
 * files (build/www, made by scripts/build-worker.sh) as its ASSETS binding,
 * so that `GET /` answers the page. Returns what {@link startMiniflare} does.
 */
export async function startWorker({ upstashUrl, token = TOKEN, vars = {}, build = "build", wrangler = "wrangler.toml", miniflare = {}, assets = false }) {
  const dir = path.resolve(ROOT, build);
  // With `assets`, the page's files (build/www) as the ASSETS binding, the
  // worker first for every path, as wrangler.toml routes `/` and /api/*.
  const pageAssets = assets
    ? { assets: { directory: path.join(ROOT, "build/www"), binding: "ASSETS", routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true } } }
    : {};
  return startMiniflare({
    ...pageAssets,
    ...miniflare,
    wrangler,
    scriptPath: path.join(dir, "index.js"),
    modulesRoot: dir,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    bindings: workerBindings({ upstashUrl, token, vars, wrangler }),
  });
}

/**
 * The configuration {@link startWorker} gives the worker (the test secret,
 * upstash-local's URL and token, the [vars] of `wrangler`, `vars` over
 * them), as name → string: also the environment of the operator's CLI
 * (target/release/edge-session), configured exactly like the worker.
 */
export function workerBindings({ upstashUrl, token = TOKEN, vars = {}, wrangler = "wrangler.toml" }) {
  return {
    // The tests sign with express-session's own example secret, "keyboard
    // cat", as the golden vectors were recorded: a development setting.
    SESSION_ENVIRONMENT: "development",
    SESSION_SECRET: SECRET,
    UPSTASH_REDIS_REST_URL: upstashUrl,
    UPSTASH_REDIS_REST_TOKEN: token,
    ...wranglerConfig(wrangler).vars,
    ...vars,
  };
}

/** The operator's command line, built by scripts/build.sh (`cargo build --release -p edge-session-cli`). */
export const EDGE_SESSION_BIN = path.join(ROOT, "target/release/edge-session");

/**
 * An environment for {@link EDGE_SESSION_BIN}: the worker's configuration
 * ({@link workerBindings}) and nothing of this process's but PATH (so a
 * developer's own UPSTASH_* stays out), HOME at `home`, no colours.
 */
export function cliEnvironment({ home, ...config }) {
  return { PATH: process.env.PATH, HOME: home, NO_COLOR: "1", TERM: "dumb", ...workerBindings(config) };
}

/**
 * redis-server + upstash-local (with `upstashArgs` added, e.g. ["--stats"]),
 * and (unless `worker: false`) the worker on them (`vars`, `build`,
 * `wrangler` as in {@link startWorker}); with `monitor` (startMonitor()'s
 * options, or true), a MONITOR on the Redis for the whole run. With
 * `replica: true`, a second redis-server replicates the first and
 * upstash-local serves reads from it (`--replica`; see
 * {@link holdReplication}); the primary sends its snapshot without delay,
 * so a release is quick, and `monitor` watches the primary only (reads
 * served by the replica are not in it). Returns { redis, replicaRedis (null without
 * `replica`), upstash, worker, monitor, stop() }.
 */
export async function startStack({ worker = true, monitor = false, vars, build, wrangler, upstashArgs = [], replica = false, assets = false } = {}) {
  const redis = await startRedis({ args: replica ? ["--repl-diskless-sync-delay", "0"] : [] });
  const replicaRedis = replica ? await startRedis({ args: ["--replicaof", "127.0.0.1", String(redis.port)] }) : null;
  const args = replica ? ["--replica", replicaRedis.url, ...upstashArgs] : upstashArgs;
  const upstash = await startUpstashLocal({ redisUrl: redis.url, args });
  const w = worker ? await startWorker({ upstashUrl: upstash.url, vars, build, wrangler, assets }) : null;
  const mon = monitor ? await startMonitor(redis.client, monitor === true ? {} : monitor) : null;
  return {
    redis,
    replicaRedis,
    upstash,
    worker: w,
    monitor: mon,
    async stop() {
      await mon?.stop();
      await w?.stop();
      await upstash.stop();
      await replicaRedis?.stop();
      await redis.stop();
    },
  };
}

/** A TCP server on 127.0.0.1 that accepts connections and never answers. */
export async function silentServer() {
  const sockets = new Set();
  let total = 0;
  const srv = createServer((s) => {
    total += 1;
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  });
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  return {
    url: `http://127.0.0.1:${srv.address().port}`,
    /** How many connections were accepted so far. */
    accepted: () => total,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}

// ---------------------------------------------------------------------------
// The Express fixtures' servers

/**
 * Serves the Express `app` on a free port of 127.0.0.1 and, with `tls`
 * (https options), over real https on another. Returns { url, httpsUrl,
 * stop() }; stop() closes every connection and both servers.
 */
export async function serve(app, { tls, port = 0 } = {}) {
  const servers = [app.listen(port, "127.0.0.1")];
  if (tls) servers.push(createHttpsServer(tls, app).listen(0, "127.0.0.1"));
  await Promise.all(servers.map((s) => once(s, "listening")));
  return {
    url: `http://127.0.0.1:${servers[0].address().port}`,
    httpsUrl: tls ? `https://127.0.0.1:${servers[1].address().port}` : undefined,
    async stop() {
      await Promise.all(
        servers.map((server) => {
          const closed = new Promise((r) => server.close(r));
          server.closeAllConnections();
          return closed;
        }),
      );
    },
  };
}

// ---------------------------------------------------------------------------
// wrangler dev (the browser test)

/**
 * Runs scripts/build-worker.sh (a no-op when build/ is up to date) with
 * `env`, so that a stale or broken build fails here, with the compiler's
 * output, rather than as a wrangler start-up timeout.
 */
export function ensureBuilt(env = {}) {
  const r = spawnSync(path.join(ROOT, "scripts/build-worker.sh"), [], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 280_000,
    killSignal: "SIGKILL",
  });
  if (r.error || r.status !== 0) {
    throw new Error(
      `scripts/build-worker.sh failed (${r.error?.message ?? `exit ${r.status}, signal ${r.signal}`})\n` +
        `${r.stdout ?? ""}${(r.stderr ?? "").slice(-6000)}`,
    );
  }
  if (!existsSync(path.join(ROOT, "build/index.js"))) throw new Error("build/index.js is missing after the build");
}

const WRANGLER_READY_MS = 60_000;

/**
 * Starts the real `wrangler dev` from the repository root with wrangler.toml
 * as it is. Secrets go in a temporary env file (so a developer's .dev.vars
 * is not read and the token is not on the command line); the Upstash URL is
 * a `--var`, as is each of `vars`; `env` is added to wrangler's environment. Ready when the worker
 * answers /api/session with 200. Returns { url, pid, pgid, output(), stop() }.
 */
export async function startWranglerDev({ upstashUrl, token = TOKEN, env = {}, vars = {} }) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "edge-session-wrangler-"));
  const envFile = path.join(dir, "secrets.env");
  writeFileSync(envFile, `SESSION_SECRET="${SECRET}"\nUPSTASH_REDIS_REST_TOKEN="${token}"\n`, { mode: 0o600 });
  const args = [
    "dev",
    "--ip", "127.0.0.1",
    "--port", String(port),
    "--inspector-ip", "127.0.0.1",
    "--inspector-port", String(inspectorPort),
    "--log-level", "warn",
    "--show-interactive-dev-session=false",
    "--persist-to", path.join(dir, "state"),
    "--env-file", envFile,
    "--var", `UPSTASH_REDIS_REST_URL:${upstashUrl}`,
    // "keyboard cat" signs, as in express-session's examples: development.
    "--var", "SESSION_ENVIRONMENT:development",
    ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
  ];
  let out = "";
  // Its own process group, so that workerd (its child) can be found and
  // stopped with it.
  const child = spawn(path.join(ROOT, "node_modules/.bin/wrangler"), args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      ...env,
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      WRANGLER_LOG_PATH: path.join(dir, "logs"),
      NO_COLOR: "1",
      FORCE_COLOR: "0",
    },
  });
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const pgid = child.pid;

  const handle = {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    pgid,
    output: () => out,
    /**
     * SIGINT to wrangler by PID; workerd follows. Whatever of its process
     * group still runs after that gets SIGTERM, then SIGKILL. Resolves with
     * what had to be killed (empty when wrangler cleaned up after itself);
     * rejects if something survives.
     */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid, "SIGINT");
        } catch {}
        if (!(await within(exited, 10_000))) {
          signalGroup(pgid, "SIGKILL");
          await exited;
        }
      }
      const killed = [];
      for (let i = 0; i < 60; i++) {
        const live = liveGroupMembers(pgid);
        if (live.length === 0) break;
        if (i === 20) {
          killed.push(...live);
          signalGroup(pgid, "SIGTERM");
        }
        if (i === 40) signalGroup(pgid, "SIGKILL");
        await sleep(100);
      }
      rmSync(dir, { recursive: true, force: true });
      const survivors = liveGroupMembers(pgid);
      if (survivors.length) throw new Error(`still running in wrangler's process group ${pgid}: ${survivors.join("; ")}`);
      return killed;
    },
  };

  const deadline = Date.now() + WRANGLER_READY_MS;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await handle.stop();
      throw new Error(`wrangler dev exited (${child.exitCode ?? child.signalCode}) before it was ready\n${out}`);
    }
    try {
      const res = await fetch(`${handle.url}/api/session`, { signal: AbortSignal.timeout(5000) });
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) return handle;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await sleep(200);
  }
  await handle.stop();
  throw new Error(`wrangler dev: /api/session did not answer 200 within ${WRANGLER_READY_MS} ms (last: ${last})\n${out}`);
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {}
}

// ---------------------------------------------------------------------------
// /proc

/** Fields 3… of /proc/<pid>/stat (f[0] is the state), or null when the process is gone. */
function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return { comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), f: stat.slice(stat.lastIndexOf(")") + 2).split(" ") };
  } catch {
    return null;
  }
}

/** Debian's Chromium, or `CHROMIUM_PATH`. */
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/**
 * Debian's Chromium launched headless through playwright-core, with up to
 * `attempts` tries. Why the retry: on these machines Chromium has now and
 * then died of SIGSEGV while starting (playwright: "Target page, context or
 * browser has been closed"), before any page or server of the test was
 * involved; a second launch then works. Each failed launch is printed, so a
 * browser that never starts still fails the test with every reason.
 */
export async function launchChromium({ args = [], attempts = 3, timeout = 30_000 } = {}) {
  const failures = [];
  for (let i = 1; i <= attempts; i++) {
    try {
      return await chromium.launch({ executablePath: CHROMIUM, args, timeout });
    } catch (e) {
      failures.push(e);
      console.error(`# Chromium launch ${i} of ${attempts} failed: ${e.message.split("\n")[0]}`);
      if (i < attempts) await sleep(1000);
    }
  }
  throw new AggregateError(failures, `Chromium did not start in ${attempts} attempts`);
}

/**
 * CPU time of a process in clock ticks (utime + stime: `self`; of its reaped
 * children: `children`) and its parent's PID, or null if it is gone.
 */
export function cpuTicks(pid) {
  const s = statFields(pid);
  if (!s) return null;
  const { f } = s;
  return { self: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]), ppid: Number(f[1]) };
}

/**
 * CPU time of a process's main thread in nanoseconds (the first field of
 * /proc/<pid>/schedstat: time on a CPU, from the scheduler's own clock).
 * Finer than `cpuTicks`' 10 ms ticks, so a short run of requests can be
 * measured. For workerd, the main thread is the one that runs the isolate
 * and the event loop; V8's helper threads (background compiles, concurrent
 * GC marking), whose share comes and goes, are not in it. Throws when the
 * file cannot be read (the process is gone, or the kernel keeps no
 * scheduler statistics): a missing reading must not pass for 0 ns.
 */
export function mainThreadCpuNanos(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/schedstat`, "utf8");
  } catch (e) {
    throw new Error(`cannot read /proc/${pid}/schedstat: the process is gone, or the kernel keeps no scheduler statistics`, { cause: e });
  }
  return Number(text.split(" ")[0]);
}

function pids() {
  return readdirSync("/proc").filter((e) => /^\d+$/.test(e)).map(Number);
}

/** The PIDs of this process's direct children named `comm` (workerd is spawned by Miniflare). */
export function childrenNamed(comm) {
  return pids().filter((pid) => {
    const s = statFields(pid);
    return s?.comm === comm && Number(s.f[1]) === process.pid;
  });
}

/**
 * The processes of group `pgid` that still run, as "pid comm". Zombies do
 * not count: they have exited and only wait to be reaped by their new parent.
 */
export function liveGroupMembers(pgid) {
  const live = [];
  for (const pid of pids()) {
    const s = statFields(pid);
    if (s && Number(s.f[2]) === pgid && s.f[0] !== "Z") live.push(`${pid} ${s.comm}`);
  }
  return live;
}
