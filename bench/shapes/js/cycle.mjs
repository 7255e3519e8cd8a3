// The async shape's fetch handler (bench/shapes/src/lib.rs, `cycle`): the
// library's session cycle on its UpstashClient, driven by
// edge_session::driver as in the worker; the answer is built here.
import { cycle, cycle_init, initSync } from "../build/pkg/edge_session_bench_shapes.js";
import wasmModule from "./index_bg.wasm";
import { answer, routeOf } from "./shared.mjs";

initSync({ module: wasmModule });
let ready = false;

export default {
  async fetch(req, env, ctx) {
    if (!ready) {
      cycle_init(env);
      ready = true;
    }
    const route = routeOf(req);
    if (!route) return new Response("no route", { status: 404 });
    const started = Date.now();
    const done = await cycle(req.headers.get("Cookie") ?? undefined, route === "POST /api/pour");
    const timing = `session;desc="hit", store;dur=${(Date.now() - started).toFixed(1)}`;
    if (done === undefined) return answer(undefined, timing);
    const [body, cookie, touch] = done;
    if (touch) ctx.waitUntil(touch);
    return answer(body, timing, cookie);
  },
};
