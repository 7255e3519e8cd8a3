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
  // The exit code once a signal or the deadline has begun stopping
  // everything: what `produce` throws after that (a request to a server
  // just stopped) is the stop's doing, not a failure to report.
  let stopping = null;
  const stop = async (code, why) => {
    stopping = code;
    log(`${why}: stopping everything`);
    await cleanup();
    process.exit(code);
  };
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => stop(130, sig));
  const deadline = setTimeout(() => stop(124, `deadline of ${deadlineS}s reached`), deadlineS * 1000);
  deadline.unref();

  let code = 0;
  try {
    process.stdout.write(await produce());
  } catch (e) {
    if (stopping === null) log("failed:", e?.stack ?? e);
    code = stopping ?? 1;
  } finally {
    await cleanup();
  }
  process.exit(code);
}
