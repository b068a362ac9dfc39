// Best fit: the cluster that is left fullest, so big clusters keep room for big services.
import { leftAfter, type RootScheduler } from './policy.js';
import { ROOT_POLICY_SUMMARIES } from '../../../schemas/policies.js';

export const bestfit: RootScheduler = {
  summary: ROOT_POLICY_SUMMARIES.bestfit,
  score: (c) => [leftAfter(c.free, c.request, c.cluster.capacity)],
};
