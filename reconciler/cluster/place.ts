// The cluster's fine choice: which node runs each replica. Pure and deterministic. A replica
// stays on its node while the node is online and still qualifies; new replicas go among the
// nodes that meet every constraint (judged by each node's exact position and measured round
// trips) to the one holding the fewest replicas of the service, unless `spread` says otherwise
// (policies/replica-spread.ts), then where the policy (policies/) says; no node is ever given
// more than its capacity. A replica held on another spec by a roll (rolling.ts) is given that
// spec; a roll's surge replicas are placed last, where they fit, and never count as unplaced.
import type { Placement, Capacity, ReplicaSpec } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { replicaId } from '../core/ids.js';
import { request, fmt, fits } from '../scheduling/capacity.js';
import { compareScores, type NodeScheduler, type Score } from './policies/policy.js';
import { clusterScheduler, type ClusterPolicy } from './policies/index.js';
import { assessNode, askOf, type NodeAssessment } from './assess.js';
import { portTaken, portsRefusal, takePorts, type PortBook } from './host-ports.js';
import { spreadBars, spreadFirst, spreadRefusal } from './policies/replica-spread.js';
import type { NodeContext, NodeView } from './node-view.js';
import { heldSpec, type Roll } from './rolling.js';
import { stickyOn } from './volumes.js';

export type { ClusterPolicy } from './policies/index.js';
export type { NodeView, NodeContext } from './node-view.js';
export { assessNode, nodeExclusion, type NodeAssessment } from './assess.js';

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

/** One replica still to place, with its request. */
interface Ask {
  rs: ReplicaSpec;
  r: Capacity;
  spec: ServiceSpec;
  service: string;
}

type Judgement = Map<string, NodeAssessment>;

/** The services in a roll, and how many surge replicas each runs (steps/roll.ts). */
export interface RollView {
  rolls: ReadonlyMap<string, Roll>;
  surge: ReadonlyMap<string, number>;
}

export function placeReplicas(
  placement: Placement | undefined,
  nodes: NodeView[],
  previous: Map<string, string>,
  policy: ClusterPolicy | string = 'bestfit',
  ctx: NodeContext = {},
  rolling?: RollView,
): NodePlan {
  const scheduler = clusterScheduler(policy);
  const sorted = [...nodes].sort((a, b) => cmp(a.name, b.name));
  const book = openBook(sorted);
  const judge = judgeOnce(sorted, ctx);
  const services = Object.entries(placement?.services ?? {}).sort(([a], [b]) => cmp(a, b));
  const pending = new Map<string, string>();
  const unplaced = new Map<string, number>();
  // Pass 1 keeps every replica that can stay where it is (all services first, so a newcomer
  // never pushes out a replica that is already running); pass 2 places the rest, best first.
  for (const ask of keepInPlace(services, previous, book, judge, rolling?.rolls)) {
    const j = judge(ask.service, ask.spec);
    const best = bestNode(sorted, j, book, scheduler, ask);
    if (best !== undefined) {
      book.assign(best, ask.rs, ask.r);
      continue;
    }
    pending.set(ask.service, `no node can take a replica: ${whyNone(sorted, j, book, ask) || 'no nodes online'}`);
    unplaced.set(ask.service, (unplaced.get(ask.service) ?? 0) + 1);
  }
  // Pass 3: a roll's surge replicas (index R …) on the new spec, kept or placed where they fit, else not run.
  for (const [service, n] of rolling?.surge ?? []) {
    const a = placement?.services[service];
    for (let i = a?.replicas ?? 0; a && i < a.replicas + n; i++) {
      const ask: Ask = { rs: { id: replicaId(service, i), service, index: i, specHash: a.specHash, spec: a.spec }, r: request(a.spec), spec: a.spec, service };
      const j = judge(service, a.spec);
      const node = keep(book, previous.get(ask.rs.id), j, ask.rs, ask.r) ?? bestNode(sorted, j, book, scheduler, ask);
      if (node !== undefined) book.assign(node, ask.rs, ask.r);
    }
  }
  return { byNode: book.byNode, assignment: book.assignment, pending, unplaced, used: book.used() };
}

/** What the pass has handed out so far: free capacity and replicas per node, per service. */
interface Book {
  byName: Map<string, NodeView>;
  order: Map<string, number>;
  free: Map<string, Capacity>;
  byNode: Map<string, ReplicaSpec[]>;
  assignment: Map<string, string>;
  perService: Map<string, Map<string, number>>;
  /** node → host ports its replicas take (host-ports.ts) */
  ports: PortBook;
  assign(node: string, rs: ReplicaSpec, r: Capacity): void;
  used(): Map<string, Capacity>;
}

function openBook(sorted: NodeView[]): Book {
  const book: Book = {
    byName: new Map(sorted.map((n) => [n.name, n])),
    order: new Map(sorted.map((n, i) => [n.name, i])),
    free: new Map(sorted.map((n) => [n.name, { ...n.capacity }])),
    byNode: new Map(sorted.map((n) => [n.name, []])),
    assignment: new Map(),
    perService: new Map(),
    ports: new Map(),
    assign(node, rs, r) {
      const f = book.free.get(node)!;
      f.cpu -= r.cpu;
      f.memoryMi -= r.memoryMi;
      f.gpu -= r.gpu;
      book.byNode.get(node)!.push(rs);
      book.assignment.set(rs.id, node);
      takePorts(book.ports, node, rs.spec);
      const m = book.perService.get(rs.service) ?? new Map<string, number>();
      m.set(node, (m.get(node) ?? 0) + 1);
      book.perService.set(rs.service, m);
    },
    used: () =>
      new Map(
        sorted.map((n) => {
          const f = book.free.get(n.name)!;
          return [n.name, { cpu: n.capacity.cpu - f.cpu, memoryMi: n.capacity.memoryMi - f.memoryMi, gpu: n.capacity.gpu - f.gpu }];
        }),
      ),
  };
  return book;
}

