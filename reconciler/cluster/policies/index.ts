// Every cluster scheduling policy, by the name fleet.yaml's spec.scheduler.cluster uses. The
// names are schemas/policies.ts's (the contract); this registry must implement each of them.
import type { NodeScheduler } from './policy.js';
import { CLUSTER_POLICIES, type ClusterPolicy } from '../../../schemas/policies.js';
import { bestfit } from './bestfit.js';
import { firstfit } from './firstfit.js';
import { spread } from './spread.js';
import { ldp } from './ldp.js';

export const clusterSchedulers: Readonly<Record<ClusterPolicy, NodeScheduler>> = { bestfit, firstfit, spread, ldp };

export { CLUSTER_POLICIES, type ClusterPolicy };

/** The policy of that name; best fit for a name that is not one (the schema rejects those first). */
export function clusterScheduler(name: string | undefined): NodeScheduler {
  return Object.hasOwn(clusterSchedulers, name ?? '') ? clusterSchedulers[name as ClusterPolicy] : clusterSchedulers.bestfit;
}
