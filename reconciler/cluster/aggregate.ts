// What a cluster tells the root: totals and per-service counts, never its nodes. Where it is
// goes out as coarse geohash cells, and its latency as the best round trip per target; what it
// could not place goes out as refusals, so the root tries elsewhere. Per service, the addresses
// it exposes (the first endpoint of each running instance on a reachable node); and the services
// its nodes asked for that the placement has no route for (interest). Per service, how many of
// the running replicas are ready (their probe passes; an older agent's, saying nothing, are),
// and why the others are not, and how many run the placement's spec and are ready (`updated`:
// while a service rolls, replicas held on an older spec count as running and ready, not as
// updated; the surge replicas count as running), and the distinct images they run (digests). Pure.
import { MAX_SERVICE_ENDPOINTS, type ClusterStatus, type NodeStatus, type Placement, type Capacity, type ServiceStatus } from '../../schemas/messages.js';
import { MAX_SERVICE_IMAGES } from '../../schemas/messages.js';
import type { NodeView } from './node-view.js';
import { request } from '../scheduling/capacity.js';
import type { Target } from '../scheduling/latency.js';
import { distanceKm, type LatLon } from '../core/geo.js';
import { estimateRttMs, footprintOf, round1 } from '../scheduling/geo.js';
import { clusterInterest } from './routes.js';
import { heldSpec, rollMessage, type Roll } from './rolling.js';

export interface AggregateInput {
  cluster: string;
  at: string;
  placement: Placement | undefined;
  nodes: NodeView[];
  statuses: Map<string, NodeStatus | undefined>;
  online: Set<string>;
  /** Online nodes whose MQTT session is up: only their instances' addresses are exposed (default: online). */
  reachable?: Set<string>;
  assignment: Map<string, string>;
  pending: Map<string, string>;
  labels: Record<string, string>;
  operator?: string;
  location?: LatLon;
  /** The fleet's latency targets: the cluster reports its best round trip to each. */
  targets?: Record<string, Target>;
  /** service → replicas it cannot place (after its grace period), and why. */
  refused?: Map<string, { count: number; reason: string }>;
  /** The services in a roll: what their replicas hold (steps/roll.ts). */
  rolls?: ReadonlyMap<string, Roll>;
}

const zero = (): Capacity => ({ cpu: 0, memoryMi: 0, gpu: 0 });

export function aggregate(i: AggregateInput): ClusterStatus {
  const live = i.nodes.filter((n) => i.online.has(n.name));
  const offer = offerOf(live);
  const services = serviceCounts(i, live);
  const { free, maxNodeFree } = freeOf(live, usedBy(i, live));
  const positions = live.flatMap((n) => (n.location ? [n.location] : []));
  const footprint = footprintOf(positions);
  const latency = latencyOf(live, i.targets ?? {}, i.location);
  const interest = clusterInterest(
    i.placement,
    live.map((n) => i.statuses.get(n.name)?.interest),
  );
  return {
    kind: 'cluster-status',
    cluster: i.cluster,
    at: i.at,
    applied: i.placement?.version ?? null,
    capacity: offer.capacity,
    free,
    maxNodeFree,
    maxNode: offer.maxNode,
    shapes: shapesOf(live.map((n) => n.capacity)),
    arch: [...offer.arch].sort(),
    runtimes: [...offer.runtimes].sort(),
    labels: i.labels,
    ...(i.operator ? { operator: i.operator } : {}),
    ...(i.location ? { location: i.location } : {}),
    ...(footprint.length ? { footprint } : {}),
    ...(Object.keys(latency).length ? { latency } : {}),
    nodes: { total: i.nodes.length, online: live.length },
    services,
    ...(interest.length ? { interest } : {}),
  };
}

/** What the online nodes offer together: total capacity, the largest node, architectures, runtimes. */
function offerOf(live: NodeView[]): { capacity: Capacity; maxNode: Capacity; arch: Set<string>; runtimes: Set<string> } {
  const capacity = zero();
  const maxNode = zero();
  const arch = new Set<string>();
  const runtimes = new Set<string>();
  for (const n of live) {
    capacity.cpu += n.capacity.cpu;
    capacity.memoryMi += n.capacity.memoryMi;
    capacity.gpu += n.capacity.gpu;
    maxNode.cpu = Math.max(maxNode.cpu, n.capacity.cpu);
    maxNode.memoryMi = Math.max(maxNode.memoryMi, n.capacity.memoryMi);
    maxNode.gpu = Math.max(maxNode.gpu, n.capacity.gpu);
    arch.add(n.arch);
    for (const r of n.runtimes) runtimes.add(r);
  }
  return { capacity, maxNode, arch, runtimes };
}