// What each node is to a service depends only on what the service asks of nodes (runtime,
// architecture, node labels, geo, latency): judged once per distinct ask, not per service
// (10,000 services ask a handful of different things of 50 nodes).
function judgeOnce(sorted: NodeView[], ctx: NodeContext): (service: string, spec: ServiceSpec) => Judgement {
  const judged = new Map<string, Judgement>();
  const byService = new Map<string, Judgement>();
  return (service, spec) => {
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
}

/** Pass 1: assign each replica that may stay on its previous node; the rest, in order, to place. */
function keepInPlace(
  services: Array<[string, Placement['services'][string]]>,
  previous: Map<string, string>,
  book: Book,
  judge: (service: string, spec: ServiceSpec) => Judgement,
  rolls?: ReadonlyMap<string, Roll>,
): Ask[] {
  const toPlace: Ask[] = [];
  for (const [service, a] of services) {
    const req = request(a.spec);
    const j = judge(service, a.spec);
    const roll = rolls?.size ? rolls.get(service) : undefined;
    for (let i = 0; i < a.replicas; i++) {
      const given = roll && heldSpec(roll, i);
      const rs: ReplicaSpec = { id: replicaId(service, i), service, index: i, specHash: given?.specHash ?? a.specHash, spec: given?.spec ?? a.spec };
      const r = given ? request(given.spec) : req;
      const stay = keep(book, previous.get(rs.id), j, rs, r);
      if (stay !== undefined) book.assign(stay, rs, r);
      else toPlace.push({ rs, r, spec: a.spec, service });
    }
  }
  return toPlace;
}

/** The replica's previous node, if it may stay there. */
function keep(book: Book, prev: string | undefined, j: Judgement, rs: ReplicaSpec, r: Capacity): string | undefined {
  const n = prev ? book.byName.get(prev) : undefined;
  if (n && stickyOn(n, rs.spec)) return n.name; // its volume's data is there (volumes.ts)
  const ok =
    !!n && !j.get(n.name)!.why && fits(book.free.get(n.name)!, r) && !portTaken(book.ports, n.name, rs.spec) && !barred(book, n.name, rs.spec, rs.service);
  return ok ? n.name : undefined;
}

/** Replicas of the service the node holds in this pass. */
function holdsOn(book: Book, service: string, node: string): number {
  return book.perService.get(service)?.get(node) ?? 0;
}

/** Why `spread` keeps one more replica of the service off the node, if it does. */
function barred(book: Book, node: string, spec: ServiceSpec, service: string): string | undefined {
  return spreadBars(spec.spread, holdsOn(book, service, node));
}

/** The node the policy likes best among those that qualify and have room, fewest of the service first unless `spread: none`. */
function bestNode(sorted: NodeView[], j: Judgement, book: Book, scheduler: NodeScheduler, { r, spec, service }: Ask): string | undefined {
  const holds = book.perService.get(service);
  // The score is [first, ...policy score]: spread first, kept apart (no array per node).
  let best: string | undefined,
    bestFirst = 0,
    bestScore: Score = [];
  for (const n of sorted) {
    const a = j.get(n.name)!;
    if (a.why) continue;
    const f = book.free.get(n.name)!;
    if (!fits(f, r) || portTaken(book.ports, n.name, spec)) continue;
    const h = holds?.get(n.name) ?? 0;
    const first = spreadFirst(spec.spread, h);
    if (first === undefined || (best !== undefined && first > bestFirst)) continue;
    const s = scheduler.score({ node: n, free: f, request: r, order: book.order.get(n.name)!, holds: h, rtt: a.rtt, distanceKm: a.distanceKm }, spec);
    if (best === undefined || first < bestFirst || compareScores(s, bestScore) < 0) {
      best = n.name;
      bestFirst = first;
      bestScore = s;
    }
  }
  return best;
}

// Why, node by node: worded only when nothing fits (a nearly full cluster placing thousands of
// replicas would otherwise word every full node for every replica).
function whyNone(sorted: NodeView[], j: Judgement, book: Book, { r, spec, service }: Ask): string {
  const fitting = sorted.filter((n) => !j.get(n.name)!.why && fits(book.free.get(n.name)!, r)).map((n) => n.name);
  const ports = portsRefusal(fitting, book.ports, spec);
  if (ports) return ports;
  const spread = spreadRefusal(spec.spread, fitting, (n) => holdsOn(book, service, n));
  if (spread) return spread;
  return sorted
    .map((n) => {
      const a = j.get(n.name)!;
      if (a.why) return `${n.name}: ${a.why}`;
      if (!fits(book.free.get(n.name)!, r)) return `${n.name}: needs ${fmt(r)}, ${fmt(book.free.get(n.name)!)} free`;
      const port = portTaken(book.ports, n.name, spec);
      return `${n.name}: ${port ? `host port ${port} is taken` : barred(book, n.name, spec, service)}`;
    })
    .join('; ');
}

// Code-unit order, not locale order: the same names sort the same everywhere.
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
