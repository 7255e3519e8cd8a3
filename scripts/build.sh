#!/usr/bin/env bash
# Builds what the demo, the tests and the benchmarks run: the worker
# (build/, and build-lab/ unless LAB=0, examples/minimal/build/ unless
# EXAMPLES=0; EXAMPLES follows LAB when unset), the upstash-local server
# and the operator's command line (target/release/edge-session).
set -euo pipefail
cd "$(dirname "$0")/.."
LAB=${LAB:-1}
EXAMPLES=${EXAMPLES:-$LAB} LAB=$LAB ./scripts/build-worker.sh
cargo build -q --release -p upstash-local -p edge-session-cli
