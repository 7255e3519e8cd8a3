// Writes tests/vectors/documents.json: [stored text, what Node writes back]
// pairs, the seed corpus of the document properties
// (crates/edge-session/tests/properties.rs). "What Node writes back" is
// JSON.stringify of the session express-session 1.19's own
// Store#createSession makes of JSON.parse(stored), as connect-redis
// serializes it, before any touch (so `expires` stays as stored). The Rust
// test checks that the worker reads each stored text into those very bytes,
// and that those bytes read back unchanged.
//
// The stored texts are sessions an Express app writes (logins, flash
// messages, carts, every cookie option) and the awkward JSON such a
// document can hold; none of them is one of the worker's deliberate
// differences (README), which do not read back as Node does, nor a cookie
// without `originalMaxAge` (Node writes `"expires":null` for it only until
// its first touch, and a document is always touched before it is written;
// the unit test a_stored_cookie_without_original_max_age_loses_both_lifetime_members
// has that case).
//
//   node tests/vectors/documents.mjs          rewrite the table
//   node tests/vectors/documents.mjs --check  fail when the table differs
import { readFileSync, writeFileSync } from 'node:fs';
import session from 'express-session';

const out = new URL('./documents.json', import.meta.url);

const expires = '2026-11-23T06:23:27.103Z';
const demo = { originalMaxAge: 60000, expires, secure: false, httpOnly: true, path: '/' };
const doc = (fields, cookie = demo) => JSON.stringify({ cookie, ...fields });

const stored = [
  // The demo's documents, and express-session's defaults.
  doc({}),
  doc({ views: 1 }),
  doc({}, { originalMaxAge: null, expires: null, httpOnly: true, path: '/' }),
  doc({ views: 3 }, { originalMaxAge: 86400000, expires, httpOnly: true, path: '/' }),
  // Every cookie option express-session writes, and stored nulls.
  doc({ a: 1 }, { originalMaxAge: 3600000, partitioned: true, priority: 'high', expires, secure: true, httpOnly: false, domain: 'example.com', path: '/api', sameSite: 'lax' }),
  doc({}, { originalMaxAge: 60000, expires, httpOnly: true, path: '/', sameSite: true }),
  doc({}, { originalMaxAge: 60000, expires, httpOnly: true, path: '/', sameSite: false }),
  doc({}, { originalMaxAge: 60000, expires, httpOnly: true, path: '/', sameSite: 'None', priority: 'Low', partitioned: false }),
  doc({}, { originalMaxAge: 60000, expires: null, priority: null, httpOnly: true, path: '/', domain: null }),
  doc({ n: 1 }, { originalMaxAge: 59999, expires, secure: false, httpOnly: true, path: '/' }),
  doc({ n: 1 }, { originalMaxAge: 60000.5, expires, httpOnly: true, path: '/' }),
  // Members in another order, and the Cookie constructor's defaults.
  doc({ views: 2 }, { path: '/', httpOnly: true, secure: false, expires, originalMaxAge: 60000 }),
  doc({ views: 2 }, { originalMaxAge: 60000, expires }),
  // expires as Date#toUTCString and with an offset: Node reads both.
  doc({}, { originalMaxAge: 60000, expires: 'Mon, 23 Nov 2026 06:23:27 GMT', httpOnly: true, path: '/' }),
  doc({}, { originalMaxAge: 60000, expires: '2026-11-23T08:23:27.103+02:00', httpOnly: true, path: '/' }),
  // Passport logins, flash messages, carts.
  doc({ passport: { user: 'alice' } }),
  doc({ views: 12, passport: { user: { id: 42, name: 'Zoë 🍺 日本語', roles: ['admin', null], active: true } } }),
  doc({ flash: { info: ['Welcome back!'], error: [] } }),
  doc({ cart: [{ sku: 'A-1', qty: 2, price: 3.5 }, [], [[null]]], csrfSecret: 'jP1qAz9_-4Kk2mQ0xRZc7w' }),
  doc({ returnTo: '/account?tab=orders&x=%20y', oauth2: { state: 'xyz', codeVerifier: 'abc~._-' } }),
  // Key order: integer-like keys first, `cookie` where it was stored.
  JSON.stringify({ views: 1, cookie: demo, z: 0 }),
  JSON.stringify({ b: 1, 2: 'two', a: 3, 1: 'one', '01': 'not an index', 4294967295: 'not an index', 4294967294: 'index', cookie: demo }),
  doc({ nested: { b: 1, 10: 'ten', 9: 'nine', a: { 3: [], '': null } } }),
  // Strings: escapes, controls, separators, non-BMP text.
  doc({ text: 'quote " backslash \\ newline \n tab \t ctrl \u0001\u001f del \u007f sep \u2028\u2029 lt </script>' }),
  doc({ 'ключ': 'ünïcödé', '': 'empty key', ' ': 'space', '😀': '\u{1F37A}', 'a\u0000b': '\b\f\r' }),
  // Numbers as Node spells them.
  doc({ nums: [0, -1, 1.5, 0.1, 0.30000000000000004, 1e21, 1e-7, 0.000001, 123456789012345680000, 5e-324, 1.7976931348623157e308, -9007199254740991, 2 ** 53, 4294967296] }),
  // Values of every type, deep nesting.
  doc({ t: true, f: false, z: null, e: {}, ea: [], deep: [[[[[[[[[[{ x: [1, { y: [null] }] }]]]]]]]]]] }),
];

