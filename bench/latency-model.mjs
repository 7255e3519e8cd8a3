// A latency model per region (issue 14, target 5): the expected time of a
// read, a pour and a login for users in five places, for
//
//   (a) Express + connect-redis in AWS us-east-1, Redis in the same region;
//   (b) this worker at the user's nearest Cloudflare location, Upstash in
//       us-east-1;
//   (c) the same with an Upstash Global database: a read replica near the
//       user, the primary in us-east-1.
//
// MODELLED, NOT MEASURED. Pure arithmetic, no network: the store round
// trips come from tests/support/round-trips.mjs (what
// tests/e2e/round-trips.test.mjs asserts exactly against the built worker),
// the round-trip times between places from published measurements (each
// with its source and date, below), the CPU per request from this
// repository's benchmark (docs/BENCHMARKS.md), and the rest from stated
// assumptions. Prints a Markdown section (part of `make bench`'s report).
//
//   node bench/latency-model.mjs [--cpu worker.read=1.46] [--rtt Sydney=198] [--last-mile 20] …
//
// `--cpu <side>.<kind>=<ms>` replaces a CPU input (side: worker | express;
// kind: read | pour | login) with a newer measurement; `--rtt <place>=<ms>`
// a published round trip with a newer one; `--last-mile <ms>` the assumed
// user ↔ Cloudflare round trip.

import { fileURLToPath } from "node:url";
import { CALLS } from "../tests/support/round-trips.mjs";

// ---------------------------------------------------------------------------
// Sources

/** Every published number the model uses, by key: title, address, date of the data. */
export const SOURCES = {
  awsMatrix: {
    title:
      'AWS inter-region ping round-trip times, the table "Latency Between AWS Global Regions" (average latency, ms) as reproduced in "AWS Regions" (A Computer Scientist Learns AWS)',
    url: "https://acomputerscientistlearnsaws.blogspot.com/2017/04/aws-regions.html",
    date: "published April 2017 (the measurements are from then or earlier)",
  },
  upstashGlobal: {
    title: 'Upstash docs, "Global Database": writes are sent to and processed at the primary region, reads go to the nearest read region, clients are routed to the nearest region',
    url: "https://upstash.com/docs/redis/features/globaldatabase",
    date: "page as stored; undated",
  },
  upstashRyw: {
    title: 'Upstash docs, "Read Your Writes": the upstash-sync-token header makes a replica catch up to a write before it serves a read',
    url: "https://upstash.com/docs/redis/howto/readyourwrites",
    date: "page as stored; undated",
  },
  upstashEvalRo: {
    title: 'Upstash docs, "EVAL_RO": declaring a script read-only lets the server serve it on replicas (so the save\'s plain EVALSHA is served by the primary)',
    url: "https://upstash.com/docs/redis/commands/scripting/eval-ro",
    date: "page as stored; undated",
  },
  cloudflarePerf: {
    title:
      'Cloudflare blog, "Network performance update: Birthday Week 2025" (TCP connection time from the 1,000 largest last-mile networks to Cloudflare and its peers; no per-city round-trip figure)',
    url: "https://blog.cloudflare.com/network-performance-update-birthday-week-2025/",
    date: "2025-09-26",
  },
  benchmarks: {
    title: "docs/BENCHMARKS.md of this repository: workerd and Node CPU per request, PBKDF2 cost per login",
    url: "docs/BENCHMARKS.md",
    date: "run of 2026-11-30 (commit ba88d08)",
  },
};

// ---------------------------------------------------------------------------
// Inputs

/**
 * The users' places. `toUsEast1Ms` is the round-trip time (ms) between the
 * AWS region in or next to the user's city and us-east-1: the long-haul part
 * of the user's path to Express, and of the worker's path from the
 * Cloudflare location in that city to Upstash in us-east-1 (Cloudflare has a
 * location in each of these cities; an Upstash read region is assumed in
 * the same AWS region, `replicaRegion`).
 */
