// The root's coarse choice: which clusters run how many replicas of each service, from the
// clusters' aggregates only. Pure and deterministic: same inputs, same placement. Services
// keep the clusters they had while those still qualify, so a commit moves only what changed.
// Constraints filter here; the fleet's policy (policies/) only ranks what is left.
import type { ServiceSpec } from '../../schemas/model.js';
import type { Capacity, ClusterStatus } from '../../schemas/messages.js';
import type { LatLon } from '../core/geo.js';
import { estimateRttMs, nearestKm, round1 } from '../scheduling/geo.js';
import { compareScores, type Score } from '../scheduling/score.js';
import { describeRtt, type Rtt, type Target } from '../scheduling/latency.js';
import { fitting, fits, fmt, request, take } from '../scheduling/capacity.js';
import { rootScheduler, type RootPolicy } from './policies/index.js';

export type { RootPolicy } from './policies/index.js';
export type { Rtt, Target } from '../scheduling/latency.js';
export { request, fmt };
export { describeRtt };

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
  /** Geohash cells where it has nodes: used for geo and latency when it has no single location. */
  footprint?: string[];
  /** Per latency target: the best round trip its nodes measured, or its own estimate. */
  latency?: Record<string, { ms: number; source: 'measured' | 'estimated' }>;
  /** Per service: it could hold only `limit` replicas of what it was given, and why. */
  refused?: Record<string, Refusal>;
  /**
   * Placed by an earlier root and not heard since this one started (a restart, a broker that
   * lost its retained messages): what it holds stays, as for an unreachable cluster. `unknown`
   * when even its last status is missing: its replicas stay without checking constraints.
   */
  unheard?: 'last status from Git' | 'unknown';
}

/**
 * A cluster's refusal, as the root keeps it: it is full for that service at `limit` replicas.
 * `spec` is the spec it refused (stable JSON): a changed spec is tried afresh.
 */
export interface Refusal {
  limit: number;
  count: number;
  reason: string;
  spec?: string;
}

export interface ServiceView {
  id: string;
  spec: ServiceSpec;
  specHash?: string;
}

export interface PlaceOptions {
  targets?: Record<string, Target>;
}

/** service → cluster → replicas */
export type Allocation = Map<string, Map<string, number>>;

export interface ServiceDecision {
  clusters: Map<string, number>;
  placed: number;
  desired: number;
  /** Plain words: where it went and why; why other clusters were passed over. */
  reason: string;
  excluded: Record<string, string>;
  /** The best few clusters that qualified, with what the policy saw of them (its score before this service's new replicas). */
  candidates?: Record<string, { score: number[]; rtt?: Rtt; distanceKm?: number }>;
}

export interface PlaceResult {
  decisions: Map<string, ServiceDecision>;
}

/** What the root learns of a cluster from its status: the view placement works on. */
export function clusterViewOf(
  st: ClusterStatus,
  o: { online?: boolean; offlineForMs?: number; refused?: Record<string, Refusal>; unheard?: ClusterView['unheard'] } = {},
): ClusterView {
  return {
    name: st.cluster,
    online: o.online ?? true,
    offlineForMs: o.offlineForMs ?? 0,
    capacity: st.capacity,
    maxNode: st.maxNode,
    ...(st.shapes ? { shapes: st.shapes } : {}),
    arch: st.arch,
    runtimes: st.runtimes,
    labels: st.labels,
    ...(st.operator ? { operator: st.operator } : {}),
    ...(st.location ? { location: st.location } : {}),
    ...(st.footprint ? { footprint: st.footprint } : {}),
    ...(st.latency ? { latency: st.latency } : {}),
    ...(o.refused && Object.keys(o.refused).length ? { refused: o.refused } : {}),
    ...(o.unheard ? { unheard: o.unheard } : {}),
  };
}

/** What a cluster's constraints look like from here: why it cannot take the service, or how near it is. */
export interface Assessment {
  why?: string;
  rtt?: Rtt;
  distanceKm?: number;
  /** For a miss by a measure (too far, too slow): its kind and by how much, so alike misses are counted, nearest first. */
  miss?: { kind: string; by: number };
}

