// The Rust side of a request, natively: runs the criterion benchmarks of
// crates/edge-session/benches/hot_path.rs briefly and prints them as a
// Markdown section of the report (stdout; cargo's output on stderr).
// `make bench` runs it (scripts/bench.sh). For criterion's full statistics
// and its comparison with the previous run: `cargo bench -p edge-session
// --bench hot_path`.

import { spawnSync } from "node:child_process";
import { ROOT } from "../tests/support/index.mjs";

const args = ["bench", "-p", "edge-session", "--bench", "hot_path", "--", "--warm-up-time", "1", "--measurement-time", "3", "--output-format", "bencher"];
const run = spawnSync("cargo", args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 600_000 });
if (run.status !== 0) throw new Error(`cargo ${args.join(" ")} failed (${run.status ?? run.signal})`);
// criterion's bencher format: `test <name> ... bench: 1,234 ns/iter (+/- 56)`
const rows = [...run.stdout.matchAll(/^test (.+) \.\.\. bench:\s+([\d,]+) ns\/iter \(\+\/- ([\d,]+)\)$/gm)].map((m) => ({
  name: m[1],
  ns: Number(m[2].replaceAll(",", "")),
  spread: Number(m[3].replaceAll(",", "")),
}));
if (rows.length === 0) throw new Error(`no benchmark lines in cargo's output:\n${run.stdout}`);
const us = (ns) => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns} ns`);
console.log(`
### The Rust side of a request, natively

\`node bench/hot-path.mjs\` (part of \`make bench\`): criterion, \`cargo bench -p edge-session --bench hot_path\`
(crates/edge-session/benches/hot_path.rs), 1 s warm-up and 3 s per row, natively on
this machine (release build, not wasm): what our own code computes for a request, without the runtime, its bindings or the store. The
cycles run on the in-memory store.

| what | time per call | ± |
|---|---:|---:|
${rows.map((r) => `| ${r.name} | ${us(r.ns)} | ${us(r.spread)} |`).join("\n")}
`);