export const REGIONS = [
  { name: "Virginia", awsRegion: "us-east-1", replicaRegion: "us-east-1", toUsEast1Ms: null, source: null },
  { name: "Ireland", awsRegion: "eu-west-1", replicaRegion: "eu-west-1", toUsEast1Ms: 80.55, source: "awsMatrix" },
  { name: "São Paulo", awsRegion: "sa-east-1", replicaRegion: "sa-east-1", toUsEast1Ms: 119.5, source: "awsMatrix" },
  { name: "Tokyo", awsRegion: "ap-northeast-1", replicaRegion: "ap-northeast-1", toUsEast1Ms: 145.3, source: "awsMatrix" },
  { name: "Sydney", awsRegion: "ap-southeast-2", replicaRegion: "ap-southeast-2", toUsEast1Ms: 230, source: "awsMatrix" },
];

/** The request kinds of the model, each named by its row in tests/support/round-trips.mjs. */
export const KINDS = [
  { kind: "read", label: "read (`GET /api/session`, valid cookie)", row: "read, valid cookie" },
  { kind: "pour", label: "pour (`POST /api/pour`)", row: "pour" },
  { kind: "login", label: "login (`POST /api/login`)", row: "login: a first login" },
];

/**
 * Express's Redis round trips before the answer, in order. Not asserted by
 * a test: read and pour are docs/PROTOCOL.md §4.3 and the Express rows of
 * docs/BENCHMARKS.md (measured there: `GET 1.00 · EXPIRE 1.00`, `GET 1.00 ·
 * SET 1.00`); login is read from tests/fixtures/express-accounts.mjs (the
 * session's GET, the user record's GET, Passport's regenerate = DEL, its
 * save = SET, edge-session-express's index as one MULTI), with no rate
 * limits, which the worker's login has.
 */
export const EXPRESS_CALLS = {
  read: [["GET"], ["EXPIRE"]],
  pour: [["GET"], ["SET"]],
  login: [["GET"], ["GET"], ["DEL"], ["SET"], ["MULTI"]],
};

/**
 * CPU per request (ms), from docs/BENCHMARKS.md, replaceable with `--cpu`.
 * worker: workerd process CPU (an upper bound of what the isolate spends:
 * it includes workerd's own HTTP work for the store calls); login is the
 * login-cpu run at 20,000 PBKDF2 iterations. express: the Node process;
 * Express's login is not benchmarked, so it is its pour plus the same
 * PBKDF2 cost the worker pays (4.40 ms at 20,000 iterations; Node's
 * pbkdf2Sync is native code too).
 */
export const DEFAULT_CPU = {
  worker: { read: 1.456, pour: 1.94, login: 10.5 },
  express: { read: 0.371, pour: 0.505, login: 0.505 + 4.4 },
};

/** The assumed times (ms): none of these is a published number for these exact paths. */
export const DEFAULT_ASSUMPTIONS = {
  /** User ↔ the nearest Cloudflare location, fixed broadband, warm connection: Cloudflare has a location in each of the five cities. */
  lastMileMs: 15,
  /** Within one metro: a Cloudflare location ↔ the AWS region in the same city (Ashburn ↔ us-east-1, Dublin ↔ eu-west-1, …). */
  sameMetroMs: 2,
  /** Express ↔ its Redis in the same region: one command, round trip and execution. */
  redisInRegionMs: 0.5,
  /** Upstash's own time per REST call (TLS record, HTTP parsing, the commands), on top of the network round trip. */
  upstashServiceMs: 1,
  /** A replica's wait for the write named by the browser's `<name>.sync` token (0: replication has landed before the next request arrives). */
  replicaWaitMs: 0,
};

// ---------------------------------------------------------------------------
// The model

/** Redis commands that only read: a call made of these alone can be served by a read replica. */
const READ_ONLY_COMMANDS = new Set(["GET", "MGET", "SMEMBERS", "SISMEMBER", "PTTL", "TTL", "EXISTS", "HGET", "HGETALL"]);

/**
 * Whether a call (one HTTP request to Upstash: a command or a pipeline) is
 * served by a Global database's nearest read replica: only when every
 * command in it only reads. A pipeline with one write in it (a login's
 * rate-limit INCR, a save's EVALSHA) is assumed to go to the primary whole:
 * Upstash runs a pipeline's commands in order on one node.
 */
export const isReadOnlyCall = (call) => call.every((command) => READ_ONLY_COMMANDS.has(command));

