// The async shape's fetch handler (bench/shapes/src/lib.rs, `cycle`): the
// library's session cycle on its UpstashClient, driven by
// edge_session::driver as in the worker; the answer is built here.
import { cycle, cycle_init, initSync } from "../build/pkg/edge_session_bench_shapes.js";
import wasmModule from "./index_bg.wasm";
import { cycleHandler } from "./shared.mjs";

initSync({ module: wasmModule });

export default cycleHandler(cycle_init, cycle);
