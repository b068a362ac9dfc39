// Best fit: the cluster that is left fullest, so big clusters keep room for big services.
import { leftAfter, type RootScheduler } from './policy.js';

export const bestfit: RootScheduler = {
  summary: 'the cluster left fullest (packs, keeps room elsewhere for large services)',
  score: (c) => [leftAfter(c.free, c.request, c.cluster.capacity)],
};
