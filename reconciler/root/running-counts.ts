// Replicas running and ready per service, summed over the clusters' latest statuses, and the
// services whose sums are not what they want (or that run and are not wanted): kept up to date
// as statuses and desired states arrive, so convergence is known without walking 10,000 services
// per status. A service is where it should be when as many replicas as it wants run and every
// one of them is ready; a cluster that reports no `ready` (an older one) counts its running
// replicas as ready.
import type { ClusterStatus } from '../../schemas/messages.js';

/** What the counts need of the desired state: each service's replica count. */
export type Wanted = ReadonlyMap<string, { spec: { replicas: number } }>;

type Service = ClusterStatus['services'][string];
// Ready on the spec the cluster was given (`updated`): replicas of an older spec a rollout keeps do not count.
const readyOf = (s: Service | undefined) => s?.updated ?? s?.ready ?? s?.running ?? 0;

export class RunningCounts {
  private running = new Map<string, number>();
  private ready = new Map<string, number>();
  private offIds = new Set<string>();

  /** How many services run other than as many ready replicas as they want. */
  off(): number {
    return this.offIds.size;
  }

  /** The services that run other than as many ready replicas as they want. */
  offServices(): IterableIterator<string> {
    return this.offIds.values();
  }

  /** Whether service `id` runs other than as many ready replicas as it wants. */
  isOff(id: string): boolean {
    return this.offIds.has(id);
  }

  /** Replicas of `id` running and ready, summed over the clusters. */
  of(id: string): { running: number; ready: number } {
    return { running: this.running.get(id) ?? 0, ready: this.ready.get(id) ?? 0 };
  }

  statusChanged(before: ClusterStatus | undefined, now: ClusterStatus, desired: Wanted | undefined): void {
    const was = before?.services ?? {};
    for (const [id, s] of Object.entries(now.services)) {
      const dRun = s.running - (was[id]?.running ?? 0);
      const dReady = readyOf(s) - readyOf(was[id]);
      if (dRun || dReady) this.add(id, dRun, dReady, desired);
    }
    for (const [id, s] of Object.entries(was)) {
      if (!(id in now.services) && (s.running || readyOf(s))) this.add(id, -s.running, -readyOf(s), desired);
    }
  }

  desiredChanged(ids: Iterable<string>, desired: Wanted): void {
    for (const id of ids) this.check(id, desired);
  }

  private add(id: string, dRun: number, dReady: number, desired: Wanted | undefined): void {
    bump(this.running, id, dRun);
    bump(this.ready, id, dReady);
    this.check(id, desired);
  }

  private check(id: string, desired: Wanted | undefined): void {
    const want = desired?.get(id)?.spec.replicas ?? 0;
    if ((this.running.get(id) ?? 0) !== want || (this.ready.get(id) ?? 0) !== want) this.offIds.add(id);
    else this.offIds.delete(id);
  }
}

function bump(m: Map<string, number>, id: string, d: number): void {
  const n = (m.get(id) ?? 0) + d;
  if (n) m.set(id, n);
  else m.delete(id);
}
