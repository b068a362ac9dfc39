// The cluster's fine choice: which node runs each replica. Pure and deterministic. A replica
// stays on its node while the node is online and still qualifies; new replicas go where the
// policy (policies/) says among the nodes that meet every constraint, judged by each node's
// exact position and measured round trips; no node is ever given more than its capacity.
import type { Placement, Capacity, ReplicaSpec } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import type { LatLon } from '../core/geo.js';
import { distanceKm } from '../core/geo.js';
import { replicaId } from '../core/ids.js';
import { request, fmt, fits } from '../scheduling/capacity.js';
import { describeRtt, type Target, type Rtt } from '../scheduling/latency.js';
import { estimateRttMs } from '../scheduling/geo.js';
import { compareScores, type Score } from './policies/policy.js';
import { clusterScheduler, type ClusterPolicy } from './policies/index.js';

export type { ClusterPolicy } from './policies/index.js';

export interface NodeView {
  name: string;
  online: boolean;
  capacity: Capacity;
  arch: string;
  runtimes: string[];
  labels: Record<string, string>;
  /** Where the node is (its agent's --location). */
  location?: LatLon;
  /** Per latency target: the round trip in ms its agent measured. */
  latency?: Record<string, number>;
}

/** What the cluster knows beyond its nodes: the fleet's latency targets, and its own location for nodes that do not say theirs. */
export interface NodeContext {
  targets?: Record<string, Target>;
  location?: LatLon;
}

export interface NodePlan {
  /** node → replicas it should run */
  byNode: Map<string, ReplicaSpec[]>;
  /** replica → node */
  assignment: Map<string, string>;
  /** service → why some replicas have no node */
  pending: Map<string, string>;
  /** service → how many replicas have no node */
  unplaced: Map<string, number>;
  used: Map<string, Capacity>;
}

export interface NodeAssessment {
  why?: string;
  rtt?: Rtt;
  distanceKm?: number;
}

export function nodeExclusion(n: NodeView, spec: ServiceSpec, ctx: NodeContext = {}): string | undefined {
  return assessNode(n, spec, ctx).why;
}

export function assessNode(n: NodeView, spec: ServiceSpec, ctx: NodeContext = {}): NodeAssessment {
  if (!n.online) return { why: 'offline' };
  if (!n.runtimes.includes(spec.runtime)) return { why: `does not run ${spec.runtime} workloads` };
  const arch = spec.resources?.arch;
  if (arch && !(arch as string[]).includes(n.arch)) return { why: `architecture ${n.arch}` };
  for (const [k, v] of Object.entries(spec.constraints?.nodes?.matchLabels ?? {})) {
    if (n.labels[k] !== v) return { why: `label ${k}=${v} not matched` };
  }
  const out: NodeAssessment = {};
  const at = n.location ?? ctx.location;
  const geo = spec.constraints?.geo;
  if (geo) {
    if (!at) return { why: 'position unknown, geo constraint cannot be checked' };
    const km = distanceKm(at, geo);
    if (km > geo.withinKm) return { why: `${Math.round(km)} km from (${geo.lat}, ${geo.lon}), limit ${geo.withinKm} km` };
    out.distanceKm = km;
  }
  const lat = spec.constraints?.latency;
  if (lat) {
    const to = lat.to;
    const point = 'target' in to ? ctx.targets?.[to.target] : to;
    const label = 'target' in to ? `target ${to.target}` : `(${to.lat}, ${to.lon})`;
    const measured = 'target' in to ? n.latency?.[to.target] : undefined;
    const km = point && at ? distanceKm(at, point) : undefined;
    let rtt: Rtt;
    if (measured !== undefined) rtt = { ms: measured, source: 'measured' };
    else if (km !== undefined) rtt = { ms: estimateRttMs(km), source: 'estimated', km };
    else
      return {
        why: point
          ? 'position unknown, latency constraint cannot be checked'
          : `no round trip to ${label} is known: not measured, and the target's point is not known here`,
      };
    if (rtt.ms > lat.maxMs) return { why: `${describeRtt(rtt, label)}, limit ${lat.maxMs} ms` };
    out.rtt = rtt;
    if (out.distanceKm === undefined && km !== undefined) out.distanceKm = km;
  }
  return out;
}

