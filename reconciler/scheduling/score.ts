// How both levels compare candidates: a policy scores each (lower is better), element by
// element, so a policy can break its own ties. Pure.

/** Lower is better; compared element by element, so a policy can break its own ties. */
export type Score = readonly number[];

/** Lexicographic; differences below 1e-9 count as ties. */
export function compareScores(a: Score, b: Score): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (Math.abs(d) > 1e-9) return d;
  }
  return 0;
}
