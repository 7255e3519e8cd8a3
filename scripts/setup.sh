#!/usr/bin/env bash
# Installs everything the demo and the tests need, at pinned versions, and
# skips whatever is already present at that version. Safe to run again.
#
#   Debian packages  redis-server, chromium, wrk       (from the system's apt sources)
#   Rust target      wasm32-unknown-unknown, rustfmt, clippy (rustup)
#   cargo tools      worker-build 0.8.7, wasm-bindgen-cli = Cargo.lock's wasm-bindgen
#   npm packages     exactly package-lock.json          (npm ci)
set -euo pipefail
cd "$(dirname "$0")/.."

WORKER_BUILD_VERSION=0.8.7
# wasm-bindgen-cli must match the wasm-bindgen crate the worker links.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. Debian packages.
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
command -v wrk >/dev/null || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
  log "apt: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! as_root apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; then
    as_root apt-get update -q >/dev/null
    as_root apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# 2. The wasm32 target, and rustfmt and clippy for the style gate.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup: adding wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    log "rustup: adding $component"
    rustup component add "$component"
  fi
done

# 3. cargo tools, pinned. worker-build's own downloads of wasm-bindgen,
# wasm-opt and esbuild are replaced by these (see scripts/build-worker.sh).
# The two installs compile in parallel: they dominate a fresh machine's setup.
pids=()
if [ "$(worker-build --version 2>/dev/null)" != "$WORKER_BUILD_VERSION" ]; then
  log "cargo: installing worker-build $WORKER_BUILD_VERSION (a few minutes)"
  cargo install -q worker-build --version "$WORKER_BUILD_VERSION" --locked &
  pids+=($!)
fi
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  log "cargo: installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes)"
  # No --locked: one of its locked dependencies is no longer in the registry.
  cargo install -q wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" &
  pids+=($!)
fi
for pid in "${pids[@]}"; do wait "$pid"; done

# 4. npm packages, exactly as locked; skipped when node_modules already
# matches the lock file.
stamp=node_modules/.edge-session-lock
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "npm: installing from package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
log "ready"
