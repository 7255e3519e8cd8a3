// Starts the JavaScript twin (bench/twin/worker.mjs) in workerd through
// Miniflare, with the same bindings as the Rust worker gets from
// tests/support/processes.mjs's startWorker() (the test secret,
// upstash-local's URL and token, wrangler.toml's [vars], then `vars`), plus
// the sources of the two Lua scripts it sends, so that its EVALSHA names the
// same SHA-1s as ours.

import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT, TOKEN, startMiniflare, workerBindings } from "../../tests/support/index.mjs";

const SCRIPTS = path.join(ROOT, "crates/edge-session/src/store/scripts");

/**
 * The twin's bindings: the Rust worker's (tests/support's workerBindings),
 * plus the sources of the two Lua scripts it sends.
 */
export function twinBindings({ upstashUrl, token = TOKEN, vars = {} }) {
  return {
    ...workerBindings({ upstashUrl, token, vars }),
    TWIN_SAVE_LUA: readFileSync(path.join(SCRIPTS, "save.lua"), "utf8"),
    TWIN_PRUNE_LUA: readFileSync(path.join(SCRIPTS, "prune_index.lua"), "utf8"),
  };
}

/** Runs the twin on a free port of 127.0.0.1; returns what startMiniflare() does. */
export function startTwin({ upstashUrl, token = TOKEN, vars = {}, miniflare = {} }) {
  return startMiniflare({
    ...miniflare,
    scriptPath: path.join(ROOT, "bench/twin/worker.mjs"),
    modulesRoot: path.join(ROOT, "bench/twin"),
    bindings: twinBindings({ upstashUrl, token, vars }),
  });
}
