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
#   bench/shapes/build/{steps,cycle,lean}/
#               the benchmark rows' session logic in three shapes, for
#               `bench/cpu-ab.mjs` (release, wasm-opt); only when SHAPES=1
#               (nothing builds it otherwise; docs/BENCHMARKS.md, "The
#               same logic in other shapes")
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
  [ ${#inputs[@]} -gt 0 ] || inputs=(src crates examples/minimal/src examples/minimal/Cargo.toml scripts/build-worker.sh)
  [ -f "$out/index.js" ] && [ -z "${FORCE_BUILD:-}" ] &&
    [ -z "$(find "${inputs[@]}" Cargo.toml Cargo.lock .cargo -newer "$out/index.js" -print -quit)" ]
}

# What the runtime's V8 runs and worker-build's wasm-bindgen emits, for
# binaryen (which would otherwise assume only the MVP).
WASM_FEATURES=(--enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling)

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
    local input=build-symbols/index_bg.wasm
    # The workers-rs crate exports wasm-bindgen classes this worker never
    # makes (R2Range, MinifyConfig, ContainerStartupOptions, and
    # wasm-streams' IntoUnderlyingSource, IntoUnderlyingSink and
    # IntoUnderlyingByteSource, which bring future_to_promise's closures):
    # ~11 KB raw of code that neither the linker nor wasm-opt may drop, as a
    # module's exports are its roots. binaryen's wasm-metadce drops them
    # given every other export as a root; index.js keeps the classes, whose
    # methods would only call the missing exports if one were made. Should
    # the worker ever make one (a streamed body through wasm-streams would),
    # the module imports its wrapper, and then nothing is dropped.
    local bin classes metadce
    bin="$(dirname "$WASM_OPT_BIN")"
    classes='(containerstartupoptions|minifyconfig|r2range|intounderlying(byte)?(source|sink))(_|$)'
    metadce="$bin/wasm-metadce"
    if [ -x "$metadce" ] && [ -x "$bin/wasm-dis" ]; then
      "$bin/wasm-dis" "$input" -o build-symbols/module.wat
      if grep -E '^ \(import ' build-symbols/module.wat | grep -qiE "\"[^\"]*$classes"; then
        echo "build-worker: the module makes one of the workers-rs classes; their exports are kept" >&2
      else
        sed -n 's/^ (export "\([^"]*\)".*/\1/p' build-symbols/module.wat |
          grep -Ev "^(__wbg_(get_|set_)?)?$classes" |
          node -e 'const k = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean);
            console.log(JSON.stringify([{ name: "js", root: true, reaches: k.map((e) => "x:" + e) },
              ...k.map((e) => ({ name: "x:" + e, export: e }))]))' >build-symbols/roots.json
        "$metadce" "$input" --graph-file build-symbols/roots.json --debuginfo "${WASM_FEATURES[@]}" -o build-symbols/kept.wasm >/dev/null
        input=build-symbols/kept.wasm
      fi
    else
      # The budget of tests/e2e/size.test.mjs counts on this step.
      echo "build-worker: no wasm-metadce and wasm-dis beside $WASM_OPT_BIN; the unused workers-rs classes stay (~11 KB raw)" >&2
    fi
    "$WASM_OPT_BIN" "$input" -Oz --symbolmap=build-symbols/index_bg.symbols --strip-debug "${WASM_FEATURES[@]}" \
      -o build/index_bg.wasm
    rm -f build-symbols/kept.wasm build-symbols/roots.json build-symbols/module.wat
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
if [ "${SHAPES:-0}" = 1 ]; then
  shapes=bench/shapes/build
  # lean/ is written last: an interrupted build is not taken for fresh.
  if ! fresh "$shapes/lean" bench/shapes/src bench/shapes/js bench/shapes/Cargo.toml crates scripts/build-worker.sh; then
    for v in WASM_BINDGEN_BIN WASM_OPT_BIN ESBUILD_BIN; do
      tool=$(echo "${v%_BIN}" | tr 'A-Z_' 'a-z-')
      [ -n "${!v:-}" ] || { echo "build-worker: the shapes need $tool (scripts/setup.sh installs it)" >&2; exit 1; }
    done
    cargo build -q --release --target wasm32-unknown-unknown -p edge-session-bench-shapes
    rm -rf "$shapes"
    # wasm-bindgen's web target: the shells call initSync with the module
    # the runtime compiled, and esbuild bundles the glue into each index.js.
    "$WASM_BINDGEN_BIN" --target web --out-dir "$shapes/pkg" \
      target/wasm32-unknown-unknown/release/edge_session_bench_shapes.wasm
    "$WASM_OPT_BIN" "$shapes/pkg/edge_session_bench_shapes_bg.wasm" -O -Oz "${WASM_FEATURES[@]}" \
      -o "$shapes/pkg/optimized.wasm"
    for shape in steps cycle lean; do
      mkdir -p "$shapes/$shape"
      cp "$shapes/pkg/optimized.wasm" "$shapes/$shape/index_bg.wasm"
      "$ESBUILD_BIN" "bench/shapes/js/$shape.mjs" --bundle --format=esm --minify --log-level=warning \
        --external:./index_bg.wasm --outfile="$shapes/$shape/index.js"
    done
  fi
fi
