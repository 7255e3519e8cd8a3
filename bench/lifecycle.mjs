// How a benchmark script runs (bench/run.mjs, bench/twin.mjs): its report
// on stdout, everything it started stopped by `cleanup` whatever happens
// (success, failure, SIGINT/SIGTERM/SIGHUP, or its deadline), then exit.

/**
 * Runs `produce()` (resolves with the report's text) and writes its result
 * to stdout; exits 0, 1 on failure, 130 on a signal, 124 at `deadlineS`
 * seconds. `tag` prefixes the progress lines on stderr.
 */
export async function runReport({ tag, deadlineS, cleanup, produce }) {
  const log = (...a) => console.error(`[${tag}]`, ...a);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(sig, async () => {
      log(`${sig}: stopping everything`);
      await cleanup();
      process.exit(130);
    });
  }
  const deadline = setTimeout(async () => {
    log(`deadline of ${deadlineS}s reached: stopping everything`);
    await cleanup();
    process.exit(124);
  }, deadlineS * 1000);
  deadline.unref();

  let code = 0;
  try {
    process.stdout.write(await produce());
  } catch (e) {
    log("failed:", e?.stack ?? e);
    code = 1;
  } finally {
    await cleanup();
  }
  process.exit(code);
}
