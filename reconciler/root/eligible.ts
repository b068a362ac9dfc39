// Per service, before any replica is placed: which clusters may take it (and up to how many,
// after a refusal), which unreachable clusters keep what they had, and why each of the others
// was passed over. This is the per-service state a placement run works on (`Work`); the run
// itself is rank.ts, its words explain.ts. Pure.
import type { ServiceSpec } from '../../schemas/model.js';
import type { Capacity } from '../../schemas/messages.js';
import type { Target } from '../scheduling/latency.js';
import { request } from '../scheduling/capacity.js';
import { airGappedExclusion, assess, exclusion, type Assessment, type SealedTo } from './assess.js';
import type { Allocation, ClusterView, ServiceView } from './cluster-view.js';
import { stableJson } from './refusals.js';

/** A cluster that may take replicas of the service: at most `limit` of them (Infinity unless it refused some). */
export interface Eligible {
  c: ClusterView;
  a: Assessment;
  limit: number;
}

// What a cluster is to a service depends only on what the service asks of clusters (runtime,
// architecture, cluster constraints, geo, latency, one replica's size): assessed once per
// distinct ask, not per service (10,000 services ask a few hundred different things).
// Its "passed over" words are kept with it too, for the services whose exclusions are only these.
export interface Ask {
  /** Per cluster, in the run's cluster order. */
  all: Assessment[];
  passedOver?: string;
}

/** One run's asks, by key (see askOf). */
export type Asks = Map<string, Ask>;

/** One service's state in a placement run. */
export interface Work {
  svc: ServiceView;
  /** One replica's request. */
  r: Capacity;
  /** Cluster → why it does not take (more of) the service. */
  excluded: Record<string, string>;
  /** Misses by a measure (too far, too slow), for counting alike ones in the words. */
  misses: Map<string, { kind: string; by: number }>;
  /** Clusters that take some but refused more: said apart unless excluded for another reason. */
  refusals: Record<string, string>;
  eligible: Eligible[];
  /** Unreachable clusters that keep what they had: no more, no fewer. */
  keep: Map<string, number>;
  /** What it had before this run. */
  prev: Map<string, number>;
  /** What it has so far in this run, and how many in all. */
  got: Map<string, number>;
  n: number;
  ask: Ask;
  /** Excluded by the assessment alone (no away cluster, no refusal): its words are its ask's. */
  pure: boolean;
}

/** The assessments of every cluster (`sorted`) for what `spec` asks, shared by every service that asks the same. */
export function askOf(assessed: Asks, sorted: ClusterView[], spec: ServiceSpec, targets?: Record<string, Target>, sealedTo?: SealedTo): Ask {
  const r = request(spec);
  const key = JSON.stringify([
    sealedTo ?? null,
    spec.runtime,
    spec.resources?.arch ?? null,
    spec.constraints?.clusters ?? null,
    spec.constraints?.geo ?? null,
    spec.constraints?.latency ?? null,
    spec.spread ?? null,
    r.cpu,
    r.memoryMi,
    r.gpu,
  ]);
  let ask = assessed.get(key);
  if (!ask) {
    const all = sorted.map((c) => assess(c, spec, targets, sealedTo));
    // Air-gapped clusters that could take it: only if it selects them, or no connected one could.
    if (sorted.some((c, k) => c.airGapped && !all[k].why)) {
      const why = airGappedExclusion(spec, sorted, sealedTo);
      if (why) for (let k = 0; k < sorted.length; k++) if (sorted[k].airGapped && !all[k].why) all[k] = { why };
    }
    ask = { all };
    assessed.set(key, ask);
  }
  return ask;
}

/** A service's state at the start of a run: which of the clusters (`sorted`) may take it, and why the others do not. */
export function workOf(svc: ServiceView, sorted: ClusterView[], previous: Allocation, assessed: Asks, targets?: Record<string, Target>): Work {
  const excluded: Record<string, string> = {};
  const misses = new Map<string, { kind: string; by: number }>();
  const refusals: Record<string, string> = {};
  const eligible: Eligible[] = [];
  const prev = previous.get(svc.id) ?? new Map<string, number>();
  // An unreachable cluster keeps what it had (its site goes on running it), if the service
  // still allows it there, unless the service asks for failover and the cluster has been away
  // longer than it allows.
  const keep = new Map<string, number>();
  const ask = askOf(assessed, sorted, svc.spec, targets, svc.sealedTo);
  const all = ask.all;
  let pure = true;
  for (let k = 0; k < sorted.length; k++) {
    const c = sorted[k],
      a = all[k];
    const refusal = c.refused?.[svc.id];
    const limit = refusal && (refusal.spec === undefined || refusal.spec === stableJson(svc.spec)) ? refusal.limit : Infinity;
    if (a.why === 'unreachable' && prev.get(c.name) && (c.unheard === 'unknown' || !exclusion({ ...c, online: true }, svc.spec, targets, svc.sealedTo))) {
      pure = false;
      const after = svc.spec.failover?.afterSeconds;
      if (after === undefined || (c.offlineForMs ?? 0) < after * 1000) {
        keep.set(c.name, prev.get(c.name)!);
        const away = c.unheard ? 'not heard since the root started' : 'unreachable';
        excluded[c.name] =
          after === undefined ? `${away}; keeps its replicas (no failover policy)` : `${away}; keeps its replicas until failover after ${after} s`;
        eligible.push({ c, a, limit: Infinity });
        continue;
      }
      excluded[c.name] = `unreachable for ${Math.round((c.offlineForMs ?? 0) / 1000)} s: failed over (failover.afterSeconds ${after})`;
      continue;
    }
    if (a.why) {
      excluded[c.name] = a.why;
      if (a.miss) misses.set(c.name, a.miss);
      continue;
    }
    if (limit !== Infinity) {
      pure = false;
      const text = `refused ${refusal!.count} replica${refusal!.count === 1 ? '' : 's'} (${refusal!.reason}), so it is treated as full for this service at ${limit}`;
      if (limit <= 0) {
        excluded[c.name] = text;
        continue;
      }
      refusals[c.name] = text;
    }
    eligible.push({ c, a, limit });
  }
  return { svc, r: request(svc.spec), excluded, misses, refusals, eligible, keep, prev, got: new Map(), n: 0, ask, pure };
}
