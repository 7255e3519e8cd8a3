// Benchmarks of the built worker, in one run on one machine, printed as a
// Markdown report on stdout (progress goes to stderr). Run it through
// `make bench` (scripts/bench.sh), which builds first and cleans up after.
//
//   1. Size of build/index_bg.wasm and build/index.js, raw and gzip -9.
//   2. wrk against the worker (workerd via Miniflare, on its own 127.0.0.1
//      port), against the reference Express app (express-session +
//      connect-redis) on the same redis-server, against upstash-local
//      alone (the store's floor) and against a few lines of JavaScript in
//      workerd (the runtime's own floor, and the same two store calls without
//      the session logic). Each row also counts the Redis commands it caused
//      (INFO commandstats) and the CPU time each process spent.
//   3. The machine and the versions.
//
// Knobs (environment): BENCH_DURATION (s, 8), BENCH_WARMUP (s, 2),
// BENCH_CONNECTIONS (16), BENCH_THREADS (2), BENCH_DEADLINE (s, 180 with
// the defaults; the 12 rows take 12 × (warm-up + duration) + ~10 s; after
// the deadline the run is abandoned and everything it started is stopped).
//
// Reuses the test support (tests/support/) and the reference app
// (tests/fixtures/express-app.mjs): the same processes the tests check.

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from "node:fs";
import { tmpdir, cpus, totalmem, release, loadavg } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { performance } from "node:perf_hooks";
import { ROOT, TOKEN, startRedis, startUpstashLocal, startWorker, startMiniflare, cpuTicks, childrenNamed } from "../tests/support/index.mjs";
import { startExpress } from "../tests/fixtures/express-app.mjs";

const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const DEADLINE = Number(process.env.BENCH_DEADLINE ?? 15 * (DURATION + WARMUP) + 30);
const COMMANDS = ["get", "set", "expire", "del"]; // the session commands counted per request
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

const log = (...a) => console.error("[bench]", ...a);

// ---------------------------------------------------------------------------
// Everything started here is stopped in `cleanup`, whatever happens.

const stoppers = []; // run in reverse order
let cleaning = null;
let scratch = null; // temp dir of the wrk scripts
const running = new Set(); // wrk children

function cleanup() {
  cleaning ??= (async () => {
    for (const child of running) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {}
    }
    for (const stop of stoppers.reverse()) {
      try {
        await stop();
      } catch (e) {
        log("cleanup:", e?.message ?? e);
      }
    }
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, async () => {
    log(`${sig}: stopping everything`);
    await cleanup();
    process.exit(130);
  });
}
const deadline = setTimeout(async () => {
  log(`deadline of ${DEADLINE}s reached: stopping everything`);
  await cleanup();
  process.exit(124);
}, DEADLINE * 1000);
deadline.unref();

// ---------------------------------------------------------------------------
// Small helpers.

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (e) {
    // `wrk -v` prints its version and exits 1.
    const out = `${e.stdout ?? ""}${e.stderr ?? ""}`.trim();
    return out || "n/a";
  }
}

const pkgVersion = (name) => JSON.parse(readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const ms = (us) => (us / 1000).toFixed(2);
const fmt = (n, d = 0) => n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });

