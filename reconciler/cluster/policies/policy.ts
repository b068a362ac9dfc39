// What a cluster scheduling policy is: a pure function that scores one candidate node for the
// next replica (lower is better, compared element by element). The placer does the rest: node
// constraints (runtime, arch, labels, geo and latency from the node's exact position and its
// measured round trips) filter first, stickiness, the service's `spread` (replica-spread.ts:
// fewest replicas of the service first unless `none`, never two on a node with `nodes`), never
// over-committing.
import type { Capacity } from '../../../schemas/messages.js';
import type { ServiceSpec } from '../../../schemas/model.js';
import type { NodeView } from '../node-view.js';
import type { Rtt } from '../../scheduling/latency.js';
import type { Score } from '../../scheduling/score.js';

export type { Rtt } from '../../scheduling/latency.js';
export type { Score } from '../../scheduling/score.js';
export { compareScores } from '../../scheduling/score.js';
export { leftAfter } from '../../scheduling/capacity.js';

export interface NodeCandidate {
  node: NodeView;
  /** What is left on the node before this replica. */
  free: Capacity;
  /** One replica's request. */
  request: Capacity;
  /** The node's position among the cluster's nodes in name order (0 first). */
  order: number;
  /** Replicas of this service already on the node. */
  holds: number;
  /** To the service's latency reference: measured by the node's agent, else estimated from its position. */
  rtt?: Rtt;
  /** From the service's geo centre (else its latency point), by the node's position. */
  distanceKm?: number;
}

export interface NodeScheduler {
  /** One line for the schema and `--help`. */
  readonly summary: string;
  score(c: NodeCandidate, spec: ServiceSpec): Score;
}
