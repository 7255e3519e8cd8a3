// The operator's command line at scale (issue 15): `edge-session sessions
// list` and `edge-session stats` over many seeded sessions, timed. Starts
// redis-server and upstash-local (with --stats, to count the CLI's calls)
// on 127.0.0.1, seeds CLI_SCALE_SESSIONS documents straight into
// redis-server (node-redis, pipelined), then runs target/release/edge-session
// against upstash-local as an operator would, one command at a time: wall
// time from spawn to exit, max RSS by /usr/bin/time (without it, the RSS
// high-water mark sampled from /proc). A benchmark, not a
// test: the only checks are that the output has the seeded number of lines
// and counts. Prints a Markdown section on stdout, progress on stderr.
//
// The seeded documents are express-session's (a cookie object of
// maxAge 1 day, `views`); CLI_SCALE_LOGGED_IN (0.2) of them carry
// passport.user, one of CLI_SCALE_USERS (1,000) names, listed in
// user-sessions:<name> (with a record user:<name>), half of those written by
// the worker (a `device`); 1 in 200 index entries points at nothing; TTLs
// are spread over 15 minutes to 1 day.
//
// Knobs: CLI_SCALE_SESSIONS (100000), CLI_SCALE_USERS (1000),
// CLI_SCALE_LOGGED_IN (0.2), CLI_SCALE_DEADLINE (s, 600; then everything it
// started is stopped and it exits 124). `make bench` runs it
// (scripts/bench.sh); alone: `node bench/cli-scale.mjs`.

import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { EDGE_SESSION_BIN as BIN, cliEnvironment, resetStoreStats, startStack, storeStats } from "../tests/support/index.mjs";
import { runReport } from "./lifecycle.mjs";

const SESSIONS = Number(process.env.CLI_SCALE_SESSIONS ?? 100_000);
const USERS = Number(process.env.CLI_SCALE_USERS ?? 1000);
const LOGGED_IN = Number(process.env.CLI_SCALE_LOGGED_IN ?? 0.2);
const DEADLINE = Number(process.env.CLI_SCALE_DEADLINE ?? 600);
const TIME = "/usr/bin/time";
const BATCH = 5000;
const DAY_MS = 86_400_000;
const MIN_TTL = 900;

const log = (...a) => console.error("[cli-scale]", ...a);

let stack = null;
let work = null;
/** The process group of the CLI run under way (its own group: /usr/bin/time and the CLI). */
let running = null;

async function cleanup() {
  if (running) {
    try {
      process.kill(-running, "SIGKILL");
    } catch {}
    running = null;
  }
  await stack?.stop();
  stack = null;
  if (work) rmSync(work, { recursive: true, force: true });
  work = null;
}

// ---------------------------------------------------------------- seeding

const name = (i) => `user${String(i).padStart(4, "0")}`;
/** A stand-in password hash of the worker's format (never checked here). */
const fakeHash = () =>
  `pbkdf2-sha256$600000$${randomBytes(16).toString("base64").replace(/=+$/, "")}$${randomBytes(32).toString("base64").replace(/=+$/, "")}`;

/** One session: its id, document (express-session's bytes) and TTL in seconds; `user` for a logged-in one. */
function session(i, now) {
  // None may expire during the run (the counts are checked): 15 minutes at least.
  const ttl = MIN_TTL + Math.floor(Math.random() * (86_400 - MIN_TTL));
  const expires = new Date(now + ttl * 1000).toISOString();
  const doc = { cookie: { originalMaxAge: DAY_MS, expires, secure: false, httpOnly: true, path: "/" } };
  const views = Math.floor(Math.random() * 20);
  if (views > 0) doc.views = views;
  let user = null;
  if (Math.random() < LOGGED_IN) {
    user = name(i % USERS);
    doc.passport = { user };
    // Half of the logins as the worker writes them (§14.1 `device`), half as an Express app does.
    if (Math.random() < 0.5) doc.device = { label: "Firefox on Linux", signedInAt: now - (DAY_MS - ttl * 1000) };
  }
  return { id: randomUUID(), text: JSON.stringify(doc), ttl, user };
}

/**
 * Writes the sessions, their index sets (and 1 in 200 entries with no key),
 * the user records and their lifetime beers, in pipelines of BATCH commands.
 * Resolves with what was written: { sessions, loggedIn, users, indexEntries, dangling, bytes, seconds }.
 */
