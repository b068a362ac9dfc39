// Spread: the node left emptiest, so load evens out across nodes.
import { leftAfter, type NodeScheduler } from './policy.js';
import { CLUSTER_POLICY_SUMMARIES } from '../../../schemas/policies.js';

export const spread: NodeScheduler = {
  summary: CLUSTER_POLICY_SUMMARIES.spread,
  score: (c) => [-leftAfter(c.free, c.request, c.node.capacity)],
};
