// The root's placement at fleet scale: the same decisions as placeServices over every service,
// at the cost of the services that can change. placeServices is sticky and greedy: pass 1 gives
// every service back the replicas it had (where it may keep them and they fit), pass 2 places
// the rest in id order by policy. A service is *settled* when pass 1 alone gives it everything
// and nothing it depends on changed: same spec, its last decision was a fixed point (computed
// from the allocation it gave back) and is its previous allocation now, fully placed, no refusal
// names it, none of its clusters is unreachable, and the clusters look the same apart from free
// capacity. When in addition every cluster can hold all the pass-1 replicas at once, pass 1
// cannot fail anywhere,
// so a settled service's decision is its last one, and the others see the same free capacity in
// pass 2 as in a full run. Those others are placed by placeServices itself, with the settled
// services' consumption standing in as one pinned "reserved" service per cluster and replica
// size. Anything else (first run, clusters changed, a cluster over-committed by its previous
// allocation) places everything.
import { workloadHash } from '../core/ids.js';
import type { ServiceSpec } from '../../schemas/model.js';
import type { Capacity, Placement } from '../../schemas/messages.js';
import { canonicalJson } from '../core/ids.js';
import { placeServices, request, type Allocation, type ClusterView, type PlaceOptions, type ServiceDecision, type ServiceView } from './place.js';
import { placeBeside, reserve, type Reserved } from './place-beside.js';

export interface IncrementalResult {
  /** Every service's decision (after a partial run, in the order services came, not by id). */
  decisions: Map<string, ServiceDecision>;
  /** Services whose decision was computed in this call (all of them when `full`). */
  recomputed: Set<string>;
  /** Services placed before and not now. */
  removed: Set<string>;
  /** For recomputed and removed services: their allocation before this call. */
  before: Map<string, Map<string, number> | undefined>;
  full: boolean;
  /** Why the call placed everything, when it did. */
  why?: string;
  /** The change hint was enough to find what can have moved (no walk over every service). */
  hinted?: boolean;
}

/** What the placer keeps of each service between calls. */
interface Entry {
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

/** Below this share of the fleet to re-place, a partial run pays; above it, place everything. */
const PARTIAL_SHARE = 0.5;

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

export class IncrementalPlacer {
  private entries = new Map<string, Entry>();
  private decisions = new Map<string, ServiceDecision>();
  private lastKey?: string;
  private lastRefused = new Set<string>();
  /** Services whose entry does not settle (short of replicas, or out of cluster order). */
  private notSettling = new Set<string>();
  /** What the entries that settle hold, per cluster and replica size (kept as entries change). */
  private held: Reserved = new Map();
  /** The allocation the last call produced: pass it back as `previous` (it is kept up to date in place). */
  allocation: Allocation = new Map();

