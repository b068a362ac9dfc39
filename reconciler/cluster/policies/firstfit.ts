// First fit: the first node by name that has room. Predictable; cheap to reason about.
import type { NodeScheduler } from './policy.js';

export const firstfit: NodeScheduler = {
  summary: 'the first node by name with room',
  score: (c) => [c.order],
};
