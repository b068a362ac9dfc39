// The root's coarse choice: which clusters run how many replicas of each service, from the
// clusters' aggregates only. Pure and deterministic: same inputs, same placement. Services
// keep the clusters they had while those still qualify, so a commit moves only what changed.
// Constraints filter here; the fleet's policy (policies/) only ranks what is left.
//
// A run is: each service's eligible clusters (eligible.ts, from assess.ts), pass 1 giving back
// what services had and pass 2 placing the rest (rank.ts), then each decision in words
// (explain.ts). This file composes them and is the module the rest of canopy imports.
import type { Capacity } from '../../schemas/messages.js';
import { describeRtt } from '../scheduling/latency.js';
import { fmt, request } from '../scheduling/capacity.js';
import { rootScheduler, type RootPolicy } from './policies/index.js';
import { cmp, type Allocation, type ClusterView, type PlaceOptions, type PlaceResult, type ServiceDecision, type ServiceView } from './cluster-view.js';
import { workOf, type Asks } from './eligible.js';
import { giveBack, placeRest } from './rank.js';
import { decisionOf } from './explain.js';

export type { RootPolicy } from './policies/index.js';
export type { Rtt, Target } from '../scheduling/latency.js';
export { request, fmt };
export { describeRtt };
export { clusterViewOf } from './cluster-view.js';
export type { Allocation, ClusterView, PlaceOptions, PlaceResult, Refusal, ServiceDecision, ServiceView } from './cluster-view.js';
export { assess, exclusion, type Assessment } from './assess.js';
export { MAX_REASON, passedOver } from './explain.js';
export { keepRefusals, stableJson } from './refusals.js';

/**
 * Place every service. `previous` is the last allocation (sticky). Services are taken in id
 * order and clusters in name order, so capacity is consumed the same way on every run.
 */
export function placeServices(
  services: ServiceView[],
  clusters: ClusterView[],
  previous: Allocation,
  policy: RootPolicy | string = 'bestfit',
  o: PlaceOptions = {},
): PlaceResult {
  const scheduler = rootScheduler(policy);
  const sorted = [...clusters].sort((a, b) => cmp(a.name, b.name));
  const free = new Map<string, Capacity>(sorted.map((c) => [c.name, { ...c.capacity }]));
  const decisions = new Map<string, ServiceDecision>();
  const ordered = [...services].sort((a, b) => cmp(a.id, b.id));
  const assessed: Asks = new Map();
  const work = ordered.map((svc) => workOf(svc, sorted, previous, assessed, o.targets));
  giveBack(work, free);
  for (const w of work) decisions.set(w.svc.id, decisionOf(w, free, placeRest(w, free, scheduler)));
  return { decisions };
}
