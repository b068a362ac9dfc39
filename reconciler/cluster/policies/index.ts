// Every cluster scheduling policy, by the name fleet.yaml's spec.scheduler.cluster uses. The
// fleet schema's list of names is this registry's keys: a new policy is a file beside this one,
// a line here and a test.
import type { NodeScheduler } from './policy.js';
import { bestfit } from './bestfit.js';
import { firstfit } from './firstfit.js';
import { spread } from './spread.js';
import { ldp } from './ldp.js';

export const clusterSchedulers = { bestfit, firstfit, spread, ldp } satisfies Record<string, NodeScheduler>;

export type ClusterPolicy = keyof typeof clusterSchedulers;

export const CLUSTER_POLICIES = Object.keys(clusterSchedulers) as ClusterPolicy[];

/** The policy of that name; best fit for a name that is not one (the schema rejects those first). */
export function clusterScheduler(name: string | undefined): NodeScheduler {
  return Object.hasOwn(clusterSchedulers, name ?? '') ? clusterSchedulers[name as ClusterPolicy] : clusterSchedulers.bestfit;
}
