#!/usr/bin/env bash
# Builds what the demo, the tests and the benchmarks run: the worker
# (build/, and build-lab/ and examples/minimal/build/ unless LAB=0) and the
# upstash-local server.
set -euo pipefail
cd "$(dirname "$0")/.."
LAB=${LAB:-1} EXAMPLES=${LAB:-1} ./scripts/build-worker.sh
cargo build -q --release -p upstash-local
