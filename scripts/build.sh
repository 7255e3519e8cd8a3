#!/usr/bin/env bash
# Builds what the demo, the tests and the benchmarks run: the worker
# (build/, and build-lab/ unless LAB=0) and the upstash-local server.
set -euo pipefail
cd "$(dirname "$0")/.."
LAB=${LAB:-1} ./scripts/build-worker.sh
cargo build -q --release -p upstash-local
