// Each cluster's routes (Placement.routes): for every service its workloads may call (every
// service with ports of every app it runs, their `uses`, its `interest`), the port callers use
// and the OTHER online clusters exposing the service, closest first. Pure: the caller hands in
// the desired services, the cluster's assignments and what the clusters last reported.
import { MAX_ROUTE_CLUSTERS, MAX_SERVICE_ENDPOINTS, type Placement, type Route } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { distanceKm, type LatLon } from '../core/geo.js';
import { cmp } from './cluster-view.js';

export type Routes = Record<string, Route>;

/** What routing sees of one cluster: whether it is online, where it is, what it exposes. */
export interface RouteCluster {
  online: boolean;
  location?: LatLon;
  /** service id → its endpoints there (the service's address, one per running instance). */
  endpoints: (id: string) => readonly string[] | undefined;
}

export interface RoutesInput {
  /** The desired services by id (the root's accepted state). */
  services: ReadonlyMap<string, { spec: Pick<ServiceSpec, 'ports' | 'uses'> }>;
  /** The desired services with ports, by app (appsWithPorts). */
  byApp: ReadonlyMap<string, readonly string[]>;
  /** The receiving cluster's assignments. */
  assigned: Placement['services'];
  /** Its ClusterStatus.interest. */
  interest?: readonly string[];
  /** Every cluster the root knows (the receiving one included: it is left out of every route). */
  clusters: ReadonlyMap<string, RouteCluster>;
  /** service id → the clusters that may expose it (a superset is fine; default: every cluster). */
  exposing?: (id: string) => Iterable<string>;
  /** Told of an id in `interest` that names no desired service (ignored; one without ports is skipped). */
  unknown?: (id: string) => void;
}

const appOf = (id: string) => id.slice(0, id.indexOf('/'));

/** The desired services with ports, grouped by app, each list sorted. */
export function appsWithPorts(services: RoutesInput['services']): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [id, s] of services) {
    if (!s.spec.ports?.length) continue;
    const app = appOf(id);
    const l = out.get(app);
    if (l) l.push(id);
    else out.set(app, [id]);
  }
  for (const l of out.values()) l.sort(cmp);
  return out;
}

/** The services a cluster's workloads may call, with ports, sorted. */
export function wantedServices(input: Pick<RoutesInput, 'services' | 'byApp' | 'assigned' | 'interest' | 'unknown'>): string[] {
  const want = new Set<string>();
  const apps = new Set<string>();
  const hasPorts = (id: string) => !!input.services.get(id)?.spec.ports?.length;
  for (const [id, a] of Object.entries(input.assigned)) {
    if (a.replicas <= 0) continue;
    apps.add(appOf(id));
    for (const u of input.services.get(id)?.spec.uses ?? a.spec.uses ?? []) if (hasPorts(u)) want.add(u);
  }
  for (const app of apps) for (const id of input.byApp.get(app) ?? []) want.add(id);
  for (const id of input.interest ?? []) {
    if (hasPorts(id)) want.add(id);
    else if (!input.services.has(id)) input.unknown?.(id);
  }
  return [...want].sort(cmp);
}

/** One cluster's routes; entries equal to `prev`'s keep their objects (so patches and Git skip them). */
export function routesFor(cluster: string, input: RoutesInput, prev?: Routes): Routes {
  const out: Routes = {};
  const self = input.clusters.get(cluster);
  for (const id of wantedServices(input)) {
    const first = input.services.get(id)!.spec.ports![0];
    const route: Route = { port: first.port, ...(first.protocol ? { protocol: first.protocol } : {}), clusters: others(cluster, self, id, input) };
    const old = prev?.[id];
    out[id] = old && sameRoute(old, route) ? old : route;
  }
  return out;
}

/** The other online clusters exposing `id`, closest to `self` first (unknown locations last, ties by name). */
function others(cluster: string, self: RouteCluster | undefined, id: string, input: RoutesInput): Route['clusters'] {
  const found: { cluster: string; km: number; endpoints: string[] }[] = [];
  for (const c of input.exposing?.(id) ?? input.clusters.keys()) {
    if (c === cluster) continue;
    const o = input.clusters.get(c);
    const eps = o?.online ? o.endpoints(id) : undefined;
    if (!eps?.length) continue;
    const km = self?.location && o!.location ? distanceKm(self.location, o!.location) : Infinity;
    found.push({ cluster: c, km, endpoints: eps.slice(0, MAX_SERVICE_ENDPOINTS) });
  }
  found.sort((a, b) => (a.km !== b.km ? (a.km < b.km ? -1 : 1) : cmp(a.cluster, b.cluster)));
  return found.slice(0, MAX_ROUTE_CLUSTERS).map((f, rank) => ({ cluster: f.cluster, rank, endpoints: f.endpoints }));
}

export function sameRoute(a: Route, b: Route): boolean {
  if (a === b) return true;
  if (a.port !== b.port || a.protocol !== b.protocol || a.clusters.length !== b.clusters.length) return false;
  return a.clusters.every((x, i) => {
    const y = b.clusters[i];
    return x.cluster === y.cluster && x.rank === y.rank && x.endpoints.length === y.endpoints.length && x.endpoints.every((e, j) => e === y.endpoints[j]);
  });
}

/** The ids whose routes differ between two route sets (added, removed or changed), sorted. */
export function changedRoutes(before: Routes | undefined, after: Routes | undefined): string[] {
  const out: string[] = [];
  for (const [id, r] of Object.entries(after ?? {})) if (!before?.[id] || !sameRoute(before[id], r)) out.push(id);
  for (const id of Object.keys(before ?? {})) if (!after?.[id]) out.push(id);
  return out.sort(cmp);
}
