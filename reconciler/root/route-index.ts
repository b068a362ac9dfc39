// What keeps the cost of routes with the change: which clusters expose each service (from their
// statuses), which clusters' routes include each service (from the routes last written), and the
// clusters whose routes must be computed again. A status whose endpoints changed marks only the
// clusters routing to the services it changed; the `routes` key (steps/routes.ts) then rewrites
// the placements of those whose routes did change.
import type { ClusterStatus } from '../../schemas/messages.js';
import { canonicalJson } from '../core/ids.js';
import type { Routes } from './routes.js';

export class RouteIndex {
  /** service → the clusters whose last status lists endpoints for it. */
  private readonly exposed = new Map<string, Set<string>>();
  /** service → the clusters whose routes include it. */
  private readonly users = new Map<string, Set<string>>();
  /** cluster → the ids of its routes (to keep `users`). */
  private readonly routed = new Map<string, readonly string[]>();
  private dirty = new Set<string>();

  /** The clusters that may expose `id` (every one whose status lists endpoints for it). */
  exposing(id: string): Iterable<string> {
    return this.exposed.get(id) ?? [];
  }

  /** The clusters whose routes include `id`. */
  usersOf(id: string): ReadonlySet<string> {
    return this.users.get(id) ?? new Set();
  }

  /**
   * A cluster reported: index what it exposes, and mark the clusters routing to a service whose
   * endpoints there changed (all it exposes when it came back or moved), and itself when its
   * interest or location changed. Returns whether anything was marked.
   */
  statusChanged(cluster: string, before: ClusterStatus | undefined, after: ClusterStatus, wasOnline: boolean): boolean {
    const n = this.dirty.size;
    const moved = !before || !sameJson(before.location, after.location);
    const all = moved || !wasOnline;
    const ids = new Set([...Object.keys(before?.services ?? {}), ...Object.keys(after.services)]);
    for (const id of ids) {
      const a = before?.services[id]?.endpoints;
      const b = after.services[id]?.endpoints;
      if (b?.length) this.add(this.exposed, id, cluster);
      else this.exposed.get(id)?.delete(cluster);
      if ((all && (a?.length || b?.length)) || !sameList(a, b)) this.markUsers(id, cluster);
    }
    if (moved || !sameJson(before?.interest, after.interest)) this.dirty.add(cluster);
    return this.dirty.size > n;
  }

  /** A cluster went online or offline: the clusters routing to what it exposes look again. */
  onlineChanged(cluster: string, status: ClusterStatus | undefined): boolean {
    const n = this.dirty.size;
    for (const [id, s] of Object.entries(status?.services ?? {})) if (s.endpoints?.length) this.markUsers(id, cluster);
    return this.dirty.size > n;
  }

  /** Mark clusters to compute again (the desired services changed, a placement was written). */
  mark(clusters: Iterable<string>): void {
    for (const c of clusters) this.dirty.add(c);
  }

  /** Mark the users of each of `ids` (a service whose ports changed, or that was removed). */
  markUsersOf(ids: Iterable<string>): void {
    for (const id of ids) this.markUsers(id);
  }

  /** The clusters marked since the last take, and no longer marked. */
  take(): Set<string> {
    const d = this.dirty;
    this.dirty = new Set();
    return d;
  }

  pending(): boolean {
    return this.dirty.size > 0;
  }

  /** A cluster's routes as written (or none: it has no placement any more). */
  setRoutes(cluster: string, routes: Routes | undefined): void {
    const ids = Object.keys(routes ?? {});
    const had = this.routed.get(cluster) ?? [];
    if (had.length === ids.length && had.every((id, i) => id === ids[i])) return;
    for (const id of had) this.users.get(id)?.delete(cluster);
    for (const id of ids) this.add(this.users, id, cluster);
    if (ids.length) this.routed.set(cluster, ids);
    else this.routed.delete(cluster);
  }

  private markUsers(id: string, except?: string): void {
    for (const c of this.users.get(id) ?? []) if (c !== except) this.dirty.add(c);
  }

  private add(m: Map<string, Set<string>>, id: string, cluster: string): void {
    const s = m.get(id);
    if (s) s.add(cluster);
    else m.set(id, new Set([cluster]));
  }
}

const sameJson = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if ((a?.length ?? 0) !== (b?.length ?? 0)) return false;
  return (a ?? []).every((x, i) => x === b![i]);
}
