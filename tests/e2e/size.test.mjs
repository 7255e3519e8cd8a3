// Issue 14's size target, kept: the deployed module (build/index_bg.wasm,
// what `wrangler deploy` uploads and every new isolate compiles before its
// first request) stays within 250,000 bytes gzip -9 as Node's zlib writes
// it at level 9, the measure `make bench` reports (tests/support/sizes.mjs;
// GNU `gzip -9` packs this module ~1.5 KB tighter, so it is the stricter
// of the two). A size, not a time: the same on every machine for the
// pinned toolchain and lockfile, so a change that grows the module past
// the budget fails here rather than in a later benchmark.
// docs/BENCHMARKS.md "Size" says where the bytes went and what is left to cut.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { ROOT, WASM_GZIP_BUDGET, fileSize } from "../support/index.mjs";

const WASM = "build/index_bg.wasm";

test(`the deployed wasm is at most ${WASM_GZIP_BUDGET} bytes by zlib level 9 (make bench's gzip -9)`, () => {
  assert.ok(existsSync(path.join(ROOT, WASM)), `${WASM} is missing: build the worker first (make build, or make test, which builds it)`);
  const { raw, gz } = fileSize(WASM);
  assert.ok(
    gz <= WASM_GZIP_BUDGET,
    `${WASM} is ${gz} bytes by zlib level 9 (${raw} raw), over the budget of ${WASM_GZIP_BUDGET} ` +
      `(docs/BENCHMARKS.md "Size": what is left to cut)`,
  );
  console.log(`# ${WASM}: ${raw} bytes raw, ${gz} by zlib level 9, ${WASM_GZIP_BUDGET - gz} under the budget`);
});
