// Test data builders: every fleet, cluster, node, service, placement and replica a unit test
// needs, built from plain defaults plus the few facts the test is about. Each builder is
// mutable (chained setters return `this`) and `build()` returns a fresh value each time.
import type { ServiceSpec } from '../../schemas/model.js';
import type { Capacity, Placement, ReplicaSpec, ReplicaState, NodeStatus, Version } from '../../schemas/messages.js';
import type { ClusterView, ServiceView, Allocation } from '../../reconciler/root/place.js';
import { placeReplicas, type ClusterPolicy, type NodePlan, type NodeView } from '../../reconciler/cluster/place.js';
import type { ObservedReplica } from '../../agents/runtimes/driver.js';
import { mebibytes } from '../../reconciler/core/quantity.js';
import { replicaId, specHash } from '../../reconciler/core/ids.js';

export const MUNICH = { lat: 48.137, lon: 11.575 };
export const PARIS = { lat: 48.857, lon: 2.352 };

/** A quantity ("16Gi", "512Mi") or a number of MiB, as MiB. */
function mi(memory: string | number): number {
  return typeof memory === 'number' ? memory : mebibytes(memory);
}

export function capacity(cpu: number, memory: string | number = 0, gpu = 0): Capacity {
  return { cpu, memoryMi: mi(memory), gpu };
}

// --- root level: clusters and services -----------------------------------------------------

export class ClusterBuilder {
  private v: ClusterView;
  private maxNodeSet = false;
  constructor(name: string) {
    this.v = {
      name,
      online: true,
      capacity: capacity(8, '16Gi'),
      maxNode: capacity(8, '16Gi'),
      arch: ['amd64'],
      runtimes: ['container', 'process'],
      labels: {},
    };
  }
  at(lat: number, lon: number): this {
    this.v.location = { lat, lon };
    return this;
  }
  withLabels(labels: Record<string, string>): this {
    this.v.labels = { ...this.v.labels, ...labels };
    return this;
  }
  /** Total capacity; the largest node follows it unless `withLargestNode` says otherwise. */
  withCapacity(cpu: number, memory: string | number = '16Gi', gpu = 0): this {
    this.v.capacity = capacity(cpu, memory, gpu);
    if (!this.maxNodeSet) this.v.maxNode = { ...this.v.capacity };
    return this;
  }
  withLargestNode(cpu: number, memory: string | number = '16Gi', gpu = 0): this {
    this.v.maxNode = capacity(cpu, memory, gpu);
    this.maxNodeSet = true;
    return this;
  }
  withArch(...arch: string[]): this {
    this.v.arch = arch;
    return this;
  }
  withRuntimes(...runtimes: string[]): this {
    this.v.runtimes = runtimes;
    return this;
  }
  operatedBy(operator: string): this {
    this.v.operator = operator;
    return this;
  }
  offline(forMs = 0): this {
    this.v.online = false;
    this.v.offlineForMs = forMs;
    return this;
  }
  /** Declared spec.connectivity: air-gapped (reached by bundle). */
  airGapped(): this {
    this.v.airGapped = true;
    return this;
  }
  build(): ClusterView {
    return structuredClone(this.v);
  }
}
export const aCluster = (name: string) => new ClusterBuilder(name);

