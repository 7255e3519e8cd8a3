// The rendering half of the benchmark: turns what bench/measure.mjs
// collected into the Markdown report (docs/BENCHMARKS.md explains it).
// Pure: no process is started, no clock or file is read.

export const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
export const ms = (us) => (us / 1000).toFixed(2);
export const fmt = (n, d = 0) => n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });

/** The Markdown report of `data` (measure()'s result), without a trailing newline. */
export function render(data) {
  const { started, settings, clkTck: CLK_TCK, cores, machine, size, startup, rows } = data;
  const { threads: THREADS, connections: CONNECTIONS, duration: DURATION, warmup: WARMUP } = settings;
  const { files, total } = size;
  const { workerReadyMs, firstMs } = startup;
  const L = [];
  const secs = data.seconds.toFixed(0);
  L.push("# edge-session benchmark report", "");
  L.push(
    `Run ${started} (${secs} s). wrk \`-t${THREADS} -c${CONNECTIONS} -d${DURATION}s --latency\` per row ` +
      `(the 1-connection rows: \`-t1 -c1\`), after a ${WARMUP} s warm-up at the same load. Redis is flushed and fresh sessions ` +
      `are made before each row; rows with a cookie cycle through ${CONNECTIONS} sessions. Everything runs on 127.0.0.1 of ` +
      `one machine, wrk included.`,
    "",
  );
  L.push("## Machine", "", "| | |", "|---|---|");
  for (const [k, v] of machine) L.push(`| ${k} | ${v} |`);
  L.push("");

  L.push("## Size of the built worker", "");
  L.push(`Built ${size.builtAt}. gzip -9 is Node's zlib at level 9 (GNU \`gzip -9\` packs the wasm ~1.5 KB tighter).`, "");
  L.push("| file | raw | gzip -9 |", "|---|---:|---:|");
  for (const x of files) L.push(`| \`${x.f}\` | ${fmt(x.raw)} B (${kb(x.raw)}) | ${fmt(x.gz)} B (${kb(x.gz)}) |`);
  L.push(`| **total upload** | ${fmt(total.raw)} B (${kb(total.raw)}) | ${fmt(total.gz)} B (${kb(total.gz)}) |`);
  L.push("");
  const MB = 1024 * 1024;
  L.push(
    `- Cloudflare's Worker size limit (compressed upload): ${((100 * total.gz) / (3 * MB)).toFixed(1)} % of 3 MB (Free), ` +
      `${((100 * total.gz) / (10 * MB)).toFixed(1)} % of 10 MB (Paid).`,
    `- Startup: an isolate compiles the ${kb(files[0].raw)} of raw wasm (raw size is what counts here, not gzip) and runs ` +
      `the JS glue's top level before its first request; Cloudflare allows 1 s for that. Locally: Miniflare start to ready ` +
      `(workerd process, wasm compile) ${workerReadyMs.toFixed(0)} ms; the first request (GET /api/session, new session: one SET) ` +
      `${firstMs[0].toFixed(1)} ms, the same request again ${firstMs[1].toFixed(1)} ms.`,
    "",
  );

  L.push("## Throughput and latency", "");
  L.push(
    "| row | request | Redis traffic per request (docs/PROTOCOL.md §4) | store round trips before the answer | measured Redis commands / request | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | socket errors |",
    "|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const x of rows) {
    const measured =
      Object.keys(x.perReq)
        .filter((k) => x.perReq[k] >= 0.005)
        .map((k) => `${k.toUpperCase()} ${x.perReq[k].toFixed(2)}`)
        .join(" · ") || "none";
    const sock = x.r.connect + x.r.read + x.r.write + x.r.timeout;
    L.push(
      `| ${x.label} | ${x.request} | ${x.traffic} | ${x.trips ?? "—"} | ${measured} | ${fmt(x.rps)} | ${ms(x.r.p50)} | ${ms(x.r.p90)} | ${ms(x.r.p99)} | ${ms(x.r.max)} | ${x.r.status} | ${sock} |`,
    );
  }
  L.push("");
  const bad = rows.filter((x) => x.r.status || x.r.connect || x.r.read || x.r.write || x.r.timeout);
  L.push(
    bad.length
      ? `**Errors:** ${bad.map((x) => `${x.id} (non-2xx ${x.r.status}, connect ${x.r.connect}, read ${x.r.read}, write ${x.r.write}, timeout ${x.r.timeout})`).join("; ")}.`
      : "Every row: 0 non-2xx answers (wrk counts status ≥ 400) and 0 socket errors (connect, read, write, timeout).",
    "",
  );

  L.push("## CPU time per request", "");
  L.push(
    `µs of CPU per request of each process, from /proc over each ${DURATION} s run (${CLK_TCK} ticks/s, so ±10 ms over the run). ` +
      `"machine busy" is the share of all ${cores} cores in use; "other load" is the CPU, in cores, used by processes ` +
      `this run did not start (other jobs on the machine, kernel threads).`,
    "",
  );
  L.push(
    "| row | request | workerd | node (Express; bench driver) | upstash-local | redis-server | wrk | machine busy | other load |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const x of rows) {
    const u = x.cpuUs;
    L.push(
      `| ${x.label} | ${x.request} | ${fmt(u.workerd)} | ${fmt(u.node)} | ${fmt(u.upstash)} | ${fmt(u.redis)} | ${fmt(u.wrk)} | ` +
        `${x.busyPct.toFixed(0)} % | ${x.otherCores.toFixed(2)} |`,
    );
  }
  L.push("");
  const noisy = rows.filter((x) => x.otherCores > 0.15);
  L.push(
    noisy.length
      ? `**The machine was not quiet:** other processes used ${noisy.map((x) => `${x.otherCores.toFixed(2)} cores during ${x.id}`).join(", ")}. ` +
          "Those rows are pessimistic; run again on a quiet machine for clean numbers."
      : "Other processes used at most 0.15 cores during any row: the machine was quiet.",
    "",
  );
  return L.join("\n");
}
