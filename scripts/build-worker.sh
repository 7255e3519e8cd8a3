#!/usr/bin/env bash
# Builds the worker (build/index.js + build/index_bg.wasm) with worker-build,
# pointing it at locally installed wasm-bindgen, wasm-opt and esbuild so it
# downloads nothing. Skips the build when build/ is newer than every input,
# so wrangler's repeated [build] runs cost nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f build/index.js ] && [ -z "${FORCE_BUILD:-}" ] &&
   [ -z "$(find src Cargo.toml Cargo.lock -newer build/index.js -print -quit)" ]; then
  exit 0
fi

export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen || true)}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}"
export ESBUILD_BIN="${ESBUILD_BIN:-$PWD/node_modules/.bin/esbuild}"
# Unset empty paths so worker-build falls back to its own downloads on a
# machine with internet (e.g. `wrangler deploy` on a laptop).
for v in WASM_BINDGEN_BIN WASM_OPT_BIN ESBUILD_BIN; do
  if [ -z "${!v}" ] || ! [ -x "${!v}" ]; then unset "$v"; fi
done
worker-build --release
