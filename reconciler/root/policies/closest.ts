// Closest: the cluster with the lowest round-trip time to the service's latency target (measured
// where its nodes measured it, else estimated from distance), else nearest its geo centre; then
// best fit. A service without latency or geo constraints is placed by best fit.
import { estimateRttMs } from '../../scheduling/geo.js';
import { leftAfter, type RootScheduler } from './policy.js';
import { ROOT_POLICY_SUMMARIES } from '../../../schemas/policies.js';

export const closest: RootScheduler = {
  summary: ROOT_POLICY_SUMMARIES.closest,
  score: (c) => [c.rtt?.ms ?? (c.distanceKm !== undefined ? estimateRttMs(c.distanceKm) : 0), leftAfter(c.free, c.request, c.cluster.capacity)],
};
