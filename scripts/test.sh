#!/usr/bin/env bash
# Runs every test: the style gate (rustfmt, clippy -D warnings natively and
# for wasm32, rustdoc), the native Rust tests (unit tests and doctests of the
# library, the demo's routes, the Upstash client against a real redis-server
# behind upstash-local), then
# the golden vectors re-recorded from the real express-session + connect-redis,
# the JavaScript unit tests (tests/unit: e.g. tests/vectors/usernames.json
# through the Express fixture), the end-to-end tests of the real built worker
# in workerd (compatibility, golden replay, interop, accounts), and the
# browser tests in Chromium.
# Installs what is missing first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh

echo "== style: cargo fmt --check, clippy -D warnings (native and wasm32), rustdoc -D warnings"
cargo fmt --all --check
cargo clippy -q --workspace --all-targets --features edge-session-demo/lab -- -D warnings
cargo clippy -q --target wasm32-unknown-unknown --workspace --exclude upstash-local --exclude edge-session-cli \
  --features edge-session-demo/lab -- -D warnings
# The library on wasm32 without the workers-rs adapter, as a worker of its
# own (bench/shapes) uses it: the workspace build above always has it.
cargo clippy -q --target wasm32-unknown-unknown -p edge-session --no-default-features -- -D warnings
# The library's docs with its default features, with all of them, and for
# wasm32 (where the workers adapter exists).
RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps -p edge-session
RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps -p edge-session --features accounts,test-support
RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps -p edge-session --features accounts --target wasm32-unknown-unknown

echo "== build: worker (wasm32), upstash-local and the edge-session command line"
./scripts/build.sh

echo "== cargo test (unit, doctests, native integration)"
cargo test -q --workspace

echo "== golden vectors: re-recorded from the real express-session + connect-redis, compared with tests/golden/vectors.json"
node tests/golden/record.mjs --check

echo "== number vectors: tests/vectors/numbers.json re-made by Node's JSON.parse + JSON.stringify"
node tests/vectors/numbers.mjs --check

echo "== document vectors: tests/vectors/documents.json re-made by express-session's createSession + JSON.stringify"
node tests/vectors/documents.mjs --check

echo "== common passwords: crates/edge-session/data/common-passwords.txt re-made from the pinned list"
node scripts/common-passwords.mjs --check

echo "== JavaScript unit tests (tests/unit) and end-to-end (workerd, redis-server, express, chromium)"
node --test --test-concurrency=1 --test-timeout=180000 tests/unit/*.test.mjs tests/e2e/*.test.mjs
