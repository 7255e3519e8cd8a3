// Session documents as express-session + JSON.stringify write them, and
// reading what Redis holds without losing a byte.

import { RESP_TYPES } from "redis";

/** A document as express-session + JSON.stringify write it: the demo's cookie, then `fields`. */
export function nodeDoc({ originalMaxAge = 60000, expires, fields = {} }) {
  return JSON.stringify({ cookie: { originalMaxAge, expires, secure: false, httpOnly: true, path: "/" }, ...fields });
}

/** The demo's fresh document, with the given `expires`. */
export function freshDoc(expires, originalMaxAge = 60000) {
  return nodeDoc({ originalMaxAge, expires });
}

/** A session document as express-session + JSON.stringify would write it, with foreign fields; expires in 30 s. */
export function foreignDocument({ withViews, originalMaxAge = 59999 }) {
  const expires = new Date(Date.now() + 30_000).toISOString();
  const fields = {
    passport: { user: { id: 42, name: "Zoë 🍺 日本語", roles: ["admin", null], active: true, score: 0.30000000000000004 } },
    flash: {},
    cart: [{ sku: "A-1", qty: 2, price: 3.5 }, [], [[null]]],
    nothing: null,
    disabled: false,
    big: 1e21,
    tiny: 5e-7,
    huge: 12345678901234567890,
    text: 'quote " backslash \\ newline \n tab \t ctrl \u0001 del \u007f sep \u2028 lt </script> lone surrogate \ud800',
    "": "empty key",
    "ключ": "ünïcödé key",
  };
  if (withViews) fields.views = 7;
  fields.last = "tail";
  return { doc: nodeDoc({ originalMaxAge, expires, fields }), expires };
}

/** The raw bytes under `key` (null when absent): compared as Buffers so nothing is lost to decoding. */
export async function rawGet(client, key) {
  return client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).get(key);
}

/**
 * Everything Redis holds, to compare before and after ("nothing lost,
 * nothing written"): per key (sorted), its type, its value as bytes (hex;
 * members of sets sorted) and its expiry. `expiry`: "exact" (PEXPIRETIME,
 * -1 for none: a touch counts as a write), "whether" (only whether the key
 * expires: a touch does not count) or "ignore". Throws on a key of a type
 * it cannot read, so that nothing escapes the comparison.
 */
export async function redisSnapshot(client, { expiry = "exact" } = {}) {
  const raw = client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  const hex = (b) => Buffer.from(b).toString("hex");
  const keys = (await raw.sendCommand(["KEYS", "*"])).map(String).sort();
  const out = {};
  for (const key of keys) {
    const type = String(await raw.sendCommand(["TYPE", key]));
    const read = {
      string: ["GET", key],
      set: ["SMEMBERS", key],
      hash: ["HGETALL", key],
      list: ["LRANGE", key, "0", "-1"],
      zset: ["ZRANGE", key, "0", "-1", "WITHSCORES"],
    }[type];
    if (!read) throw new Error(`redisSnapshot: a key of type ${type} cannot be read: ${key}`);
    let value = await raw.sendCommand(read);
    value = Array.isArray(value) ? value.map(hex) : hex(value);
    if (type === "set") value.sort();
    const at = expiry === "ignore" ? undefined : Number(await raw.sendCommand(["PEXPIRETIME", key]));
    out[key] = { type, value, ...(expiry === "exact" ? { pexpiretime: at } : expiry === "whether" ? { expiring: at > 0 } : {}) };
  }
  return out;
}
