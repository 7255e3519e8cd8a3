#!/usr/bin/env bash
# Builds the worker with worker-build, pointing it at locally installed
# wasm-bindgen, wasm-opt and esbuild so it downloads nothing:
#
#   build/      the worker as deployed (release, wasm-opt), and build/www/
#               the static assets (scripts/build-assets.mjs)
#   build-lab/  the same plus the `lab` feature's /lab/* routes, for the
#               golden-vector tests only (release, no wasm-opt); only when
#               LAB=1 (scripts/build.sh sets it; wrangler's [build] does not)
#   examples/minimal/build/
#               the minimal worker on the library alone; only when
#               EXAMPLES=1 (scripts/build.sh sets it)
#   bench/hello-worker/build/
#               a hello-world Rust worker, the benchmark's cold-start and
#               size baseline (release, wasm-opt, as build/); only when
#               HELLO=1 (scripts/bench.sh sets it; nothing else builds it)
#
# Each is skipped when it is newer than every input, so wrangler's repeated
# [build] runs cost nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen || true)}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}"
export ESBUILD_BIN="${ESBUILD_BIN:-$PWD/node_modules/.bin/esbuild}"
# Unset missing tools so worker-build falls back to its own downloads on a
# machine with internet (e.g. `wrangler deploy` on a laptop).
for v in WASM_BINDGEN_BIN WASM_OPT_BIN ESBUILD_BIN; do
  if [ -z "${!v}" ] || ! [ -x "${!v}" ]; then unset "$v"; fi
done

# Whether $1/index.js is newer than every input: the rest of the arguments,
# by default the demo's, the library's and the minimal example's sources.
fresh() {
  local out=$1
  shift
  local inputs=("$@")
  [ ${#inputs[@]} -gt 0 ] || inputs=(src crates examples/minimal/src examples/minimal/Cargo.toml)
  [ -f "$out/index.js" ] && [ -z "${FORCE_BUILD:-}" ] &&
    [ -z "$(find "${inputs[@]}" Cargo.toml Cargo.lock -newer "$out/index.js" -print -quit)" ]
}

# The static assets (build/www) are cheap: made every time.
node scripts/build-assets.mjs build/www
fresh build || worker-build --release
if [ "${LAB:-0}" = 1 ]; then
  fresh build-lab || worker-build --release --no-opt --out-dir build-lab . --features lab
fi
if [ "${EXAMPLES:-0}" = 1 ]; then
  fresh examples/minimal/build || (cd examples/minimal && worker-build --release --no-opt)
fi
if [ "${HELLO:-0}" = 1 ]; then
  fresh bench/hello-worker/build bench/hello-worker/src bench/hello-worker/Cargo.toml ||
    (cd bench/hello-worker && worker-build --release)
fi
