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

fresh() {
  [ -f "$1/index.js" ] && [ -z "${FORCE_BUILD:-}" ] &&
    [ -z "$(find src crates examples/minimal/src examples/minimal/Cargo.toml Cargo.toml Cargo.lock \
      -newer "$1/index.js" -print -quit)" ]
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