async function seed(client) {
  const t0 = performance.now();
  const now = Date.now();
  let pending = [];
  const flush = async () => {
    await Promise.all(pending);
    pending = [];
  };
  const send = async (p) => {
    pending.push(p);
    if (pending.length >= BATCH) await flush();
  };
  const counts = { sessions: 0, loggedIn: 0, users: 0, indexEntries: 0, dangling: 0, bytes: 0 };
  const users = new Set();
  for (let i = 0; i < SESSIONS; i++) {
    const s = session(i, now);
    await send(client.set(`sess:${s.id}`, s.text, { EX: s.ttl }));
    counts.sessions += 1;
    counts.bytes += Buffer.byteLength(s.text);
    if (s.user) {
      counts.loggedIn += 1;
      users.add(s.user);
      await send(client.sAdd(`user-sessions:${s.user}`, s.id));
      counts.indexEntries += 1;
      if (counts.indexEntries % 200 === 0) {
        await send(client.sAdd(`user-sessions:${s.user}`, randomUUID()));
        counts.indexEntries += 1;
        counts.dangling += 1;
      }
    }
  }
  for (const u of users) {
    await send(client.set(`user:${u}`, JSON.stringify({ username: u, password: fakeHash() })));
    await send(client.set(`user-beers:${u}`, String(Math.floor(Math.random() * 100))));
    await send(client.expire(`user-sessions:${u}`, 86_400));
  }
  await flush();
  counts.users = users.size;
  counts.seconds = (performance.now() - t0) / 1000;
  return counts;
}

// ---------------------------------------------------------------- timing

/** Max RSS (kB) of `pid` so far, from /proc (VmHWM), or 0 once it is gone. */
function highWater(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmHWM:\s+(\d+) kB/m)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * Runs the CLI with `args` under /usr/bin/time in its own process group,
 * killed at the deadline. Resolves with { seconds, maxRssKb, lines, code,
 * stdout, stderr, rssHow }.
 */
function timed(args, env, deadlineAt) {
  const timeFile = path.join(work, "time.txt");
  const withTime = existsSync(TIME);
  const [cmd, argv] = withTime ? [TIME, ["-f", "%e %M", "-o", timeFile, BIN, ...args]] : [BIN, args];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, argv, { env, cwd: work, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    running = child.pid;
    const out = [];
    let stderr = "";
    child.stdout.on("data", (d) => out.push(d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    let sampled = 0;
    const sampler = withTime ? null : setInterval(() => (sampled = Math.max(sampled, highWater(child.pid))), 20);
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, Math.max(1000, deadlineAt - Date.now() - 5000));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const wall = (performance.now() - t0) / 1000;
      clearTimeout(timer);
      if (sampler) clearInterval(sampler);
      running = null;
      if (signal) return reject(new Error(`edge-session ${args.join(" ")}: killed by ${signal} (deadline)\n${stderr}`));
      const stdout = Buffer.concat(out).toString("utf8");
      // Wall time from here (/usr/bin/time's %e has 10 ms steps); max RSS from /usr/bin/time's %M.
      const seconds = wall;
      let maxRssKb = sampled;
      if (withTime) {
        const m = readFileSync(timeFile, "utf8").trim().split("\n").at(-1).match(/^([\d.]+) (\d+)$/);
        if (!m) return reject(new Error(`${TIME}: unexpected output ${readFileSync(timeFile, "utf8")}`));
        maxRssKb = Number(m[2]);
      }
      const lines = stdout.split("\n").filter((l) => l.length > 0).length;
      resolve({ seconds, maxRssKb, lines, code, stdout, stderr, rssHow: withTime ? "time" : "sampled" });
    });
  });
}