  /** `services`: every service (or a function giving them: with a hint, only a run that must place everything asks). */
  place(
    all: ServiceView[] | (() => ServiceView[]),
    views: ClusterView[],
    previous: Allocation,
    policy: string,
    o: PlaceOptions = {},
    hint?: ChangeHint,
  ): IncrementalResult {
    let list: ServiceView[] | undefined = typeof all === 'function' ? undefined : all;
    const services = () => (list ??= (all as () => ServiceView[])());
    const key = canonicalJson([policy, o, views.map(shapeOf).sort((a, b) => cmp(a.name, b.name))]);
    const refused = new Set(views.flatMap((v) => Object.keys(v.refused ?? {})));
    const offline = new Set(views.filter((v) => !v.online).map((v) => v.name));
    const firstWhy = this.lastKey === undefined ? 'first placement' : key !== this.lastKey ? 'clusters or policy changed' : undefined;
    const sameAlloc = previous === this.allocation;
    const lastRefused = this.lastRefused;
    this.lastKey = key;
    this.lastRefused = refused;

    let unsettled: ServiceView[];
    let removed: Set<string>;
    let total: number;
    const hinted = !!hint && !firstWhy && sameAlloc && !offline.size;
    if (hint && hinted) {
      // Only what can have moved: what changed, what a refusal names (now or before), and what
      // did not settle last time. Everything else settles by the rules below, unexamined.
      total = hint.size;
      removed = new Set([...hint.removed].filter((id) => this.entries.has(id)));
      const ids = new Set([...hint.changed, ...refused, ...lastRefused, ...this.notSettling]);
      unsettled = [];
      for (const id of ids) {
        const svc = hint.get(id);
        if (!svc || removed.has(id)) continue;
        const e = this.entries.get(id);
        if (
          e?.settles &&
          !refused.has(id) &&
          !lastRefused.has(id) &&
          (svc.specHash !== undefined && e.hash !== undefined ? svc.specHash === e.hash : svc.spec === e.spec)
        )
          continue;
        unsettled.push(svc);
      }
    } else {
      total = services().length;
      const present = new Set<string>();
      unsettled = [];
      for (const svc of services()) {
        present.add(svc.id);
        const e = this.entries.get(svc.id);
        const ok =
          !firstWhy &&
          e !== undefined &&
          e.settles &&
          (svc.specHash !== undefined && e.hash !== undefined ? svc.specHash === e.hash : svc.spec === e.spec) &&
          (!refused.size || !refused.has(svc.id)) &&
          (!lastRefused.size || !lastRefused.has(svc.id)) &&
          (!offline.size || !e.hold.some(([c]) => offline.has(c))) &&
          (sameAlloc || sameCounts(previous.get(svc.id), e.d.clusters));
        if (!ok) unsettled.push(svc);
      }
      removed = new Set([...this.entries.keys()].filter((id) => !present.has(id)));
    }
    const before = new Map<string, Map<string, number> | undefined>();
    let why = firstWhy ?? (unsettled.length > total * PARTIAL_SHARE ? 'most services changed' : undefined);
    if (!why) {
      for (const svc of unsettled) before.set(svc.id, previous.get(svc.id));
      for (const id of removed) before.set(id, previous.get(id));
      const recomputed = this.partial(unsettled, removed, views, previous, policy, o);
      if (recomputed) return { decisions: this.decisions, recomputed, removed, before, full: false, hinted };
      why = 'a cluster cannot hold every previous replica';
    }
    for (const svc of services()) before.set(svc.id, previous.get(svc.id));
    for (const id of removed) before.set(id, previous.get(id));
    const { decisions } = placeServices(services(), views, previous, policy, o);
    this.replace(services(), decisions, previous);
    return { decisions, recomputed: new Set(services().map((s) => s.id)), removed, before, full: true, why };
  }

  /** Places the unsettled services beside stand-ins for the settled ones; undefined when that would not equal a full run. */
  private partial(
    unsettled: ServiceView[],
    removed: Set<string>,
    views: ClusterView[],
    previous: Allocation,
    policy: string,
    o: PlaceOptions,
  ): Set<string> | undefined {
    // What the settled services hold (place-beside.ts does the rest): all that settling entries
    // hold, less what the unsettled and removed ones among them hold.
    const reserved: Reserved = new Map(views.map((v) => [v.name, new Map()]));
    for (const [c, bySize] of this.held) {
      const mine = reserved.get(c) ?? new Map();
      reserved.set(c, mine);
      for (const [k, { r, n }] of bySize) mine.set(k, { r, n });
    }
    for (const id of [...unsettled.map((s) => s.id), ...removed]) {
      const e = this.entries.get(id);
      if (e?.settles) for (const [c, n] of e.hold) reserve(reserved, c, e.r, -n);
    }
    for (const bySize of reserved.values()) for (const [k, x] of bySize) if (x.n === 0) bySize.delete(k);
    const prev: Allocation = new Map();
    for (const svc of unsettled) {
      const p = previous.get(svc.id);
      if (p) prev.set(svc.id, p);
    }
    const decisions = placeBeside(unsettled, reserved, views, prev, policy, o);
    if (!decisions) return undefined;
    this.update(unsettled, decisions, prev, removed);
    return new Set(unsettled.map((s) => s.id));
  }

  /** After a full run: every decision and entry afresh. */
  private replace(services: ServiceView[], decisions: Map<string, ServiceDecision>, previous: Allocation): void {
    const byId = new Map(services.map((s) => [s.id, s]));
    this.decisions = decisions;
    this.entries = new Map();
    this.notSettling = new Set();
    this.held = new Map();
    for (const [id, d] of decisions) this.setEntry(id, entryOf(byId.get(id)!, d, previous.get(id)));
    this.allocation = new Map([...decisions].map(([id, d]) => [id, d.clusters]));
  }

