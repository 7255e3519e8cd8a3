// Issue 14's size target, kept: the deployed module (build/index_bg.wasm,
// what `wrangler deploy` uploads and every new isolate compiles before its
// first request) stays within 250,000 bytes gzip -9, measured as `make
// bench` reports it (tests/support/sizes.mjs). A size, not a time: the
// same on every machine for the pinned toolchain and lockfile, so a change
// that grows the module past the budget fails here rather than in a later
// benchmark. docs/BENCHMARKS.md "Size" says where the bytes went and what
// is left to cut.

import { test } from "node:test";
import assert from "node:assert/strict";
import { WASM_GZIP_BUDGET, fileSize } from "../support/index.mjs";

test(`the deployed wasm is at most ${WASM_GZIP_BUDGET} bytes gzip -9`, () => {
  const { raw, gz } = fileSize("build/index_bg.wasm");
  assert.ok(
    gz <= WASM_GZIP_BUDGET,
    `build/index_bg.wasm is ${gz} bytes gzip -9 (${raw} raw), over the budget of ${WASM_GZIP_BUDGET} ` +
      `(docs/BENCHMARKS.md "Size": what is left to cut)`,
  );
  console.log(`# build/index_bg.wasm: ${raw} bytes raw, ${gz} gzip -9, ${WASM_GZIP_BUDGET - gz} under the budget`);
});
