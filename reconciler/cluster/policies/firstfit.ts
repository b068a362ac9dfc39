// First fit: the first node by name that has room. Predictable; cheap to reason about.
import type { NodeScheduler } from './policy.js';
import { CLUSTER_POLICY_SUMMARIES } from '../../../schemas/policies.js';

export const firstfit: NodeScheduler = {
  summary: CLUSTER_POLICY_SUMMARIES.firstfit,
  score: (c) => [c.order],
};