/** Per service: desired from the placement, running, ready and failed as the online nodes report them. */
function serviceCounts(i: AggregateInput, live: NodeView[]): Record<string, ServiceStatus> {
  const services: Record<string, ServiceStatus> = {};
  for (const [id, a] of Object.entries(i.placement?.services ?? {})) {
    services[id] = { desired: a.replicas, running: 0, ready: 0, updated: 0, failed: 0 };
    const why = i.pending.get(id);
    if (why) services[id].message = why;
    const no = i.refused?.get(id);
    if (no && no.count > 0) services[id].refused = { count: Math.min(no.count, a.replicas), reason: no.reason.slice(0, 2000) };
  }
  const endpoints = new Map<string, Set<string>>();
  const images = new Map<string, Set<string>>(); // what runs, as digests
  const unready = new Map<string, Array<string | undefined>>();
  const reachable = i.reachable ?? i.online;
  const onNew = new Map<string, number>();
  for (const n of live) {
    const exposes = reachable.has(n.name);
    for (const r of i.statuses.get(n.name)?.replicas ?? []) {
      const want = i.placement?.services[r.service];
      const s = (services[r.service] ??= { desired: 0, running: 0, ready: 0, updated: 0, failed: 0 });
      // A rolling service's replica holds the spec it was given; a surge replica (index R …) is not a slot.
      const roll = want && i.rolls?.size ? i.rolls.get(r.service) : undefined;
      const index = roll ? Number(r.id.slice(r.id.lastIndexOf('#') + 1)) : 0;
      const given = roll ? (heldSpec(roll, index)?.specHash ?? want!.specHash) : want?.specHash;
      const slotOnNew = !!want && given === want.specHash && r.specHash === want.specHash && index < want.replicas;
      // Only replicas of the spec they were given, on the node they are assigned to, count as running.
      const current = want && given === r.specHash && i.assignment.get(r.id) === n.name;
      if (r.state === 'running' && (current || !want)) {
        s.running++;
        if (roll && slotOnNew) onNew.set(r.service, (onNew.get(r.service) ?? 0) + 1);
        // Absent: an older agent, which runs no probe: ready while running.
        if (r.ready !== false) {
          s.ready = (s.ready ?? 0) + 1;
          if (current && slotOnNew) s.updated = (s.updated ?? 0) + 1;
        } else (unready.get(r.service) ?? unready.set(r.service, []).get(r.service)!).push(r.notReady);
        // The service's address is its first port's endpoint.
        const addr = exposes ? r.endpoints?.[0] : undefined;
        if (addr) (endpoints.get(r.service) ?? endpoints.set(r.service, new Set()).get(r.service)!).add(addr);
        if (r.image) (images.get(r.service) ?? images.set(r.service, new Set()).get(r.service)!).add(r.image);
      } else if (r.state === 'failed') {
        s.failed++;
        if (r.message && !s.message) s.message = `${r.id}: ${r.message}`;
      }
    }
  }
  for (const [id, set] of endpoints) Object.assign(services[id], exposed(set));
  for (const [id, set] of images) services[id].images = [...set].sort().slice(0, MAX_SERVICE_IMAGES);
  for (const [id, why] of unready) {
    const s = services[id];
    const text = notReadyMessage(why);
    s.message = (s.message ? `${text}; ${s.message}` : text).slice(0, 2000);
  }
  for (const id of i.rolls?.keys() ?? []) {
    const s = services[id];
    if (!s || !i.placement?.services[id]) continue;
    const text = rollMessage(onNew.get(id) ?? 0, s.desired, s.ready ?? 0);
    s.message = (s.message ? `${text}; ${s.message}` : text).slice(0, 2000);
  }
  return services;
}

/** The distinct reasons listed, most frequent first. */
const REASONS = 3;

/**
 * Why running replicas are not ready, bounded (at most 600 characters): `2 not ready: GET /health: 503`;
 * distinct reasons each with how many give it (`3 not ready: GET /health: 503 (2); connect ECONNREFUSED (1)`).
 */
