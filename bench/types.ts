// The shape every benchmark returns. A benchmark is bench/<name>.bench.ts with a default export
// `run(opts)`; bench/run.ts runs them all (or those named), prints one table and writes
// bench/results/<name>.json. Figures are medians over repeated runs with their spread, and
// where there is a floor (what the same work costs without canopy, measured in the same run)
// the ratio against it.
export interface Figure {
  /** What was measured, in words: "commit → converged p50". */
  label: string;
  value: number;
  unit: string; // 'ms', 'MB', 'bytes', '%', 'placements/s', 'kbit/s', 'x'
  /** Spread over repeats, e.g. [min, max] or [p25, p75]. */
  spread?: [number, number];
  /** The floor measured in the same run, and value / floor. */
  floor?: { label: string; value: number };
  goal?: { op: '<=' | '>='; value: number };
  /** goal met? (undefined when there is no goal) */
  ok?: boolean;
}

export interface BenchResult {
  name: string;
  figures: Figure[];
  /** Anything a reader needs: sizes, what limits a missed goal. */
  notes?: string[];
}

export interface BenchOptions {
  /** Smaller sizes and fewer repeats, for a smoke run. */
  quick: boolean;
  log: (line: string) => void;
}

export type Bench = (opts: BenchOptions) => Promise<BenchResult>;

export function judge(f: Figure): Figure {
  if (!f.goal) return f;
  return { ...f, ok: f.goal.op === '<=' ? f.value <= f.goal.value : f.value >= f.goal.value };
}
