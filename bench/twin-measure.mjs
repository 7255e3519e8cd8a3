// The measuring half of the twin comparison (issue 14, targets 3 and 4;
// bench/twin.mjs runs it, bench/twin-report.mjs renders its result):
//
//   1. CPU per request of our worker and of its JavaScript twin
//      (bench/twin/worker.mjs), each in its own workerd (Miniflare), on the
//      same redis-server and upstash-local, for a first visit, a read, a
//      pour and a login: N sequential requests per row and side, the
//      workerd process's utime + stime from /proc around them, and, when an
//      inspector can be reached, the isolate's own CPU from a V8 CPU profile
//      (samples that are not idle). Rows alternate ours / twin, and the
//      order flips every round, so that a disturbance hits both sides.
//   2. Cold starts: a fresh Miniflare (a new workerd process, so a new
//      isolate that compiles and instantiates the module) per sample, for
//      ours, the twin and the hello-world Rust worker (bench/hello-worker),
//      in turn: start to ready, ready to the first response, the second
//      response, and the workerd process's CPU from its spawn to its first
//      response.
//   3. The size of each module, raw and gzip -9.
//
// Everything started here is stopped by `cleanup()`.

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { startStack, startWorker, childrenNamed, cpuTicks, fileSize, freePort, mainThreadCpuNanos, request, CookieJar, setCookieLines, allSetCookieLines, sidOf, cookiePair, COOKIE_NAME } from "../tests/support/index.mjs";
import { CLK_TCK } from "./measure.mjs";
import { startTwin } from "./twin/start.mjs";
import { median } from "./stats.mjs";

const log = (...a) => console.error("[twin]", ...a);

const stoppers = [];
let cleaning = null;

/** Stops everything measureTwin() started, once; safe to call at any time. */
export function cleanup() {
  cleaning ??= (async () => {
    for (const stop of stoppers.reverse()) {
      try {
        await stop();
      } catch (e) {
        log("cleanup:", e?.message ?? e);
      }
    }
  })();
  return cleaning;
}

/** The login's password, and one user per side (so their session indexes stay apart). */
const PASSWORD = "correct horse battery staple";
const USERS = { ours: "cpuours", twin: "cputwin" };
/** A client address of the documentation range: the login's known-address path runs (SADD, EXPIRE). */
const IP = "203.0.113.7";

/** The workerd process Miniflare spawned for `start()`: its handle and the new PID. */
async function startTracked(start) {
  const before = new Set(childrenNamed("workerd"));
  const handle = await start();
  const pids = childrenNamed("workerd").filter((p) => !before.has(p));
  if (pids.length !== 1) throw new Error(`expected one new workerd process, found ${pids.length}`);
  return { handle, pid: pids[0] };
}

// ---------------------------------------------------------------------------
// The isolate's CPU from the V8 inspector (workerd's --inspector-addr, which
// Miniflare's inspectorPort sets): a CPU profile around the requests; the
// time of every sample that is not "(idle)" is time the isolate ran (JS,
// wasm, the runtime's code called from them, GC, "(program)").

async function webSocketClass() {
  if (typeof globalThis.WebSocket === "function") return globalThis.WebSocket;
  try {
    // Miniflare's own dependency: node 20 has no WebSocket without a flag.
    return (await import("ws")).default;
  } catch {
    return null;
  }
}

/** A connection to the inspector of the worker's isolate: { profile(fn) -> { result, busyUs, totalUs }, close() }, or null. */
async function inspect(port) {
  const WS = await webSocketClass();
  if (!WS) return null;
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl);
  if (!target) return null;
  const ws = new WS(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = (e) => reject(new Error(`inspector: ${e.message ?? "cannot connect"}`));
  });
  let next = 0;
  const waiting = new Map();
  ws.onmessage = (event) => {
    const msg = JSON.parse(typeof event.data === "string" ? event.data : event.data.toString());
    const w = msg.id !== undefined && waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.error) w.reject(new Error(`inspector ${w.method}: ${msg.error.message}`));
    else w.resolve(msg.result);
  };
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = ++next;
      waiting.set(id, { resolve, reject, method });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 100 });
  return {
    async profile(fn, saveAs) {
      await send("Profiler.start");
      const result = await fn();
      const { profile } = await send("Profiler.stop");
      if (saveAs) writeFileSync(saveAs, JSON.stringify(profile));
      // V8 samples the isolate's thread only while it runs (workerd enters
      // the isolate for a request's JS and wasm, and the runtime's code they
      // call): the gap before a sample that follows a pause is the pause,
      // not work. So each sample counts for at most 1.5 sampling intervals
      // (the interval as measured: the deltas' first quartile; V8 does not
      // reach below ~100 µs here), and "(idle)" samples not at all.
      const sorted = [...profile.timeDeltas].sort((x, y) => x - y);
      const cap = 1.5 * (sorted[Math.floor(0.25 * (sorted.length - 1))] ?? 0);
      const idle = new Set(profile.nodes.filter((node) => node.callFrame.functionName === "(idle)").map((node) => node.id));
      let busyUs = 0;
      // timeDeltas[i] is the time before sample i: sample i-1 ran for it.
      for (let i = 1; i < profile.samples.length; i++) {
        if (!idle.has(profile.samples[i - 1])) busyUs += Math.min(profile.timeDeltas[i], cap);
      }
      return { result, busyUs, samples: profile.samples.length, intervalUs: cap / 1.5 };
    },
    close: () => ws.close(),
  };
}

