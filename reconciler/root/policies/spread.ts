// Spread: the cluster left emptiest, so load evens out across the fleet.
import { leftAfter, type RootScheduler } from './policy.js';
import { ROOT_POLICY_SUMMARIES } from '../../../schemas/policies.js';

export const spread: RootScheduler = {
  summary: ROOT_POLICY_SUMMARIES.spread,
  score: (c) => [-leftAfter(c.free, c.request, c.cluster.capacity)],
};
