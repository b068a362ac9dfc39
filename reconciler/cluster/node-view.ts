// What the cluster's placer and its policies see of a node: its offer (capacity, architecture,
// runtimes, labels), where it is and what it measured. A file of its own so that the placer
// (place.ts), the policies it runs (policies/) and the aggregate all import it from here and
// never from each other.
import type { Capacity } from '../../schemas/messages.js';
import type { LatLon } from '../core/geo.js';
import type { Target } from '../scheduling/latency.js';

export interface NodeView {
  name: string;
  online: boolean;
  capacity: Capacity;
  arch: string;
  runtimes: string[];
  labels: Record<string, string>;
  /** Where the node is (its agent's --location). */
  location?: LatLon;
  /** The address other nodes reach it at (its agent's --address); the cluster's own: never sent to the root. */
  address?: string;
  /** Per latency target: the round trip in ms its agent measured. */
  latency?: Record<string, number>;
}

/** What the cluster knows beyond its nodes: the fleet's latency targets, and its own location for nodes that do not say theirs. */
export interface NodeContext {
  targets?: Record<string, Target>;
  location?: LatLon;
}