// Texts that are not in JSON.stringify form: whitespace, escapes, repeated
// keys, lone surrogates, names a Session already has.
const texts = [
  `{ "cookie" : { "originalMaxAge" : 6e4 , "expires" : "${expires}" , "httpOnly" : true , "path" : "\\/" } , "views" : 1.0 }`,
  `{"cookie":{"originalMaxAge":60000,"expires":null,"httpOnly":true,"path":"/"},"a":"\\u00fc\\u00e9\\/","b":[ 1E2 , 2e-0 , -0 , 0.50 ]}`,
  `{"cookie":{"originalMaxAge":60000,"expires":null,"httpOnly":true,"path":"/"},"a":1,"b":2,"a":3}`,
  `{"cookie":{"path":"/x"},"a":1,"cookie":{"originalMaxAge":60000,"expires":null,"httpOnly":true,"path":"/"}}`,
  `{"cookie":{"originalMaxAge":60000,"expires":null,"httpOnly":true,"path":"/"},"lone":"\\ud800","pair":"\\ud83d\\ude00","k\\udc00":["\\udfff",{"\\ud83d":1}]}`,
  `{"cookie":{"originalMaxAge":60000,"expires":null,"httpOnly":true,"path":"/"},"__proto__":{"x":1},"toString":2,"save":3,"id":4,"req":5,"ok":{"__proto__":1,"constructor":2}}`,
  `{"cookie":{"originalMaxAge":60000,"expires":null,"httpOnly":true,"path":"/","unknown":"dropped"},"v":1}`,
  `{"cookie":{"originalMaxAge":60000,"expires":null,"httpOnly":true,"path":"/"},"n":[12345678901234567890,9007199254740993,1e400,-1e400,2.5e-324,123e-20]}`,
];

// express-session's own loading: Store#createSession on a bare request.
const store = new session.Store();
const nodeWrites = (text) => JSON.stringify(store.createSession({ sessionID: 'x' }, JSON.parse(text)));

const table = [...new Set([...stored, ...texts])].map((text) => [text, nodeWrites(text)]);
const text = '[\n' + table.map((pair) => JSON.stringify(pair)).join(',\n') + '\n]\n';
if (process.argv.includes('--check')) {
  if (readFileSync(out, 'utf8') !== text) {
    console.error('tests/vectors/documents.json differs from what Node writes; rerun without --check');
    process.exit(1);
  }
} else {
  writeFileSync(out, text);
  console.log(`${table.length} pairs`);
}
