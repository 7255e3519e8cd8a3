#!/usr/bin/env node
// Golden vectors from the real packages: drives the reference Express app
// (tests/fixtures/express-app.mjs: the real express-session, connect-redis,
// node-redis and Passport, in this process) through every option set of
// tests/golden/options.mjs × every request sequence of
// tests/golden/sequences.mjs, against a real redis-server watched with
// MONITOR, and records per step: status, answer, Set-Cookie lines, the Redis
// commands, and every key's document and TTL class, normalized by
// tests/support/normalize.mjs.
//
//   node tests/golden/record.mjs            regenerate tests/golden/vectors.json
//   node tests/golden/record.mjs --check    record afresh and fail on any
//                                           difference with the committed file
//   --sets=a,b --sequences=x,y              restrict (with --check: compare
//                                           only those)
//
// The worker must reproduce these vectors: tests/e2e/golden.test.mjs.

import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startRedis, startMonitor, closeAgents } from "../support/index.mjs";
import { startExpress } from "../fixtures/express-app.mjs";
import { OPTION_SETS, expressConfig } from "./options.mjs";
import { SEQUENCES } from "./sequences.mjs";
import { expressSide, runSequence, WATCH } from "./lib.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const VECTORS = path.join(HERE, "vectors.json");

const args = process.argv.slice(2);
const check = args.includes("--check");
const listArg = (name) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1].split(",");
const onlySets = listArg("sets");
const onlySeqs = listArg("sequences");

function versions() {
  const root = path.join(HERE, "../../node_modules");
  const v = (dir) => JSON.parse(readFileSync(path.join(root, dir, "package.json"), "utf8")).version;
  const own = (dir, dep) => {
    try {
      return v(`${dir}/node_modules/${dep}`);
    } catch {
      return v(dep);
    }
  };
  return {
    "express-session": v("express-session"),
    "connect-redis": v("connect-redis"),
    express: v("express"),
    passport: v("passport"),
    redis: v("redis"),
    "cookie-signature (express-session's)": own("express-session", "cookie-signature"),
    "cookie (express-session's)": own("express-session", "cookie"),
  };
}

async function record() {
  const sets = OPTION_SETS.filter((s) => !onlySets || onlySets.includes(s.id));
  const seqs = SEQUENCES.filter((s) => !onlySeqs || onlySeqs.includes(s.name));
  const redis = await startRedis();
  const monitor = await startMonitor(redis.client, WATCH);
  const out = {
    about:
      "Golden vectors recorded from the real npm packages by tests/golden/record.mjs; " +
      "normalization in tests/golden/lib.mjs; do not edit by hand.",
    recordedWith: versions(),
    optionSets: {},
    vectors: {},
  };
  let quirks = 0;
  const started = Date.now();
  try {
    for (const set of sets) {
      out.optionSets[set.id] = set;
      out.vectors[set.id] = {};
      const app = await startExpress({ redisUrl: redis.url, ...expressConfig(set), tls: true });
      try {
        const side = expressSide(app);
        for (const seq of seqs) {
          await redis.client.flushDb();
          const run = await runSequence({ side, redis: redis.client, monitor, set, seq, quirk: true });
          out.vectors[set.id][seq.name] = run.steps;
          quirks += run.quirks;
        }
      } finally {
        await app.stop();
      }
    }
  } finally {
    await monitor.stop();
    await redis.stop();
    closeAgents();
  }
  const runs = sets.length * seqs.length;
  console.error(
    `recorded ${sets.length} option sets × ${seqs.length} sequences = ${runs} runs in ${((Date.now() - started) / 1000).toFixed(1)} s` +
      (quirks ? ` (Node's originalMaxAge clock quirk normalized ${quirks}×)` : ""),
  );
  return out;
}

/**
 * vectors.json's layout: nested objects indented down to one step, then one
 * line per step field, per Redis command and per key, so that a change in a
 * reference package shows up as a readable diff.
 */
