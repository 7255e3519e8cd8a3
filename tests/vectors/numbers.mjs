// Writes tests/vectors/numbers.json: [input text, JSON.stringify(JSON.parse(input))]
// pairs as Node prints them. The Rust test js_json::numbers_match_the_node_table
// checks the worker's JSON reader and writer against every pair.
//
//   node tests/vectors/numbers.mjs          rewrite the table
//   node tests/vectors/numbers.mjs --check  fail when the table differs
import { readFileSync, writeFileSync } from 'node:fs';

const out = new URL('./numbers.json', import.meta.url);

// A small seeded generator (mulberry32), so the table is the same each run.
let seed = 0x5e551011;
function rand() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(rand() * n);
const digits = (n) => Array.from({ length: n }, () => int(10)).join('');

const inputs = [
  // Edge cases: zero, subnormals, the limits, 2^53, exponent forms.
  '0', '-0', '0.0', '-0.0', '0e0', '0E-5', '1', '-1', '1.0', '1.50',
  '5e-324', '4.9406564584124654e-324', '2.4703282292062327e-324', '2.4703282292062328e-324',
  '2.2250738585072014e-308', '2.2250738585072011e-308', '1.7976931348623157e308',
  '-1.7976931348623157e308', '1.7976931348623158e308', '1.7976931348623159e308', '1e309', '-1e309',
  '9007199254740991', '9007199254740992', '9007199254740993', '9007199254740994', '9007199254740995',
  '-9007199254740993', '18014398509481985', '123456789012345680000', '123456789012345678901',
  '0.20153987407684326', '0.1', '0.2', '0.3', '0.30000000000000004', '1E2', '1e2', '1e+2', '1e-2',
  '123e-20', '1e21', '1e20', '999999999999999999999', '1e-6', '1e-7', '0.000001', '0.0000001',
  '123456789e-15', '1.5e300', '-1.5e-300', '100e-2', '4294967295', '4294967296', '1e100',
  '0.1e1', '1.7976931348623157E+308', '5E-324', '1e-400', '-1e-400',
];
// Seeded random doubles from their bits, printed by Node itself and with
// extra digits (the reader must round them to the same double).
const view = new DataView(new ArrayBuffer(8));
while (inputs.length < 400) {
  view.setUint32(0, int(2 ** 32));
  view.setUint32(4, int(2 ** 32));
  const x = view.getFloat64(0);
  if (!Number.isFinite(x)) continue;
  inputs.push(String(x));
  inputs.push(x.toExponential(int(4) + 17).replace('e+', 'e'));
}
// Integers around 2^53 and beyond.
for (let i = 0; i < 150; i++) {
  const big = 2n ** 53n + BigInt(int(2001)) - 1000n;
  inputs.push(String(i % 2 ? -big : big));
  inputs.push(digits(16 + int(10)).replace(/^0+/, '1'));
}
// Decimals with many digits.
for (let i = 0; i < 200; i++) {
  inputs.push(`${int(1000)}.${digits(1 + int(30))}`);
  inputs.push(`0.${'0'.repeat(int(8))}${digits(1 + int(25))}`);
}
// Exponent forms.
for (let i = 0; i < 150; i++) {
  const e = ['e', 'E'][int(2)] + ['', '+', '-'][int(3)] + String(int(330));
  inputs.push(`${int(2) ? '-' : ''}${int(10)}${int(2) ? '.' + digits(1 + int(20)) : ''}${e}`);
}

const table = [...new Set(inputs)].map((input) => [input, JSON.stringify(JSON.parse(input))]);
const text = '[\n' + table.map((pair) => JSON.stringify(pair)).join(',\n') + '\n]\n';
if (process.argv.includes('--check')) {
  if (readFileSync(out, 'utf8') !== text) {
    console.error('tests/vectors/numbers.json differs from what Node prints; rerun without --check');
    process.exit(1);
  }
} else {
  writeFileSync(out, text);
  console.log(`${table.length} pairs`);
}
