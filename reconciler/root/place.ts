// The root's coarse choice: which clusters run how many replicas of each service, from the
// clusters' aggregates only. Pure and deterministic: same inputs, same placement. Services
// keep the clusters they had while those still qualify, so a commit moves only what changed.
import type { ServiceSpec } from '../../schemas/model.js';
import type { Capacity } from '../../schemas/messages.js';
import { mebibytes } from '../core/quantity.js';
import { distanceKm, type LatLon } from '../core/geo.js';

export interface ClusterView {
  name: string;
  online: boolean;
  /** How long it has been unreachable (0 when online). */
  offlineForMs?: number;
  capacity: Capacity;
  maxNode: Capacity;
  /** Node sizes; when given, one must hold a replica (maxNode alone can mix two nodes). */
  shapes?: Capacity[];
  arch: string[];
  runtimes: string[];
  labels: Record<string, string>;
  operator?: string;
  location?: LatLon;
}

export interface ServiceView { id: string; spec: ServiceSpec }

/** service → cluster → replicas */
export type Allocation = Map<string, Map<string, number>>;

export interface ServiceDecision {
  clusters: Map<string, number>;
  placed: number;
  desired: number;
  /** Plain words: where it went and why; why other clusters were passed over. */
  reason: string;
  excluded: Record<string, string>;
}

export interface PlaceResult { decisions: Map<string, ServiceDecision> }

export type RootPolicy = 'bestfit' | 'spread';

export function request(spec: ServiceSpec): Capacity {
  return { cpu: spec.resources?.cpu ?? 0, memoryMi: mebibytes(spec.resources?.memory), gpu: spec.resources?.gpu ?? 0 };
}

/** Why a cluster cannot take any replica of this service, or undefined if it can. */
export function exclusion(c: ClusterView, spec: ServiceSpec): string | undefined {
  if (!c.online) return 'unreachable';
  const runtime = spec.runtime;
  if (!c.runtimes.includes(runtime)) return `no node runs ${runtime} workloads (has ${c.runtimes.join(', ') || 'none'})`;
  const arch = spec.resources?.arch;
  if (arch && !arch.some((a) => c.arch.includes(a))) return `architecture ${arch.join('/')} not present (has ${c.arch.join(', ') || 'none'})`;
  const cc = spec.constraints?.clusters;
  if (cc?.names && !cc.names.includes(c.name)) return `not among the named clusters ${cc.names.join(', ')}`;
  if (cc?.operator && c.operator !== cc.operator) return `operator is ${c.operator ?? 'unset'}, needs ${cc.operator}`;
  for (const [k, v] of Object.entries(cc?.matchLabels ?? {})) {
    if (c.labels[k] !== v) return `label ${k}=${v} not matched (has ${k}=${c.labels[k] ?? 'unset'})`;
  }
  const geo = spec.constraints?.geo;
  if (geo) {
    if (!c.location) return 'location unknown, geo constraint cannot be checked';
    const d = distanceKm(c.location, geo);
    if (d > geo.withinKm) return `${Math.round(d)} km from (${geo.lat}, ${geo.lon}), limit ${geo.withinKm} km`;
  }
  const r = request(spec);
  const holds = (n: Capacity) => r.cpu <= n.cpu + 1e-9 && r.memoryMi <= n.memoryMi + 1e-9 && r.gpu <= n.gpu + 1e-9;
  if (c.shapes ? !c.shapes.some(holds) : !holds(c.maxNode)) {
    return `no node large enough for one replica (needs ${fmt(r)}, largest node ${(c.shapes ?? [c.maxNode]).slice(0, 3).map(fmt).join(" | ")})`;
  }
  return undefined;
}

export function fmt(c: Capacity): string {
  const parts = [`cpu ${round(c.cpu)}`, `memory ${round(c.memoryMi)}Mi`];
  if (c.gpu) parts.push(`gpu ${c.gpu}`);
  return parts.join(', ');
}
const round = (n: number) => Math.round(n * 1000) / 1000;

function fits(free: Capacity, r: Capacity): boolean {
  const eps = 1e-9;
  return r.cpu <= free.cpu + eps && r.memoryMi <= free.memoryMi + eps && r.gpu <= free.gpu + eps;
}

function take(free: Capacity, r: Capacity): void {
  free.cpu -= r.cpu; free.memoryMi -= r.memoryMi; free.gpu -= r.gpu;
}

/**
 * Place every service. `previous` is the last allocation (sticky); `order` is every service id
 * in a stable order (sorted), so capacity is consumed the same way on every run.
 */