/** Why a cluster cannot take any replica of this service, or undefined if it can. */
export function exclusion(c: ClusterView, spec: ServiceSpec, targets?: Record<string, Target>): string | undefined {
  return assess(c, spec, targets).why;
}

export function assess(c: ClusterView, spec: ServiceSpec, targets?: Record<string, Target>): Assessment {
  if (!c.online) return { why: 'unreachable' };
  const runtime = spec.runtime;
  if (!c.runtimes.includes(runtime)) return { why: `no node runs ${runtime} workloads (has ${c.runtimes.join(', ') || 'none'})` };
  const arch = spec.resources?.arch;
  if (arch && !arch.some((a) => c.arch.includes(a))) return { why: `architecture ${arch.join('/')} not present (has ${c.arch.join(', ') || 'none'})` };
  const cc = spec.constraints?.clusters;
  if (cc?.names && !cc.names.includes(c.name)) return { why: `not among the named clusters ${cc.names.join(', ')}` };
  if (cc?.operator && c.operator !== cc.operator) return { why: `operator is ${c.operator ?? 'unset'}, needs ${cc.operator}` };
  for (const [k, v] of Object.entries(cc?.matchLabels ?? {})) {
    if (c.labels[k] !== v) return { why: `label ${k}=${v} not matched (has ${k}=${c.labels[k] ?? 'unset'})` };
  }
  const out: Assessment = {};
  const geo = spec.constraints?.geo;
  if (geo) {
    const near = nearestKm(geo, c);
    if (!near) return { why: 'location unknown, geo constraint cannot be checked' };
    if (near.km > geo.withinKm) {
      return {
        miss: { kind: `geo ${near.via} ${geo.lat} ${geo.lon} ${geo.withinKm}`, by: near.km },
        why:
          near.via === 'location'
            ? `${Math.round(near.km)} km from (${geo.lat}, ${geo.lon}), limit ${geo.withinKm} km`
            : `its nodes are ${Math.round(near.km)} km or more from (${geo.lat}, ${geo.lon}), limit ${geo.withinKm} km`,
      };
    }
    out.distanceKm = near.km;
  }
  const lat = spec.constraints?.latency;
  if (lat) {
    const r = rttTo(c, lat.to, targets);
    if ('why' in r) return { why: r.why };
    if (r.rtt.ms > lat.maxMs)
      return {
        why: `${describeRtt(r.rtt, labelOf(lat.to))}, limit ${lat.maxMs} ms`,
        miss: { kind: `latency ${r.rtt.source} ${labelOf(lat.to)} ${lat.maxMs}`, by: r.rtt.ms },
      };
    out.rtt = r.rtt;
    if (out.distanceKm === undefined && r.km !== undefined) out.distanceKm = r.km;
  }
  const r = request(spec);
  const holds = (n: Capacity) => r.cpu <= n.cpu + 1e-9 && r.memoryMi <= n.memoryMi + 1e-9 && r.gpu <= n.gpu + 1e-9;
  if (c.shapes ? !c.shapes.some(holds) : !holds(c.maxNode)) {
    return { why: `no node large enough for one replica (needs ${fmt(r)}, largest node ${(c.shapes ?? [c.maxNode]).slice(0, 3).map(fmt).join(' | ')})` };
  }
  return out;
}

type LatencyTo = NonNullable<NonNullable<ServiceSpec['constraints']>['latency']>['to'];

/** The round trip from a cluster to a latency reference: reported by the cluster, else estimated from where it is. */
function rttTo(c: ClusterView, to: LatencyTo, targets?: Record<string, Target>): { rtt: Rtt; km?: number } | { why: string } {
  const point: LatLon | undefined = 'target' in to ? targets?.[to.target] : to;
  const km = point ? nearestKm(point, c)?.km : undefined;
  if ('target' in to) {
    const m = c.latency?.[to.target];
    if (m) return { rtt: { ms: m.ms, source: m.source }, km };
    if (!point) return { why: `no round trip to target ${to.target} is known: the cluster reports none, and the target's point is not known here` };
  }
  if (km === undefined) return { why: 'location unknown, latency constraint cannot be checked' };
  return { rtt: { ms: estimateRttMs(km), source: 'estimated', km }, km };
}

