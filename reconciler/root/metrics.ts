// What the root measures, registered once in the part's telemetry registry (core/telemetry.ts):
// commits by result (the contract's canopy_commits_total{result}), how long each step takes,
// Git writes, placement refs written, messages sent to clusters, failovers, commit → converged
// seconds (canopy_commit_converge_seconds), rollouts by state and outcome, clusters and nodes by
// state, replicas desired / ready (fleet totals, and per service for at most `services` of them:
// the bounded cardinality rule), and the root's health: it is unhealthy while a key keeps failing
// (Git unwritable, a commit that cannot be read), not when a commit is merely rejected.
import type { Counter, Histogram, Labels, Telemetry } from '../core/telemetry.js';
import type { RootState } from './state.js';

export interface RootMetrics {
  /** canopy_commits_total{result}: accepted, rejected. */
  commits: Counter;
  /** canopy_commits_superseded_total: heads of main passed over for a newer one before being judged. */
  superseded: Counter;
  /** canopy_root_reconcile_seconds{step}. */
  stepSeconds: Histogram;
  /** canopy_git_write_seconds{what}: placement, notes. */
  gitWrite: Histogram;
  placementsWritten: Counter;
  /** canopy_root_sends_total{kind}: snapshot or patch. */
  sends: Counter;
  failovers: Counter;
  /** canopy_commit_converge_seconds: from a commit's acceptance to its convergence. */
  convergence: Histogram;
  /** canopy_root_rollouts_total{outcome}: done, paused, rolled-back. */
  rollouts: Counter;
  /** A loop key's run failed, or succeeded (which clears its failure). */
  failed(key: string, error: unknown): void;
  succeeded(key: string): void;
}

/** Services with series of their own in canopy_service_replicas, unless told otherwise. */
export const METRICS_SERVICES = 20;

export function rootMetrics(t: Telemetry, state: RootState, o: { services?: number } = {}): RootMetrics {
  const failing = new Map<string, string>();
  observeFleet(t, state, o.services ?? METRICS_SERVICES);
  t.health('root', () => {
    if (failing.size) {
      const [[key, error]] = failing;
      return { ok: false, detail: `${key}: ${error}${failing.size > 1 ? ` (and ${failing.size - 1} more failing)` : ''}` };
    }
    return { ok: true, detail: state.good ? `in force: ${state.good.commit.slice(0, 12)}` : 'no accepted commit yet' };
  });
  const commits = t.counter('canopy_commits_total', 'Commits of main the root judged, by result (accepted, rejected)');
  // Both results from the start: a query for either finds a series (0) before the first commit.
  for (const result of ['accepted', 'rejected']) commits.inc({ result }, 0);
  const convergence = t.histogram('canopy_commit_converge_seconds', 'From accepting a commit to the fleet running it');
  convergence.declare();
  return {
    commits,
    superseded: t.counter('canopy_commits_superseded_total', 'Heads of main passed over for a newer head before being judged'),
    stepSeconds: t.histogram('canopy_root_reconcile_seconds', 'Time spent in each step of a root pass, by step'),
    gitWrite: t.histogram('canopy_git_write_seconds', 'Time to write a commit to a ref in the local repository, by what (placement, notes, status)'),
    placementsWritten: t.counter('canopy_root_placements_written_total', 'Placement refs the root wrote'),
    sends: t.counter('canopy_root_sends_total', 'Placements sent to clusters, by kind'),
    failovers: t.counter('canopy_root_failovers_total', 'Failovers (each opens a new epoch)'),
    convergence,
    rollouts: t.counter('canopy_root_rollouts_total', 'Rollouts that ended, by outcome'),
    failed: (key, error) => void failing.set(key, error instanceof Error ? error.message : String(error)),
    succeeded: (key) => void failing.delete(key),
  };
}

/** Gauges read from the state when scraped: clusters, nodes, rollouts, replicas. */
function observeFleet(t: Telemetry, state: RootState, services: number): void {
  const byState = (n: Record<string, number>): Array<[Labels, number]> => Object.entries(n).map(([s, v]) => [{ state: s }, v]);
  t.gaugeFn('canopy_root_clusters', 'Clusters the root knows, by state (online, offline, unheard)', () => {
    const n = { online: 0, offline: 0, unheard: 0 };
    for (const c of state.clusters.values()) n[c.unheard ? 'unheard' : c.online ? 'online' : 'offline']++;
    return byState(n);
  });
  t.gaugeFn('canopy_root_nodes', "Nodes of the clusters heard from, by state (online, offline), as each cluster's last status says", () => {
    const n = { online: 0, offline: 0 };
    for (const c of state.clusters.values()) {
      const nodes = c.status?.nodes;
      if (!nodes) continue;
      n.online += c.online ? nodes.online : 0;
      n.offline += c.online ? nodes.total - nodes.online : nodes.total;
    }
    return byState(n);
  });
  t.gaugeFn('canopy_root_services_off', 'Services not running as many ready replicas as they want', () => state.counts.off());
  t.gaugeFn('canopy_root_rollouts', 'Rollouts the root holds, by state (progressing, paused, rolled-back)', () => {
    const n = { progressing: 0, paused: 0, 'rolled-back': 0 };
    for (const r of state.rollouts.values()) if (r.note.state !== 'done') n[r.note.state]++;
    return byState(n);
  });
  t.gaugeFn('canopy_root_epoch', 'The placement epoch (a failover opens a new one)', () => state.epoch);
  t.gaugeFn('canopy_replicas', 'Replicas of every service of the commit in force, summed, by state (desired, ready)', () => {
    let desired = 0;
    let ready = 0;
    for (const [id, s] of state.good?.services ?? []) {
      desired += s.spec.replicas;
      ready += state.counts.of(id).ready;
    }
    return byState({ desired, ready });
  });
  t.gaugeFn(
    'canopy_service_replicas',
    `Replicas desired and ready per service (label service), for the ${services} services wanting the most replicas (ties by name)`,
    () => serviceReplicas(state, services),
  );
}

/** The `limit` services wanting the most replicas (ties by id): two series each, so at most 2 × limit. */
export function serviceReplicas(state: Pick<RootState, 'good' | 'counts'>, limit: number): Array<[Labels, number]> {
  if (limit <= 0 || !state.good) return [];
  const top: Array<[string, number]> = [];
  for (const [id, s] of state.good.services) top.push([id, s.spec.replicas]);
  top.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return top.slice(0, limit).flatMap(
    ([service, desired]): Array<[Labels, number]> => [
      [{ service, state: 'desired' }, desired],
      [{ service, state: 'ready' }, state.counts.of(service).ready],
    ],
  );
}
