// The one Redis MONITOR recorder and the one MONITOR line parser.

import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";

/** Commands of connection housekeeping, not session traffic. */
export const HOUSEKEEPING = new Set(["CLIENT", "HELLO", "SELECT", "PING", "AUTH", "INFO", "COMMAND", "READONLY"]);

/** The commands that call a script. */
const SCRIPT_CALLS = new Set(["EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "SCRIPT"]);
/** Reads a script makes to compare before it writes (docs/PROTOCOL.md §11). */
const SCRIPT_READS = new Set(["GET", "EXISTS", "SCARD", "SISMEMBER", "SMEMBERS"]);

/**
 * Which commands a MONITOR recording keeps, by `view`:
 * - "effects" (the default): what the session layer did to the data, in
 *   Redis's own commands: the script calls (EVALSHA, EVAL) and the reads a
 *   script makes to compare are left out, the writes a script makes are
 *   kept. A compare-and-set save then reads as the `SET` connect-redis
 *   sends, which is what the golden and interop tests compare.
 * - "calls": the commands clients sent, one per command of a request to the
 *   store (a script call is one, its inner commands are left out): what
 *   round-trip counts are made of.
 * - "all": everything, script internals marked `script: true`.
 */
export function monitorView(commands, view = "effects") {
  if (view === "all") return commands;
  if (view === "calls") return commands.filter((c) => !c.script);
  return commands.filter((c) => {
    const verb = c[0]?.toUpperCase();
    if (!c.script) return !SCRIPT_CALLS.has(verb);
    return !SCRIPT_READS.has(verb);
  });
}

/**
 * Records every command Redis executes, on a second connection of `client`
 * (the test's own node-redis client, through which markers are sent).
 *
 * - `mark()` sends an ECHO marker through `client` and returns it;
 * - `since(marker)` waits for a new marker and returns the commands between
 *   `marker` and it; `since()` without a marker: those since the last cut
 *   (the start, or the end of the previous `since`);
 * - `stop()` returns `since()` and closes the MONITOR connection.
 *
 * Commands are arrays of strings (UTF-8), in order; a command a script ran
 * carries a non-enumerable `script: true`. Options:
 * `others: true` leaves out the commands of `client` itself (by address);
 * `housekeeping: false` leaves out {@link HOUSEKEEPING} commands;
 * `view` ("effects", "calls" or "all"): see {@link monitorView}.
 */
export async function startMonitor(client, { others = false, housekeeping = true, view = "effects" } = {}) {
  const own = others ? String(await client.sendCommand(["CLIENT", "INFO"])).match(/\baddr=(\S+)/)[1] : null;
  const mon = client.duplicate();
  mon.on("error", () => {});
  await mon.connect();
  let lines = [];
  await mon.monitor((line) => lines.push(String(line)));
  const mark = async () => {
    const token = `monitor-marker-${randomUUID()}`;
    await client.sendCommand(["ECHO", token]);
    return token;
  };
  const waitFor = async (token) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const i = lines.findIndex((l) => l.includes(token));
      if (i >= 0) return i;
      if (Date.now() > deadline) throw new Error("MONITOR did not see the marker");
      await sleep(1);
    }
  };
  const since = async (from) => {
    const to = await mark();
    const start = from === undefined ? 0 : (await waitFor(from)) + 1;
    const end = await waitFor(to);
    const slice = lines.slice(start, end);
    lines = lines.slice(end + 1);
    const commands = slice
      .map(parseMonitorLine)
      .filter((c) => (own === null || c.addr !== own) && (housekeeping || !HOUSEKEEPING.has(c.args[0]?.toUpperCase())))
      .map((c) => Object.defineProperty(c.args, "script", { value: c.addr === "lua", enumerable: false }));
    return monitorView(commands, view);
  };
  return {
    mark,
    since,
    async stop() {
      try {
        return await since();
      } finally {
        mon.destroy();
      }
    },
  };
}

/** `1700000000.123 [0 127.0.0.1:1234] "SET" "k" "v"` → {addr, args (UTF-8 strings)}. */
export function parseMonitorLine(line) {
  const addr = line.match(/\[\d+ ([^\]]+)\]/)?.[1];
  const args = [];
  const rest = line.slice(line.indexOf("]") + 1);
  for (const m of rest.matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
    const bytes = [];
    const s = m[1];
    for (let i = 0; i < s.length; i++) {
      if (s[i] !== "\\") {
        bytes.push(s.charCodeAt(i));
        continue;
      }
      const e = s[++i];
      if (e === "x") {
        bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        bytes.push(({ n: 10, r: 13, t: 9, a: 7, b: 8 })[e] ?? e.charCodeAt(0));
      }
    }
    args.push(Buffer.from(bytes).toString("utf8"));
  }
  return { addr, args };
}

/** Monitored commands that name a `prefix` key, as `VERB key [rest…]`, with the SET payload dropped. */
export function sessionCommands(commands, prefix = "sess:") {
  return commands
    .filter((c) => c.slice(1).some((a) => a.startsWith(prefix)))
    .map((c) => {
      const verb = c[0].toUpperCase();
      return verb === "SET" ? [verb, c[1], ...c.slice(3)] : [verb, ...c.slice(1)];
    });
}