export function placeReplicas(
  placement: Placement | undefined,
  nodes: NodeView[],
  previous: Map<string, string>,
  policy: ClusterPolicy | string = 'bestfit',
  ctx: NodeContext = {},
): NodePlan {
  const scheduler = clusterScheduler(policy);
  const sorted = [...nodes].sort((a, b) => cmp(a.name, b.name));
  const byName = new Map(sorted.map((n) => [n.name, n]));
  const order = new Map(sorted.map((n, i) => [n.name, i]));
  const free = new Map(sorted.map((n) => [n.name, { ...n.capacity }]));
  const byNode = new Map<string, ReplicaSpec[]>(sorted.map((n) => [n.name, []]));
  const assignment = new Map<string, string>();
  const pending = new Map<string, string>();
  const unplaced = new Map<string, number>();
  const services = Object.entries(placement?.services ?? {}).sort(([a], [b]) => cmp(a, b));
  const perService = new Map<string, Map<string, number>>();
  const assign = (node: string, rs: ReplicaSpec, r: Capacity) => {
    const f = free.get(node)!;
    f.cpu -= r.cpu;
    f.memoryMi -= r.memoryMi;
    f.gpu -= r.gpu;
    byNode.get(node)!.push(rs);
    assignment.set(rs.id, node);
    const m = perService.get(rs.service) ?? new Map<string, number>();
    m.set(node, (m.get(node) ?? 0) + 1);
    perService.set(rs.service, m);
  };
  // What each node is to a service depends only on what the service asks of nodes (runtime,
  // architecture, node labels, geo, latency): judged once per distinct ask, not per service
  // (10,000 services ask a handful of different things of 50 nodes).
  const judged = new Map<string, Map<string, NodeAssessment>>();
  const byService = new Map<string, Map<string, NodeAssessment>>();
  const judge = (service: string, spec: ServiceSpec) => {
    let m = byService.get(service);
    if (m) return m;
    const key = askOf(spec);
    m = judged.get(key);
    if (!m) {
      m = new Map(sorted.map((n) => [n.name, assessNode(n, spec, ctx)]));
      judged.set(key, m);
    }
    byService.set(service, m);
    return m;
  };

  // Pass 1: keep every replica that can stay where it is (all services first, so a newcomer never
  // pushes out a replica that is already running).
  const toPlace: Array<{ rs: ReplicaSpec; r: Capacity; spec: ServiceSpec; service: string }> = [];
  for (const [service, a] of services) {
    const r = request(a.spec);
    const j = judge(service, a.spec);
    for (let i = 0; i < a.replicas; i++) {
      const rs: ReplicaSpec = { id: replicaId(service, i), service, index: i, specHash: a.specHash, spec: a.spec };
      const prev = previous.get(rs.id);
      const n = prev ? byName.get(prev) : undefined;
      if (n && !j.get(n.name)!.why && fits(free.get(n.name)!, r)) assign(n.name, rs, r);
      else toPlace.push({ rs, r, spec: a.spec, service });
    }
  }
  // Pass 2: the rest, best by policy first.
  for (const { rs, r, spec, service } of toPlace) {
    const j = judge(service, spec);
    const spreadNodes = spec.spread === 'nodes';
    const holds = perService.get(service);
    // The score is [first, ...policy score]: spread first when asked, kept apart (no array per node).
    let best: string | undefined,
      bestFirst = 0,
      bestScore: Score = [];
    for (const n of sorted) {
      const a = j.get(n.name)!;
      if (a.why) continue;
      const f = free.get(n.name)!;
      if (!fits(f, r)) continue;
      const h = holds?.get(n.name) ?? 0;
      const first = spreadNodes ? h : 0;
      if (best !== undefined && first > bestFirst) continue;
      const s = scheduler.score({ node: n, free: f, request: r, order: order.get(n.name)!, holds: h, rtt: a.rtt, distanceKm: a.distanceKm }, spec);
      if (best === undefined || first < bestFirst || compareScores(s, bestScore) < 0) {
        best = n.name;
        bestFirst = first;
        bestScore = s;
      }
    }
    if (best === undefined) {
      // Why, node by node: worded only when nothing fits (a nearly full cluster placing
      // thousands of replicas would otherwise word every full node for every replica).
      const why = sorted.map((n) => {
        const a = j.get(n.name)!;
        return a.why ? `${n.name}: ${a.why}` : `${n.name}: needs ${fmt(r)}, ${fmt(free.get(n.name)!)} free`;
      });
      pending.set(service, `no node can take a replica: ${why.join('; ') || 'no nodes online'}`);
      unplaced.set(service, (unplaced.get(service) ?? 0) + 1);
      continue;
    }
    assign(best, rs, r);
  }
  const used = new Map(
    sorted.map((n) => {
      const f = free.get(n.name)!;
      return [n.name, { cpu: n.capacity.cpu - f.cpu, memoryMi: n.capacity.memoryMi - f.memoryMi, gpu: n.capacity.gpu - f.gpu }];
    }),
  );
  return { byNode, assignment, pending, unplaced, used };
}

/** Everything assessNode reads of a spec, as a key. */
function askOf(spec: ServiceSpec): string {
  const c = spec.constraints;
  return JSON.stringify([spec.runtime, spec.resources?.arch ?? null, c?.nodes?.matchLabels ?? null, c?.geo ?? null, c?.latency ?? null]);
}

// Code-unit order, not locale order: the same names sort the same everywhere.
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
