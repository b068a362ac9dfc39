// What a root scheduling policy is: a pure function that scores one candidate cluster for the
// next replica of a service (lower is better, compared element by element). Everything else is
// the placer's: constraints filter first (no policy can break them), stickiness, `spread:
// clusters`, keeping a service together, capacity, ties by name. A policy only ranks.
import type { Capacity } from '../../../schemas/messages.js';
import type { ServiceSpec } from '../../../schemas/model.js';
import type { ClusterView } from '../cluster-view.js';

import type { Rtt } from '../../scheduling/latency.js';
import type { Score } from '../../scheduling/score.js';

export type { Rtt } from '../../scheduling/latency.js';
export type { Score } from '../../scheduling/score.js';
export { compareScores } from '../../scheduling/score.js';
export { leftAfter } from '../../scheduling/capacity.js';

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

export interface RootScheduler {
  /** One line for the schema and `--help`. */
  readonly summary: string;
  score(c: RootCandidate, spec: ServiceSpec): Score;
}
