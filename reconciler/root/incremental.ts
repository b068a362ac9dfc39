// The root's placement at fleet scale: the same decisions as placeServices over every service,
// at the cost of the services that can change. placeServices is sticky and greedy: pass 1 gives
// every service back the replicas it had (where it may keep them and they fit), pass 2 places
// the rest in id order by policy. A service is *settled* when pass 1 alone gives it everything
// and nothing it depends on changed: same spec, its previous allocation is exactly its last
// decision (in cluster order, as pass 1 builds it), fully placed, no refusal names it, none of
// its clusters is unreachable, and the clusters look the same apart from free capacity. When in
// addition every cluster can hold all the pass-1 replicas at once, pass 1 cannot fail anywhere,
// so a settled service's decision is its last one, and the others see the same free capacity in
// pass 2 as in a full run. Those others are placed by placeServices itself, with the settled
// services' consumption standing in as one pinned "reserved" service per cluster and replica
// size. Anything else (first run, clusters changed, a cluster near full) places everything.
import type { ServiceSpec } from '../../schemas/model.js';
import type { Capacity } from '../../schemas/messages.js';
import { canonicalJson } from '../core/ids.js';
import { placeServices, request, type Allocation, type ClusterView, type PlaceOptions, type ServiceDecision, type ServiceView } from './place.js';

export interface IncrementalResult {
  /** Every service's decision, in id order (as placeServices returns them). */
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
}

interface Settled { spec: ServiceSpec; hash?: string; r: Capacity; rKey: string }

/** Below this share of the fleet to re-place, a partial run pays; above it, place everything. */
const PARTIAL_SHARE = 0.5;
/** Headroom a cluster must keep for pass 1 to be order-independent beyond float rounding. */
const MARGIN = 1e-6;

export class IncrementalPlacer {
  private decisions = new Map<string, ServiceDecision>();
  private inputs = new Map<string, Settled>();
  private lastKey?: string;
  private lastRefused = new Set<string>();
  /** The allocation the last call produced: pass it back as `previous` (it is kept up to date in place). */
  allocation: Allocation = new Map();

  place(services: ServiceView[], views: ClusterView[], previous: Allocation, policy: string, o: PlaceOptions = {}): IncrementalResult {
    const key = canonicalJson([policy, o, views.map(shapeOf).sort((a, b) => cmp(a.name, b.name))]);
    const refused = new Set(views.flatMap((v) => Object.keys(v.refused ?? {})));
    const offline = new Set(views.filter((v) => !v.online).map((v) => v.name));
    const ids = new Set(services.map((s) => s.id));
    const removed = new Set([...this.decisions.keys()].filter((id) => !ids.has(id)));
    const was = (id: string) => previous.get(id);
    const firstWhy = this.lastKey === undefined ? 'first placement' : key !== this.lastKey ? 'clusters or policy changed' : undefined;
    const sameAlloc = previous === this.allocation;

    const unsettled: ServiceView[] = [];
    const settled: Array<{ d: ServiceDecision; s: Settled }> = [];
    if (!firstWhy) {
      for (const svc of services) {
        const d = this.decisions.get(svc.id);
        const s = this.inputs.get(svc.id);
        const ok = d !== undefined && s !== undefined
          && (svc.specHash !== undefined && s.hash !== undefined ? svc.specHash === s.hash : svc.spec === s.spec)
          && d.placed === d.desired && !refused.has(svc.id) && !this.lastRefused.has(svc.id) && inClusterOrder(d.clusters)
          && (!offline.size || ![...d.clusters.keys()].some((c) => offline.has(c)))
          && (sameAlloc || sameCounts(previous.get(svc.id), d.clusters));
        if (ok) settled.push({ d, s }); else unsettled.push(svc);
      }
    }
    this.lastKey = key;
    this.lastRefused = refused;
    const before = new Map<string, Map<string, number> | undefined>();
    let why = firstWhy ?? (unsettled.length > services.length * PARTIAL_SHARE ? 'most services changed' : undefined);
    if (!why) {
      for (const svc of unsettled) before.set(svc.id, was(svc.id));
      for (const id of removed) before.set(id, was(id));
      const recomputed = this.partial(settled, unsettled, removed, views, previous, policy, o);
      if (recomputed) return { decisions: this.decisions, recomputed, removed, before, full: false };
      why = 'a cluster is (nearly) full';
    }
    for (const id of new Set([...ids, ...removed])) before.set(id, was(id));
    const { decisions } = placeServices(services, views, previous, policy, o);
    this.replace(services, decisions);
    return { decisions, recomputed: ids, removed, before, full: true, why };
  }

