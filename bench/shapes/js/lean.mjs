// The lean cycle's fetch handler (bench/shapes/src/lib.rs, `cycle_lean`):
// the library's session cycle, driven by edge_session::driver as in the
// worker, on a store whose calls are this shell's `call`.
import { cycle_init, cycle_lean, initSync } from "../build/pkg/edge_session_bench_shapes.js";
import wasmModule from "./index_bg.wasm";
import { cycleHandler, storeOf } from "./shared.mjs";

initSync({ module: wasmModule });
let store = null;

export default cycleHandler(
  (env) => {
    cycle_init(env);
    store = storeOf(env);
  },
  (cookie, pour, random) => cycle_lean(cookie, pour, random, store),
);