export function placeServices(services: ServiceView[], clusters: ClusterView[], previous: Allocation, policy: RootPolicy = 'bestfit'): PlaceResult {
  const sorted = [...clusters].sort((a, b) => a.name.localeCompare(b.name));
  const free = new Map(sorted.map((c) => [c.name, { ...c.capacity }]));
  const decisions = new Map<string, ServiceDecision>();
  const ordered = [...services].sort((a, b) => a.id.localeCompare(b.id));

  interface Work { svc: ServiceView; r: Capacity; excluded: Record<string, string>; eligible: ClusterView[]; keep: Map<string, number>; prev: Map<string, number>; got: Map<string, number> }
  const work: Work[] = ordered.map((svc) => {
    const excluded: Record<string, string> = {};
    const eligible: ClusterView[] = [];
    const prev = previous.get(svc.id) ?? new Map<string, number>();
    // An unreachable cluster keeps what it had (its site goes on running it), if the service
    // still allows it there, unless the service asks for failover and the cluster has been away
    // longer than it allows.
    const keep = new Map<string, number>();
    for (const c of sorted) {
      const why = exclusion(c, svc.spec);
      if (why === 'unreachable' && prev.get(c.name) && !exclusion({ ...c, online: true }, svc.spec)) {
        const after = svc.spec.failover?.afterSeconds;
        if (after === undefined || (c.offlineForMs ?? 0) < after * 1000) {
          keep.set(c.name, prev.get(c.name)!);
          excluded[c.name] = after === undefined ? 'unreachable; keeps its replicas (no failover policy)' : `unreachable; keeps its replicas until failover after ${after} s`;
          eligible.push(c);
          continue;
        }
        excluded[c.name] = `unreachable for ${Math.round((c.offlineForMs ?? 0) / 1000)} s: failed over (failover.afterSeconds ${after})`;
        continue;
      }
      if (why) excluded[c.name] = why; else eligible.push(c);
    }
    return { svc, r: request(svc.spec), excluded, eligible, keep, prev, got: new Map() };
  });
  const add = (w: Work, name: string) => { take(free.get(name)!, w.r); w.got.set(name, (w.got.get(name) ?? 0) + 1); };
  const count = (w: Work) => [...w.got.values()].reduce((a, b) => a + b, 0);

  // Pass 1, sticky: every service first gets back the replicas it had where they may stay, so
  // a new or grown service never pushes out one that is already running.
  for (const w of work) {
    for (const c of w.eligible) {
      const had = w.prev.get(c.name) ?? 0;
      for (let i = 0; i < had && count(w) < w.svc.spec.replicas && fits(free.get(c.name)!, w.r); i++) add(w, c.name);
    }
  }
  // Pass 2: the rest, by policy.
  for (const w of work) {
    const spread = w.svc.spec.spread === 'clusters';
    while (count(w) < w.svc.spec.replicas) {
      const candidates = w.eligible.filter((c) => !w.keep.has(c.name) && fits(free.get(c.name)!, w.r));
      if (!candidates.length) break;
      candidates.sort((a, b) => rank(w, spread, a, b));
      add(w, candidates[0].name);
    }
    const placed = count(w);
    const want = w.svc.spec.replicas;
    if (placed < want) {
      // Say what stopped the rest: every cluster that could have taken one but is full now.
      for (const c of w.eligible) {
        if (!w.keep.has(c.name) && !fits(free.get(c.name)!, w.r)) w.excluded[c.name] = `not enough free capacity (needs ${fmt(w.r)}, ${fmt(free.get(c.name)!)} left)`;
      }
    }
    decisions.set(w.svc.id, { clusters: w.got, placed, desired: want, excluded: w.excluded, reason: explain(w.svc, w.got, placed, want, w.excluded, spread) });
  }

  function rank(w: Work, spread: boolean, a: ClusterView, b: ClusterView): number {
    const ga = w.got.get(a.name) ?? 0, gb = w.got.get(b.name) ?? 0;
    if (spread && ga !== gb) return ga - gb;
    if (!spread) {
      // Keep a service together: prefer a cluster that already holds some of it.
      const ha = ga > 0 ? 1 : 0, hb = gb > 0 ? 1 : 0;
      if (ha !== hb) return hb - ha;
    }
    const fa = free.get(a.name)!, fb = free.get(b.name)!;
    const score = (f: Capacity, c: ClusterView) => f.cpu / Math.max(c.capacity.cpu, 1e-9) + f.memoryMi / Math.max(c.capacity.memoryMi, 1e-9);
    const d = score(fa, a) - score(fb, b);
    if (Math.abs(d) > 1e-9) return policy === 'bestfit' ? d : -d;
    return a.name.localeCompare(b.name);
  }
  return { decisions };
}

function explain(svc: ServiceView, got: Map<string, number>, placed: number, want: number, excluded: Record<string, string>, spread: boolean): string {
  const where = [...got].map(([c, n]) => `${c}×${n}`).join(', ');
  const skipped = Object.entries(excluded).map(([c, why]) => `${c}: ${why}`).join('; ');
  if (want === 0) return 'scaled to 0 replicas';
  if (placed === want) return `placed on ${where}${spread ? ' (spread across clusters)' : ''}${skipped ? `; passed over ${skipped}` : ''}`;
  if (placed === 0) return `no cluster can run it: ${skipped || 'no clusters are registered'}`;
  return `only ${placed} of ${want} replicas fit (${where}); ${skipped}`;
}