  /** Places the unsettled services beside stand-ins for the settled ones; undefined when that would not equal a full run. */
  private partial(settled: Array<{ d: ServiceDecision; s: Settled }>, unsettled: ServiceView[], removed: Set<string>, views: ClusterView[], previous: Allocation, policy: string, o: PlaceOptions): Set<string> | undefined {
    // What the settled services hold, per cluster and replica size; and whether every cluster
    // holds that plus every pass-1 replica of the rest with room to spare.
    const reserved = new Map<string, Map<string, { r: Capacity; n: number }>>();
    const demand = new Map<string, Capacity>(views.map((v) => [v.name, { cpu: 0, memoryMi: 0, gpu: 0 }]));
    const add = (c: string, r: Capacity, n: number) => {
      const t = demand.get(c);
      if (!t) return false;
      t.cpu += r.cpu * n; t.memoryMi += r.memoryMi * n; t.gpu += r.gpu * n;
      return true;
    };
    for (const { d, s } of settled) {
      for (const [c, n] of d.clusters) {
        if (!add(c, s.r, n)) return undefined;
        let bySize = reserved.get(c);
        if (!bySize) reserved.set(c, (bySize = new Map()));
        const e = bySize.get(s.rKey);
        if (e) e.n += n; else bySize.set(s.rKey, { r: s.r, n });
      }
    }
    for (const svc of unsettled) for (const [c, n] of previous.get(svc.id) ?? []) add(c, request(svc.spec), n);
    const over = (need: number, cap: number) => need > 0 && need > cap - MARGIN;
    for (const v of views) {
      const t = demand.get(v.name)!;
      if (over(t.cpu, v.capacity.cpu) || over(t.memoryMi, v.capacity.memoryMi) || over(t.gpu, v.capacity.gpu)) return undefined;
    }

    const stand: ServiceView[] = [];
    const prev: Allocation = new Map();
    for (const svc of unsettled) { const p = previous.get(svc.id); if (p) prev.set(svc.id, p); }
    for (const v of views) {
      let k = 0;
      for (const { r, n } of reserved.get(v.name)?.values() ?? []) {
        const id = `~reserved/${v.name}/${k++}`;
        stand.push({ id, spec: reservedSpec(v, r, n) });
        prev.set(id, new Map([[v.name, n]]));
      }
    }
    const { decisions } = placeServices([...unsettled, ...stand], views, prev, policy, o);
    for (const s of stand) {
      const d = decisions.get(s.id);
      if (!d || d.placed !== d.desired) return undefined; // a stand-in that did not fit: not the full run's state
    }
    const recomputed = new Set(unsettled.map((s) => s.id));
    this.update(unsettled, decisions, recomputed, removed);
    return recomputed;
  }

  /** After a full run: every decision and input afresh. */
  private replace(services: ServiceView[], decisions: Map<string, ServiceDecision>): void {
    this.decisions = decisions;
    this.inputs = new Map(services.map((svc) => [svc.id, inputOf(svc)]));
    this.allocation = new Map([...decisions].map(([id, d]) => [id, d.clusters]));
  }

  /**
   * After a partial run: the recomputed decisions replace theirs in place (the map keeps id
   * order), unless services came, when the maps are rebuilt in id order.
   */
  private update(unsettled: ServiceView[], decisions: Map<string, ServiceDecision>, recomputed: Set<string>, removed: Set<string>): void {
    const added = unsettled.some((s) => !this.decisions.has(s.id));
    for (const svc of unsettled) this.inputs.set(svc.id, inputOf(svc));
    for (const id of removed) { this.decisions.delete(id); this.inputs.delete(id); this.allocation.delete(id); }
    for (const id of recomputed) {
      const d = decisions.get(id)!;
      this.decisions.set(id, d);
      this.allocation.set(id, d.clusters);
    }
    if (added) {
      const ids = [...this.decisions.keys()].sort(cmp);
      this.decisions = new Map(ids.map((id) => [id, this.decisions.get(id)!]));
      // The same Map object stays the allocation: a caller holding it passes it back.
      const alloc = new Map(this.allocation);
      this.allocation.clear();
      for (const id of ids) this.allocation.set(id, alloc.get(id)!);
    }
  }
}

function inputOf(svc: ServiceView): Settled {
  const r = request(svc.spec);
  return { spec: svc.spec, hash: svc.specHash, r, rKey: `${r.cpu}|${r.memoryMi}|${r.gpu}` };
}

/** A cluster's view without what a settled service does not depend on (free capacity, absence time, refusals). */
function shapeOf(v: ClusterView): Omit<ClusterView, 'capacity' | 'offlineForMs' | 'refused'> {
  const { capacity: _c, offlineForMs: _o, refused: _r, ...rest } = v;
  return rest;
}

/** A service pinned to one cluster that holds `n` replicas of size `r` there and asks nothing else. */
function reservedSpec(v: ClusterView, r: Capacity, n: number): ServiceSpec {
  return {
    runtime: v.runtimes[0] as ServiceSpec['runtime'], replicas: n, image: 'reserved',
    resources: { cpu: r.cpu, memory: r.memoryMi * 1024 * 1024, gpu: r.gpu },
    constraints: { clusters: { names: [v.name] } },
  } as ServiceSpec;
}

/** Pass 1 walks clusters in name order: a decision it built lists them so. */
function inClusterOrder(m: Map<string, number>): boolean {
  let last = '';
  for (const c of m.keys()) { if (c <= last) return false; last = c; }
  return true;
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
