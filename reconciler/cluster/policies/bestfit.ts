// Best fit: the node left fullest, so whole nodes stay free for large replicas.
import { leftAfter, type NodeScheduler } from './policy.js';
import { CLUSTER_POLICY_SUMMARIES } from '../../../schemas/policies.js';

export const bestfit: NodeScheduler = {
  summary: CLUSTER_POLICY_SUMMARIES.bestfit,
  score: (c) => [leftAfter(c.free, c.request, c.node.capacity)],
};