async function produce() {
  const deadlineAt = Date.now() + DEADLINE * 1000;
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: cargo build --release -p edge-session-cli (scripts/build.sh)`);
  work = mkdtempSync(path.join(tmpdir(), "edge-session-cli-scale-"));
  stack = await startStack({ worker: false, upstashArgs: ["--stats"] });
  log(`seeding ${SESSIONS.toLocaleString("en-US")} sessions into redis-server`);
  const seeded = await seed(stack.redis.client);
  log(`seeded in ${seeded.seconds.toFixed(1)} s`);
  const env = cliEnvironment({ home: work, upstashUrl: stack.upstash.url });
  const someone = name(1);
  const someonesSessions = (await stack.redis.client.sMembers(`user-sessions:${someone}`)).length;
  const runs = [
    { args: ["sessions", "list", "--json"], lines: seeded.sessions },
    { args: ["sessions", "list", "--limit", "100", "--json"], lines: Math.min(100, seeded.sessions) },
    { args: ["sessions", "list", "--user", someone, "--json"], lines: null, note: `${someonesSessions} index ${someonesSessions === 1 ? "entry" : "entries"}` },
    { args: ["stats", "--json"], lines: 1 },
  ];
  const rows = [];
  for (const r of runs) {
    log(`edge-session ${r.args.join(" ")}`);
    await resetStoreStats(stack.upstash);
    const t = await timed(r.args, env, deadlineAt);
    const calls = await storeStats(stack.upstash);
    if (t.code !== 0) throw new Error(`edge-session ${r.args.join(" ")} exited ${t.code}\n${t.stderr.slice(-4000)}`);
    if (r.lines !== null && t.lines !== r.lines) throw new Error(`edge-session ${r.args.join(" ")}: ${t.lines} lines, expected ${r.lines}`);
    if (r.args[0] === "stats") {
      const s = JSON.parse(t.stdout);
      const want = { sessions: seeded.sessions, logged_in: seeded.loggedIn, dangling_index_entries: seeded.dangling, index_entries: seeded.indexEntries };
      for (const [k, v] of Object.entries(want)) if (s[k] !== v) throw new Error(`stats: ${k} ${s[k]}, seeded ${v}`);
      if (s.bytes?.total !== seeded.bytes) throw new Error(`stats: bytes.total ${s.bytes?.total}, seeded ${seeded.bytes}`);
    }
    rows.push({ ...r, ...t, calls });
    log(`  ${t.seconds.toFixed(2)} s, ${(t.maxRssKb / 1024).toFixed(1)} MiB, ${calls.http_calls} calls, ${calls.commands} commands`);
  }
  const endpoints = (c) =>
    Object.entries(c.by_endpoint ?? {})
      .filter(([, n]) => n > 0)
      .map(([e, n]) => `${e} ${n.toLocaleString("en-US")}`)
      .join(", ");
  const mib = (kb) => `${(kb / 1024).toFixed(1)} MiB`;
  return `
## The operator's command line at scale

\`node bench/cli-scale.mjs\` (part of \`make bench\`): ${seeded.sessions.toLocaleString("en-US")} sessions seeded straight into
redis-server (express-session documents with a cookie object and \`views\`; ${seeded.loggedIn.toLocaleString("en-US")} logged in
across ${seeded.users.toLocaleString("en-US")} users, half of them with the worker's \`device\`, each indexed in
\`user-sessions:<name>\`; ${seeded.dangling} index entries pointing at nothing; TTLs from 15 minutes to a day;
${(seeded.bytes / 1e6).toFixed(1)} MB of documents; seeded in ${seeded.seconds.toFixed(1)} s), then
\`target/release/edge-session\` against upstash-local (\`--stats\` counts its HTTP calls) on the
same machine, one command at a time, stdout read to the end. Wall time from spawn to exit;
max RSS ${rows[0].rssHow === "time" ? "by `/usr/bin/time -f \"%e %M\"`" : "sampled from /proc (VmHWM) every 20 ms"}.

| command | output lines | wall time | max RSS | Upstash HTTP calls | Redis commands | by endpoint |
|---|---:|---:|---:|---:|---:|---|
${rows
  .map(
    (r) =>
      `| \`edge-session ${r.args.join(" ")}\`${r.note ? ` (${r.note})` : ""} | ${r.lines.toLocaleString("en-US")} | ${r.seconds.toFixed(3)} s | ${mib(r.maxRssKb)} | ${r.calls.http_calls.toLocaleString("en-US")} | ${r.calls.commands.toLocaleString("en-US")} | ${endpoints(r.calls)} |`,
  )
  .join("\n")}
`;
}

await runReport({ tag: "cli-scale", deadlineS: DEADLINE, cleanup, produce });
