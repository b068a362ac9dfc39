// Replicas running per service, summed over the clusters' latest statuses, and the services
// whose sum is not what they want (or that run and are not wanted): kept up to date as statuses
// and desired states arrive, so convergence is known without walking 10,000 services per status.
import type { ClusterStatus } from '../../schemas/messages.js';

/** What the counts need of the desired state: each service's replica count. */
export type Wanted = ReadonlyMap<string, { spec: { replicas: number } }>;

export class RunningCounts {
  private running = new Map<string, number>();
  private offIds = new Set<string>();

  /** How many services run other than as many replicas as they want. */
  off(): number {
    return this.offIds.size;
  }

  statusChanged(before: ClusterStatus | undefined, now: ClusterStatus, desired: Wanted | undefined): void {
    const was = before?.services ?? {};
    for (const [id, s] of Object.entries(now.services)) {
      const d = s.running - (was[id]?.running ?? 0);
      if (d) this.add(id, d, desired);
    }
    for (const [id, s] of Object.entries(was)) {
      if (!(id in now.services) && s.running) this.add(id, -s.running, desired);
    }
  }

  desiredChanged(ids: Iterable<string>, desired: Wanted): void {
    for (const id of ids) this.check(id, desired);
  }

  private add(id: string, d: number, desired: Wanted | undefined): void {
    const n = (this.running.get(id) ?? 0) + d;
    if (n) this.running.set(id, n);
    else this.running.delete(id);
    this.check(id, desired);
  }

  private check(id: string, desired: Wanted | undefined): void {
    if ((this.running.get(id) ?? 0) !== (desired?.get(id)?.spec.replicas ?? 0)) this.offIds.add(id);
    else this.offIds.delete(id);
  }
}
