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
// Two halves: bench/measure.mjs starts everything (with the test support of
// tests/support/ and the reference app of tests/fixtures/express-app.mjs:
// the same processes the tests check), runs wrk and returns the numbers as
// one plain object; bench/report.mjs renders that object as Markdown.

import { measure, cleanup } from "./measure.mjs";
import { render } from "./report.mjs";
import { runReport } from "./lifecycle.mjs";

const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const DEADLINE = Number(process.env.BENCH_DEADLINE ?? 15 * (DURATION + WARMUP) + 30);

await runReport({
  tag: "bench",
  deadlineS: DEADLINE,
  cleanup,
  produce: async () => render(await measure({ duration: DURATION, warmup: WARMUP, connections: CONNECTIONS, threads: THREADS })),
});
