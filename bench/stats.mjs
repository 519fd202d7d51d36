// Small statistics for the benchmark: medians and spreads, never a single sample.

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median absolute deviation relative to the median (a robust spread, as a fraction). */
export function relativeMad(xs) {
  const m = median(xs);
  return m === 0 ? 0 : median(xs.map((x) => Math.abs(x - m))) / m;
}
