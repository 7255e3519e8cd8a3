#!/usr/bin/env bash
# Runs every test: the native Rust tests (unit tests of the session core and
# the Upstash client against a real redis-server behind upstash-local), then
# the golden vectors re-recorded from the real express-session + connect-redis,
# the JavaScript unit tests (tests/unit: e.g. tests/vectors/usernames.json
# through the Express fixture), the end-to-end tests of the real built worker
# in workerd (compatibility, golden replay, interop, accounts), and the
# browser tests in Chromium.
# Installs what is missing first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh

echo "== build: worker (wasm32) and upstash-local"
./scripts/build.sh

echo "== cargo test (unit + native integration)"
cargo test -q --workspace

echo "== golden vectors: re-recorded from the real express-session + connect-redis, compared with tests/golden/vectors.json"
node tests/golden/record.mjs --check

echo "== JavaScript unit tests (tests/unit) and end-to-end (workerd, redis-server, express, chromium)"
node --test --test-concurrency=1 --test-timeout=180000 tests/unit/*.test.mjs tests/e2e/*.test.mjs
