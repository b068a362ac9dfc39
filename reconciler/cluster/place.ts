// The cluster's fine choice: which node runs each replica. Pure and deterministic. A replica
// stays on its node while the node is online and still qualifies; new replicas go where the
// policy says; no node is ever given more than its capacity.
import type { Placement, Capacity, ReplicaSpec } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { replicaId } from '../core/ids.js';
import { request, fmt } from '../root/place.js';

export interface NodeView {
  name: string;
  online: boolean;
  capacity: Capacity;
  arch: string;
  runtimes: string[];
  labels: Record<string, string>;
}

export type ClusterPolicy = 'bestfit' | 'firstfit' | 'spread';

export interface NodePlan {
  /** node → replicas it should run */
  byNode: Map<string, ReplicaSpec[]>;
  /** replica → node */
  assignment: Map<string, string>;
  /** service → why some replicas have no node */
  pending: Map<string, string>;
  used: Map<string, Capacity>;
}

export function nodeExclusion(n: NodeView, spec: ServiceSpec): string | undefined {
  if (!n.online) return 'offline';
  if (!n.runtimes.includes(spec.runtime)) return `does not run ${spec.runtime} workloads`;
  const arch = spec.resources?.arch;
  if (arch && !(arch as string[]).includes(n.arch)) return `architecture ${n.arch}`;
  for (const [k, v] of Object.entries(spec.constraints?.nodes?.matchLabels ?? {})) {
    if (n.labels[k] !== v) return `label ${k}=${v} not matched`;
  }
  return undefined;
}

export function placeReplicas(placement: Placement | undefined, nodes: NodeView[], previous: Map<string, string>, policy: ClusterPolicy = 'bestfit'): NodePlan {
  const sorted = [...nodes].sort((a, b) => a.name.localeCompare(b.name));
  const byName = new Map(sorted.map((n) => [n.name, n]));
  const free = new Map(sorted.map((n) => [n.name, { ...n.capacity }]));
  const byNode = new Map<string, ReplicaSpec[]>(sorted.map((n) => [n.name, []]));
  const assignment = new Map<string, string>();
  const pending = new Map<string, string>();
  const services = Object.entries(placement?.services ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const fits = (f: Capacity, r: Capacity) => r.cpu <= f.cpu + 1e-9 && r.memoryMi <= f.memoryMi + 1e-9 && r.gpu <= f.gpu + 1e-9;
  const assign = (node: string, rs: ReplicaSpec, r: Capacity) => {
    const f = free.get(node)!;
    f.cpu -= r.cpu; f.memoryMi -= r.memoryMi; f.gpu -= r.gpu;
    byNode.get(node)!.push(rs);
    assignment.set(rs.id, node);
  };

  // Pass 1: keep every replica that can stay where it is (all services first, so a newcomer never
  // pushes out a replica that is already running).
  const toPlace: Array<{ rs: ReplicaSpec; r: Capacity; spec: ServiceSpec; service: string }> = [];
  for (const [service, a] of services) {
    const r = request(a.spec);
    for (let i = 0; i < a.replicas; i++) {
      const rs: ReplicaSpec = { id: replicaId(service, i), service, index: i, specHash: a.specHash, spec: a.spec };
      const prev = previous.get(rs.id);
      const n = prev ? byName.get(prev) : undefined;
      if (n && !nodeExclusion(n, a.spec) && fits(free.get(n.name)!, r)) assign(n.name, rs, r);
      else toPlace.push({ rs, r, spec: a.spec, service });
    }
  }
  // Pass 2: the rest, by policy.
  for (const { rs, r, spec, service } of toPlace) {
    const why: string[] = [];
    const candidates = sorted.filter((n) => {
      const ex = nodeExclusion(n, spec);
      if (ex) { why.push(`${n.name}: ${ex}`); return false; }
      if (!fits(free.get(n.name)!, r)) { why.push(`${n.name}: needs ${fmt(r)}, ${fmt(free.get(n.name)!)} free`); return false; }
      return true;
    });
    if (!candidates.length) {
      pending.set(service, `no node can take a replica: ${why.join('; ') || 'no nodes online'}`);
      continue;
    }
    const count = (n: string) => byNode.get(n)!.filter((x) => x.service === service).length;
    const spreadNodes = spec.spread === 'nodes' || policy === 'spread';
    candidates.sort((a, b) => {
      if (spreadNodes) { const d = count(a.name) - count(b.name); if (d) return d; }
      if (policy === 'firstfit') return a.name.localeCompare(b.name);
      const fa = free.get(a.name)!, fb = free.get(b.name)!;
      const s = (f: Capacity, n: NodeView) => f.cpu / Math.max(n.capacity.cpu, 1e-9) + f.memoryMi / Math.max(n.capacity.memoryMi, 1e-9);
      const d = s(fa, a) - s(fb, b);
      if (Math.abs(d) > 1e-9) return policy === 'spread' ? -d : d;
      return a.name.localeCompare(b.name);
    });
    assign(candidates[0].name, rs, r);
  }
  const used = new Map(sorted.map((n) => {
    const f = free.get(n.name)!;
    return [n.name, { cpu: n.capacity.cpu - f.cpu, memoryMi: n.capacity.memoryMi - f.memoryMi, gpu: n.capacity.gpu - f.gpu }];
  }));
  return { byNode, assignment, pending, used };
}
