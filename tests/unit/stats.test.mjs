// bench/stats.mjs, the statistics the benchmark reports: medians, the sign
// test's interval for a median, and paired ratios, on hand-computed cases.

import { test } from "node:test";
import assert from "node:assert/strict";
import { median, medianInterval, pairedRatio, signTestIndex } from "../../bench/stats.mjs";

test("median: the middle value, or the mean of the two middle ones", () => {
  for (const [values, want] of [
    [[3], 3],
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
    [[5, 5, 1, 9], 5],
  ]) {
    assert.equal(median(values), want, JSON.stringify(values));
  }
});

/** 1 - 2 P(B <= j) for B ~ Binomial(n, 1/2), exactly, with BigInt. */
function exactLevel(n, j) {
  let c = 1n; // C(n, 0)
  let sum = 0n;
  for (let k = 0; k <= j; k++) {
    if (k > 0) c = (c * BigInt(n - k + 1)) / BigInt(k);
    sum += c;
  }
  const total = 1n << BigInt(n);
  return 1 - (2 * Number((sum * 10n ** 12n) / total)) / 1e12;
}

test("signTestIndex: the largest j whose level is at least 95 %, checked exactly", () => {
  // (n, j, level): n = 6: 2 P(B <= 0) = 2/64; n = 12: 2 (1 + 12 + 66)/4096.
  for (const [n, j, level] of [
    [6, 0, 1 - 2 / 64],
    [12, 2, 1 - (2 * 79) / 4096],
  ]) {
    const got = signTestIndex(n);
    assert.equal(got.j, j, `n = ${n}`);
    assert.ok(Math.abs(got.level - level) < 1e-12, `n = ${n}: ${got.level}`);
  }
  for (const n of [1, 2, 5]) assert.equal(signTestIndex(n), null, `n = ${n}: not even the whole range reaches 95 %`);
  for (let n = 6; n <= 200; n++) {
    const { j, level } = signTestIndex(n);
    assert.ok(Math.abs(level - exactLevel(n, j)) < 1e-9, `n = ${n}: level ${level}`);
    assert.ok(level >= 0.95, `n = ${n}: j = ${j} covers ${level}`);
    assert.ok(exactLevel(n, j + 1) < 0.95, `n = ${n}: j = ${j + 1} would still cover 95 %`);
  }
});

test("medianInterval: the sorted values at j and n - 1 - j, with the level", () => {
  const upTo = (n) => Array.from({ length: n }, (_, i) => n - i); // n..1, unsorted on purpose
  for (const [n, low, high] of [
    [6, 1, 6],
    [12, 3, 10],
    [60, 22, 39],
    [100, 40, 61],
  ]) {
    const [l, h, level] = medianInterval(upTo(n));
    assert.deepEqual([l, h], [low, high], `n = ${n}`);
    assert.ok(level >= 0.95);
  }
  assert.equal(medianInterval([1, 2, 3, 4, 5]), null, "fewer than 6 values: no interval");
});

test("pairedRatio: each round of a against the same round of b; a missing round is refused", () => {
  // A drift that doubles both sides' costs halfway cancels out in the pairs.
  const b = [1, 1, 1, 2, 2, 2];
  const a = [1.2, 1.2, 1.2, 2.4, 2.4, 2.4];
  const { median: m, interval } = pairedRatio(a, b);
  assert.ok(Math.abs(m - 1.2) < 1e-12);
  assert.deepEqual(interval.slice(0, 2).map((x) => Math.round(x * 1e9) / 1e9), [1.2, 1.2]);
  assert.equal(pairedRatio([2, 3], [1, 1]).interval, null);
  assert.equal(pairedRatio([2, 3], [1, 1]).median, 2.5);
  assert.throws(() => pairedRatio([1, 2], [1]), /different counts/);
  for (const bad of [0, NaN, null, -1, Infinity]) {
    assert.throws(() => pairedRatio([1, bad], [1, 1]), /not a positive number/, String(bad));
  }
});
