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
// bench/shapes holds the rows' session logic in other shapes (the
// library's steps with the I/O in JavaScript; its async cycle, on its
// store client and on a lean one), built by
// `SHAPES=1 ./scripts/build-worker.sh`:
//
//   node bench/cpu-ab.mjs bench/shapes/build/steps bench/shapes/build/cycle build twin
//   node bench/cpu-ab.mjs bench/shapes/build/steps bench/shapes/build/lean bench/shapes/build/cycle
//
// Each side is a directory holding index.js and index_bg.wasm (what
// worker-build writes to build/), or `twin` (bench/twin/worker.mjs). All run
// on one redis-server and upstash-local, with the test configuration; each
// gets its own workerd on a free port of 127.0.0.1, stopped by PID at the
// end. Rounds alternate the order of the sides and are short (100
// requests), so that each round of a side is compared with the same round
// of the first side: the machine's speed drifts over a run (other work, CPU
// frequency) by more than the differences worth measuring, and a paired
// ratio cancels the drift that a comparison of whole medians keeps. The
// report gives each side's median µs of workerd CPU per request, the
// median of the first side's per-round CPU over that side's (ours / twin
// when the first is ours and the other the twin) and a confidence
// interval of at least 95 % for that median (the sign test's, which assumes
// nothing of how rounds spread, bench/stats.mjs): a difference is real when
// the interval leaves out 1. The CPU is workerd's main thread's (/proc
// schedstat, in ns), which runs the isolate and the event loop; V8's helper
// threads (background compiles, concurrent GC) come and go.
//
// Knobs (environment): BENCH_AB_ROW (read | pour | first; read),
// BENCH_AB_N (requests per round and side, 100), BENCH_AB_ROUNDS (60, at
// least 6), BENCH_AB_DEADLINE (s, 7200; then everything is stopped),
// BENCH_AB_WARMUP (requests per side before measuring, 3000: V8 compiles
// the hot wasm functions again with its optimizing compiler as they run,
// and a fresh isolate spends more per request; docs/BENCHMARKS.md),
// BENCH_AB_PROFILE (set to 1: after the rounds, where each side's CPU
// goes, from perf(1) sampling each workerd (all its threads) with the
// cpu-clock event at 2 kHz over 20 more rounds of BENCH_AB_N requests:
// wasm optimized by TurboFan, wasm still in the Liftoff baseline tier and
// its frame setup, JavaScript and stubs compiled by V8 (wasm-bindgen's
// glue and our shims, or the twin's own code), garbage collection and
// handles, the rest of workerd and V8 (the HTTP work, fetch, V8's
// built-in functions: JSON, WebCrypto, typed arrays), the kernel and libc.
// V8 is told to name its generated code (`--perf-basic-prof`) from the
// start, so the measured rounds run with it too. Needs `perf` and leave to
// record this user's processes; checked before anything starts).

import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ROOT, CookieJar, mainThreadCpuNanos, freePort, request, startStack, workerBindings, wranglerConfig } from "../tests/support/index.mjs";
import { twinBindings } from "./twin/start.mjs";
import { median, pairedRatio } from "./stats.mjs";
import { runReport } from "./lifecycle.mjs";

const ROW = process.env.BENCH_AB_ROW ?? "read";
const N = Number(process.env.BENCH_AB_N ?? 100);
const ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 60);
const WARMUP = Number(process.env.BENCH_AB_WARMUP ?? 3000);
const PROFILE = process.env.BENCH_AB_PROFILE === "1";
const WORKERD = path.join(ROOT, "node_modules/@cloudflare/workerd-linux-64/bin/workerd");

const DEADLINE = Number(process.env.BENCH_AB_DEADLINE ?? 7200);

/** Refuses what would measure nothing: exits 2 with the reason. */
function refuse(why) {
  console.error(`cpu-ab: ${why}`);
  process.exit(2);
}
const specs = process.argv.slice(2);
if (specs.length === 0) refuse("usage: node bench/cpu-ab.mjs <build dir | twin> [<build dir | twin> ...]");
for (const spec of specs) {
  if (spec === "twin") continue;
  const missing = ["index.js", "index_bg.wasm"].filter((f) => !existsSync(path.join(spec, f)));
  if (missing.length) refuse(`${spec} is not a worker build: it has no ${missing.join(" or ")} (make one with \`make build\`, or name \`twin\`)`);
}
// The paired interval needs 6 rounds at least (bench/stats.mjs).
for (const [name, value, least] of [["BENCH_AB_N", N, 1], ["BENCH_AB_ROUNDS", ROUNDS, 6], ["BENCH_AB_WARMUP", WARMUP, 0], ["BENCH_AB_DEADLINE", DEADLINE, 1]]) {
  if (!Number.isInteger(value) || value < least) refuse(`${name} must be a whole number of at least ${least}, not ${value}`);
}

/**
 * Every measured request must succeed: a side that answers errors (a store
 * it cannot reach, a build that fails the row) would look cheap.
 */