export class ServiceBuilder {
  private s: ServiceSpec = { runtime: 'container', image: 'canopy/app:1', replicas: 1 };
  constructor(readonly id: string) {}
  private res() {
    return (this.s.resources ??= {});
  }
  private clusters() {
    return ((this.s.constraints ??= {}).clusters ??= {});
  }
  replicas(n: number): this {
    this.s.replicas = n;
    return this;
  }
  cpu(n: number): this {
    this.res().cpu = n;
    return this;
  }
  memory(q: string | number): this {
    this.res().memory = q;
    return this;
  }
  gpu(n: number): this {
    this.res().gpu = n;
    return this;
  }
  arch(...arch: Array<'amd64' | 'arm64' | 'arm' | '386' | 'riscv64'>): this {
    this.res().arch = arch;
    return this;
  }
  runtime(r: 'container' | 'process'): this {
    this.s.runtime = r;
    if (r === 'process') {
      delete this.s.image;
      this.s.command = ['sleep', '3600'];
    }
    return this;
  }
  spread(s: 'none' | 'clusters' | 'nodes'): this {
    this.s.spread = s;
    return this;
  }
  inClusters(...names: string[]): this {
    this.clusters().names = names;
    return this;
  }
  onClustersLabelled(labels: Record<string, string>): this {
    this.clusters().matchLabels = labels;
    return this;
  }
  operatedBy(operator: string): this {
    this.clusters().operator = operator;
    return this;
  }
  within(withinKm: number, of: { lat: number; lon: number }): this {
    (this.s.constraints ??= {}).geo = { lat: of.lat, lon: of.lon, withinKm };
    return this;
  }
  onNodesLabelled(labels: Record<string, string>): this {
    (this.s.constraints ??= {}).nodes = { matchLabels: labels };
    return this;
  }
  failoverAfter(seconds: number): this {
    this.s.failover = { afterSeconds: seconds };
    return this;
  }
  ports(...ports: NonNullable<ServiceSpec['ports']>): this {
    this.s.ports = ports;
    return this;
  }
  env(vars: Record<string, string>): this {
    this.s.env = { ...this.s.env, ...vars };
    return this;
  }
  /** A container of this image. */
  image(image: string): this {
    this.s.runtime = 'container';
    this.s.image = image;
    return this;
  }
  /** A process running this argv. */
  command(...argv: string[]): this {
    this.runtime('process');
    this.s.command = argv;
    return this;
  }
  rollout(r: NonNullable<ServiceSpec['rollout']>): this {
    this.s.rollout = r;
    return this;
  }
  spec(): ServiceSpec {
    return structuredClone(this.s);
  }
  build(): ServiceView {
    return { id: this.id, spec: this.spec() };
  }
}
export const aService = (id: string) => new ServiceBuilder(id);

/** A previous root allocation: `allocation({ 'shop/web': { munich: 3 } })`. */
export function allocation(a: Record<string, Record<string, number>>): Allocation {
  return new Map(Object.entries(a).map(([svc, where]) => [svc, new Map(Object.entries(where))]));
}

/** The fleet as the root sees it: clusters and services, in the order they were added. */
export class FleetBuilder {
  private cs: ClusterBuilder[] = [];
  private ss: ServiceBuilder[] = [];
  withCluster(c: ClusterBuilder | string): this {
    this.cs.push(typeof c === 'string' ? aCluster(c) : c);
    return this;
  }
  withService(s: ServiceBuilder | string): this {
    this.ss.push(typeof s === 'string' ? aService(s) : s);
    return this;
  }
  clusters(): ClusterView[] {
    return this.cs.map((c) => c.build());
  }
  services(): ServiceView[] {
    return this.ss.map((s) => s.build());
  }
}
export const aFleet = () => new FleetBuilder();

// --- cluster level: nodes and placements ---------------------------------------------------

export class NodeBuilder {
  private v: NodeView;
  constructor(name: string) {
    this.v = { name, online: true, capacity: capacity(4, '8Gi'), arch: 'amd64', runtimes: ['container', 'process'], labels: {} };
  }
  withCapacity(cpu: number, memory: string | number = '8Gi', gpu = 0): this {
    this.v.capacity = capacity(cpu, memory, gpu);
    return this;
  }
  withArch(arch: string): this {
    this.v.arch = arch;
    return this;
  }
  withRuntimes(...runtimes: string[]): this {
    this.v.runtimes = runtimes;
    return this;
  }
  withLabels(labels: Record<string, string>): this {
    this.v.labels = { ...this.v.labels, ...labels };
    return this;
  }
  offline(): this {
    this.v.online = false;
    return this;
  }
  build(): NodeView {
    return structuredClone(this.v);
  }
}
export const aNode = (name: string) => new NodeBuilder(name);

