// Routes in placements: each cluster's routes computed from the root's state (../routes.ts), the
// clusters to compute again after a desired-state change, and the `routes` pass: the clusters a
// status or liveness change marked (../route-index.ts) get a new placement version when their
// routes changed, without re-placing anything.
import type { Placement } from '../../../schemas/messages.js';
import type { Logger } from '../../core/log.js';
import type { DesiredState } from '../desired.js';
import type { RootPorts } from '../ports.js';
import { appsWithPorts, changedRoutes, routesFor, type RouteCluster, type Routes } from '../routes.js';
import type { RootState } from '../state.js';
import type { Pass, StepResult } from './pass.js';
import { writePlacement } from './write-placement.js';

const byAppOf = new WeakMap<DesiredState, Map<string, string[]>>();

/**
 * What routing sees of every cluster with a status (one known from Git only is offline until
 * heard; an air-gapped one is never routed to: no network path reaches it).
 */
export function routeClusters(state: RootState): Map<string, RouteCluster> {
  const out = new Map<string, RouteCluster>();
  for (const [name, s] of state.clusters) {
    const st = s.status;
    if (!st) continue;
    out.set(name, { online: s.online && s.unheard !== 'unknown' && !s.airGapped, location: st.location, endpoints: (id) => st.services[id]?.endpoints });
  }
  return out;
}

/** A cluster's routes now: undefined when it has none, `prev` itself when none changed. */
export function routesNow(
  state: RootState,
  log: Pick<Logger, 'debug'>,
  cluster: string,
  assigned: Placement['services'],
  prev: Routes | undefined,
  clusters: ReadonlyMap<string, RouteCluster>,
): Routes | undefined {
  const good = state.good;
  if (!good) return prev;
  let byApp = byAppOf.get(good);
  if (!byApp) byAppOf.set(good, (byApp = appsWithPorts(good.services)));
  const interest = state.clusters.get(cluster)?.status?.interest;
  const unknown = (id: string) => log.debug(`cluster ${cluster} asks for ${id}: no such service, ignored`);
  const exposing = (id: string) => state.routes.exposing(id);
  const next = routesFor(cluster, { services: good.services, byApp, assigned, interest, clusters, exposing, unknown }, prev);
  if (!Object.keys(next).length) return undefined;
  return prev && !changedRoutes(prev, next).length ? prev : next;
}

/**
 * After a commit changed or removed services: the clusters routing to them, and when one has
 * ports, every cluster running a service of its app (a new service of an app is routed to
 * wherever the app runs) look again.
 */
export function markDesiredChanges(state: RootState, pass: Pick<Pass, 'changed' | 'removed'>): void {
  const ids = [...pass.changed, ...pass.removed];
  if (!ids.length) return;
  state.routes.markUsersOf(ids);
  const apps = new Set<string>();
  for (const id of pass.changed) if (state.good?.services.get(id)?.spec.ports?.length) apps.add(id.slice(0, id.indexOf('/')));
  if (!apps.size) return;
  for (const [id, where] of state.allocation) {
    if (!apps.has(id.slice(0, id.indexOf('/')))) continue;
    for (const [c, n] of where) if (n > 0) state.routes.mark([c]);
  }
}

/**
 * The `routes` pass: each marked cluster with a placement gets its routes computed again, and a
 * new placement version (same services, same keys) when they changed.
 */
export async function reroute(
  state: RootState,
  ports: Pick<RootPorts, 'book' | 'fleet' | 'wrote' | 'queue' | 'metrics' | 'log'>,
  pass: Pass,
): Promise<StepResult> {
  if (!state.good) return 'done';
  const dirty = state.routes.take();
  if (!dirty.size) return 'done';
  const clusters = routeClusters(state);
  try {
    for (const cluster of dirty) await rerouteOne(state, ports, pass, cluster, clusters);
  } catch (e) {
    // Looked at again on the key's retry (the ones written find their routes unchanged).
    state.routes.mark(dirty);
    throw e;
  }
  ports.log.debug(`routes: ${dirty.size} cluster(s) looked at, ${pass.written} placement(s) written`);
}

async function rerouteOne(
  state: RootState,
  ports: Pick<RootPorts, 'book' | 'wrote' | 'queue' | 'metrics' | 'log'>,
  pass: Pass,
  cluster: string,
  clusters: ReadonlyMap<string, RouteCluster>,
): Promise<void> {
  const cur = ports.book.get(cluster);
  if (!cur || !state.good) return;
  const routes = routesNow(state, ports.log, cluster, cur.services, cur.routes, clusters);
  state.routes.setRoutes(cluster, routes);
  if (routes === cur.routes) return;
  const { routes: _, ...rest } = cur;
  const doc: Placement = { ...rest, version: { commit: state.good.commit, seq: ++state.seq, epoch: state.epoch }, ...(routes ? { routes } : {}) };
  await writePlacement(ports, pass, doc, [], changedRoutes(cur.routes, routes));
}
