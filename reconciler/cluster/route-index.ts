// What the cluster keeps to hand its nodes their routes at the cost of the change, not of the
// cluster: the live addresses of its own instances by service (reachable nodes only, updated
// from each node's status and liveness), which nodes' routes include each service (so an
// endpoint change re-sends only to them), and the placement's services by app (rebuilt when the
// placement in force is another object; patches copy on write). A node's routes are rebuilt
// only when what they are made of changed (routesFor): re-assigning every node after a placement
// change costs a signature per node, not a route table.
import type { NodeRoute, Placement, ReplicaSpec } from '../../schemas/messages.js';
import { nodeRoutes, routedServices, servicesByApp, type AppServices } from './routes.js';

export interface RouteIndex {
  /** service → node → addresses of its running instances there, for reachable nodes. */
  local: Map<string, Map<string, string[]>>;
  /** node → what it contributes to `local` (the same arrays). */
  byNode: Map<string, Map<string, string[]>>;
  /** service → the nodes whose last computed routes include it. */
  users: Map<string, Set<string>>;
  /** node → the services its last computed routes include. */
  routed: Map<string, readonly string[]>;
  /** servicesByApp of `appsOf`. */
  apps: AppServices;
  appsOf?: Placement;
  /** service → a number that changes whenever its entry in `local` does. */
  versions: Map<string, number>;
  clock: number;
  /** node → its last routes, their JSON, and the signature of what they were made of. */
  built: Map<string, { sig: string; routes: Record<string, NodeRoute>; json: string }>;
}

export function createRouteIndex(): RouteIndex {
  return { local: new Map(), byNode: new Map(), users: new Map(), routed: new Map(), apps: new Map(), versions: new Map(), clock: 0, built: new Map() };
}

/** A number per object (a route, or a service's assignment): patches copy on write, so a changed one is another object. */
const tags = new WeakMap<object, number>();
let nextTag = 0;
function tagOf(o: object | undefined): number {
  if (!o) return 0;
  let tag = tags.get(o);
  if (tag === undefined) tags.set(o, (tag = ++nextTag));
  return tag;
}

/** A node's routes (routes.ts's nodeRoutes) and their JSON, rebuilt only when their inputs changed. */
export function routesFor(
  idx: RouteIndex,
  node: string,
  placement: Placement | undefined,
  replicas: readonly ReplicaSpec[],
  interest: readonly string[] | undefined,
): { routes: Record<string, NodeRoute>; json: string } {
  const apps = appsOf(idx, placement);
  // What they are made of, per service: its route or spec here (as an object), and its live addresses.
  const sig = routedServices(replicas, apps, interest)
    .map((id) => `${id}:${tagOf(placement?.routes?.[id] ?? placement?.services[id])}:${idx.versions.get(id) ?? 0}`)
    .join(',');
  const had = idx.built.get(node);
  if (had && had.sig === sig) return had;
  const routes = nodeRoutes({ node, placement, replicas, local: idx.local, interest, apps });
  const built = { sig, routes, json: Object.keys(routes).length ? JSON.stringify(routes) : '' };
  idx.built.set(node, built);
  return built;
}

/** The placement's services by app, rebuilt only when the placement in force changed. */
export function appsOf(idx: RouteIndex, placement: Placement | undefined): AppServices {
  if (idx.appsOf !== placement || (!placement && idx.apps.size)) {
    idx.apps = servicesByApp(placement);
    idx.appsOf = placement;
  }
  return idx.apps;
}

const sameList = (a: readonly string[] | undefined, b: readonly string[] | undefined) =>
  a === b || (!!a && !!b && a.length === b.length && a.every((x, i) => x === b[i]));

/**
 * Replace what `node` contributes (undefined: nothing, as for an unreachable node). Returns the
 * services whose addresses changed.
 */
export function setNodeAddresses(idx: RouteIndex, node: string, next: Map<string, string[]> | undefined): string[] {
  const prev = idx.byNode.get(node);
  const changed: string[] = [];
  for (const svc of prev?.keys() ?? []) {
    if (next?.has(svc)) continue;
    changed.push(svc);
    const m = idx.local.get(svc);
    m?.delete(node);
    if (m && !m.size) idx.local.delete(svc);
  }
  for (const [svc, addrs] of next ?? []) {
    if (sameList(prev?.get(svc), addrs)) continue;
    changed.push(svc);
    (idx.local.get(svc) ?? idx.local.set(svc, new Map()).get(svc)!).set(node, addrs);
  }
  if (next?.size) idx.byNode.set(node, next);
  else idx.byNode.delete(node);
  for (const svc of changed) idx.versions.set(svc, ++idx.clock);
  return changed;
}

/** Remember which services `node`'s routes include now (none: forget the node). */
export function setRouted(idx: RouteIndex, node: string, services: readonly string[]): void {
  const prev = idx.routed.get(node) ?? [];
  if (sameList(prev, services)) return;
  for (const svc of prev) {
    const u = idx.users.get(svc);
    u?.delete(node);
    if (u && !u.size) idx.users.delete(svc);
  }
  for (const svc of services) (idx.users.get(svc) ?? idx.users.set(svc, new Set()).get(svc)!).add(node);
  if (services.length) idx.routed.set(node, services);
  else {
    idx.routed.delete(node);
    idx.built.delete(node);
  }
}

/** The nodes whose routes include any of `services`. */
export function usersOf(idx: RouteIndex, services: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const svc of services) for (const n of idx.users.get(svc) ?? []) out.add(n);
  return out;
}
