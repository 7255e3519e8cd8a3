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
 * A 95 % confidence interval for the median of `v`, the sign test's: the
 * order statistics j and n - 1 - j of the sorted values, j = n/2 - 1.96 √n / 2
 * (the normal approximation of the binomial). Null for fewer than 6 values,
 * where no such interval is narrower than the whole range.
 */
export function medianInterval(v) {
  if (v.length < 6) return null;
  const s = [...v].sort((a, b) => a - b);
  const j = Math.max(0, Math.floor(s.length / 2 - 0.98 * Math.sqrt(s.length)));
  return [s[j], s[s.length - 1 - j]];
}

/**
 * The per-round ratios `a[i] / b[i]` of two sides measured round by round,
 * summarized: { median, interval } (interval null for fewer than 6 rounds).
 * Pairing each round of one side with the same round of the other cancels
 * the machine's drift over a run, which whole medians keep.
 */
export function pairedRatio(a, b) {
  const ratios = a.map((x, i) => x / b[i]);
  return { median: median(ratios), interval: medianInterval(ratios) };
}
