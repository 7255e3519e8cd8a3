#!/usr/bin/env bash
# The demo, locally: a real redis-server on its own port, upstash-local (an
# Upstash-compatible REST server) in front of it, the worker in
# `wrangler dev` at http://127.0.0.1:8787, and the Express companion (the
# real express-session + connect-redis app of the tests, on the same Redis
# and secret) at http://127.0.0.1:3000. Ctrl-C stops them all.
#
#   REDIS_PORT (6390)  UPSTASH_PORT (8079)  PORT (8787)  EXPRESS_PORT (3000)
set -euo pipefail
cd "$(dirname "$0")/.."

REDIS_PORT=${REDIS_PORT:-6390}
UPSTASH_PORT=${UPSTASH_PORT:-8079}
PORT=${PORT:-8787}
EXPRESS_PORT=${EXPRESS_PORT:-3000}

./scripts/setup.sh
LAB=0 ./scripts/build.sh

mkdir -p .run
# A dev secret and token, made once and kept in .run/ (git-ignored) so
# sessions survive a restart of the demo.
[ -s .run/dev-secret ] || head -c 32 /dev/urandom | base64 > .run/dev-secret
[ -s .run/dev-token ] || head -c 24 /dev/urandom | base64 | tr '+/' '-_' > .run/dev-token
TOKEN=$(cat .run/dev-token)

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$PWD/.run" --logfile "$PWD/.run/redis.log" &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$REDIS_PORT" ping >/dev/null || { echo "dev.sh: redis-server did not start; see .run/redis.log" >&2; exit 1; }

./target/release/upstash-local --listen "127.0.0.1:$UPSTASH_PORT" \
  --redis-url "redis://127.0.0.1:$REDIS_PORT" --token="$TOKEN" &
pids+=($!)

# Local secrets go in .dev.vars, as wrangler expects (git-ignored). A
# .dev.vars of your own (e.g. pointing at a real Upstash) is never overwritten.
marker="# written by scripts/dev.sh; delete to regenerate"
if [ -f .dev.vars ] && ! grep -qxF "$marker" .dev.vars; then
  echo "dev.sh: .dev.vars is yours (no marker line); move it away, or run" >&2
  echo "        'npx wrangler dev' directly to use it instead of the local stack." >&2
  exit 1
fi
cat > .dev.vars <<VARS
$marker
SESSION_ENVIRONMENT=development
SESSION_SECRET=$(cat .run/dev-secret)
UPSTASH_REDIS_REST_URL=http://127.0.0.1:$UPSTASH_PORT
UPSTASH_REDIS_REST_TOKEN=$TOKEN
DEMO_EXPRESS_URL=http://127.0.0.1:$EXPRESS_PORT/
VARS

node scripts/express-companion.mjs --redis-url "redis://127.0.0.1:$REDIS_PORT" --port "$EXPRESS_PORT" \
  --secret-file .run/dev-secret --worker-url "http://127.0.0.1:$PORT/" &
pids+=($!)

echo "redis-server on 127.0.0.1:$REDIS_PORT, upstash-local on 127.0.0.1:$UPSTASH_PORT"
echo "demo on http://127.0.0.1:$PORT, its Express companion on http://127.0.0.1:$EXPRESS_PORT  (Ctrl-C stops everything)"
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
./node_modules/.bin/wrangler dev --ip 127.0.0.1 --port "$PORT" --log-level warn &
pids+=($!)
wait "${pids[-1]}"