// ---------------------------------------------------------------------------
// The four requests, as a browser sends them (a real socket to workerd).

/** Sends `n` requests made by `make(i)` one after the other; each must answer `status`. */
async function sequential(worker, n, make, status = 200) {
  for (let i = 0; i < n; i++) {
    const [p, opts] = make(i);
    const res = await request(worker, p, opts);
    if (res.status !== status) throw new Error(`${opts?.method ?? "GET"} ${p}: ${res.status} ${res.text}`);
    opts?.after?.(res);
  }
}

/** The rows: what each sends, given a side's state ({ cookie, jar, user }). */
const ROWS = [
  { id: "first", request: "GET /api/session, no cookie (a first visit: new session saved, Set-Cookie)", make: () => ["/api/session", {}] },
  { id: "read", request: "GET /api/session, valid cookie (GET; the touch after the answer)", make: (s) => ["/api/session", { cookie: s.cookie }] },
  { id: "pour", request: "POST /api/pour, valid cookie (GET; the save script)", make: (s) => ["/api/pour", { method: "POST", cookie: s.cookie, body: "" }] },
  {
    id: "login",
    request: "POST /api/login (the reads' pipeline; PBKDF2; the writes' pipeline with the save)",
    make: (s) => ["/api/login", { method: "POST", json: { username: s.user, password: PASSWORD }, cookie: s.jar.pair, ip: IP, after: (res) => s.jar.take(res) }],
  },
];

/** The JSON body's member names, in order, and the Set-Cookie names: what both sides must answer alike. */
const shape = (res) => ({
  status: res.status,
  members: Object.keys(res.body ?? {}).join(","),
  cookies: allSetCookieLines(res).map((l) => l.split("=")[0]).join(","),
});

/**
 * Checks that both sides answer the four requests with the same status,
 * the same JSON members in the same order and the same Set-Cookie names
 * (the values differ: ids, times, beers). Resolves with each side's state
 * for the rows, and the checked shapes.
 */
async function preflight(sides, register) {
  const shapes = {};
  for (const [name, worker] of Object.entries(sides)) {
    const s = { user: USERS[name], jar: new CookieJar() };
    await register(s.user);
    const first = await request(worker, "/api/session");
    s.cookie = cookiePair(setCookieLines(first).find((l) => l.startsWith(`${COOKIE_NAME}=`)) ?? "");
    const read = await request(worker, "/api/session", { cookie: s.cookie });
    const pour = await request(worker, "/api/pour", { method: "POST", cookie: s.cookie, body: "" });
    const login = await request(worker, "/api/login", { method: "POST", json: { username: s.user, password: PASSWORD }, ip: IP });
    s.jar.take(login);
    if (read.body?.sessionID !== sidOf(s.cookie)) throw new Error(`${name}: the read answered another session: ${read.text}`);
    if (pour.body?.beersViewed !== 1) throw new Error(`${name}: the pour did not count: ${pour.text}`);
    if (login.body?.user !== s.user) throw new Error(`${name}: the login: ${login.status} ${login.text}`);
    shapes[name] = { first: shape(first), read: shape(read), pour: shape(pour), login: shape(login) };
    sides[name] = { worker, state: s };
  }
  for (const row of Object.keys(shapes.ours)) {
    const [a, b] = [JSON.stringify(shapes.ours[row]), JSON.stringify(shapes.twin[row])];
    if (a !== b) throw new Error(`the twin answers ${row} unlike ours: ours ${a}, twin ${b}`);
  }
  return shapes.ours;
}