const succeeded = async (s, answer) => {
  const res = await answer;
  if (res.status !== 200) throw new Error(`${s.spec}: the ${ROW} row answered ${res.status}: ${String(res.text).slice(0, 200)}`);
  return res;
};
const ROWS = {
  read: (s) => succeeded(s, request(s.worker, "/api/session", { cookie: s.jar.pair })),
  pour: (s) => succeeded(s, request(s.worker, "/api/pour", { method: "POST", cookie: s.jar.pair, headers: { origin: s.worker.url } })),
  first: (s) => succeeded(s, request(s.worker, "/api/session")),
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
  services = [ (name = "main", worker = .worker), (name = "internet", network = (allow = ["private", "public"])) ],${PROFILE ? '\n  v8Flags = ["--perf-basic-prof"],' : ""}
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ ${modules} ],
  compatibilityDate = ${text(wranglerConfig().compatibilityDate)},
  bindings = [ ${bindings} ],
);
`,
  );
  const child = spawn(WORKERD, ["serve", path.join(dir, "config.capnp"), "--experimental"], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
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

/** The parts of a profile, in the report's order. */
const KINDS = [
  "wasm, TurboFan",
  "wasm, Liftoff",
  "Liftoff frame setup",
  "JIT JavaScript and stubs",
  "GC and handles",
  "workerd and V8",
  "kernel",
  "libc and other",
];

/**
 * Which part of the profile a sample of `sym` in `dso` (perf report's
 * columns) is. V8's built-in functions (typed arrays, DataView, JSON,
 * TextDecoder, the wasm-to-JavaScript calls' own builtins) are compiled
 * into workerd, so they count as "workerd and V8", not as JavaScript.
 */
function kindOf(dso, sym) {
  // `--perf-basic-prof` names wasm code `JS:<name>-<index>-<tier>`.
  const tier = sym.match(/^JS:.*-\d+-(liftoff|turbofan)$/);
  if (tier) return tier[1] === "liftoff" ? "wasm, Liftoff" : "wasm, TurboFan";
  if (sym.includes("WasmLiftoffFrameSetup")) return "Liftoff frame setup";
  // V8's generated code (JavaScript at any tier, stubs): perf names the
  // map `[JIT] tid <pid>` (older versions: `perf-<pid>.map`).
  if (dso.startsWith("[JIT]") || /^perf-\d+\.map$/.test(dso)) return "JIT JavaScript and stubs";
  if (/Scaveng|MarkCompact|Marking|Evacuat|Sweeper|GlobalHandles|cppgc|HeapTracer|detachWrapper|v8::internal::Heap::/.test(sym)) {
    return "GC and handles";
  }
  if (dso === "workerd") return "workerd and V8";
  if (dso.startsWith("[kernel")) return "kernel";
  return "libc and other";
}

/** Whether perf(1) can sample: it is installed and may record this user's processes. */
function perfWorks() {
  const run = spawnSync("perf", ["record", "-q", "-e", "cpu-clock", "-o", "/dev/null", "--", "true"], { encoding: "utf8", timeout: 30_000 });
  if (run.error || run.status !== 0) {
    return `perf record does not work here (${run.error?.message || run.stderr.trim() || `status ${run.status}`}); install perf or allow perf events (/proc/sys/kernel/perf_event_paranoid)`;
  }
  return null;
}

/** Resolves when `child` has exited, however it ended. */
const exited = (child) => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", r)));

/**
 * Samples every side's workerd with perf(1), all at once, over 20 more
 * rounds of N requests that alternate as the measured rounds do (so that
 * the machine's drift is spread over all sides alike), and returns for each
 * side µs per request by kind ([`KINDS`]). The event is `cpu-clock`, whose
 * samples are exactly 1 / 2 kHz = 500 µs of CPU apart; every thread of the
 * process is sampled, so the totals are a little above the main thread's.
 */
async function profile(sides, dir) {
  const rounds = 20;
  const recorders = sides.map((s, i) => {
    const out = path.join(dir, `perf-${i}.data`);
    const args = ["record", "-q", "--no-buildid-cache", "-e", "cpu-clock", "-F", "2000", "-p", String(s.pid), "-o", out];
    const rec = spawn("perf", args, { stdio: ["ignore", "ignore", "inherit"] });
    rec.on("error", () => {}); // an exit before the rounds is reported below
    return { rec, out };
  });
  await new Promise((r) => setTimeout(r, 500)); // perf attached
  const gone = recorders.filter(({ rec }) => rec.exitCode !== null || rec.signalCode !== null);
  if (gone.length > 0) {
    for (const { rec } of recorders) rec.kill("SIGINT");
    throw new Error(`perf record stopped before the profile rounds (${gone.map(({ rec }) => rec.exitCode ?? rec.signalCode).join(", ")})`);
  }
  for (let r = 0; r < rounds; r++) {
    for (const s of r % 2 ? [...sides].reverse() : sides) for (let i = 0; i < N; i++) await ROWS[ROW](s);
  }
  for (const { rec } of recorders) rec.kill("SIGINT");
  await Promise.all(recorders.map(({ rec }) => exited(rec)));
  return recorders.map(({ out }) => {
    const args = ["report", "-i", out, "--no-children", "--sort", "dso,sym", "-q", "-n"];
    const report = spawnSync("perf", args, { encoding: "utf8", maxBuffer: 1 << 28, timeout: 300_000 });
    if (report.status !== 0) throw new Error(`perf ${args.join(" ")} failed (${report.error?.message ?? report.status}): ${report.stderr}`);
    const split = {};
    for (const line of report.stdout.split("\n")) {
      // "  1.23%  45  [JIT] tid 123  [.] JS:wasm-function[7]-7-turbofan"
      const m = line.match(/^\s*[\d.]+%\s+(\d+)\s+(.*?)\s+\[.\]\s+(.*)$/);
      if (!m) continue;
      const kind = kindOf(m[2], m[3].trim());
      split[kind] = (split[kind] ?? 0) + (Number(m[1]) * 500) / (rounds * N); // a sample is 500 µs
    }
    return split;
  });
}

if (PROFILE) {
  const why = perfWorks();
  if (why) refuse(`BENCH_AB_PROFILE=1: ${why}`);
}
const scratch = mkdtempSync(path.join(tmpdir(), "edge-session-cpu-ab-"));
let stack = null;
const sides = [];
let cleaning = null;
/** Stops everything started here and removes its files; once, whatever ended the run. */
const cleanup = () =>
  (cleaning ??= (async () => {
    // Each step whatever the others did: a process a signal already ended
    // must not keep the rest from being stopped and removed.
    const step = async (what, f) => {
      try {
        await f();
      } catch (e) {
        console.error(`[cpu-ab] cleanup: ${what}: ${e?.message ?? e}`);
      }
    };
    for (const s of sides) await step(`stopping ${s.spec}`, s.stop);
    // V8's symbol maps (`--perf-basic-prof`), written for the process's life.
    if (PROFILE) for (const s of sides) rmSync(`/tmp/perf-${s.pid}.map`, { force: true });
    await step("stopping redis-server and upstash-local", () => stack?.stop());
    rmSync(scratch, { recursive: true, force: true });
  })());

// The report on stdout; everything stopped on success, failure, Ctrl-C,
// SIGTERM or SIGHUP and at BENCH_AB_DEADLINE seconds (bench/lifecycle.mjs).
await runReport({
  tag: "cpu-ab",
  deadlineS: DEADLINE,
  cleanup,
  produce: async () => {
    stack = await startStack({ worker: false });
    for (const [i, spec] of specs.entries()) {
      const dir = path.join(scratch, String(i));
      mkdirSync(dir);
      sides.push(await startSide(spec, stack.upstash.url, dir));
    }
    for (const s of sides) for (let i = 0; i < WARMUP; i++) await ROWS[ROW](s);
    const perRequest = new Map(sides.map((s) => [s, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const s of r % 2 ? [...sides].reverse() : sides) {
        const before = mainThreadCpuNanos(s.pid);
        for (let i = 0; i < N; i++) await ROWS[ROW](s);
        perRequest.get(s).push((mainThreadCpuNanos(s.pid) - before) / 1000 / N); // ns → µs per request
      }
    }
    const L = [];
    const base = perRequest.get(sides[0]);
    L.push(`row ${ROW}: ${ROUNDS} rounds × ${N} requests per side after ${WARMUP} of warm-up; workerd CPU per request`);
    L.push(`| side | median µs | ${sides[0].spec} / side, paired by round: median | its ≥ 95 % interval |`, "|---|---:|---:|---|");
    for (const s of sides.slice(1)) {
      // The first side over this one: above 1 when this side costs less.
      const { median: ratio, interval } = pairedRatio(base, perRequest.get(s));
      const shown = interval ? `${interval[0].toFixed(3)}–${interval[1].toFixed(3)}` : "(too few rounds)";
      L.push(`| ${s.spec} | ${median(perRequest.get(s)).toFixed(0)} | ${ratio.toFixed(3)} | ${shown} |`);
    }
    L.push(`| ${sides[0].spec} (the first) | ${median(base).toFixed(0)} | | |`);
    if (PROFILE) {
      const splits = await profile(sides, scratch);
      const rows = sides.map((s, i) => [s.spec, splits[i]]);
      const kinds = [...new Set(rows.flatMap(([, split]) => Object.keys(split)))].sort((a, b) => KINDS.indexOf(a) - KINDS.indexOf(b));
      L.push("", `where the CPU goes: µs per request over 20 more rounds × ${N} requests per side (perf, cpu-clock at 2 kHz, all threads)`);
      L.push(`| side | ${kinds.join(" | ")} | all |`, `|---|${kinds.map(() => "---:").join("|")}|---:|`);
      for (const [spec, split] of rows) {
        const all = Object.values(split).reduce((a, b) => a + b, 0);
        L.push(`| ${spec} | ${kinds.map((k) => (split[k] ?? 0).toFixed(0)).join(" | ")} | ${all.toFixed(0)} |`);
      }
    }
    return L.join("\n") + "\n";
  },
});
