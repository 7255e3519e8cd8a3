// CPU per request of two or more worker builds (and the JavaScript twin),
// side by side in bare workerd: no Miniflare, so the workerd process runs
// the worker alone and its CPU is the worker's, the runtime's HTTP work for
// the request and its store calls (Miniflare adds its own router worker to
// every request, the same for each side, which bench/twin.mjs measures
// along). For A/B tests of a change: build each side into its own directory
// (`cp -r build /tmp/a`, change, build, `cp -r build /tmp/b`), then
//
//   node bench/cpu-ab.mjs /tmp/a /tmp/b twin
//
// Each side is a directory holding index.js and index_bg.wasm (what
// worker-build writes to build/), or `twin` (bench/twin/worker.mjs). All run
// on one redis-server and upstash-local, with the test configuration; each
// gets its own workerd on a free port of 127.0.0.1, stopped by PID at the
// end. Rounds alternate the order of the sides; the report gives each
// side's median over the rounds and every round, in µs of workerd CPU
// (utime + stime from /proc, 100 ticks/s) per request.
//
// Knobs (environment): BENCH_AB_ROW (read | pour | first; read),
// BENCH_AB_N (requests per round and side, 600), BENCH_AB_ROUNDS (7),
// BENCH_AB_WARMUP (requests per side before measuring, 500).

import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ROOT, CookieJar, cpuTicks, freePort, request, startStack, workerBindings, wranglerConfig } from "../tests/support/index.mjs";
import { twinBindings } from "./twin/start.mjs";

const ROW = process.env.BENCH_AB_ROW ?? "read";
const N = Number(process.env.BENCH_AB_N ?? 600);
const ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 7);
const WARMUP = Number(process.env.BENCH_AB_WARMUP ?? 500);
const WORKERD = path.join(ROOT, "node_modules/@cloudflare/workerd-linux-64/bin/workerd");

const specs = process.argv.slice(2);
if (specs.length === 0) {
  console.error("usage: node bench/cpu-ab.mjs <build dir | twin> [<build dir | twin> ...]");
  process.exit(2);
}

const ROWS = {
  read: (s) => request(s.worker, "/api/session", { cookie: s.jar.pair }),
  pour: (s) => request(s.worker, "/api/pour", { method: "POST", cookie: s.jar.pair, headers: { origin: s.worker.url } }),
  first: (s) => request(s.worker, "/api/session"),
};
if (!ROWS[ROW]) throw new Error(`BENCH_AB_ROW must be one of ${Object.keys(ROWS).join(", ")}`);

/** A capnp text literal (workerd's config is Cap'n Proto text; JSON strings are valid ones). */
const text = (v) => JSON.stringify(String(v));

/**
 * Starts one side in its own workerd with the test configuration and a
 * session cookie to read with; returns { spec, worker: { url }, pid, jar, stop() }.
 */
async function startSide(spec, upstashUrl, dir) {
  const port = await freePort();
  let vars, modules;
  if (spec === "twin") {
    copyFileSync(path.join(ROOT, "bench/twin/worker.mjs"), path.join(dir, "worker.mjs"));
    vars = twinBindings({ upstashUrl });
    modules = `(name = "worker.mjs", esModule = embed "worker.mjs")`;
  } else {
    for (const f of ["index.js", "index_bg.wasm"]) copyFileSync(path.join(spec, f), path.join(dir, f));
    vars = workerBindings({ upstashUrl });
    modules = `(name = "index.js", esModule = embed "index.js"), (name = "index_bg.wasm", wasm = embed "index_bg.wasm")`;
  }
  const bindings = Object.entries(vars).map(([k, v]) => `(name = ${text(k)}, text = ${text(v)})`).join(", ");
  writeFileSync(
    path.join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker), (name = "internet", network = (allow = ["private", "public"])) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ ${modules} ],
  compatibilityDate = ${text(wranglerConfig().compatibilityDate)},
  bindings = [ ${bindings} ],
);
`,
  );
  const child = spawn(WORKERD, ["serve", path.join(dir, "config.capnp"), "--experimental"], { stdio: ["ignore", "ignore", "inherit"] });
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", resolve);
    process.kill(child.pid, "SIGTERM");
  });
  const worker = { url: `http://127.0.0.1:${port}` };
  for (let i = 0; ; i++) {
    try {
      await fetch(`${worker.url}/api/nothing`);
      break;
    } catch (e) {
      if (i >= 100) {
        await stop();
        throw new Error(`${spec}: workerd did not answer on port ${port}`, { cause: e });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const jar = new CookieJar();
  jar.take(await request(worker, "/api/session"));
  return { spec, worker, pid: child.pid, jar, stop };
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const scratch = mkdtempSync(path.join(tmpdir(), "edge-session-cpu-ab-"));
const stack = await startStack({ worker: false });
const sides = [];
try {
  for (const [i, spec] of specs.entries()) {
    const dir = path.join(scratch, String(i));
    mkdirSync(dir);
    sides.push(await startSide(spec, stack.upstash.url, dir));
  }
  for (const s of sides) for (let i = 0; i < WARMUP; i++) await ROWS[ROW](s);
  const perRequest = new Map(sides.map((s) => [s, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of r % 2 ? [...sides].reverse() : sides) {
      const before = cpuTicks(s.pid).self;
      for (let i = 0; i < N; i++) await ROWS[ROW](s);
      perRequest.get(s).push(((cpuTicks(s.pid).self - before) * 10_000) / N); // ticks of 10 ms → µs
    }
  }
  const base = median(perRequest.get(sides[0]));
  console.log(`row ${ROW}: ${N} requests × ${ROUNDS} rounds per side after ${WARMUP} of warm-up; workerd CPU per request (µs)`);
  console.log("| side | median | vs first | rounds |\n|---|---:|---:|---|");
  for (const s of sides) {
    const v = perRequest.get(s);
    console.log(`| ${s.spec} | ${median(v).toFixed(0)} | ${(median(v) / base).toFixed(2)}× | ${v.map((x) => x.toFixed(0)).join(" · ")} |`);
  }
} finally {
  for (const s of sides) await s.stop();
  await stack.stop();
  rmSync(scratch, { recursive: true, force: true });
}