/**
 * How many rounds' worth of requests the one profiled pass per row and side
 * sends (4 × N: 200 requests, 60 logins with the defaults), so that the
 * isolate CPU, which the latency model takes as its input, rests on as many
 * requests as before the rounds were made short.
 */
const PROFILED_ROUNDS = 4;

/**
 * CPU per request, ours against the twin. `n`: requests per row, side and
 * round ({ first, read, pour, login }); `rounds`; `profileDir`: where to
 * keep the V8 profiles (`<row>-<side>.cpuprofile`, for Chrome's DevTools),
 * or null. Resolves with
 * { shapes, profiled, rows: [{ id, request, n, sides: { ours, twin }:
 * { cpuMs, wallMs, isolateMs (or null), perRoundMain: [main-thread ms per
 * request…] } }] }.
 */
export async function measureCpu({ n, rounds, warmup = 20, profileDir = null }) {
  log("starting redis-server, upstash-local, our worker and the twin (Miniflare)");
  const { upstash, stop } = await startStack({ worker: false });
  stoppers.push(stop);
  // Logins from one address all succeed: its counter goes up and down again.
  const vars = { AUTH_MAX_FAILURES_PER_IP: "1000000" };
  const inspectorPorts = { ours: await freePort(), twin: await freePort() };
  const ours = await startTracked(() => startWorker({ upstashUrl: upstash.url, vars, miniflare: { inspectorPort: inspectorPorts.ours } }));
  stoppers.push(() => ours.handle.stop());
  const twin = await startTracked(() => startTwin({ upstashUrl: upstash.url, vars, miniflare: { inspectorPort: inspectorPorts.twin } }));
  stoppers.push(() => twin.handle.stop());
  const pids = { ours: ours.pid, twin: twin.pid };

  const register = async (user) => {
    const res = await request(ours.handle, "/api/register", { method: "POST", json: { username: user, password: PASSWORD }, ip: IP });
    if (res.status !== 201) throw new Error(`register ${user}: ${res.status} ${res.text}`);
  };
  const sides = { ours: ours.handle, twin: twin.handle };
  const shapes = await preflight(sides, register);

  log(`warming both isolates up (${warmup} requests of each row)`);
  for (const row of ROWS) for (const name of ["ours", "twin"]) await sequential(sides[name].worker, warmup, () => row.make(sides[name].state));

  // The /proc rounds run with no inspector attached; the profiled pass
  // comes after them, on its own.
  const acc = Object.fromEntries(
    ROWS.map((r) => [r.id, { ours: { ticks: [], ns: [], wall: 0, busyUs: null }, twin: { ticks: [], ns: [], wall: 0, busyUs: null } }]),
  );
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? ["twin", "ours"] : ["ours", "twin"];
    for (const row of ROWS) {
      for (const name of order) {
        const { worker, state } = sides[name];
        const count = n[row.id];
        const t0 = cpuTicks(pids[name]).self;
        const ns0 = mainThreadCpuNanos(pids[name]);
        const w0 = performance.now();
        await sequential(worker, count, () => row.make(state));
        const wall = performance.now() - w0;
        const ticks = cpuTicks(pids[name]).self - t0;
        const ns = mainThreadCpuNanos(pids[name]) - ns0;
        const a = acc[row.id][name];
        a.ticks.push(ticks);
        a.ns.push(ns);
        a.wall += wall;
        log(`round ${round + 1}/${rounds} ${row.id} ${name}: ${(ns / 1e6 / count).toFixed(3)} ms main-thread CPU, ${(wall / count).toFixed(2)} ms wall per request`);
      }
    }
  }

  const inspectors = {};
  for (const name of ["ours", "twin"]) {
    try {
      inspectors[name] = await inspect(inspectorPorts[name]);
    } catch (e) {
      log(`no V8 profile for ${name}: ${e.message}`);
      inspectors[name] = null;
    }
    stoppers.push(() => inspectors[name]?.close());
  }
  const profiled = Boolean(inspectors.ours && inspectors.twin);
  const intervals = [];
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  if (profiled) {
    for (const row of ROWS) {
      for (const name of ["ours", "twin"]) {
        const { worker, state } = sides[name];
        const saveAs = profileDir && path.join(profileDir, `${row.id}-${name}.cpuprofile`);
        const count = PROFILED_ROUNDS * n[row.id];
        const { busyUs, samples, intervalUs } = await inspectors[name].profile(() => sequential(worker, count, () => row.make(state)), saveAs);
        acc[row.id][name].busyUs = busyUs;
        acc[row.id][name].samples = samples;
        intervals.push(intervalUs);
        log(`profiled ${row.id} ${name}: ${(busyUs / 1000 / count).toFixed(3)} ms of isolate CPU per request (${samples} samples, ~${intervalUs.toFixed(0)} µs apart)`);
      }
    }
  }
  const rows = ROWS.map((row) => {
    const count = n[row.id];
    const side = (name) => {
      const a = acc[row.id][name];
      const total = count * rounds;
      return {
        cpuMs: (a.ticks.reduce((x, y) => x + y, 0) * 1000) / CLK_TCK / total,
        wallMs: a.wall / total,
        isolateMs: a.busyUs === null ? null : a.busyUs / 1000 / (PROFILED_ROUNDS * count),
        // workerd's main thread (the isolates and the event loop), in ms
        // per request, each round: paired with the other side's same round.
        perRoundMain: a.ns.map((ns) => ns / 1e6 / count),
      };
    };
    return { id: row.id, request: row.request, n: count, sides: { ours: side("ours"), twin: side("twin") } };
  });
  await cleanup();
  stoppers.length = 0;
  cleaning = null;
  return { shapes, profiled, intervalUs: intervals.length ? median(intervals) : null, rounds, rows };
}

