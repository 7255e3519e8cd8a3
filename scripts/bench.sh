#!/usr/bin/env bash
# Benchmarks (`make bench`): builds what is missing, then runs bench/run.mjs,
# which starts redis-server, upstash-local, the worker in workerd (Miniflare)
# and the reference Express app on 127.0.0.1, drives them with wrk, and
# prints a Markdown report. The report goes to stdout and to
# docs/BENCHMARKS.last.md (git-ignored); docs/BENCHMARKS.md explains it.
# Its last part, bench/latency-model.mjs, computes (does not measure) the
# time of a read, a pour and a login per region.
#
# Then bench/login-cpu.mjs (a login's CPU in workerd) and bench/twin.mjs
# (our worker against its JavaScript twin, bench/twin/worker.mjs: CPU per
# request; cold starts of both and of a hello-world Rust worker,
# bench/hello-worker, built here only), and bench/cli-scale.mjs (the
# operator's CLI, `edge-session sessions list` and `stats`, over 100,000
# seeded sessions: wall time, max RSS, Upstash calls).
#
# Takes about 5 minutes once built (12 rows of 2 s warm-up + 8 s, then
# about 40 s and about a minute). Knobs: BENCH_DURATION (s per row, 8),
# BENCH_WARMUP (s, 2), BENCH_CONNECTIONS (16), BENCH_THREADS (2),
# BENCH_DEADLINE (s, 180); bench/twin.mjs lists its own (BENCH_TWIN_*,
# BENCH_COLD_SAMPLES), bench/cli-scale.mjs its own (CLI_SCALE_*).
set -euo pipefail
cd "$(dirname "$0")/.."

# Build output goes to stderr so that stdout is the report alone.
{
  ./scripts/setup.sh
  echo "== build: worker (wasm32) and upstash-local"
  ./scripts/build.sh
  echo "== build: the hello-world Rust worker (bench/hello-worker)"
  HELLO=1 LAB=0 EXAMPLES=0 ./scripts/build-worker.sh
} >&2

# Everything the run writes (the report, wrk scripts, redis-server's and
# workerd's temporary files) goes under one directory, removed at the end.
work=$(mktemp -d "${TMPDIR:-/tmp}/edge-session-bench.XXXXXX")
report="$work/report.md"
pgid=""
# bench/run.mjs stops what it started, also on SIGINT/SIGTERM and at its
# deadline. It runs in its own process group (setsid) so that, should it not
# manage to, everything it spawned (redis-server, upstash-local, workerd,
# wrk) is still stopped here, by that group's id.
running() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $s != Z* ]]; }
cleanup() {
  if [ -n "$pgid" ] && kill -0 -- "-$pgid" 2>/dev/null; then
    kill -TERM "$pgid" 2>/dev/null || true # node first: it stops its children in order
    for _ in $(seq 100); do running "$pgid" || break; sleep 0.1; done
    kill -KILL -- "-$pgid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

echo "== benchmark (about 2 minutes)" >&2
# A background child of a non-interactive shell is not a group leader, so
# setsid runs node in place: $! is node's PID and its new group's id.
TMPDIR="$work" setsid node bench/run.mjs >"$report" &
pgid=$!
wait "$pgid"

echo "== login CPU in workerd (about 30 seconds)" >&2
TMPDIR="$work" setsid node bench/login-cpu.mjs >>"$report" &
pgid=$!
wait "$pgid"

echo "== our worker against its JavaScript twin; cold starts (about a minute)" >&2
TMPDIR="$work" BENCH_CPU_ARGS="$work/cpu-args" setsid node bench/twin.mjs >>"$report" &
pgid=$!
wait "$pgid"

echo "== the operator's command line over 100,000 seeded sessions (about a minute)" >&2
TMPDIR="$work" setsid node bench/cli-scale.mjs >>"$report" &
pgid=$!
wait "$pgid"

echo "== the Rust side of a request, natively (criterion, about 40 seconds)" >&2
node bench/hot-path.mjs >>"$report"

# Pure arithmetic, no processes: the round trips the tests assert, published
# round-trip times and the CPU per request measured above, per region.
echo "== latency model per region (computed, not measured)" >&2
# shellcheck disable=SC2046 # the file holds separate --cpu arguments
node bench/latency-model.mjs $(cat "$work/cpu-args" 2>/dev/null || true) >>"$report"

mkdir -p docs
cp "$report" docs/BENCHMARKS.last.md
cat "$report"