function labelOf(to: LatencyTo): string {
  return 'target' in to ? `target ${to.target}` : `(${to.lat}, ${to.lon})`;
}

interface Eligible {
  c: ClusterView;
  a: Assessment;
  limit: number;
}

const MAX_CANDIDATES = 5;

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
  const free = new Map(sorted.map((c) => [c.name, { ...c.capacity }]));
  const decisions = new Map<string, ServiceDecision>();
  const ordered = [...services].sort((a, b) => cmp(a.id, b.id));

  interface Work {
    svc: ServiceView;
    r: Capacity;
    excluded: Record<string, string>;
    misses: Map<string, { kind: string; by: number }>;
    refusals: Record<string, string>;
    eligible: Eligible[];
    keep: Map<string, number>;
    prev: Map<string, number>;
    got: Map<string, number>;
    n: number;
    ask: Ask;
    pure: boolean;
  }
  // What a cluster is to a service depends only on what the service asks of clusters (runtime,
  // architecture, cluster constraints, geo, latency, one replica's size): assessed once per
  // distinct ask, not per service (10,000 services ask a few hundred different things).
  // Its "passed over" words are kept with it too, for the services whose exclusions are only these.
  interface Ask {
    all: Assessment[];
    passedOver?: string;
  }
  const assessed = new Map<string, Ask>();
  const assessAll = (spec: ServiceSpec): Ask => {
    const r = request(spec);
    const key = JSON.stringify([
      spec.runtime,
      spec.resources?.arch ?? null,
      spec.constraints?.clusters ?? null,
      spec.constraints?.geo ?? null,
      spec.constraints?.latency ?? null,
      r.cpu,
      r.memoryMi,
      r.gpu,
    ]);
    let ask = assessed.get(key);
    if (!ask) {
      ask = { all: sorted.map((c) => assess(c, spec, o.targets)) };
      assessed.set(key, ask);
    }
    return ask;
  };
  const work: Work[] = ordered.map((svc) => {
    const excluded: Record<string, string> = {};
    const misses = new Map<string, { kind: string; by: number }>();
    const refusals: Record<string, string> = {};
    const eligible: Eligible[] = [];
    const prev = previous.get(svc.id) ?? new Map<string, number>();
    // An unreachable cluster keeps what it had (its site goes on running it), if the service
    // still allows it there, unless the service asks for failover and the cluster has been away
    // longer than it allows.
    const keep = new Map<string, number>();
    const ask = assessAll(svc.spec);
    const all = ask.all;
    let pure = true;
    for (let k = 0; k < sorted.length; k++) {
      const c = sorted[k],
        a = all[k];
      const refusal = c.refused?.[svc.id];
      const limit = refusal && (refusal.spec === undefined || refusal.spec === stableJson(svc.spec)) ? refusal.limit : Infinity;
      if (a.why === 'unreachable' && prev.get(c.name) && (c.unheard === 'unknown' || !exclusion({ ...c, online: true }, svc.spec, o.targets))) {
        pure = false;
        const after = svc.spec.failover?.afterSeconds;
        if (after === undefined || (c.offlineForMs ?? 0) < after * 1000) {
          keep.set(c.name, prev.get(c.name)!);
          const away = c.unheard ? 'not heard since the root started' : 'unreachable';
          excluded[c.name] =
            after === undefined ? `${away}; keeps its replicas (no failover policy)` : `${away}; keeps its replicas until failover after ${after} s`;
          eligible.push({ c, a, limit: Infinity });
          continue;
        }
        excluded[c.name] = `unreachable for ${Math.round((c.offlineForMs ?? 0) / 1000)} s: failed over (failover.afterSeconds ${after})`;
        continue;
      }
      if (a.why) {
        excluded[c.name] = a.why;
        if (a.miss) misses.set(c.name, a.miss);
        continue;
      }
      if (limit !== Infinity) {
        pure = false;
        const text = `refused ${refusal!.count} replica${refusal!.count === 1 ? '' : 's'} (${refusal!.reason}), so it is treated as full for this service at ${limit}`;
        if (limit <= 0) {
          excluded[c.name] = text;
          continue;
        }
        refusals[c.name] = text;
      }
      eligible.push({ c, a, limit });
    }
    return { svc, r: request(svc.spec), excluded, misses, refusals, eligible, keep, prev, got: new Map(), n: 0, ask, pure };
  });
  const add = (w: Work, name: string) => {
    take(free.get(name)!, w.r);
    w.got.set(name, (w.got.get(name) ?? 0) + 1);
    w.n++;
  };
  const count = (w: Work) => w.n;

  // Pass 1, sticky: every service first gets back the replicas it had where they may stay, so
  // a new or grown service never pushes out one that is already running.
  // (Taken in one step per cluster, however many: a stand-in for 10,000 settled replicas is one.)
  for (const w of work) {
    for (const { c, limit } of w.eligible) {
      const had = Math.min(w.prev.get(c.name) ?? 0, limit, w.svc.spec.replicas - w.n);
      if (had <= 0) continue;
      const f = free.get(c.name)!;
      // Kept on a cluster that is away: those replicas exist, whatever its last known free room.
      const k = w.keep.has(c.name) ? had : Math.min(had, fitting(f, w.r));
      if (k <= 0) continue;
      f.cpu -= w.r.cpu * k;
      f.memoryMi -= w.r.memoryMi * k;
      f.gpu -= w.r.gpu * k;
      w.got.set(c.name, (w.got.get(c.name) ?? 0) + k);
      w.n += k;
    }
  }
  // Pass 2: the rest, best by policy first. A candidate's score is [first, ...policy score],
  // kept apart here (no array per comparison): 10,000 services × 100 clusters is a million scores.
  for (const w of work) {
    const spread = w.svc.spec.spread === 'clusters';
    const firstOf = (e: Eligible) => {
      const holds = w.got.get(e.c.name) ?? 0;
      // Spread: fewest of this service first. Otherwise keep it together: where it already is.
      return spread ? holds : holds > 0 ? 0 : 1;
    };
    const rest = (e: Eligible): Score =>
      scheduler.score(
        { cluster: e.c, free: free.get(e.c.name)!, request: w.r, holds: w.got.get(e.c.name) ?? 0, rtt: e.a.rtt, distanceKm: e.a.distanceKm },
        w.svc.spec,
      );
    const open = (e: Eligible) => !w.keep.has(e.c.name) && (w.got.get(e.c.name) ?? 0) < e.limit && fits(free.get(e.c.name)!, w.r);
    // One scan scores every candidate once: it ranks the best few (what the policy saw, kept
    // small: a million of these must not be held) and picks the first replica's cluster, since
    // both see the same free capacity. Later replicas are scored afresh.
    const top: Array<{ e: Eligible; f: number; s: Score; i: number }> = [];
    let best: Eligible | undefined,
      bestF = 0,
      bestS: Score = [];
    w.eligible.forEach((e, i) => {
      if (w.keep.has(e.c.name)) return;
      const f = firstOf(e),
        sc = rest(e);
      keepTop(top, { e, f, s: sc, i });
      if (w.n < w.svc.spec.replicas && open(e) && (!best || f < bestF || (f === bestF && compareScores(sc, bestS) < 0))) {
        best = e;
        bestF = f;
        bestS = sc;
      }
    });
    const candidates: NonNullable<ServiceDecision['candidates']> = {};
    for (const { e, s: sc } of top) {
      candidates[e.c.name] = {
        score: [...sc],
        ...(e.a.rtt ? { rtt: e.a.rtt } : {}),
        ...(e.a.distanceKm !== undefined ? { distanceKm: round1(e.a.distanceKm) } : {}),
      };
    }
    if (best) add(w, (best as Eligible).c.name);
    while (best && w.n < w.svc.spec.replicas) {
      best = undefined;
      for (const e of w.eligible) {
        if (!open(e)) continue;
        const f = firstOf(e),
          sc = rest(e);
        if (!best || f < bestF || (f === bestF && compareScores(sc, bestS) < 0)) {
          best = e;
          bestF = f;
          bestS = sc;
        }
      }
      if (best) add(w, (best as Eligible).c.name);
    }
    const placed = count(w);
    const want = w.svc.spec.replicas;
    if (placed < want) {
      // Say what stopped the rest: every cluster that could have taken one but is full now.
      for (const { c, limit } of w.eligible) {
        if (w.keep.has(c.name)) continue;
        if ((w.got.get(c.name) ?? 0) >= limit) continue;
        if (!fits(free.get(c.name)!, w.r)) w.excluded[c.name] = `full: a replica needs ${fmt(w.r)}, and ${fmt(free.get(c.name)!)} is left`;
      }
    }
    let added = placed < want;
    for (const [c, text] of Object.entries(w.refusals))
      if (!(c in w.excluded)) {
        w.excluded[c] = text;
        added = true;
      }
    // Entries went in in cluster order; only what was added after needs a sort.
    if (added) w.excluded = Object.fromEntries(Object.entries(w.excluded).sort(([a], [b]) => cmp(a, b)));
    const evidence = evidenceOf(
      w.svc.spec,
      w.eligible.filter((e) => w.got.has(e.c.name)),
    );
    // Excluded by the assessment alone: the same words as every service with this ask.
    let skipped: string | undefined;
    if (w.pure && !added) skipped = w.ask.passedOver ??= passedOver(Object.entries(w.excluded), w.misses);
    decisions.set(w.svc.id, {
      clusters: w.got,
      placed,
      desired: want,
      excluded: w.excluded,
      candidates,
      reason: explain(w.got, placed, want, w.excluded, spread, evidence, w.misses, skipped),
    });
  }
  return { decisions };
}

