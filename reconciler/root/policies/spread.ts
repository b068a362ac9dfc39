// Spread: the cluster left emptiest, so load evens out across the fleet.
import { leftAfter, type RootScheduler } from './policy.js';

export const spread: RootScheduler = {
  summary: 'the cluster left emptiest (evens out load across the fleet)',
  score: (c) => [-leftAfter(c.free, c.request, c.cluster.capacity)],
};
