// How a node's workloads reach the services they may call (its NodeDesired.routes), and what the
// cluster asks the root for beyond what its workloads declare (ClusterStatus.interest). Pure: the
// inputs are the placement (its routes: the port and other clusters' endpoints, closest first),
// the node's replicas, the live endpoints of the cluster's own instances and the node's interest.
//
// A node is told about the services of its replicas' apps, their `uses`, and its interest; each
// route lists this cluster's running instances (tier 0 on the node itself, 1 on its other nodes)
// before the other clusters' (tier 2 + their rank). A service the placement has no route for
// (a root from before routes) still gets one when its spec is here, with this cluster's own
// instances only: names keep working inside the site.
import { MAX_INTEREST, MAX_ROUTE_ENDPOINTS, type NodeRoute, type NodeStatus, type Placement, type ReplicaSpec, type Route } from '../../schemas/messages.js';

/** service → node → the service addresses of its running instances there (reachable nodes only). */
export type LocalEndpoints = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
/** app → the ids of its services a route can be made for (a route in the placement, or a spec with ports). */
export type AppServices = ReadonlyMap<string, readonly string[]>;

export interface NodeRoutesInput {
  node: string;
  placement: Placement | undefined;
  /** The replicas the node runs (the last placing pass's share). */
  replicas: readonly ReplicaSpec[];
  local: LocalEndpoints;
  /** The node's NodeStatus.interest: ids that are not APP/NAME are ignored. */
  interest?: readonly string[];
  /** servicesByApp(placement), when the caller keeps it (computed otherwise). */
  apps?: AppServices;
}

const SERVICE_ID = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\/[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** True for an APP/NAME service id (what `uses` and interest name). */
export const isServiceId = (id: string): boolean => SERVICE_ID.test(id);

const appOf = (service: string) => service.slice(0, service.indexOf('/'));
const byCode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Per app, the services a route can be made for: those with a route in the placement or a spec with ports here. */
export function servicesByApp(placement: Placement | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (id: string) => (out.get(appOf(id)) ?? out.set(appOf(id), []).get(appOf(id))!).push(id);
  for (const id of Object.keys(placement?.routes ?? {})) add(id);
  for (const [id, a] of Object.entries(placement?.services ?? {})) if (a.spec.ports?.length && !placement?.routes?.[id]) add(id);
  for (const ids of out.values()) ids.sort(byCode);
  return out;
}

/** The services a node's routes cover: its replicas' apps' services, their `uses`, its interest (valid ids). */
export function routedServices(replicas: readonly ReplicaSpec[], apps: AppServices, interest: readonly string[] = []): string[] {
  const want = new Set<string>();
  const seenApps = new Set<string>();
  for (const r of replicas) {
    const app = appOf(r.service);
    if (!seenApps.has(app)) {
      seenApps.add(app);
      for (const id of apps.get(app) ?? []) want.add(id);
    }
    for (const u of r.spec.uses ?? []) want.add(u);
  }
  for (const id of interest) if (isServiceId(id)) want.add(id);
  return [...want].sort(byCode);
}

/** One node's routes, by service id in code-unit order; services the cluster cannot route (no route, no local spec with ports) are left out. */
export function nodeRoutes(i: NodeRoutesInput): Record<string, NodeRoute> {
  const apps = i.apps ?? servicesByApp(i.placement);
  const out: Record<string, NodeRoute> = {};
  for (const id of routedServices(i.replicas, apps, i.interest)) {
    const r = routeFor(i.placement, id);
    if (r) out[id] = { port: r.port, ...(r.protocol ? { protocol: r.protocol } : {}), endpoints: endpointsFor(i.node, r.clusters, i.local.get(id)) };
  }
  return out;
}

/** The placement's route for a service, or one made from its spec here (first port, no other cluster). */
function routeFor(placement: Placement | undefined, id: string): Route | undefined {
  const r = placement?.routes?.[id];
  if (r) return r;
  const port = placement?.services[id]?.spec.ports?.[0];
  return port ? { port: port.port, ...(port.protocol ? { protocol: port.protocol } : {}), clusters: [] } : undefined;
}

/** This cluster's instances (tier 0 on `node`, 1 elsewhere) then the other clusters' (2 + rank); closest first, at most MAX_ROUTE_ENDPOINTS. */
function endpointsFor(node: string, clusters: Route['clusters'], local: ReadonlyMap<string, readonly string[]> | undefined): NodeRoute['endpoints'] {
  const mine: NodeRoute['endpoints'] = [];
  for (const [n, addrs] of local ?? []) for (const addr of addrs) mine.push({ addr, tier: n === node ? 0 : 1 });
  mine.sort((a, b) => a.tier - b.tier || byCode(a.addr, b.addr));
  const others = [...clusters].sort((a, b) => a.rank - b.rank || byCode(a.cluster, b.cluster));
  const out: NodeRoute['endpoints'] = [];
  const seen = new Set<string>();
  const add = (addr: string, tier: number) => {
    if (out.length < MAX_ROUTE_ENDPOINTS && !seen.has(addr)) {
      seen.add(addr);
      out.push({ addr, tier });
    }
  };
  for (const e of mine) add(e.addr, e.tier);
  for (const c of others) for (const addr of c.endpoints) add(addr, 2 + c.rank);
  return out;
}

/** A node's instances as routes see them: service → the address (first endpoint) of each running replica. */
export function addressesOf(status: NodeStatus | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of status?.replicas ?? []) {
    const addr = r.state === 'running' ? r.endpoints?.[0] : undefined;
    if (addr) (out.get(r.service) ?? out.set(r.service, []).get(r.service)!).push(addr);
  }
  for (const addrs of out.values()) addrs.sort(byCode);
  return out;
}

/** service → node → addresses, from the statuses of the nodes that are reachable (for tests and full rebuilds). */
export function localEndpoints(nodes: Iterable<{ name: string; reachable: boolean; status?: NodeStatus }>): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  for (const n of nodes) {
    if (!n.reachable) continue;
    for (const [svc, addrs] of addressesOf(n.status)) (out.get(svc) ?? out.set(svc, new Map()).get(svc)!).set(n.name, addrs);
  }
  return out;
}

/** What the cluster asks the root for: its online nodes' interest the placement has no route for; sorted, at most MAX_INTEREST. */
export function clusterInterest(placement: Placement | undefined, interests: Iterable<readonly string[] | undefined>): string[] {
  const want = new Set<string>();
  for (const ids of interests) for (const id of ids ?? []) if (isServiceId(id) && !placement?.routes?.[id]) want.add(id);
  return [...want].sort(byCode).slice(0, MAX_INTEREST);
}
