// Best fit: the node left fullest, so whole nodes stay free for large replicas.
import { leftAfter, type NodeScheduler } from './policy.js';

export const bestfit: NodeScheduler = {
  summary: 'the node left fullest (packs, keeps whole nodes free for large replicas)',
  score: (c) => [leftAfter(c.free, c.request, c.node.capacity)],
};
