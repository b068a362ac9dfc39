// Spread: the node left emptiest, so load evens out across nodes.
import { leftAfter, type NodeScheduler } from './policy.js';

export const spread: NodeScheduler = {
  summary: 'the node left emptiest (evens out load across nodes)',
  score: (c) => [-leftAfter(c.free, c.request, c.node.capacity)],
};
