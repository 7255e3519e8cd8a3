// Where the repository is, the test-only secrets, and what wrangler.toml
// says (compatibility_date, the default [vars]): read from the file itself,
// so the tests run the worker exactly as `wrangler dev` and a deployment do.

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "smol-toml";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The seed demo's session secret, used by every side of every test. */
export const SECRET = "keyboard cat";
/** The REST token upstash-local is started with. */
export const TOKEN = "local-test-token";

const cache = new Map();

/**
 * A wrangler.toml (a path relative to the repository root, or absolute),
 * parsed: { compatibilityDate, main, vars (the [vars] table, strings) }.
 */
export function wranglerConfig(file = "wrangler.toml") {
  const full = path.resolve(ROOT, file);
  if (!cache.has(full)) {
    const toml = parse(readFileSync(full, "utf8"));
    if (typeof toml.compatibility_date !== "string") throw new Error(`${full}: no compatibility_date`);
    cache.set(
      full,
      Object.freeze({
        compatibilityDate: toml.compatibility_date,
        main: toml.main,
        vars: Object.freeze({ ...(toml.vars ?? {}) }),
      }),
    );
  }
  return cache.get(full);
}
