// Sizes of built files as the benchmark reports them and the size budget
// test checks them: raw bytes and gzip at level 9 as Node's zlib writes it.
// (zlib packs the worker's wasm ~1.5 KB less tightly than GNU `gzip -9`;
// the stricter measure is the one both use.)

import { readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { ROOT } from "./config.mjs";

/** Issue 14, target 1: the deployed `build/index_bg.wasm` at most this many bytes gzip -9. */
export const WASM_GZIP_BUDGET = 250_000;

/** `{ f, raw, gz }`: the file `f` (relative to the repository) in bytes, raw and gzip -9. */
export function fileSize(f) {
  const buf = readFileSync(path.join(ROOT, f));
  return { f, raw: buf.length, gz: gzipSync(buf, { level: 9 }).length };
}
