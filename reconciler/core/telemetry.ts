// The one place every part registers what it measures and how healthy it is. A part's
// composition root creates one registry and hands it to the bus, the loop and its steps; an
// exporter (a /metrics endpoint, a status line, a test) reads it. Metric names follow
// Prometheus conventions (canopy_<what>_total for counters, base units: _seconds, _bytes), and
// labels stay bounded (kinds, reasons, outcomes; never replica ids). Pure: no I/O here.

export type Labels = Readonly<Record<string, string>>;

export interface Counter {
  inc(labels?: Labels, by?: number): void;
}

export interface Gauge {
  set(value: number, labels?: Labels): void;
}

export interface Histogram {
  observe(value: number, labels?: Labels): void;
  /** The series for `labels`, at zero until observed: a scraper finds it before the first observation. */
  declare(labels?: Labels): void;
}

/** ok false means the part cannot do its job (not merely that something is degraded). */
export interface HealthState {
  ok: boolean;
  detail?: string;
}

export type MetricKind = 'counter' | 'gauge' | 'histogram';

export interface Sample {
  labels: Labels;
  value: number;
  /** Histograms: cumulative counts per upper bound, then sum and count. */
  buckets?: Array<[number, number]>;
  count?: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  kind: MetricKind;
  samples: Sample[];
}

export interface Telemetry {
  counter(name: string, help: string): Counter;
  gauge(name: string, help: string): Gauge;
  /** A gauge computed when read (counts kept elsewhere, such as clusters by state). */
  gaugeFn(name: string, help: string, read: () => Array<[Labels, number]> | number): void;
  histogram(name: string, help: string, buckets?: readonly number[]): Histogram;
  health(name: string, check: () => HealthState): void;
  /** Every metric as it stands, families in registration order. */
  collect(): MetricFamily[];
  /** Every health check; ok only when all are. */
  checkHealth(): { ok: boolean; checks: Record<string, HealthState> };
}

/** Seconds, from a millisecond up to a few minutes: reconcile steps and convergence alike. */
export const SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300] as const;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const keyOf = (labels: Labels | undefined): string => (labels ? JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1))) : '[]');

interface Family {
  help: string;
  kind: MetricKind;
  series: Map<string, Sample>;
  bounds?: readonly number[];
  read?: () => Array<[Labels, number]> | number;
}

export function createTelemetry(): Telemetry {
  const families = new Map<string, Family>();
  const checks = new Map<string, () => HealthState>();

  const family = (name: string, help: string, kind: MetricKind, extra: Partial<Family> = {}): Family => {
    if (!NAME.test(name)) throw new Error(`metric name ${JSON.stringify(name)}: letters, digits, _ and : only`);
    const f = families.get(name);
    if (f) {
      if (f.kind !== kind) throw new Error(`metric ${name} is already a ${f.kind}`);
      return f;
    }
    const made: Family = { help, kind, series: new Map(), ...extra };
    families.set(name, made);
    return made;
  };
  const series = (f: Family, labels: Labels | undefined): Sample => {
    const k = keyOf(labels);
    let s = f.series.get(k);
    if (!s) {
      s = { labels: labels ?? {}, value: 0 };
      if (f.bounds) {
        s.buckets = f.bounds.map((b) => [b, 0]);
        s.count = 0;
      }
      f.series.set(k, s);
    }
    return s;
  };

  return {
    counter(name, help) {
      const f = family(name, help, 'counter');
      return {
        inc(labels, by = 1) {
          if (by < 0) throw new Error(`counter ${name} cannot go down`);
          series(f, labels).value += by;
        },
      };
    },
    gauge(name, help) {
      const f = family(name, help, 'gauge');
      return { set: (value, labels) => void (series(f, labels).value = value) };
    },
    gaugeFn(name, help, read) {
      family(name, help, 'gauge', { read });
    },
    histogram(name, help, buckets = SECONDS_BUCKETS) {
      const bounds = [...buckets].sort((a, b) => a - b);
      const f = family(name, help, 'histogram', { bounds });
      return {
        observe(value, labels) {
          const s = series(f, labels);
          s.value += value;
          s.count = (s.count ?? 0) + 1;
          for (const b of s.buckets ?? []) if (value <= b[0]) b[1]++;
        },
        declare: (labels) => void series(f, labels),
      };
    },
    health(name, check) {
      checks.set(name, check);
    },
    collect() {
      return [...families].map(([name, f]) => {
        let samples = [...f.series.values()].map((s) => ({
          ...s,
          labels: { ...s.labels },
          ...(s.buckets ? { buckets: s.buckets.map(([b, n]) => [b, n] as [number, number]) } : {}),
        }));
        if (f.read) {
          const r = f.read();
          samples = typeof r === 'number' ? [{ labels: {}, value: r }] : r.map(([labels, value]) => ({ labels, value }));
        }
        return { name, help: f.help, kind: f.kind, samples };
      });
    },
    checkHealth() {
      const out: Record<string, HealthState> = {};
      let ok = true;
      for (const [name, check] of checks) {
        let h: HealthState;
        try {
          h = check();
        } catch (e) {
          h = { ok: false, detail: `check failed: ${(e as Error).message}` };
        }
        out[name] = h;
        ok &&= h.ok;
      }
      return { ok, checks: out };
    },
  };
}