// ---------------------------------------------------------------------------
// Cold starts and sizes.

const HELLO = "bench/hello-worker/build";

/** The three workers, how each is started, and what its first request is. */
function coldKinds(upstashUrl) {
  return [
    { id: "ours", label: "our worker (Rust, wasm)", start: () => startWorker({ upstashUrl }), path: "/api/session" },
    { id: "twin", label: "JS twin", start: () => startTwin({ upstashUrl }), path: "/api/session" },
    { id: "hello", label: "hello-world Rust worker (workers-rs)", start: () => startWorker({ upstashUrl, build: HELLO }), path: "/" },
  ];
}

const spread = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });

/**
 * `samples` fresh starts of each worker, in turn. Resolves with
 * [{ id, label, path, readyMs, firstMs, totalMs, secondMs, cpuMs: each
 * { median, min, max } }].
 */
export async function measureColdStarts({ samples }) {
  log(`cold starts: ${samples} fresh Miniflare starts of each worker`);
  const { upstash, stop } = await startStack({ worker: false });
  stoppers.push(stop);
  const kinds = coldKinds(upstash.url);
  const got = Object.fromEntries(kinds.map((k) => [k.id, { readyMs: [], firstMs: [], totalMs: [], secondMs: [], cpuMs: [] }]));
  for (let s = 0; s < samples; s++) {
    // A different kind goes first in each sample.
    const order = kinds.map((_, i) => kinds[(i + s) % kinds.length]);
    for (const k of order) {
      const t0 = performance.now();
      const { handle, pid } = await startTracked(k.start);
      try {
        const ready = performance.now();
        const first = await fetch(handle.url + k.path);
        await first.arrayBuffer();
        const answered = performance.now();
        const cpu = cpuTicks(pid).self;
        if (first.status !== 200) throw new Error(`${k.id}: GET ${k.path} answered ${first.status}`);
        const t2 = performance.now();
        await (await fetch(handle.url + k.path)).arrayBuffer();
        const g = got[k.id];
        g.secondMs.push(performance.now() - t2);
        g.readyMs.push(ready - t0);
        g.firstMs.push(answered - ready);
        g.totalMs.push(answered - t0);
        g.cpuMs.push((cpu * 1000) / CLK_TCK);
      } finally {
        await handle.stop();
      }
    }
  }
  await cleanup();
  stoppers.length = 0;
  cleaning = null;
  return kinds.map((k) => ({ id: k.id, label: k.label, path: k.path, ...Object.fromEntries(Object.entries(got[k.id]).map(([m, xs]) => [m, spread(xs)])) }));
}

/** Raw and gzip -9 bytes of each worker's modules. */
export function moduleSizes() {
  const files = {
    ours: ["build/index_bg.wasm", "build/index.js"],
    twin: ["bench/twin/worker.mjs"],
    hello: [`${HELLO}/index_bg.wasm`, `${HELLO}/index.js`],
  };
  return Object.fromEntries(
    Object.entries(files).map(([id, list]) => {
      const each = list.map(fileSize);
      return [id, { files: each, raw: each.reduce((a, x) => a + x.raw, 0), gz: each.reduce((a, x) => a + x.gz, 0) }];
    }),
  );
}
