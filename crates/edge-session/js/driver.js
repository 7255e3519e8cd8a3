// Drives a Rust future to its end (src/driver.rs, `Task`): JavaScript
// awaits each promise the future waits on and hands the outcome back,
// which polls it again in the same call. No Rust closure is made per
// awaited promise and no executor hop is taken: wasm_bindgen_futures'
// were a third of a session read's CPU (docs/BENCHMARKS.md).
//
// `task.start(wake)` / `task.resume(id, value, ok)` / `task.poll()` each
// return [output] once the future ended, else [id, promise, id, promise,
// ...]: the promises it started awaiting in that poll. `wake` is called by
// the waker of futures the driver did not make (a timer, a stream); it
// polls again on a microtask. A throw from Rust (a panic's trap, a stale
// task after the module was reset) rejects the returned promise.
//
// A trap (a panic) leaves the module's memory dead until worker-build's
// entry resets it, and a task of the old module must not be called again:
// `epoch` counts the traps seen here, and a task started before one is
// given up (its promise rejects) instead of being polled. A task starts on
// a microtask, never inside the poll of the task that spawned it (a touch
// handed to waitUntil), so that a trap in it cannot leave the spawning
// poll half done.
let epoch = 0;

export function drive(task) {
  const born = epoch;
  return new Promise((resolve, reject) => {
    let done = false;
    const settle = (step) => {
      let r;
      try {
        if (born !== epoch) throw new Error("edge-session: the wasm module was reset after a panic; this request is lost");
        r = step();
      } catch (e) {
        if (e instanceof WebAssembly.RuntimeError) epoch++;
        done = true;
        reject(e);
        return;
      }
      if (r.length === 1) {
        done = true;
        task.free();
        resolve(r[0]);
        return;
      }
      for (let i = 0; i < r.length; i += 2) {
        const id = r[i];
        r[i + 1].then(
          (value) => done || settle(() => task.resume(id, value, true)),
          (error) => done || settle(() => task.resume(id, error, false)),
        );
      }
    };
    const wake = () => queueMicrotask(() => done || settle(() => task.poll()));
    queueMicrotask(() => settle(() => task.start(wake)));
  });
}