export function serialize(v) {
  const j = (x) => JSON.stringify(x);
  const obj = (o, indent, fmt) =>
    Object.keys(o).length === 0
      ? "{}"
      : "{\n" + Object.entries(o).map(([k, x]) => `${indent} ${j(k)}: ${fmt(x, indent + " ")}`).join(",\n") + `\n${indent}}`;
  const arr = (a, indent, fmt) => (a.length === 0 ? "[]" : "[\n" + a.map((x) => `${indent} ${fmt(x, indent + " ")}`).join(",\n") + `\n${indent}]`);
  const step = (s, indent) =>
    obj(s, indent, (x, ind) => (Array.isArray(x) && x.some(Array.isArray) ? arr(x, ind, j) : x && typeof x === "object" && !Array.isArray(x) && x !== s.answer ? obj(x, ind, j) : j(x)));
  return (
    obj(v, "", (x, ind) => {
      if (x === v.vectors) return obj(x, ind, (bySeq, i2) => obj(bySeq, i2, (steps, i3) => arr(steps, i3, step)));
      if (x === v.optionSets) return obj(x, ind, j);
      return j(x);
    }) + "\n"
  );
}

/** Human-readable differences between two recordings (first `limit`). */
export function differences(a, b, limit = 20) {
  const diffs = [];
  const walk = (x, y, where) => {
    if (diffs.length >= limit) return;
    if (JSON.stringify(x) === JSON.stringify(y)) return;
    if (x && y && typeof x === "object" && typeof y === "object" && Array.isArray(x) === Array.isArray(y)) {
      for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) walk(x[k], y[k], `${where}/${k}`);
      return;
    }
    diffs.push(`${where}:\n    committed: ${JSON.stringify(x)}\n    fresh:     ${JSON.stringify(y)}`);
  };
  walk(a, b, "");
  return diffs;
}

const fresh = await record();
if (!check) {
  let out = fresh;
  if (onlySets || onlySeqs) {
    // A partial recording is merged into the committed file, in matrix order.
    const old = JSON.parse(readFileSync(VECTORS, "utf8"));
    out = { ...fresh, optionSets: {}, vectors: {} };
    for (const set of OPTION_SETS) {
      const fromFresh = fresh.optionSets[set.id];
      if (!fromFresh && !old.optionSets[set.id]) continue;
      out.optionSets[set.id] = fromFresh ?? old.optionSets[set.id];
      out.vectors[set.id] = {};
      for (const seq of SEQUENCES) {
        const v = fresh.vectors[set.id]?.[seq.name] ?? old.vectors[set.id]?.[seq.name];
        if (v) out.vectors[set.id][seq.name] = v;
      }
    }
  }
  writeFileSync(VECTORS, serialize(out));
  console.error(`wrote ${path.relative(process.cwd(), VECTORS)}`);
} else {
  const committed = JSON.parse(readFileSync(VECTORS, "utf8"));
  // With --sets/--sequences only the recorded part is compared.
  const subset = {
    ...committed,
    optionSets: Object.fromEntries(Object.keys(fresh.optionSets).map((k) => [k, committed.optionSets[k]])),
    vectors: Object.fromEntries(
      Object.keys(fresh.vectors).map((k) => [
        k,
        Object.fromEntries(Object.keys(fresh.vectors[k]).map((s) => [s, committed.vectors[k]?.[s]])),
      ]),
    ),
  };
  const diffs = differences(onlySets || onlySeqs ? subset : committed, fresh);
  if (diffs.length) {
    console.error(`golden vectors differ from ${path.relative(process.cwd(), VECTORS)}:\n  ${diffs.join("\n  ")}`);
    console.error("If a reference package changed on purpose, regenerate with `node tests/golden/record.mjs` and review the diff.");
    process.exit(1);
  }
  console.error("golden vectors match the real packages");
}
