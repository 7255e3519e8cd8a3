// Our worker against its JavaScript twin (issue 14, targets 3 and 4), in
// one run, printed as Markdown sections of the benchmark report on stdout
// (progress on stderr). `make bench` runs it after bench/run.mjs and
// bench/login-cpu.mjs (scripts/bench.sh, which builds build/ and
// bench/hello-worker/build/ first and cleans up after):
//
//   1. CPU per request, ours vs the twin (bench/twin/worker.mjs), for a
//      first visit, a read, a pour and a login.
//   2. Cold starts of ours, the twin and a hello-world Rust worker
//      (bench/hello-worker), with the size of each module.
//
// Knobs (environment): BENCH_TWIN_ROUNDS (12: short rounds, each compared
// with the same round of the other side, bench/stats.mjs), BENCH_TWIN_N (50
// requests per round and side for the first visit, read and pour rows),
// BENCH_TWIN_LOGINS (15 per round and side), BENCH_TWIN_WARMUP (20
// requests of each row on each side before measuring), BENCH_COLD_SAMPLES (5),
// BENCH_TWIN_DEADLINE (s, 240; after it everything started is stopped),
// BENCH_TWIN_PROFILES (a directory: the V8 CPU profiles of the isolate
// pass are kept there as <row>-<side>.cpuprofile, for Chrome's DevTools),
// BENCH_CPU_ARGS (a file: our worker's measured CPU per read, pour and
// login is written there as bench/latency-model.mjs's `--cpu` arguments,
// so that the report's latency model uses this run's numbers).
//
// Two halves, as bench/run.mjs: bench/twin-measure.mjs starts things and
// returns numbers; bench/twin-report.mjs renders them.

import { writeFileSync } from "node:fs";
import { measureCpu, measureColdStarts, moduleSizes, cleanup } from "./twin-measure.mjs";
import { renderCpu, renderCold } from "./twin-report.mjs";
import { CLK_TCK } from "./measure.mjs";
import { runReport } from "./lifecycle.mjs";

const ROUNDS = Number(process.env.BENCH_TWIN_ROUNDS ?? 12);
const N = Number(process.env.BENCH_TWIN_N ?? 50);
const LOGINS = Number(process.env.BENCH_TWIN_LOGINS ?? 15);
const SAMPLES = Number(process.env.BENCH_COLD_SAMPLES ?? 5);
const DEADLINE = Number(process.env.BENCH_TWIN_DEADLINE ?? 240);
const PROFILES = process.env.BENCH_TWIN_PROFILES || null;
const WARMUP = Number(process.env.BENCH_TWIN_WARMUP ?? 20);
const CPU_ARGS = process.env.BENCH_CPU_ARGS || null;

/**
 * bench/latency-model.mjs's `--cpu worker.<kind>=<ms>` arguments from this
 * run: the isolate's CPU (what Cloudflare bills and the request waits for)
 * where the profile gave it, else the workerd process's.
 */
function cpuArgs(cpu) {
  return cpu.rows
    .filter((row) => ["read", "pour", "login"].includes(row.id))
    .map((row) => `--cpu worker.${row.id}=${(row.sides.ours.isolateMs ?? row.sides.ours.cpuMs).toFixed(3)}`)
    .join(" ");
}

await runReport({
  tag: "twin",
  deadlineS: DEADLINE,
  cleanup,
  async produce() {
    const cpu = await measureCpu({ n: { first: N, read: N, pour: N, login: LOGINS }, rounds: ROUNDS, warmup: WARMUP, profileDir: PROFILES });
    if (CPU_ARGS) writeFileSync(CPU_ARGS, cpuArgs(cpu));
    const cold = await measureColdStarts({ samples: SAMPLES });
    const sizes = moduleSizes();
    // A blank line after the previous section of the report.
    return `\n${renderCpu({ cpu, clkTck: CLK_TCK })}\n\n${renderCold({ cold, sizes, samples: SAMPLES, clkTck: CLK_TCK })}\n`;
  },
});