  /** After a partial run: the recomputed decisions replace theirs (maps in the order services came). */
  private update(unsettled: ServiceView[], decisions: Map<string, ServiceDecision>, previous: Allocation, removed: Set<string>): void {
    for (const id of removed) {
      this.setEntry(id, undefined);
      this.decisions.delete(id);
      this.allocation.delete(id);
    }
    for (const svc of unsettled) {
      const d = decisions.get(svc.id)!;
      this.setEntry(svc.id, entryOf(svc, d, previous.get(svc.id)));
      this.decisions.set(svc.id, d);
      // The same Map object stays the allocation: a caller holding it passes it back.
      this.allocation.set(svc.id, d.clusters);
    }
  }

  /** Sets (or removes) an entry, keeping what settling entries hold and which do not settle. */
  private setEntry(id: string, e: Entry | undefined): void {
    const old = this.entries.get(id);
    if (old?.settles) for (const [c, n] of old.hold) this.hold(c, old.r, -n);
    if (e) this.entries.set(id, e);
    else this.entries.delete(id);
    if (e?.settles) for (const [c, n] of e.hold) this.hold(c, e.r, n);
    if (e && !e.settles) this.notSettling.add(id);
    else this.notSettling.delete(id);
  }

  private hold(c: string, r: Capacity, n: number): void {
    reserve(this.held, c, r, n);
    const bySize = this.held.get(c)!;
    for (const [k, x] of bySize) if (x.n === 0) bySize.delete(k);
  }
}

function entryOf(svc: ServiceView, d: ServiceDecision, prev: Map<string, number> | undefined): Entry {
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
function shapeOf(v: ClusterView): Omit<ClusterView, 'capacity' | 'offlineForMs' | 'refused'> {
  const { capacity: _c, offlineForMs: _o, refused: _r, ...rest } = v;
  return rest;
}

function sameCounts(a: Map<string, number> | undefined, b: Map<string, number>): boolean {
  if (!a) return b.size === 0;
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

type Assignments = Placement['services'];

/**
 * Each cluster's placement document (service → replicas, spec, reason), kept from the decisions
 * of the services that were re-placed, so a round touches only the clusters they are on.
 */
export class PlacementDocs {
  private docs = new Map<string, Assignments>();
  private where = new Map<string, string[]>();
  private unschedulable = new Map<string, string>();

  /** Take the decisions of `ids` (re-placed or removed); returns each changed cluster's changed services. */
  update(
    decisions: Map<string, ServiceDecision>,
    ids: Iterable<string>,
    services: Map<string, { specHash: string; spec: ServiceSpec }>,
  ): Map<string, string[]> {
    const touched = new Map<string, string[]>();
    const touch = (c: string, id: string) => {
      const l = touched.get(c);
      if (l) l.push(id);
      else touched.set(c, [id]);
    };
    for (const id of ids) {
      const d = decisions.get(id);
      const svc = services.get(id);
      const next = new Map<string, Assignments[string]>();
      if (d && svc) for (const [c, n] of d.clusters) next.set(c, { replicas: n, specHash: workloadHash(svc.spec), spec: svc.spec, reason: d.reason });
      for (const c of this.where.get(id) ?? []) {
        if (next.has(c)) continue;
        delete this.docs.get(c)![id];
        touch(c, id);
      }
      for (const [c, a] of next) {
        let doc = this.docs.get(c);
        if (!doc) this.docs.set(c, (doc = {}));
        const old = doc[id];
        // An unchanged entry keeps its object: the book, the patches and the Git records compare
        // entries by reference first, so what did not change costs nothing downstream.
        if (old && old.replicas === a.replicas && old.specHash === a.specHash && old.reason === a.reason && old.spec === a.spec) continue;
        touch(c, id);
        doc[id] = a;
      }
      if (next.size) this.where.set(id, [...next.keys()]);
      else this.where.delete(id);
      if (d && svc && d.placed < d.desired) this.unschedulable.set(id, d.reason);
      else this.unschedulable.delete(id);
    }
    return touched;
  }

  /** A cluster's assignments, as a new object (the book keeps what it is given). */
  assignments(cluster: string): Assignments {
    return { ...(this.docs.get(cluster) ?? {}) };
  }

  /** Services placed short of their replicas, and why. */
  short(): Record<string, string> {
    return Object.fromEntries([...this.unschedulable].sort(([a], [b]) => cmp(a, b)));
  }
}
