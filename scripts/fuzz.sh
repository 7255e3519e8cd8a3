#!/usr/bin/env bash
# The long run of the property tests over hostile input
# (crates/edge-session/tests/properties.rs: the Cookie header parser, the
# signature check, the document reader and writer, the Upstash reply
# decoder): each property with PROPTEST_CASES generated cases (default
# 100000) in a release build. `cargo test --workspace` runs the same file
# with 256 cases each.
#
# A failure is shrunk to a smallest input and its seed appended to
# crates/edge-session/proptest-regressions/properties.txt, which every later
# run replays first: commit that file, fix the bug, and add the shrunk input
# as a named regression test (docs/RELIABILITY.md "Hostile input").
#
#   make fuzz                          100000 cases a property
#   PROPTEST_CASES=1000000 make fuzz   longer
set -euo pipefail
cd "$(dirname "$0")/.."

export PROPTEST_CASES="${PROPTEST_CASES:-100000}"
echo "== property tests, $PROPTEST_CASES cases each (release build)"
time cargo test --release -p edge-session --test properties
