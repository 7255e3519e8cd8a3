// The synchronous shape's fetch handler (bench/shapes/src/lib.rs, `Layer` and `Visit`):
// JavaScript does every I/O and decides which step comes next (as each row
// needs: docs/BENCHMARKS.md lists it), wasm the session's work, one call per step.
import { Layer, initSync } from "../build/pkg/edge_session_bench_shapes.js";
import wasmModule from "./index_bg.wasm";
import { answer, call, routeOf, storeOf } from "./shared.mjs";

initSync({ module: wasmModule });
let store = null;
let layer = null;

export default {
  async fetch(req, env, ctx) {
    store ??= storeOf(env);
    layer ??= new Layer(env);
    const route = routeOf(req);
    if (!route) return new Response("no route", { status: 404 });
    const steps = layer.visit();
    try {
      const started = Date.now();
      const timing = (outcome, trips) => `session;desc="${outcome}", store;desc="${trips}";dur=${(Date.now() - started).toFixed(1)}`;
      const get = steps.begin(req.headers.get("Cookie") ?? undefined);
      if (get === undefined) {
        const [status, bytes] = await save(steps, steps.fresh(Date.now()));
        return answer(steps.saved(status, bytes), timing("new", "1 round trip"), steps.set_cookie());
      }
      const [status, bytes] = await call(store, get);
      if (route === "GET /api/session") {
        const body = steps.read(status, bytes, Date.now());
        // As the worker: a failed touch loses nothing, and is logged.
        const touch = body === undefined ? undefined : steps.touch();
        if (touch !== undefined) ctx.waitUntil(call(store, touch).catch((e) => console.error(`touch failed: ${e}`)));
        return answer(body, `${timing("hit", "1 round trip")}, deferred;desc="1"`);
      }
      const put = steps.pour(status, bytes, Date.now(), crypto.getRandomValues(new Uint32Array(4)));
      if (put === undefined) return answer(undefined, timing("hit", "1 round trip"));
      const [s2, b2] = await save(steps, put);
      return answer(steps.saved(s2, b2), timing("hit", "2 round trips"), steps.set_cookie());
    } finally {
      steps.free();
    }
  },
};

/** A save, sent once more as EVAL when the store does not hold the script. */
async function save(steps, body) {
  const [status, bytes] = await call(store, body);
  const again = steps.retry(status, bytes);
  return again === undefined ? [status, bytes] : call(store, again);
}
