// What a root scheduling policy is: a pure function that scores one candidate cluster for the
// next replica of a service (lower is better, compared element by element). Everything else is
// the placer's: constraints filter first (no policy can break them), stickiness, `spread:
// clusters`, keeping a service together, capacity, ties by name. A policy only ranks.
import type { Capacity } from '../../../schemas/messages.js';
import type { ServiceSpec } from '../../../schemas/model.js';
import type { ClusterView } from '../place.js';

/** A round-trip time and how it is known. `km` is the distance an estimate came from. */
export interface Rtt { ms: number; source: 'measured' | 'estimated'; km?: number }

export interface RootCandidate {
  cluster: ClusterView;
  /** What is left on the cluster before this replica (its capacity less what this pass gave out). */
  free: Capacity;
  /** One replica's request. */
  request: Capacity;
  /** Replicas of this service the cluster already has in this pass. */
  holds: number;
  /** To the service's latency reference (`latency.to`), when it has one. */
  rtt?: Rtt;
  /** From the service's geo centre (else its latency point), when it has one. */
  distanceKm?: number;
}

/** Lower is better; compared element by element, so a policy can break its own ties. */
export type Score = readonly number[];

export interface RootScheduler {
  /** One line for the schema and `--help`. */
  readonly summary: string;
  score(c: RootCandidate, spec: ServiceSpec): Score;
}

/** The share of a capacity left free after one more replica (cpu and memory, 0 = full, 2 = empty). */
export function leftAfter(free: Capacity, request: Capacity, capacity: Capacity): number {
  return (free.cpu - request.cpu) / Math.max(capacity.cpu, 1e-9) + (free.memoryMi - request.memoryMi) / Math.max(capacity.memoryMi, 1e-9);
}

/** Lexicographic; differences below 1e-9 count as ties. */
export function compareScores(a: Score, b: Score): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (Math.abs(d) > 1e-9) return d;
  }
  return 0;
}
