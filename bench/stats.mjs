// The statistics the benchmarks report, in one place: medians and a
// confidence interval for a median that assumes nothing of how the values
// spread (rounds of CPU per request on a shared machine are skewed: a
// round that met a garbage collection or another process runs long).

/** The median of `v` (the mean of the two middle values for an even count). */
export function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The sign test's confidence interval for the median of n values: the
 * sorted values at (0-based) indices j and n - 1 - j cover the median with
 * probability 1 - 2 P(B <= j), B ~ Binomial(n, 1/2), whatever the values'
 * distribution, as long as they are independent. j is the largest index
 * whose level is at least 95 %, computed exactly. Returns { j, level }, or
 * null when even the whole range has a level under 95 % (n < 6).
 */
export function signTestIndex(n) {
  // P(B = k) built up in logarithms, so that 2^-n does not underflow.
  let logP = -n * Math.LN2;
  let below = 0; // P(B <= k - 1)
  let best = null;
  for (let k = 0; k < n / 2; k++) {
    if (k > 0) logP += Math.log((n - k + 1) / k);
    const tail = below + Math.exp(logP); // P(B <= k)
    if (2 * tail > 0.05) break;
    best = { j: k, level: 1 - 2 * tail };
    below = tail;
  }
  return best;
}

/**
 * A confidence interval of at least 95 % for the median of `v`
 * ([`signTestIndex`]): `[low, high, level]`, or null for fewer than 6 values.
 */
export function medianInterval(v) {
  const at = signTestIndex(v.length);
  if (!at) return null;
  const s = [...v].sort((a, b) => a - b);
  return [s[at.j], s[s.length - 1 - at.j], at.level];
}

/**
 * The per-round ratios `a[i] / b[i]` of two sides measured round by round,
 * summarized: { median, interval } ([`medianInterval`]; null for fewer than 6
 * rounds). Pairing each round of one side with the same round of the other
 * cancels the machine's drift over a run, which whole medians keep.
 *
 * Throws when the two sides have different numbers of rounds or a value is
 * not a finite positive number: a missing measurement must not pass for a
 * ratio.
 */
export function pairedRatio(a, b) {
  if (a.length !== b.length) throw new Error(`paired rounds of different counts: ${a.length} and ${b.length}`);
  for (const x of [...a, ...b]) {
    if (!(Number.isFinite(x) && x > 0)) throw new Error(`a round measured ${x}, not a positive number`);
  }
  const ratios = a.map((x, i) => x / b[i]);
  return { median: median(ratios), interval: medianInterval(ratios) };
}