/** Runs `run` and observes how long it took, in seconds, whether it returned or threw. */
export async function timeInto<T>(h: Histogram, labels: Labels, run: () => Promise<T> | T): Promise<T> {
  const t0 = performance.now();
  try {
    return await run();
  } finally {
    h.observe((performance.now() - t0) / 1000, labels);
  }
}

/** The Prometheus text exposition format (version 0.0.4) of what a registry holds. */
export function renderPrometheus(families: MetricFamily[]): string {
  const lines: string[] = [];
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  const fmtLabels = (l: Labels, extra?: [string, string]) => {
    const all = Object.entries(l);
    if (extra) all.push(extra);
    return all.length ? `{${all.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}` : '';
  };
  const num = (n: number) => (Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN');
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.kind}`);
    for (const s of f.samples) {
      if (f.kind !== 'histogram') {
        lines.push(`${f.name}${fmtLabels(s.labels)} ${num(s.value)}`);
        continue;
      }
      for (const [b, n] of s.buckets ?? []) lines.push(`${f.name}_bucket${fmtLabels(s.labels, ['le', num(b)])} ${n}`);
      lines.push(`${f.name}_bucket${fmtLabels(s.labels, ['le', '+Inf'])} ${s.count ?? 0}`);
      lines.push(`${f.name}_sum${fmtLabels(s.labels)} ${num(s.value)}`, `${f.name}_count${fmtLabels(s.labels)} ${s.count ?? 0}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** One part's families, and the labels that tell its series from the other parts' (part, cluster, node). */
export interface LabelledFamilies {
  labels: Labels;
  families: MetricFamily[];
}

/**
 * Several registries as one exposition (canopy up runs every part in one process): families of
 * the same name are merged, each series labelled with its part's labels first (a series' own
 * label of the same name wins). A series seen twice is kept once, and a family of another kind
 * under a name already taken is left out: either would make the exposition invalid.
 */
export function mergeFamilies(sources: readonly LabelledFamilies[]): MetricFamily[] {
  const out = new Map<string, { family: MetricFamily; keys: Set<string> }>();
  for (const src of sources) {
    for (const f of src.families) {
      let m = out.get(f.name);
      if (!m) {
        m = { family: { name: f.name, help: f.help, kind: f.kind, samples: [] }, keys: new Set() };
        out.set(f.name, m);
      } else if (m.family.kind !== f.kind) continue;
      for (const s of f.samples) {
        const labels = { ...src.labels, ...s.labels };
        const k = keyOf(labels);
        if (m.keys.has(k)) continue;
        m.keys.add(k);
        m.family.samples.push({ ...s, labels });
      }
    }
  }
  return [...out.values()].map((m) => m.family);
}