/** The worker's calls before the response for one request kind, from the shared table the test asserts. */
export function workerCalls(kind) {
  const found = KINDS.find((k) => k.kind === kind);
  if (!found) throw new Error(`unknown request kind: ${kind}`);
  const calls = CALLS[found.row];
  if (!calls) throw new Error(`tests/support/round-trips.mjs has no row "${found.row}"`);
  return calls;
}

/** Round-trip time (ms) between a city's AWS region and us-east-1 (within one metro for Virginia). */
const longHaulMs = (region, a) => region.toUsEast1Ms ?? a.sameMetroMs;

/**
 * Expected time (ms) from the user sending the request to the last byte of
 * the answer, warm connections everywhere (no TCP or TLS handshake): one
 * user round trip, the CPU, and each store round trip made before the
 * answer, one after the other. Returns { a, b, c }.
 */
export function requestTime(region, kind, { cpu = DEFAULT_CPU, assumptions = DEFAULT_ASSUMPTIONS } = {}) {
  const a = assumptions;
  const calls = workerCalls(kind);
  const toPrimary = longHaulMs(region, a);
  // (a) user → us-east-1 over the Internet, Redis next to Express.
  const express = a.lastMileMs + toPrimary + cpu.express[kind] + EXPRESS_CALLS[kind].length * a.redisInRegionMs;
  // (b) every call from the user's Cloudflare location to us-east-1.
  const single = a.lastMileMs + cpu.worker[kind] + calls.length * (toPrimary + a.upstashServiceMs);
  // (c) reads at the replica in the same metro; writes routed through it to
  // the primary (clients are routed to the nearest region, writes are
  // processed at the primary). In Virginia the nearest region is the primary.
  const replicaIsPrimary = region.replicaRegion === "us-east-1";
  const globalCallMs = (call) => {
    if (replicaIsPrimary) return toPrimary + a.upstashServiceMs;
    if (isReadOnlyCall(call)) return a.sameMetroMs + a.replicaWaitMs + a.upstashServiceMs;
    return a.sameMetroMs + toPrimary + a.upstashServiceMs;
  };
  const global = a.lastMileMs + cpu.worker[kind] + calls.reduce((sum, call) => sum + globalCallMs(call), 0);
  return { a: express, b: single, c: global };
}

/** What a new browser connection (TCP + TLS 1.3: two round trips on it before the request) adds, ms: { a, bc }. */
export function coldConnectionMs(region, assumptions = DEFAULT_ASSUMPTIONS) {
  return {
    a: 2 * (assumptions.lastMileMs + longHaulMs(region, assumptions)),
    bc: 2 * assumptions.lastMileMs,
  };
}

/** The model for every region and kind: [{ region, times: { read: {a,b,c}, … } }]. */
export function model({ regions = REGIONS, ...options } = {}) {
  return regions.map((region) => ({
    region,
    times: Object.fromEntries(KINDS.map(({ kind }) => [kind, requestTime(region, kind, options)])),
  }));
}

// ---------------------------------------------------------------------------
// The report

const r0 = (x) => String(Math.round(x));
/** Where a round-trip time came from, as a table cell. */
const sourceCell = (key) =>
  key === null ? "assumption" : key === "commandLine" ? "given with `--rtt`" : `[${SOURCES[key].date}](${SOURCES[key].url})`;
const callsText = (calls) => calls.map((c) => c.join("+")).join(" → ");
const callKinds = (calls) => calls.map((c) => (isReadOnlyCall(c) ? "read" : "write")).join(", ");