/** Keeps `top` the MAX_CANDIDATES best (lowest [f, ...s], then earliest), in order. */
function keepTop<T extends { f: number; s: Score; i: number }>(top: T[], x: T): void {
  const before = (a: T, b: T) => (a.f !== b.f ? a.f < b.f : (compareScores(a.s, b.s) || a.i - b.i) < 0);
  if (top.length === MAX_CANDIDATES && !before(x, top[top.length - 1])) return;
  let k = top.length;
  while (k > 0 && before(x, top[k - 1])) k--;
  top.splice(k, 0, x);
  if (top.length > MAX_CANDIDATES) top.pop();
}

/** For the chosen clusters: how they meet the geo and latency constraints ("3 km away, within 50 km"). */
function evidenceOf(spec: ServiceSpec, chosen: Eligible[]): Map<string, string> {
  const out = new Map<string, string>();
  const geo = spec.constraints?.geo,
    lat = spec.constraints?.latency;
  if (!geo && !lat) return out;
  for (const { c, a } of chosen) {
    if (!c.online) continue;
    const parts: string[] = [];
    if (geo && a.distanceKm !== undefined) parts.push(`${Math.round(a.distanceKm)} km from (${geo.lat}, ${geo.lon}), within ${geo.withinKm} km`);
    if (lat && a.rtt) parts.push(`${describeRtt(a.rtt, labelOf(lat.to))}, within ${lat.maxMs} ms`);
    if (parts.length) out.set(c.name, parts.join('; '));
  }
  return out;
}

