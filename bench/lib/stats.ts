// Order statistics for benchmark samples: medians, percentiles and spreads. Percentiles use
// linear interpolation between the closest ranks (as numpy's default does).
export function percentile(xs: readonly number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const r = (p / 100) * (s.length - 1);
  const lo = Math.floor(r);
  const hi = Math.ceil(r);
  return s[lo] + (s[hi] - s[lo]) * (r - lo);
}

export const median = (xs: readonly number[]): number => percentile(xs, 50);

/** [p25, p75]: the spread reported beside a median. */
export const iqr = (xs: readonly number[]): [number, number] => [percentile(xs, 25), percentile(xs, 75)];

export const minMax = (xs: readonly number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Wall-clock time in milliseconds with sub-millisecond resolution (comparable to Date.now()). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
