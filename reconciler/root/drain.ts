// Retiring a cluster (clusters/<c>.yaml spec.retired: true), drain first. The placer never
// chooses a retired cluster (assess.ts), so its services are placed on the others as the
// placement rules would; meanwhile the retired cluster keeps what it runs (PlacementDocs keeps
// its entries while `Drain.keeps` says so) until the replicas placed elsewhere are ready, as
// their clusters report them (`updated`, else `ready`, else `running`, on the placement they
// applied). Then its entry goes, and once every one has, its placement is empty: a retired
// cluster that comes back is told it has nothing to run. An unreachable one is not waited for.
// This file decides, pure; steps/drain.ts acts.
import type { ClusterStatus, Placement } from '../../schemas/messages.js';
import { sameVersion } from '../core/version.js';

/** What the decision needs to know of the fleet. */
export interface DrainView {
  /** Not known to be gone: online, or not heard since the root started. */
  reachable(cluster: string): boolean;
  /** Service `id` on `cluster`: ready as many times as it was given there, or why not. */
  readyOn(cluster: string, id: string): { ok: true } | { ok: false; why: string };
}

export interface DrainDecision {
  /** Service → why its replicas on the retired cluster go now. */
  drop: Map<string, string>;
  /** Service → why they stay for now. */
  keep: Map<string, string>;
}

/**
 * For retired cluster `c`: which of the services it still holds (`held`) to drop now. `elsewhere`
 * gives where the placer put each one (c itself excluded).
 */
export function drainDecision(
  c: string,
  held: readonly string[],
  elsewhere: (id: string) => ReadonlyMap<string, number> | undefined,
  view: DrainView,
): DrainDecision {
  const drop = new Map<string, string>();
  const keep = new Map<string, string>();
  const gone = !view.reachable(c);
  for (const id of held) {
    if (gone) {
      drop.set(id, `cluster ${c} retired and unreachable: nothing to wait for`);
      continue;
    }
    const on = [...(elsewhere(id) ?? [])].filter(([x, n]) => x !== c && n > 0);
    // Nowhere else to go: dropping it would stop the service, so it stays until a cluster can take it.
    if (!on.length) {
      keep.set(id, `cluster ${c} retired: no other cluster can take it yet`);
      continue;
    }
    const waiting = on.map(([x]) => view.readyOn(x, id)).find((r) => !r.ok);
    if (waiting && !waiting.ok) keep.set(id, `cluster ${c} retired: waiting for ${waiting.why}`);
    else drop.set(id, `cluster ${c} retired: ready on ${on.map(([x, n]) => `${x} (${n})`).join(', ')}`);
  }
  return { drop, keep };
}

/** Ready as given: the cluster applied the placement that gives it `id`, and reports that many ready on its spec. */
export function readyAsGiven(
  cluster: string,
  id: string,
  online: boolean,
  placement: Pick<Placement, 'version' | 'services'> | undefined,
  status: ClusterStatus | undefined,
): { ok: true } | { ok: false; why: string } {
  const a = placement?.services[id];
  if (!placement || !a) return { ok: false, why: `${cluster}: not placed there yet` };
  if (!online) return { ok: false, why: `${cluster}: unreachable` };
  if (!status || !sameVersion(status.applied, placement.version)) return { ok: false, why: `${cluster}: placement #${placement.version.seq} not applied yet` };
  const s = status.services[id];
  const ready = s?.updated ?? s?.ready ?? s?.running ?? 0;
  if (ready >= a.replicas) return { ok: true };
  return { ok: false, why: `${cluster}: ${ready}/${a.replicas} ready` };
}

/**
 * The root's memory of retirement: the retired clusters (from the accepted commit) and, per
 * retired cluster, the services whose replicas there were dropped. PlacementDocs asks `keeps`
 * before it removes a cluster's entry.
 */
export class Drain {
  retired = new Set<string>();
  private dropped = new Map<string, Set<string>>();
  /** Some retired cluster still ran something after the last drain step: statuses wake it. */
  active = false;
  /** Services moved off a retired cluster, for the note of the commit pending then (id → cluster). */
  moved?: { commit: string; from: Map<string, string> };

  /** Take the accepted commit's retired clusters; a cluster no longer retired forgets its drain. */
  setRetired(names: Iterable<string>): boolean {
    const next = new Set(names);
    const changed = next.size !== this.retired.size || [...next].some((c) => !this.retired.has(c));
    for (const c of this.dropped.keys()) if (!next.has(c)) this.dropped.delete(c);
    this.retired = next;
    return changed;
  }

  /** Whether retired cluster `c` keeps its entry for service `id` (not placed there any more). */
  keeps(id: string, c: string): boolean {
    return this.retired.has(c) && !this.dropped.get(c)?.has(id);
  }

  drop(c: string, id: string): void {
    let s = this.dropped.get(c);
    if (!s) this.dropped.set(c, (s = new Set()));
    s.add(id);
  }
}

/** The retired clusters a commit declares (clusters/<c>.yaml spec.retired: true). */
export function retiredOf(clusters: Iterable<{ metadata: { name: string }; spec?: { retired?: boolean } }>): string[] {
  const out: string[] = [];
  for (const c of clusters) if (c.spec?.retired === true) out.push(c.metadata.name);
  return out.sort();
}