function explain(
  got: Map<string, number>,
  placed: number,
  want: number,
  excluded: Record<string, string>,
  spread: boolean,
  evidence: Map<string, string>,
  misses?: Map<string, { kind: string; by: number }>,
  passed?: string,
): string {
  const where = [...got].map(([c, n]) => `${c}×${n}`).join(', ');
  const why =
    evidence.size === 1 && got.size === 1
      ? ` (${[...evidence.values()][0]})`
      : evidence.size
        ? ` (${clip([...evidence].map(([c, e]) => `${c}: ${e}`).join('; '), 400)})`
        : '';
  // A cluster that holds some and refused more is not "passed over": it is said apart.
  const refusedHere = passed !== undefined ? [] : Object.entries(excluded).filter(([c, t]) => got.has(c) && t.startsWith('refused '));
  const skipped =
    passed ??
    passedOver(
      Object.entries(excluded).filter(([c, t]) => !(got.has(c) && t.startsWith('refused '))),
      misses,
    );
  const refusals = clip(refusedHere.map(([c, t]) => `${c} ${t}`).join('; '), 400);
  if (want === 0) return 'scaled to 0 replicas';
  let text: string;
  if (placed === want) {
    text = `placed on ${where}${spread ? ' (spread across clusters)' : ''}${why}${refusals ? `; ${refusals}` : ''}${skipped ? `; passed over ${skipped}` : ''}`;
  } else if (placed === 0) text = `no cluster can run it: ${skipped || 'no clusters are registered'}`;
  else text = `only ${placed} of ${want} replicas fit (${where}); ${[refusals, skipped].filter(Boolean).join('; ')}`;
  return clip(text, MAX_REASON);
}

