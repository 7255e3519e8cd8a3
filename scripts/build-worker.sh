#!/usr/bin/env bash
# Builds the worker with worker-build, pointing it at locally installed
# wasm-bindgen, wasm-opt and esbuild so it downloads nothing:
#
#   build/      the worker as deployed (release, wasm-opt, no `name`
#               section), and build/www/ the static assets
#               (scripts/build-assets.mjs)
#   build-symbols/index_bg.symbols
#               the Rust name of each function of build/index_bg.wasm
#               (`N:name`), for the `wasm-function[N]` frames of a deployed
#               worker's traces; build-symbols/index_bg.wasm, worker-build's
#               module with its `name` section, for twiggy
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
# by default the demo's, the library's and the minimal example's sources,
# and always the manifests and .cargo/config.toml (the wasm32 rustflags).
fresh() {
  local out=$1
  shift
  local inputs=("$@")
  [ ${#inputs[@]} -gt 0 ] || inputs=(src crates examples/minimal/src examples/minimal/Cargo.toml)
  [ -f "$out/index.js" ] && [ -z "${FORCE_BUILD:-}" ] &&
    [ -z "$(find "${inputs[@]}" Cargo.toml Cargo.lock .cargo -newer "$out/index.js" -print -quit)" ]
}

# The static assets (build/www) are cheap: made every time.
node scripts/build-assets.mjs build/www
# worker-build always passes --debuginfo to wasm-opt, which keeps the
# `name` section: ~170 KB raw, ~47 KB gzip of function names that only stack
# traces use. Strip it from what wrangler deploys, with one more -Oz in the
# same run (same feature flags as worker-build's run): binaryen shrinks the
# module ~1.9 KB gzip more when it does not have to write the names back.
# That changes the function indices, so the names of the deployed module's
# `wasm-function[N]` frames are in build-symbols/index_bg.symbols
# (binaryen's symbol map, `N:name` a line); build-symbols/index_bg.wasm is
# worker-build's named module, to read with twiggy.
strip_names() {
  mkdir -p build-symbols
  cp build/index_bg.wasm build-symbols/index_bg.wasm
  if [ -x "${WASM_OPT_BIN:-}" ]; then
    "$WASM_OPT_BIN" build-symbols/index_bg.wasm -Oz --symbolmap=build-symbols/index_bg.symbols --strip-debug \
      --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
      --enable-bulk-memory --enable-multivalue --enable-reference-types \
      --enable-exception-handling -o build/index_bg.wasm
  fi
}
fresh build || { worker-build --release && strip_names; }
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
