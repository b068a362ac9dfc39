// Which services a partial placement may leave alone (incremental.ts explains why that is
// sound): what the incremental placer keeps of each service between calls (`Entry`), and the
// two ways of finding the services that are not settled: from the caller's change hint (the
// cost of the change) or by a walk over every service. Pure.
import type { ServiceSpec } from '../../schemas/model.js';
import type { Capacity } from '../../schemas/messages.js';
import { request } from '../scheduling/capacity.js';
import type { Allocation, ClusterView, ServiceDecision, ServiceView } from './cluster-view.js';

/** What the placer keeps of each service between calls. */
export interface Entry {
  d: ServiceDecision;
  spec: ServiceSpec;
  hash?: string;
  r: Capacity;
  /** d.clusters as pairs, in cluster order. */
  hold: Array<[string, number]>;
  /**
   * The decision was a fixed point (it gave back exactly the allocation it was computed from),
   * fully placed and listed in cluster order: pass 1 alone rebuilds it, given the same inputs.
   */
  settles: boolean;
}

/**
 * What the caller knows changed since the last call (the root: the services a commit added,
 * changed or removed). With it, a call costs what changed: it neither walks every service to
 * find the unsettled ones, nor adds up what the settled ones hold.
 */
export interface ChangeHint {
  changed: Iterable<string>;
  removed: Iterable<string>;
  /** A service by id (the desired state's map). */
  get(id: string): ServiceView | undefined;
  /** How many services there are. */
  size: number;
}

/** The services to place again, those placed before and gone now, and how many services there are. */
export interface Unsettled {
  unsettled: ServiceView[];
  removed: Set<string>;
  total: number;
}

/** What a call knows of the clusters and of the last call, as both finders see it. */
export interface SettleContext {
  entries: Map<string, Entry>;
  /** Services a refusal names now, and did in the last call. */
  refused: Set<string>;
  lastRefused: Set<string>;
}

/**
 * Only what can have moved: what changed, what a refusal names (now or before), and what did
 * not settle last time. Everything else settles by the rules of `byWalk`, unexamined.
 */
export function unsettledByHint(hint: ChangeHint, x: SettleContext, notSettling: Set<string>): Unsettled {
  const { entries, refused, lastRefused } = x;
  const removed = new Set([...hint.removed].filter((id) => entries.has(id)));
  const ids = new Set([...hint.changed, ...refused, ...lastRefused, ...notSettling]);
  const unsettled: ServiceView[] = [];
  for (const id of ids) {
    const svc = hint.get(id);
    if (!svc || removed.has(id)) continue;
    const e = entries.get(id);
    if (e?.settles && !refused.has(id) && !lastRefused.has(id) && sameSpec(svc, e)) continue;
    unsettled.push(svc);
  }
  return { unsettled, removed, total: hint.size };
}

/** Every service examined: those whose entry does not settle now, or that have none. */
export function unsettledByWalk(
  services: ServiceView[],
  x: SettleContext,
  o: { first: boolean; offline: Set<string>; sameAlloc: boolean; previous: Allocation },
): Unsettled {
  const { entries, refused, lastRefused } = x;
  const { offline, previous } = o;
  const present = new Set<string>();
  const unsettled: ServiceView[] = [];
  for (const svc of services) {
    present.add(svc.id);
    const e = entries.get(svc.id);
    const ok =
      !o.first &&
      e !== undefined &&
      e.settles &&
      sameSpec(svc, e) &&
      (!refused.size || !refused.has(svc.id)) &&
      (!lastRefused.size || !lastRefused.has(svc.id)) &&
      (!offline.size || !e.hold.some(([c]) => offline.has(c))) &&
      (o.sameAlloc || sameCounts(previous.get(svc.id), e.d.clusters));
    if (!ok) unsettled.push(svc);
  }
  const removed = new Set([...entries.keys()].filter((id) => !present.has(id)));
  return { unsettled, removed, total: services.length };
}

/** The spec it was placed with: by hash when both have one, else by object. */
function sameSpec(svc: ServiceView, e: Entry): boolean {
  return svc.specHash !== undefined && e.hash !== undefined ? svc.specHash === e.hash : svc.spec === e.spec;
}

export function entryOf(svc: ServiceView, d: ServiceDecision, prev: Map<string, number> | undefined): Entry {
  const r = request(svc.spec);
  const hold = [...d.clusters];
  const ordered = hold.every(([c], i) => i === 0 || hold[i - 1][0] < c);
  return {
    d,
    spec: svc.spec,
    hash: svc.specHash,
    r,
    hold,
    // A service placed for the first time (nothing before) settles at once too: its replicas fit
    // together with everyone else's, so the next pass 1 gives them back, and no part of its
    // decision depends on where it was before. So a commit of 10,000 new services is followed by
    // commits that re-place only what they change.
    settles: d.placed === d.desired && ordered && (sameCounts(prev, d.clusters) || !prev || prev.size === 0),
  };
}

/** A cluster's view without what a settled service does not depend on (free capacity, absence time, refusals). */
export function shapeOf(v: ClusterView): Omit<ClusterView, 'capacity' | 'offlineForMs' | 'refused'> {
  const { capacity: _c, offlineForMs: _o, refused: _r, ...rest } = v;
  return rest;
}

export function sameCounts(a: Map<string, number> | undefined, b: Map<string, number>): boolean {
  if (!a) return b.size === 0;
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
