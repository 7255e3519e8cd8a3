// The CPU one login costs in workerd (issue #4: PBKDF2 must keep a login well
// inside the Workers free plan's 10 ms of CPU). Runs the real worker twice in
// Miniflare, once with the default AUTH_PBKDF2_ITERATIONS and once with 1
// iteration, logs in N times one after the other on each, and reads the
// workerd process's CPU time (utime + stime from /proc) around the logins.
// The difference is the password hashing; the first figure is the whole
// login (session load, rate-limit counters, user record, regenerate, index,
// commit). Prints a Markdown section on stdout.

import { readFileSync } from "node:fs";
import { startStack, startWorker, childrenNamed, cpuTicks, request, CookieJar } from "../tests/support/index.mjs";

const N = Number(process.env.BENCH_LOGINS ?? 200);
const CLK_TCK = 100; // Linux USER_HZ
const DEFAULT_ITERATIONS = Number(
  readFileSync(new URL("../crates/edge-session/src/config.rs", import.meta.url), "utf8").match(/DEFAULT_PBKDF2_ITERATIONS: u32 = ([\d_]+)/)[1].replaceAll("_", ""),
);

const ticks = (pid) => cpuTicks(pid).self;
const workerdChildren = () => new Set(childrenNamed("workerd"));

async function measure(upstashUrl, iterations) {
  const before = workerdChildren();
  const worker = await startWorker({
    upstashUrl,
    vars: { ...(iterations ? { AUTH_PBKDF2_ITERATIONS: String(iterations) } : {}), AUTH_MAX_FAILURES_PER_IP: "1000000" },
  });
  try {
    const [pid] = [...workerdChildren()].filter((p) => !before.has(p));
    const json = { username: `bench${iterations || "default"}`, password: "correct horse battery staple" };
    const reg = await request(worker, "/api/register", { method: "POST", json, dispatch: true });
    if (reg.status !== 201) throw new Error(`register: ${reg.status} ${reg.text}`);
    // Each login comes from the session the previous one left, as a
    // browser's would: the old session is regenerated away, so the user's
    // session index stays small.
    const jar = new CookieJar();
    const login = async () => {
      const res = await request(worker, "/api/login", { method: "POST", json, cookie: jar.pair, dispatch: true });
      if (res.status !== 200) throw new Error(`login: ${res.status} ${res.text}`);
      jar.take(res);
    };
    for (let i = 0; i < 10; i++) await login(); // warm the isolate
    const t0 = ticks(pid);
    const w0 = performance.now();
    for (let i = 0; i < N; i++) await login();
    const cpuMs = ((ticks(pid) - t0) * 1000) / CLK_TCK / N;
    const wallMs = (performance.now() - w0) / N;
    // The same worker answering GET /api/session (two store calls: the read, and the touch after the answer): the
    // workerd cost of a request with little Rust work, for comparison.
    const r0 = ticks(pid);
    for (let i = 0; i < N; i++) await request(worker, "/api/session", { cookie: jar.pair, dispatch: true });
    const readMs = ((ticks(pid) - r0) * 1000) / CLK_TCK / N;
    return { cpuMs, wallMs, readMs };
  } finally {
    await worker.stop();
  }
}

console.log(""); // a blank line after the previous section of the report
const { upstash, stop } = await startStack({ worker: false });
try {
  const full = await measure(upstash.url, 0);
  const cheap = await measure(upstash.url, 1);
  const kdf = full.cpuMs - cheap.cpuMs;
  console.log(`## Login CPU in workerd

\`node bench/login-cpu.mjs\` (part of \`make bench\`): ${N} sequential \`POST /api/login\`
per worker, CPU time of the workerd process from /proc (10 ms clock ticks,
averaged over the run).

| AUTH_PBKDF2_ITERATIONS | workerd CPU per login | wall time per login | workerd CPU per GET /api/session (2 store calls: the read, the touch after the answer) |
|---:|---:|---:|---:|
| ${DEFAULT_ITERATIONS.toLocaleString("en-US")} (default) | ${full.cpuMs.toFixed(2)} ms | ${full.wallMs.toFixed(2)} ms | ${full.readMs.toFixed(2)} ms |
| 1 | ${cheap.cpuMs.toFixed(2)} ms | ${cheap.wallMs.toFixed(2)} ms | ${cheap.readMs.toFixed(2)} ms |

PBKDF2 at ${DEFAULT_ITERATIONS.toLocaleString("en-US")} iterations costs about **${kdf.toFixed(2)} ms of CPU per login**
(${((kdf * 1000) / DEFAULT_ITERATIONS).toFixed(3)} µs per iteration). The workerd process figure is an
upper bound of what Cloudflare bills: it also holds workerd's own HTTP work
for the login's 2 store round trips (a pipeline each, docs/PROTOCOL.md §8.3) and Miniflare's routing, which the
GET column shows at about ${(full.readMs / 2).toFixed(2)} ms per store call; Cloudflare counts
only the isolate's execution, not time spent on subrequests. With 1 iteration
a login costs about as much as its store calls do in the GET column, so the
Rust work of a login is small and the billable CPU of a login is roughly
the PBKDF2 figure plus a request's baseline.`);
} finally {
  await stop();
}
