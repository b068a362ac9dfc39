// The root's placement (placeServices) of a whole fleet, computed for only the services that
// can move, given what the others hold. Pure. Used by the root between commits
// (IncrementalPlacer) and by canopy plan from the placement records.
//
// placeServices is sticky and greedy: pass 1 gives every service back the replicas it had where
// it may keep them and they fit (id order), pass 2 places the rest by policy (id order). A
// service is *settled* when it had exactly its replicas, all on clusters that may take it
// (assess() says nothing against them), and its spec is the one it was placed with (the caller
// decides which are, and adds up what they hold: reserve()). When every
// cluster can hold what every service had, pass 1 cannot fail anywhere: each settled service
// gets back exactly what it had and asks nothing of pass 2, and the others see the same free
// capacity in pass 2 as in a full run. So the others are placed by placeServices itself, beside
// one pinned stand-in per cluster and replica size holding what the settled ones hold. When a
// cluster cannot hold every previous replica, it answers undefined and the caller places
// everything.
import type { ServiceSpec } from '../../schemas/model.js';
import type { Capacity } from '../../schemas/messages.js';
import { request } from '../scheduling/capacity.js';
import type { Allocation, ClusterView, PlaceOptions, ServiceDecision, ServiceView } from './cluster-view.js';
import { placeServices } from './place.js';

/**
 * placeServices lets a replica fit within 1e-9 of a cluster's free capacity. Demand up to half of
 * that over capacity fits in any order (float rounding of the sums is far smaller), so a cluster
 * filled exactly (bestfit does that) still allows a partial run; beyond it, not.
 */
const SLACK = 5e-10;

/** Replicas held by settled services, per cluster and replica size. */
export type Reserved = Map<string, Map<string, { r: Capacity; n: number }>>;

/** Adds `n` replicas of size `r` on `cluster` to what settled services hold. */
export function reserve(reserved: Reserved, cluster: string, r: Capacity, n: number): void {
  let bySize = reserved.get(cluster);
  if (!bySize) reserved.set(cluster, (bySize = new Map()));
  const key = `${r.cpu}|${r.memoryMi}|${r.gpu}`;
  const x = bySize.get(key);
  if (x) x.n += n;
  else bySize.set(key, { r, n });
}

/**
 * Decisions of `moving` (each with its previous allocation in `previous`) as a full run over
 * them and the settled services would make them, the settled ones holding `reserved`; undefined
 * when a cluster cannot hold every previous replica at once (then only a full run says).
 */
export function placeBeside(
  moving: ServiceView[],
  reserved: Reserved,
  views: ClusterView[],
  previous: Allocation,
  policy: string,
  o: PlaceOptions = {},
): Map<string, ServiceDecision> | undefined {
  const demand = new Map<string, Capacity>(views.map((v) => [v.name, { cpu: 0, memoryMi: 0, gpu: 0 }]));
  const add = (c: string, r: Capacity, n: number) => {
    const t = demand.get(c);
    if (t) {
      t.cpu += r.cpu * n;
      t.memoryMi += r.memoryMi * n;
      t.gpu += r.gpu * n;
    }
  };
  for (const [c, bySize] of reserved) {
    if (!demand.has(c)) return undefined;
    for (const { r, n } of bySize.values()) add(c, r, n);
  }
  for (const svc of moving) {
    const r = request(svc.spec);
    for (const [c, n] of previous.get(svc.id) ?? []) add(c, r, n);
  }
  const over = (need: number, cap: number) => need > 0 && need > cap + SLACK;
  for (const v of views) {
    const t = demand.get(v.name)!;
    if (over(t.cpu, v.capacity.cpu) || over(t.memoryMi, v.capacity.memoryMi) || over(t.gpu, v.capacity.gpu)) return undefined;
  }
  const stand: ServiceView[] = [];
  const prev: Allocation = new Map();
  for (const svc of moving) {
    const p = previous.get(svc.id);
    if (p) prev.set(svc.id, p);
  }
  for (const v of views) {
    let k = 0;
    for (const { r, n } of reserved.get(v.name)?.values() ?? []) {
      // '~' sorts after every service id: the stand-ins come last in both passes.
      const id = `~reserved/${v.name}/${k++}`;
      stand.push({ id, spec: reservedSpec(v, r, n) });
      prev.set(id, new Map([[v.name, n]]));
    }
  }
  const { decisions } = placeServices([...moving, ...stand], views, prev, policy, o);
  for (const s of stand) {
    const d = decisions.get(s.id);
    if (!d || d.placed !== d.desired) return undefined;
    decisions.delete(s.id);
  }
  return decisions;
}

/** A service pinned to one cluster that holds `n` replicas of size `r` there and asks nothing else. */
function reservedSpec(v: ClusterView, r: Capacity, n: number): ServiceSpec {
  return {
    runtime: v.runtimes[0] as ServiceSpec['runtime'],
    replicas: n,
    image: 'reserved',
    resources: { cpu: r.cpu, memory: r.memoryMi * 1024 * 1024, gpu: r.gpu },
    constraints: { clusters: { names: [v.name] } },
  } as ServiceSpec;
}