/** A reason travels in every placement and note: at most this long (the wire schema's limit is 2,000). */
export const MAX_REASON = 1200;
/** Up to this many clusters passed over are named one by one; beyond, alike reasons are counted. */
const NAMED = 8;

/**
 * "paris: 684 km from (48.137, 11.575), limit 50 km" for a few clusters; for a fleet of a hundred,
 * alike reasons (the same words, other numbers) are counted, the nearest misses shown first:
 * "97 clusters: 835 km or more from (40, -5), limit 800 km (c097: 835 km …; c075: 865 km …)".
 * Every reason in full stays in the decision's `excluded` (plan and history show it).
 */
export function passedOver(entries: Array<[string, string]>, misses?: Map<string, { kind: string; by: number }>): string {
  if (entries.length <= NAMED) return entries.map(([c, t]) => `${c}: ${t}`).join('; ');
  // Alike: the same kind of miss (geo to one point, latency to one target), else the same words.
  const groups = new Map<string, Array<{ c: string; t: string; by: number }>>();
  for (const [c, t] of entries) {
    const m = misses?.get(c);
    const key = m ? m.kind : t;
    const e = { c, t, by: m ? m.by : 0 };
    const g = groups.get(key);
    if (g) g.push(e);
    else groups.set(key, [e]);
  }
  const parts: string[] = [];
  for (const g of [...groups.values()].sort((a, b) => b.length - a.length)) {
    if (g.length === 1) {
      parts.push(`${g[0].c}: ${g[0].t}`);
      continue;
    }
    // The nearest misses first (distance, round trip).
    g.sort((a, b) => a.by - b.by || cmp(a.c, b.c));
    parts.push(
      `${g.length} clusters for the same reason, nearest ${g
        .slice(0, 2)
        .map((e) => `${e.c}: ${e.t}`)
        .join('; ')}`,
    );
  }
  return clip(parts.join('; '), 800);
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

// Code-unit order, not locale order: the same names sort the same everywhere.
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The refusals the root keeps for one cluster, after its latest status. New ones are taken when
 * the status answers the placement in force (`given`): that service is full there at what the
 * cluster could place. All are forgotten when the cluster's capacity changes (a node came back
 * or went), so the root tries it again; a spec change voids one (see `Refusal.spec`).
 */
export function keepRefusals(
  kept: Record<string, Refusal> | undefined,
  before: ClusterStatus | undefined,
  now: ClusterStatus,
  given: { version: { commit: string; seq: number; epoch: number }; services: Record<string, { replicas: number; spec: ServiceSpec }> } | undefined,
): { refused: Record<string, Refusal> | undefined; changed: boolean } {
  let out = kept;
  const size = (s: ClusterStatus) => JSON.stringify([s.capacity, s.maxNode, s.shapes, s.nodes]);
  if (out && before && size(before) !== size(now)) out = undefined;
  const v = now.applied,
    g = given?.version;
  if (given && v && g && v.commit === g.commit && v.seq === g.seq && v.epoch === g.epoch) {
    for (const [id, s] of Object.entries(now.services)) {
      const a = given.services[id];
      if (!s.refused || !a) continue;
      const r: Refusal = { limit: Math.max(0, a.replicas - s.refused.count), count: s.refused.count, reason: s.refused.reason, spec: stableJson(a.spec) };
      if (JSON.stringify(out?.[id]) !== JSON.stringify(r)) out = { ...out, [id]: r };
    }
  }
  return { refused: out, changed: out !== kept };
}

/** JSON with object keys sorted: equal values, equal text (no node:crypto here: this file stays pure). */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