/** Busy and total jiffies of the whole machine (all cores). */
function machineTicks() {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = f[3] + (f[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** `INFO commandstats` as { get: calls, set: calls, ... }. */
async function commandCalls(client) {
  const info = await client.sendCommand(["INFO", "commandstats"]);
  const calls = {};
  for (const m of String(info).matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) calls[m[1]] = Number(m[2]);
  return calls;
}

// ---------------------------------------------------------------------------
// wrk.

/**
 * A wrk Lua script: every request is built once in init() and the list is
 * cycled (one request per session cookie, or a single one). done() prints
 * wrk's own summary as one JSON line, so nothing is parsed from its text.
 */
function wrkScript({ method, path: urlPath, headers = [{}], body = null }) {
  const lua = (s) => JSON.stringify(s); // a JSON string is a valid Lua string literal for these ASCII values
  const variants = headers
    .map((h) => `{${Object.entries(h).map(([k, v]) => `[${lua(k)}] = ${lua(v)}`).join(", ")}}`)
    .join(",\n  ");
  return `-- generated by bench/run.mjs
local variants = {
  ${variants}
}
local reqs = {}
local i = 0
init = function(args)
  for k, h in ipairs(variants) do
    reqs[k] = wrk.format(${lua(method)}, ${lua(urlPath)}, h, ${body === null ? "nil" : lua(body)})
  end
end
request = function()
  i = i % #reqs + 1
  return reqs[i]
end
done = function(s, lat, req)
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}\\n',
    s.requests, s.duration, s.bytes, s.errors.connect, s.errors.read, s.errors.write,
    s.errors.status, s.errors.timeout,
    lat:percentile(50), lat:percentile(90), lat:percentile(99), lat.max, lat.mean))
end
`;
}

/** Runs wrk for `seconds` with `script` against `url`; resolves with its summary. */
function runWrk(url, script, seconds, { threads, connections }) {
  return new Promise((resolve, reject) => {
    const args = ["-t", String(threads), "-c", String(connections), "-d", `${seconds}s`, "--timeout", "5s", "--latency", "-s", script, url];
    const child = spawn("wrk", args, {
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(child);
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), (seconds + 15) * 1000);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const m = out.match(/^BENCH_RESULT (.*)$/m);
      if (code !== 0 || !m) return reject(new Error(`wrk ${url} failed (${code ?? signal})\n${out}${err}`));
      resolve(JSON.parse(m[1]));
    });
  });
}

// ---------------------------------------------------------------------------
// Preflight: each row's request must answer as the benchmark assumes.

async function newCookie(base) {
  const res = await fetch(`${base}/api/session`);
  const lines = res.headers.getSetCookie();
  await res.arrayBuffer();
  if (res.status !== 200 || lines.length !== 1) throw new Error(`${base}: GET /api/session gave ${res.status}, Set-Cookie ${JSON.stringify(lines)}`);
  return lines[0].split(";")[0];
}

async function expectJson(res, what, check) {
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${what}: HTTP ${res.status}: ${text}`);
  const body = JSON.parse(text);
  const problem = check(body, res);
  if (problem) throw new Error(`${what}: ${problem}: ${text}`);
}

// ---------------------------------------------------------------------------

/**
 * Two diagnostic workers in JavaScript, for the "where does the time go"
 * rows: `/hello` answers at once (workerd and Miniflare's own cost per
 * request); `/store?key=` makes the read path's two Upstash calls (GET, then
 * EXPIRE) with the worker's headers and nothing else.
 */
const PROBE_SCRIPT = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/store") {
      const key = url.searchParams.get("key");
      const headers = { Authorization: "Bearer " + env.TOKEN, "Content-Type": "application/json", "Upstash-Encoding": "base64" };
      for (const cmd of [["GET", key], ["EXPIRE", key, "60"]]) {
        const res = await fetch(env.UPSTASH, { method: "POST", headers, body: JSON.stringify(cmd) });
        const body = await res.json();
        if (!res.ok || body.error) return new Response(JSON.stringify(body), { status: 502 });
      }
    }
    return new Response('{"ok":true}', { headers: { "Content-Type": "application/json; charset=utf-8" } });
  },
};
`;

async function main() {
  const started = new Date();
  const t0 = performance.now();
  const loadAtStart = loadavg().map((x) => x.toFixed(2)).join(" ");

  // --- machine -------------------------------------------------------------
  const cpuModel = (readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.*)$/m) ?? [])[1] ?? cpus()[0]?.model ?? "n/a";
  const machine = [
    ["CPU", `${cpuModel}, \`nproc\` = ${sh("nproc", [])}`],
    ["memory", `${(totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ["kernel", `Linux ${release()}`],
    ["load average at start (1/5/15 min)", loadAtStart],
    ["node", process.version],
    ["rustc", sh("rustc", ["-V"])],
    ["redis-server", sh("redis-server", ["--version"]).replace(/ sha=.*$/, "")],
    ["wrk", sh("wrk", ["-v"]).split("\n")[0].replace(/ Copyright.*$/, "")],
    ["workerd / miniflare", `${pkgVersion("workerd")} / ${pkgVersion("miniflare")}`],
    ["express / express-session / connect-redis / redis", `${pkgVersion("express")} / ${pkgVersion("express-session")} / ${pkgVersion("connect-redis")} / ${pkgVersion("redis")}`],
    ["commit", `${sh("git", ["rev-parse", "--short", "HEAD"])}${sh("git", ["status", "--porcelain", "--untracked-files=no"]) ? " (with uncommitted changes)" : ""}`],
    ["command", "`make bench` (`./scripts/bench.sh` → `node bench/run.mjs`)"],
  ];

  // --- size ----------------------------------------------------------------
  const files = ["build/index_bg.wasm", "build/index.js"].map((f) => {
    const buf = readFileSync(path.join(ROOT, f));
    return { f, raw: buf.length, gz: gzipSync(buf, { level: 9 }).length };
  });
  const total = { raw: files.reduce((a, x) => a + x.raw, 0), gz: files.reduce((a, x) => a + x.gz, 0) };
  const builtAt = statSync(path.join(ROOT, "build/index.js")).mtime;

  // --- processes -----------------------------------------------------------
  log("starting redis-server, upstash-local, the worker and a probe worker (Miniflare), Express");
  const redis = await startRedis();
  stoppers.push(() => redis.stop());
  const upstash = await startUpstashLocal({ redisUrl: redis.url });
  stoppers.push(() => upstash.stop());
  let t = performance.now();
  const worker = await startWorker({ upstashUrl: upstash.url });
  stoppers.push(() => worker.stop());
  const workerReadyMs = performance.now() - t;
  // The first request of the fresh isolate, then the same request again.
  const firstMs = [];
  for (let i = 0; i < 2; i++) {
    t = performance.now();
    await newCookie(worker.url);
    firstMs.push(performance.now() - t);
  }
  const probe = await startMiniflare({ script: PROBE_SCRIPT, bindings: { UPSTASH: upstash.url, TOKEN } });
  stoppers.push(() => probe.stop());
  const probeUrl = probe.url;
  const express = await startExpress({ redisUrl: redis.url });
  stoppers.push(() => express.stop());
  scratch = mkdtempSync(path.join(tmpdir(), "edge-session-bench-"));

  // Miniflare spawns workerd as a direct child of this process (one per
  // instance; the idle one adds ~0 to a row).
  const workerdPids = childrenNamed("workerd");
  if (workerdPids.length === 0) log("warning: no workerd child found; its CPU column will be empty");

  // --- the rows ------------------------------------------------------------
  // `prepare()` runs after a FLUSHALL, checks that the request answers as
  // this row assumes, and returns what wrk sends. `traffic` is SPEC §4's
  // Redis traffic for one request; the run measures it too.
  const UPSTASH_HEADERS = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json", "Upstash-Encoding": "base64" };
  const sessionKey = (cookie) => `sess:${decodeURIComponent(cookie.split("=")[1]).slice(2).replace(/\.[^.]*$/, "")}`;
  const cookies = async (base) => {
    const list = [];
    for (let i = 0; i < CONNECTIONS; i++) list.push(await newCookie(base));
    return list;
  };
  async function prepareFloor() {
    const body = JSON.stringify(["GET", sessionKey(await newCookie(worker.url))]);
    const res = await fetch(upstash.url, { method: "POST", headers: UPSTASH_HEADERS, body });
    await expectJson(res, "upstash-local GET", (b) => (typeof b.result === "string" ? null : "no document"));
    return { method: "POST", path: "/", headers: [UPSTASH_HEADERS], body };
  }
  const impls = [
    ["worker", "worker (workerd)", worker.url],
    ["express", "Express (Node)", express.url],
  ];
  const cases = [
    { id: "floor", group: "store", label: "upstash-local alone", request: 'POST / `["GET", key]`', traffic: "GET", url: upstash.url, prepare: prepareFloor },
    {
      id: "floor-c1",
      group: "store",
      label: "upstash-local alone, 1 connection",
      request: 'POST / `["GET", key]`',
      traffic: "GET",
      url: upstash.url,
      load: { threads: 1, connections: 1 },
      prepare: prepareFloor,
    },
    {
      id: "probe-hello",
      group: "probe",
      label: "JS probe worker (workerd)",
      request: "GET /hello: answers at once",
      traffic: "none",
      url: probeUrl,
      async prepare() {
        await expectJson(await fetch(`${probeUrl}/hello`), "probe hello", (b) => (b.ok ? null : "not ok"));
        return { method: "GET", path: "/hello" };
      },
    },
    {
      id: "probe-store",
      group: "probe",
      label: "JS probe worker (workerd)",
      request: "GET /store: the read path's two Upstash calls, nothing else",
      traffic: "GET ; EXPIRE",
      url: probeUrl,
      async prepare() {
        const p = `/store?key=${encodeURIComponent(sessionKey(await newCookie(worker.url)))}`;
        await expectJson(await fetch(probeUrl + p), "probe store", (b) => (b.ok ? null : "not ok"));
        return { method: "GET", path: p };
      },
    },
  ];
  // Worker and Express alternate, so that a disturbance of the machine hits
  // both sides of a comparison alike.
  for (const [impl, label, base] of impls) {
    const prepareRead = async () => {
      const list = await cookies(base);
      const res = await fetch(`${base}/api/session`, { headers: { Cookie: list[0] } });
      await expectJson(res, `${impl} read`, (b, r) =>
        r.headers.getSetCookie().length ? "unexpected Set-Cookie" : list[0].includes(b.sessionID) ? null : "another session",
      );
      return { method: "GET", path: "/api/session", headers: list.map((c) => ({ Cookie: c })) };
    };
    cases.push({
      id: `${impl}-read`,
      group: "read",
      label,
      request: "GET /api/session, valid cookie",
      traffic: "GET ; EXPIRE",
      url: base,
      prepare: prepareRead,
    });
    cases.push({
      id: `${impl}-read-c1`,
      group: "read-c1",
      label: `${label}, 1 connection`,
      request: "GET /api/session, valid cookie",
      traffic: "GET ; EXPIRE",
      url: base,
      load: { threads: 1, connections: 1 },
      prepare: prepareRead,
    });
    cases.push({
      id: `${impl}-write`,
      group: "write",
      label,
      request: "POST /api/pour, valid cookie",
      traffic: "GET ; SET",
      url: base,
      async prepare() {
        const list = await cookies(base);
        const res = await fetch(`${base}/api/pour`, { method: "POST", headers: { Cookie: list[0] }, body: "" });
        await expectJson(res, `${impl} pour`, (b, r) =>
          r.headers.getSetCookie().length !== 1 ? "no Set-Cookie" : b.beersViewed === 1 ? null : "views not counted",
        );
        return { method: "POST", path: "/api/pour", headers: list.map((c) => ({ Cookie: c })), body: "" };
      },
    });
    cases.push({
      id: `${impl}-new`,
      group: "new",
      label,
      request: "GET /api/session, no cookie",
      traffic: "SET (new session)",
      url: base,
      async prepare() {
        await newCookie(base);
        return { method: "GET", path: "/api/session" };
      },
    });
  }
  const order = ["store", "probe", "read", "read-c1", "write", "new"];
  cases.sort((a, b) => order.indexOf(a.group) - order.indexOf(b.group)); // stable: worker before Express

  const rows = [];
  const usPerTick = 1e6 / CLK_TCK;
  for (const c of cases) {
    await redis.client.flushAll();
    const spec = await c.prepare();
    const script = path.join(scratch, `${c.id}.lua`);
    writeFileSync(script, wrkScript(spec));
    const url = new URL(spec.path, c.url).href;

    const load = c.load ?? { threads: THREADS, connections: CONNECTIONS };
    log(`${c.id}: warm-up ${WARMUP}s, then ${DURATION}s (${load.threads} threads, ${load.connections} connections)`);
    if (WARMUP > 0) await runWrk(url, script, WARMUP, load);

    await redis.client.sendCommand(["CONFIG", "RESETSTAT"]);
    const pids = { redis: [redis.pid], upstash: [upstash.pid], workerd: workerdPids };
    const before = Object.fromEntries(Object.entries(pids).map(([k, ps]) => [k, ps.map(cpuTicks)]));
    const selfBefore = cpuTicks(process.pid);
    const nodeBefore = process.cpuUsage();
    const machineBefore = machineTicks();
    const wallBefore = performance.now();

    const r = await runWrk(url, script, DURATION, load);

    const wallS = (performance.now() - wallBefore) / 1000;
    const machineAfter = machineTicks();
    const nodeCpu = process.cpuUsage(nodeBefore);
    const selfAfter = cpuTicks(process.pid);
    const calls = await commandCalls(redis.client);

    // CPU seconds of each process over the run.
    const cpuS = {};
    for (const [k, ps] of Object.entries(pids)) {
      let ticks = 0;
      ps.forEach((pid, i) => {
        const a = cpuTicks(pid);
        if (a && before[k][i]) ticks += a.self - before[k][i].self;
      });
      cpuS[k] = (ticks * usPerTick) / 1e6;
    }
    cpuS.node = (nodeCpu.user + nodeCpu.system) / 1e6;
    // wrk has exited and been reaped: its CPU time is in our children's time.
    cpuS.wrk = ((selfAfter.children - selfBefore.children) * usPerTick) / 1e6;
    const busyS = ((machineAfter.busy - machineBefore.busy) * usPerTick) / 1e6;
    const ours = Object.values(cpuS).reduce((a, b) => a + b, 0);
    rows.push({
      ...c,
      load,
      r,
      rps: r.requests / (r.duration_us / 1e6),
      perReq: Object.fromEntries(COMMANDS.map((k) => [k, (calls[k] ?? 0) / r.requests])),
      cpuUs: Object.fromEntries(Object.entries(cpuS).map(([k, v]) => [k, (v * 1e6) / r.requests])),
      busyPct: (100 * (machineAfter.busy - machineBefore.busy)) / (machineAfter.total - machineBefore.total),
      otherCores: Math.max(0, busyS - ours) / wallS,
    });
    log(`${c.id}: ${fmt(rows.at(-1).rps)} req/s, p50 ${ms(r.p50)} ms, p99 ${ms(r.p99)} ms, non-2xx ${r.status}`);
  }

  // --- report --------------------------------------------------------------
  const L = [];
  const secs = ((performance.now() - t0) / 1000).toFixed(0);
  L.push("# edge-session benchmark report", "");
  L.push(
    `Run ${started.toISOString()} (${secs} s). wrk \`-t${THREADS} -c${CONNECTIONS} -d${DURATION}s --latency\` per row ` +
      `(the 1-connection rows: \`-t1 -c1\`), after a ${WARMUP} s warm-up at the same load. Redis is flushed and fresh sessions ` +
      `are made before each row; rows with a cookie cycle through ${CONNECTIONS} sessions. Everything runs on 127.0.0.1 of ` +
      `one machine, wrk included.`,
    "",
  );
  L.push("## Machine", "", "| | |", "|---|---|");
  for (const [k, v] of machine) L.push(`| ${k} | ${v} |`);
  L.push("");

  L.push("## Size of the built worker", "");
  L.push(`Built ${builtAt.toISOString()}. gzip is zlib level 9 (as \`gzip -9\`).`, "");
  L.push("| file | raw | gzip -9 |", "|---|---:|---:|");
  for (const x of files) L.push(`| \`${x.f}\` | ${fmt(x.raw)} B (${kb(x.raw)}) | ${fmt(x.gz)} B (${kb(x.gz)}) |`);
  L.push(`| **total upload** | ${fmt(total.raw)} B (${kb(total.raw)}) | ${fmt(total.gz)} B (${kb(total.gz)}) |`);
  L.push("");
  const MB = 1024 * 1024;
  L.push(
    `- Cloudflare's Worker size limit (compressed upload): ${((100 * total.gz) / (3 * MB)).toFixed(1)} % of 3 MB (Free), ` +
      `${((100 * total.gz) / (10 * MB)).toFixed(1)} % of 10 MB (Paid).`,
    `- Startup: an isolate compiles the ${kb(files[0].raw)} of raw wasm (raw size is what counts here, not gzip) and runs ` +
      `the JS glue's top level before its first request; Cloudflare allows 1 s for that. Locally: Miniflare start to ready ` +
      `(workerd process, wasm compile) ${workerReadyMs.toFixed(0)} ms; the first request (GET /api/session, new session: one SET) ` +
      `${firstMs[0].toFixed(1)} ms, the same request again ${firstMs[1].toFixed(1)} ms.`,
    "",
  );

  L.push("## Throughput and latency", "");
  L.push(
    "| row | request | Redis traffic per request (SPEC §4) | measured Redis commands / request | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | socket errors |",
    "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const x of rows) {
    const measured =
      COMMANDS.filter((k) => x.perReq[k] >= 0.005)
        .map((k) => `${k.toUpperCase()} ${x.perReq[k].toFixed(2)}`)
        .join(" · ") || "none";
    const sock = x.r.connect + x.r.read + x.r.write + x.r.timeout;
    L.push(
      `| ${x.label} | ${x.request} | ${x.traffic} | ${measured} | ${fmt(x.rps)} | ${ms(x.r.p50)} | ${ms(x.r.p90)} | ${ms(x.r.p99)} | ${ms(x.r.max)} | ${x.r.status} | ${sock} |`,
    );
  }
  L.push("");
  const bad = rows.filter((x) => x.r.status || x.r.connect || x.r.read || x.r.write || x.r.timeout);
  L.push(
    bad.length
      ? `**Errors:** ${bad.map((x) => `${x.id} (non-2xx ${x.r.status}, connect ${x.r.connect}, read ${x.r.read}, write ${x.r.write}, timeout ${x.r.timeout})`).join("; ")}.`
      : "Every row: 0 non-2xx answers (wrk counts status ≥ 400) and 0 socket errors (connect, read, write, timeout).",
    "",
  );

  L.push("## CPU time per request", "");
  L.push(
    `µs of CPU per request of each process, from /proc over each ${DURATION} s run (${CLK_TCK} ticks/s, so ±10 ms over the run). ` +
      `"machine busy" is the share of all ${cpus().length} cores in use; "other load" is the CPU, in cores, used by processes ` +
      `this run did not start (other jobs on the machine, kernel threads).`,
    "",
  );
  L.push(
    "| row | request | workerd | node (Express; bench driver) | upstash-local | redis-server | wrk | machine busy | other load |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const x of rows) {
    const u = x.cpuUs;
    L.push(
      `| ${x.label} | ${x.request} | ${fmt(u.workerd)} | ${fmt(u.node)} | ${fmt(u.upstash)} | ${fmt(u.redis)} | ${fmt(u.wrk)} | ` +
        `${x.busyPct.toFixed(0)} % | ${x.otherCores.toFixed(2)} |`,
    );
  }
  L.push("");
  const noisy = rows.filter((x) => x.otherCores > 0.15);
  L.push(
    noisy.length
      ? `**The machine was not quiet:** other processes used ${noisy.map((x) => `${x.otherCores.toFixed(2)} cores during ${x.id}`).join(", ")}. ` +
          "Those rows are pessimistic; run again on a quiet machine for clean numbers."
      : "Other processes used at most 0.15 cores during any row: the machine was quiet.",
    "",
  );
  process.stdout.write(L.join("\n"));
}

let code = 0;
try {
  await main();
} catch (e) {
  console.error("[bench] failed:", e?.stack ?? e);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
