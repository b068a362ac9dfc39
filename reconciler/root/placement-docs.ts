// Each cluster's placement document (refs/canopy/placements/<cluster>: service → replicas, spec,
// reason), kept up to date from the decisions of the services a round re-placed, so that a round
// touches only the clusters those services are on, and unchanged entries keep their objects.
import type { ServiceSpec } from '../../schemas/model.js';
import type { Placement } from '../../schemas/messages.js';
import { specHash, workloadHash } from '../core/ids.js';
import { cmp, type ServiceDecision } from './cluster-view.js';

type Assignments = Placement['services'];

/**
 * What a cluster is told a service runs: its workload (with its config files' blob ids: root/
 * files.ts), and the ciphertexts of the secrets it uses (their blob ids), so a secret set anew or
 * a config file changed rolls its replicas.
 */
export function assignmentHash(svc: { spec: ServiceSpec; sealed?: string }): string {
  return svc.sealed ? specHash([workloadHash(svc.spec), svc.sealed]) : workloadHash(svc.spec);
}

/**
 * Each cluster's placement document (service → replicas, spec, reason), kept from the decisions
 * of the services that were re-placed, so a round touches only the clusters they are on.
 */
export class PlacementDocs {
  private docs = new Map<string, Assignments>();
  private where = new Map<string, string[]>();
  private unschedulable = new Map<string, string>();
  /** The spec a rollout holds a cluster at, when not the desired one (rollouts.ts); none: always the desired. */
  held?: (id: string, cluster: string) => { spec: ServiceSpec; hash: string } | undefined;
  /** Whether a retired cluster keeps its entry for a service placed elsewhere now (drain.ts); none: it goes at once. */
  keeps?: (id: string, cluster: string) => boolean;

  /** Take the decisions of `ids` (re-placed or removed); returns each changed cluster's changed services. */
  update(
    decisions: Map<string, ServiceDecision>,
    ids: Iterable<string>,
    services: Map<string, { specHash: string; spec: ServiceSpec; sealed?: string }>,
  ): Map<string, string[]> {
    const touched = new Map<string, string[]>();
    const touch = (c: string, id: string) => {
      const l = touched.get(c);
      if (l) l.push(id);
      else touched.set(c, [id]);
    };
    for (const id of ids) {
      const d = decisions.get(id);
      const svc = services.get(id);
      const next = new Map<string, Assignments[string]>();
      if (d && svc)
        for (const [c, n] of d.clusters) {
          const h = this.held?.(id, c);
          next.set(c, { replicas: n, specHash: h?.hash ?? assignmentHash(svc), spec: h?.spec ?? svc.spec, reason: d.reason });
        }
      for (const c of this.where.get(id) ?? []) {
        if (next.has(c)) continue;
        const old = this.docs.get(c)![id];
        if (old && d && svc && this.keeps?.(id, c)) {
          // Draining: it runs what it was given until the replicas placed elsewhere are ready.
          const reason = `cluster ${c} retired: kept until the replicas placed elsewhere are ready`;
          next.set(c, old.reason === reason ? old : { ...old, reason });
          continue;
        }
        delete this.docs.get(c)![id];
        touch(c, id);
      }
      for (const [c, a] of next) {
        let doc = this.docs.get(c);
        if (!doc) this.docs.set(c, (doc = {}));
        const old = doc[id];
        // An unchanged entry keeps its object: the book, the patches and the Git records compare
        // entries by reference first, so what did not change costs nothing downstream.
        if (old && old.replicas === a.replicas && old.specHash === a.specHash && old.reason === a.reason && old.spec === a.spec) continue;
        touch(c, id);
        doc[id] = a;
      }
      if (next.size) this.where.set(id, [...next.keys()]);
      else this.where.delete(id);
      if (d && svc && d.placed < d.desired) this.unschedulable.set(id, d.reason);
      else this.unschedulable.delete(id);
    }
    return touched;
  }

  /** Start from what a cluster holds (a retired one's placement ref, at start): its entries are kept while it drains. */
  seed(cluster: string, services: Assignments): void {
    this.docs.set(cluster, { ...services });
    for (const id of Object.keys(services)) this.where.set(id, [...new Set([...(this.where.get(id) ?? []), cluster])]);
  }

  /** What the clusters of service `id` were last given (the first cluster's entry), if it is placed. */
  entry(id: string): Assignments[string] | undefined {
    const c = this.where.get(id)?.[0];
    return c === undefined ? undefined : this.docs.get(c)?.[id];
  }

  /** A cluster's assignments, as a new object (the book keeps what it is given). */
  assignments(cluster: string): Assignments {
    return { ...(this.docs.get(cluster) ?? {}) };
  }

  /** Services placed short of their replicas, and why. */
  short(): Record<string, string> {
    return Object.fromEntries([...this.unschedulable].sort(([a], [b]) => cmp(a, b)));
  }
}
