// bench/stats.mjs, the statistics the benchmark reports: medians, the sign
// test's interval for a median, and paired ratios, on hand-computed cases.

import { test } from "node:test";
import assert from "node:assert/strict";
import { median, medianInterval, pairedRatio } from "../../bench/stats.mjs";

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

test("medianInterval: the order statistics j and n-1-j, j = floor(n/2 - 0.98 sqrt(n))", () => {
  const upTo = (n) => Array.from({ length: n }, (_, i) => n - i); // n..1, unsorted on purpose
  // (n, the interval of 1..n): n = 6: j = floor(3 - 2.40) = 0; n = 12: floor(6 - 3.39) = 2;
  // n = 60: floor(30 - 7.59) = 22; n = 100: floor(50 - 9.8) = 40.
  for (const [n, want] of [
    [6, [1, 6]],
    [12, [3, 10]],
    [60, [23, 38]],
    [100, [41, 60]],
  ]) {
    assert.deepEqual(medianInterval(upTo(n)), want, `n = ${n}`);
  }
  assert.equal(medianInterval([1, 2, 3, 4, 5]), null, "fewer than 6 values: no interval");
});

test("pairedRatio: each round of a against the same round of b", () => {
  // A drift that doubles both sides' costs halfway cancels out in the pairs.
  const b = [1, 1, 1, 2, 2, 2];
  const a = [1.2, 1.2, 1.2, 2.4, 2.4, 2.4];
  const { median: m, interval } = pairedRatio(a, b);
  assert.ok(Math.abs(m - 1.2) < 1e-12);
  assert.deepEqual(interval.map((x) => Math.round(x * 1e9) / 1e9), [1.2, 1.2]);
  assert.equal(pairedRatio([2, 3], [1, 1]).interval, null);
  assert.equal(pairedRatio([2, 3], [1, 1]).median, 2.5);
});
