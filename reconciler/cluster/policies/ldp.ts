// LDP, latency- and distance-aware placement (Oakestra, USENIX ATC 2023, §3.2): among the nodes
// that meet the service's geo and latency constraints (the placer has filtered them by exact
// position and measured round trips), take the one nearest the service's users: the lowest
// round trip to its latency target (measured, else estimated from distance), else the nearest to
// its geo centre; ties by best fit. A service with neither constraint is placed by best fit.
import { estimateRttMs } from '../../scheduling/geo.js';
import { leftAfter, type NodeScheduler } from './policy.js';
import { CLUSTER_POLICY_SUMMARIES } from '../../../schemas/policies.js';

export const ldp: NodeScheduler = {
  summary: CLUSTER_POLICY_SUMMARIES.ldp,
  score: (c) => [c.rtt?.ms ?? (c.distanceKm !== undefined ? estimateRttMs(c.distanceKm) : 0), leftAfter(c.free, c.request, c.node.capacity)],
};
