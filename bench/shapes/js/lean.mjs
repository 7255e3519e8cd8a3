// The lean cycle's fetch handler (bench/shapes/src/lib.rs, `cycle_lean`):
// the library's session cycle, driven by edge_session::driver as in the
// worker, on a store whose calls are this shell's `call`.
import { cycle_init, cycle_lean, initSync } from "../build/pkg/edge_session_bench_shapes.js";
import wasmModule from "./index_bg.wasm";
import { answer, routeOf, storeOf } from "./shared.mjs";

initSync({ module: wasmModule });
let store = null;

export default {
  async fetch(req, env, ctx) {
    if (!store) {
      cycle_init(env);
      store = storeOf(env);
    }
    const route = routeOf(req);
    if (!route) return new Response("no route", { status: 404 });
    const started = Date.now();
    const done = await cycle_lean(req.headers.get("Cookie") ?? undefined, route === "POST /api/pour", store);
    const timing = `session;desc="hit", store;dur=${(Date.now() - started).toFixed(1)}`;
    if (done === undefined) return answer(undefined, timing);
    const [body, cookie, touch] = done;
    if (touch) ctx.waitUntil(touch);
    return answer(body, timing, cookie);
  },
};
