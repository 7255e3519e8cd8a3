// The rendering half of the twin comparison: turns what
// bench/twin-measure.mjs collected into Markdown sections of the report
// (docs/BENCHMARKS.md explains them). Pure: no process, clock or file.

import { fmt, kb } from "./report.mjs";
import { pairedRatio } from "./stats.mjs";

const f2 = (x) => (x === null || x === undefined ? "—" : x.toFixed(2));
const f3 = (x) => (x === null || x === undefined ? "—" : x.toFixed(3));
const ratio = (a, b) => (a === null || b === null || !b ? "—" : `${(a / b).toFixed(2)}×`);

/** The section "CPU per request, ours vs JS twin", without a trailing newline. */
export function renderCpu({ cpu, clkTck }) {
  const L = [];
  const { rows, rounds, profiled } = cpu;
  L.push("## CPU per request, ours vs JS twin", "");
  L.push(
    "`node bench/twin.mjs` (part of `make bench`). Our worker (`build/`) and its JavaScript twin (`bench/twin/worker.mjs`: " +
      "the same session logic, keys, documents and Upstash calls, written for Workers in JavaScript) each run in their own " +
      "workerd (Miniflare), on the same redis-server and upstash-local. Per row and side, " +
      `${rounds} rounds of N sequential requests over a real socket; the rows alternate ours / twin and the order flips every ` +
      `round. "workerd CPU" is the workerd process's utime + stime from /proc over the rounds (${clkTck} ticks/s), so it also ` +
      "holds workerd's HTTP work for the request and its store calls and Miniflare's routing; \"paired\" is the median of " +
      "the per-round ratios of workerd's main-thread CPU (/proc schedstat, ns), each round of ours against the same round of " +
      "the twin, which cancels the machine's drift over the run, with the sign test's confidence interval of at least 95 % " +
      "for that median (bench/stats.mjs; a difference is real when it leaves out 1); \"isolate CPU\" is the V8 CPU " +
      "profile of the worker's isolate over one more pass of 4 × N requests (inspector, 100 µs sampling; every sample that is not " +
      "idle: JS, wasm, the runtime's code they call, GC), the part Cloudflare bills. Both sides answered each row with the same " +
      "status, the same JSON members in the same order and the same Set-Cookie names, checked before measuring.",
    "",
  );
  L.push(
    "| row | N × rounds | workerd CPU, ours | workerd CPU, twin | ours / twin | ours / twin, paired (≥ 95 % interval) | isolate CPU, ours | isolate CPU, twin | ours / twin | wall, ours | wall, twin |",
    "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
  );
  const paired = new Map(rows.map((r) => [r, pairedRatio(r.sides.ours.perRoundMain, r.sides.twin.perRoundMain)]));
  for (const r of rows) {
    const { ours, twin } = r.sides;
    const p = paired.get(r);
    const interval = p.interval ? ` (${p.interval[0].toFixed(2)}–${p.interval[1].toFixed(2)})` : " (no interval: fewer than 6 rounds)";
    L.push(
      `| ${r.request} | ${r.n} × ${rounds} | ${f2(ours.cpuMs)} ms | ${f2(twin.cpuMs)} ms | ${ratio(ours.cpuMs, twin.cpuMs)} | ` +
        `${p.median.toFixed(2)}×${interval} | ` +
        `${f3(ours.isolateMs)} ms | ${f3(twin.isolateMs)} ms | ${ratio(ours.isolateMs, twin.isolateMs)} | ` +
        `${f2(ours.wallMs)} ms | ${f2(twin.wallMs)} ms |`,
    );
  }
  L.push("");
  // The verdict on issue 14's target 3 reads the paired ratio: a row is
  // lost when ours costs more, surely so when its interval is above 1.
  const lost = rows.filter((r) => paired.get(r).median > 1);
  const sure = lost.filter((r) => paired.get(r).interval?.[0] > 1);
  const intervals = rows.every((r) => paired.get(r).interval)
    ? `beyond its interval on: ${sure.map((r) => r.id).join(", ") || "none"}`
    : "no interval: fewer than 6 rounds";
  L.push(
    lost.length
      ? `Ours costs more workerd main-thread CPU than the twin, paired by round, on: ${lost.map((r) => r.id).join(", ")} ` +
          `(${intervals}; issue 14's target: no row higher).`
      : "Ours costs no more workerd main-thread CPU than the twin on any row, paired by round (issue 14's target).",
  );
  if (!profiled) L.push("", "No V8 profile: the inspector could not be reached (the isolate CPU columns are empty).");
  return L.join("\n");
}

/** The section "Cold start and module size", without a trailing newline. */
export function renderCold({ cold, sizes, samples, clkTck }) {
  const L = [];
  L.push("## Cold start and module size", "");
  L.push(
    `\`node bench/twin.mjs\` (part of \`make bench\`): ${samples} fresh starts of each worker, in turn (a different one first ` +
      "in each sample). A start is a new Miniflare, so a new workerd process and a new isolate, which compiles and " +
      "instantiates the module (wasm included) before it is ready. \"start → ready\" is Miniflare's start (the same work " +
      "for all three, plus the module's compile and top level); \"ready → first answer\" the first request (ours and the " +
      "twin: `GET /api/session` without a cookie, one store call; hello: `GET /`); \"workerd CPU to first answer\" the new " +
      `workerd process's utime + stime from its spawn to that answer (${clkTck} ticks/s), Miniflare's own workers included. ` +
      "Median (min–max).",
    "",
  );
  const s = (x, d = 0) => `${x.median.toFixed(d)} (${x.min.toFixed(d)}–${x.max.toFixed(d)})`;
  L.push(
    "| worker | modules | raw | gzip -9 | start → ready | ready → first answer | start → first answer | second answer | workerd CPU to first answer |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const c of cold) {
    const z = sizes[c.id];
    L.push(
      `| ${c.label} | ${z.files.map((x) => `\`${x.f}\``).join(", ")} | ${fmt(z.raw)} B (${kb(z.raw)}) | ${fmt(z.gz)} B (${kb(z.gz)}) | ` +
        `${s(c.readyMs)} ms | ${s(c.firstMs, 1)} ms | ${s(c.totalMs)} ms | ${s(c.secondMs, 1)} ms | ${s(c.cpuMs)} ms |`,
    );
  }
  return L.join("\n");
}