export const COMMIT = 'c0ffee'.padEnd(40, '0');

/** What the root hands one cluster: `aPlacement('munich').with(aService('shop/web').replicas(2))`. */
export class PlacementBuilder {
  private services: Placement['services'] = {};
  private version: Version = { commit: COMMIT, seq: 1, epoch: 0 };
  constructor(private cluster: string) {}
  /** The service's replicas here default to its spec's replica count. */
  with(s: ServiceBuilder, replicas?: number): this {
    const spec = s.spec();
    this.services[s.id] = { replicas: replicas ?? spec.replicas, specHash: specHash(spec), spec };
    return this;
  }
  seq(n: number): this {
    this.version = { ...this.version, seq: n };
    return this;
  }
  build(): Placement {
    return structuredClone({ fleet: 'demo', cluster: this.cluster, version: this.version, services: this.services });
  }
}
export const aPlacement = (cluster: string) => new PlacementBuilder(cluster);

// --- node level: replicas as desired and as observed ----------------------------------------

/** One replica of a service as handed to a node. */
export function aReplica(s: ServiceBuilder, index = 0): ReplicaSpec {
  const spec = s.spec();
  return { id: replicaId(s.id, index), service: s.id, index, specHash: specHash(spec), spec };
}

export const SINCE = '2025-01-01T00:00:00Z';

/** A replica as a driver sees it: by default the same spec as `r`, running. */
export function observed(r: ReplicaSpec, state: ObservedReplica['state'] = 'running', extra: Partial<ObservedReplica> = {}): ObservedReplica {
  return { id: r.id, service: r.service, specHash: r.specHash, state, since: SINCE, ...extra };
}

/** One line of a node's status report. */
export function replicaState(id: string, specHashOf: string, state: ReplicaState['state'], message?: string): ReplicaState {
  const service = id.slice(0, id.lastIndexOf('#'));
  return { id, service, specHash: specHashOf, state, since: SINCE, ...(message ? { message } : {}) };
}

/** The status a node's agent reports, for its NodeView and the replicas it runs. */
export function aNodeStatus(n: NodeView, replicas: ReplicaState[] = []): NodeStatus {
  return {
    kind: 'node-status',
    node: n.name,
    at: SINCE,
    appliedSeq: 1,
    capacity: { ...n.capacity },
    arch: n.arch,
    runtimes: [...n.runtimes],
    labels: { ...n.labels },
    replicas,
  };
}

// --- property tests ------------------------------------------------------------------------

/** A seeded PRNG (mulberry32): the same seed gives the same sequence on every machine. */
export interface Rng {
  next(): number;
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
  subset<T>(xs: readonly T[], min?: number): T[];
  shuffle<T>(xs: readonly T[]): T[];
}

export function prng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const shuffle = <T>(xs: readonly T[]): T[] => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = int(0, i);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  };
  return {
    next,
    int,
    shuffle,
    pick: (xs) => xs[int(0, xs.length - 1)],
    chance: (p) => next() < p,
    subset: (xs, min = 0) => {
      const out = xs.filter(() => next() < 0.5);
      return out.length >= min ? out : shuffle(xs).slice(0, min);
    },
  };
}

/** The cluster's node placement of `services` on `nodes` (munich), from `previous` (replica → node). */
export function placeOnNodes(services: ServiceBuilder[], nodes: NodeBuilder[], previous: Record<string, string> = {}, policy?: ClusterPolicy): NodePlan {
  const p = aPlacement('munich');
  for (const s of services) p.with(s);
  return placeReplicas(
    p.build(),
    nodes.map((n) => n.build()),
    new Map(Object.entries(previous)),
    policy,
  );
}

/** replica → node of a plan. */
export const assignedOf = (p: NodePlan): Record<string, string> => Object.fromEntries(p.assignment);
