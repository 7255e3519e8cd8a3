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