export function notReadyMessage(reasons: Array<string | undefined>): string {
  const by = new Map<string, number>();
  for (const r of reasons) {
    const why = r?.trim() || 'probe failing';
    by.set(why, (by.get(why) ?? 0) + 1);
  }
  const top = [...by].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0));
  const listed = top.slice(0, REASONS).map(([why, n]) => (by.size > 1 ? `${why.slice(0, 150)} (${n})` : why.slice(0, 500)));
  const more = top.length > REASONS ? `; and ${top.length - REASONS} other reason(s)` : '';
  return `${reasons.length} not ready: ${listed.join('; ')}${more}`;
}

/** What a cluster exposes of a service: its instances' addresses sorted, at most MAX_SERVICE_ENDPOINTS, and how many more. */
export function exposed(set: Iterable<string>): Pick<ServiceStatus, 'endpoints' | 'endpointsOmitted'> {
  const all = [...new Set(set)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (!all.length) return {};
  const endpoints = all.slice(0, MAX_SERVICE_ENDPOINTS);
  return { endpoints, ...(all.length > endpoints.length ? { endpointsOmitted: all.length - endpoints.length } : {}) };
}

/** What the assigned replicas request of each online node. */
function usedBy(i: AggregateInput, live: NodeView[]): Map<string, Capacity> {
  const used = new Map<string, Capacity>(live.map((n) => [n.name, zero()]));
  for (const [replica, node] of i.assignment) {
    const svc = i.placement?.services[replica.slice(0, replica.lastIndexOf('#'))];
    const u = used.get(node);
    if (svc && u) {
      const r = request(svc.spec);
      u.cpu += r.cpu;
      u.memoryMi += r.memoryMi;
      u.gpu += r.gpu;
    }
  }
  return used;
}

/** Free capacity in total and on the emptiest node (never below zero on any node). */
function freeOf(live: NodeView[], used: Map<string, Capacity>): { free: Capacity; maxNodeFree: Capacity } {
  const free = zero();
  const maxNodeFree = zero();
  for (const n of live) {
    const u = used.get(n.name)!;
    const f = { cpu: Math.max(0, n.capacity.cpu - u.cpu), memoryMi: Math.max(0, n.capacity.memoryMi - u.memoryMi), gpu: Math.max(0, n.capacity.gpu - u.gpu) };
    free.cpu += f.cpu;
    free.memoryMi += f.memoryMi;
    free.gpu += f.gpu;
    maxNodeFree.cpu = Math.max(maxNodeFree.cpu, f.cpu);
    maxNodeFree.memoryMi = Math.max(maxNodeFree.memoryMi, f.memoryMi);
    maxNodeFree.gpu = Math.max(maxNodeFree.gpu, f.gpu);
  }
  return { free, maxNodeFree };
}

/**
 * Per target, the best round trip of any online node: measured where an agent measured it, else
 * estimated from the nearest node's position (the cluster's own location for nodes without one).
 */
export function latencyOf(live: NodeView[], targets: Record<string, Target>, location?: LatLon): NonNullable<ClusterStatus['latency']> {
  const out: NonNullable<ClusterStatus['latency']> = {};
  for (const name of Object.keys(targets).sort()) {
    const measured = live.flatMap((n) => (n.latency?.[name] !== undefined ? [n.latency[name]] : []));
    if (measured.length) {
      out[name] = { ms: round1(Math.min(...measured)), source: 'measured' };
      continue;
    }
    const km = live.flatMap((n) => {
      const at = n.location ?? location;
      return at ? [distanceKm(at, targets[name])] : [];
    });
    if (km.length) out[name] = { ms: estimateRttMs(Math.min(...km)), source: 'estimated' };
  }
  return out;
}

/** The node sizes no other node dominates (bigger or equal in every dimension), largest first. */
export function shapesOf(caps: Capacity[]): Capacity[] {
  const key = (c: Capacity) => `${c.cpu}/${c.memoryMi}/${c.gpu}`;
  const distinct = [...new Map(caps.map((c) => [key(c), c])).values()];
  const dominated = (a: Capacity, b: Capacity) => b.cpu >= a.cpu && b.memoryMi >= a.memoryMi && b.gpu >= a.gpu && key(a) !== key(b);
  const front = distinct.filter((a) => !distinct.some((b) => dominated(a, b)));
  front.sort((a, b) => b.cpu - a.cpu || b.memoryMi - a.memoryMi || b.gpu - a.gpu);
  return front.slice(0, 32).map((c) => ({ ...c }));
}