/** The compact table: a row per region, read / pour / login for (a) (b) (c), ms. */
export function table(rows) {
  const head = ["users in", ...KINDS.flatMap(({ kind }) => ["a", "b", "c"].map((s) => `${kind} (${s})`))];
  const lines = [`| ${head.join(" | ")} |`, `|---|${head.slice(1).map(() => "---:").join("|")}|`];
  for (const { region, times } of rows) {
    const cells = KINDS.flatMap(({ kind }) => ["a", "b", "c"].map((s) => r0(times[kind][s])));
    lines.push(`| ${region.name} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** The whole Markdown section. */
export function render({ cpu = DEFAULT_CPU, regions = REGIONS, assumptions = DEFAULT_ASSUMPTIONS } = {}) {
  const a = assumptions;
  const rows = model({ cpu, regions, assumptions });
  const out = [];
  out.push("### Latency model per region (modelled, not measured)");
  out.push("");
  out.push(
    "Expected time in ms from a user's request to the end of its answer, warm connections, no queueing: " +
      "**(a)** Express + connect-redis in AWS us-east-1 (Redis in the same region); " +
      "**(b)** this worker at the user's Cloudflare location, Upstash in us-east-1; " +
      "**(c)** the same with an Upstash Global database, a read replica in the user's region, the primary in us-east-1. " +
      "Computed by `bench/latency-model.mjs` from the store round trips the tests assert, published round-trip times and the CPU measured here; nothing below was timed over a real network.",
  );
  out.push("");
  out.push(table(rows));
  out.push("");
  out.push("A browser's first request on a new connection (TCP + TLS 1.3 handshakes: two more round trips on its own connection) adds:");
  out.push("");
  out.push("| users in | (a) to us-east-1 | (b), (c) to the Cloudflare location |");
  out.push("|---|---:|---:|");
  for (const region of regions) {
    const cold = coldConnectionMs(region, a);
    out.push(`| ${region.name} | ${r0(cold.a)} | ${r0(cold.bc)} |`);
  }
  out.push("");
  out.push("#### Inputs");
  out.push("");
  out.push("Store round trips before the answer (the worker's from `tests/support/round-trips.mjs`, asserted exactly by `tests/e2e/round-trips.test.mjs`):");
  out.push("");
  out.push("| request | worker: calls to Upstash | on a Global database | Express: calls to Redis |");
  out.push("|---|---|---|---|");
  for (const { kind, label } of KINDS) {
    const calls = workerCalls(kind);
    out.push(`| ${label} | ${calls.length}: ${callsText(calls)} | ${callKinds(calls)} | ${EXPRESS_CALLS[kind].length}: ${callsText(EXPRESS_CALLS[kind])} |`);
  }
  out.push("");
  out.push(
    "A call is a read (served by the replica) only when every command in it only reads; the login's first call carries the rate-limit hits (`INCR`, `EXPIRE … NX`), so both of its calls go to the primary. " +
      "The worker's touch (`EXPIRE`) goes after the answer and is not counted; Express's is waited for.",
  );
  out.push("");
  out.push("Round-trip times (ms):");
  out.push("");
  out.push("| users in | AWS region there | ↔ us-east-1 | source |");
  out.push("|---|---|---:|---|");
  for (const region of regions) {
    const rtt = region.toUsEast1Ms === null ? `${a.sameMetroMs} (same metro, assumed)` : String(region.toUsEast1Ms);
    const src = sourceCell(region.source);
    out.push(`| ${region.name} | ${region.awsRegion} | ${rtt} | ${src} |`);
  }
  out.push("");
  out.push("CPU per request (ms; `--cpu side.kind=ms` replaces one; `--rtt place=ms` replaces a round trip above):");
  out.push("");
  out.push("| | read | pour | login |");
  out.push("|---|---:|---:|---:|");
  for (const side of ["worker", "express"]) {
    out.push(`| ${side} | ${cpu[side].read.toFixed(2)} | ${cpu[side].pour.toFixed(2)} | ${cpu[side].login.toFixed(2)} |`);
  }
  out.push("");
  out.push("#### Assumptions");
  out.push("");
  for (const line of [
    `User ↔ nearest Cloudflare location: ${a.lastMileMs} ms round trip on fixed broadband (Cloudflare has a location in each of the five cities; mobile networks add more). The user's path to us-east-1 is this plus the AWS round trip between the user's city and us-east-1. An assumption: no published per-city figure was found.`,
    `Within one metro (a Cloudflare location ↔ the AWS region in the same city, e.g. Ashburn ↔ us-east-1): ${a.sameMetroMs} ms.`,
    `AWS's region-to-region round trips stand in for the Internet path between the same cities, for the user's path to Express and for the worker's calls to Upstash alike (the published numbers are AWS backbone pings from 2017 or earlier; a public Internet path is usually no faster; a newer matrix, e.g. cloudping.co's, can replace them with \`--rtt\`).`,
    `Upstash's own time per REST call: ${a.upstashServiceMs} ms on top of the network; Express's Redis in the same region: ${a.redisInRegionMs} ms per command, round trip included.`,
    "Warm connections everywhere: the browser's HTTP/2 connection is open, the worker's connection to Upstash is reused, Express's Redis connection is open; the table above gives what a new browser connection adds. A new connection from a Cloudflare location to Upstash would add two round trips to us-east-1 (or to the replica) more.",
    "A warm isolate (no wasm compile) and a warm Express process; no queueing; the CPU figures are this machine's (2 cores), the worker's an upper bound of what an isolate spends.",
    "Global database: reads go to the nearest read region, writes are processed at the primary (Upstash's docs); a write is modelled as routed through the nearest region to the primary (same-metro hop + the round trip to us-east-1). A pipeline with any write in it goes to the primary whole.",
    `Read-your-writes: a read that carries the browser's \`<name>.sync\` token (its own write in the last 30 s) makes the replica wait for that write; modelled as ${a.replicaWaitMs} ms, since the write reached the primary before its answer left for the user, and replication to the replica travels a path no longer than that answer's. Writes made elsewhere (another device) may be missing from a replica for as long as replication lags.`,
    "Not modelled: a compare-and-set save that meets a newer document (one more call), a cold beer cache, the page (`GET /`), DNS, packet loss, Smart Placement (which would run the worker next to us-east-1 and make (b) about Express's time plus the worker's CPU).",
  ]) {
    out.push(`- ${line}`);
  }
  out.push("");
  out.push("#### Sources");
  out.push("");
  for (const s of Object.values(SOURCES)) {
    out.push(`- ${s.title}. ${s.url.startsWith("http") ? `<${s.url}>` : `\`${s.url}\``}; ${s.date}.`);
  }
  out.push("");
  return out.join("\n");
}

// ---------------------------------------------------------------------------
// Command line

/**
 * Parses the command line into the model's options (copies of the
 * defaults): `--cpu <worker|express>.<read|pour|login>=<ms>` replaces a CPU
 * input, `--rtt <place>=<ms>` the round trip between a place's AWS region
 * and us-east-1 (say from a newer matrix), `--last-mile <ms>` the user's
 * round trip to the nearest Cloudflare location. Each also as `--flag=value`.
 * Throws on anything else.
 */
export function parseArgs(argv) {
  const cpu = structuredClone(DEFAULT_CPU);
  const regions = REGIONS.map((region) => ({ ...region }));
  const assumptions = { ...DEFAULT_ASSUMPTIONS };
  const number = "(\\d+(?:\\.\\d+)?)";
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const [flag, inline] = arg.split(/=(.*)/s, 2);
    const value = inline ?? argv[++i];
    if (flag === "--cpu") {
      const m = new RegExp(`^(worker|express)\\.(read|pour|login)=${number}$`).exec(value ?? "");
      if (!m) throw new Error(`--cpu takes side.kind=ms (side: worker|express, kind: read|pour|login), not ${JSON.stringify(value)}`);
      cpu[m[1]][m[2]] = Number(m[3]);
    } else if (flag === "--rtt") {
      const m = new RegExp(`^(.+)=${number}$`).exec(value ?? "");
      const region = m && regions.find((r) => r.name === m[1] && r.toUsEast1Ms !== null);
      if (!region) throw new Error(`--rtt takes place=ms for one of ${regions.filter((r) => r.toUsEast1Ms !== null).map((r) => r.name).join(", ")}, not ${JSON.stringify(value)}`);
      region.toUsEast1Ms = Number(m[2]);
      region.source = "commandLine";
    } else if (flag === "--last-mile") {
      if (!new RegExp(`^${number}$`).test(value ?? "")) throw new Error(`--last-mile takes ms, not ${JSON.stringify(value)}`);
      assumptions.lastMileMs = Number(value);
    } else {
      throw new Error(`unknown argument ${JSON.stringify(arg)} (expected --cpu, --rtt or --last-mile)`);
    }
  }
  return { cpu, regions, assumptions };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    // A blank line first: the section is appended to the report after other parts.
    process.stdout.write(`\n${render(parseArgs(process.argv.slice(2)))}`);
  } catch (err) {
    console.error(`latency-model: ${err.message}`);
    process.exit(2);
  }
}
