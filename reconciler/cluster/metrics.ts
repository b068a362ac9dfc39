// What the cluster measures, registered in its telemetry registry: placements adopted by where
// they came from, node messages sent, reports to the root, status commits by outcome, the
// duration of each step, and (read when collected) its nodes by state and replicas assigned or
// not. Its health: it can do its job while it reaches its nodes (the root may be away: it keeps
// enforcing its last placement).
import { timeInto, type Counter, type Histogram, type Telemetry } from '../core/telemetry.js';
import type { ClusterState } from './state.js';

export interface ClusterMetrics {
  /** {source: snapshot | patch | git} */
  adopted: Counter;
  /** {reason: stale | base}: placements not taken (older than the one in force; a patch for another base). */
  ignored: Counter;
  /** node-desired messages published. */
  assigned: Counter;
  /** Status messages published to the root. */
  reports: Counter;
  /** {outcome: changed | heartbeat | unchanged | error} */
  commits: Counter;
  /** {step} */
  steps: Histogram;
  /** canopy_git_write_seconds{what: status}: a status record committed to its ref. */
  gitWrite: Histogram;
}

export function clusterMetrics(t: Telemetry): ClusterMetrics {
  return {
    adopted: t.counter('canopy_cluster_placements_adopted_total', 'Placements adopted, by source (snapshot, patch over MQTT; git)'),
    ignored: t.counter('canopy_cluster_placements_ignored_total', 'Placements not adopted, by reason (stale, base)'),
    assigned: t.counter('canopy_cluster_assignments_sent_total', 'Desired states published to nodes'),
    reports: t.counter('canopy_cluster_reports_total', 'Status reports published to the root'),
    commits: t.counter('canopy_cluster_status_commits_total', 'Status records in Git, by outcome (changed, heartbeat, unchanged, error)'),
    steps: t.histogram('canopy_cluster_reconcile_seconds', 'Duration of each reconcile step, by step'),
    gitWrite: t.histogram('canopy_git_write_seconds', 'Time to write a commit to a ref in the local repository, by what (placement, notes, status)'),
  };
}

/** Gauges read from the state when collected, and the health check. */
export function observeState(t: Telemetry, s: ClusterState, reachesNodes: () => boolean): void {
  t.gaugeFn('canopy_cluster_nodes', 'Nodes by state (online, disconnected within its grace period, unreachable)', () => {
    const by = { online: 0, disconnected: 0, unreachable: 0 };
    for (const n of s.nodes.values()) by[!n.online ? 'unreachable' : n.connected ? 'online' : 'disconnected']++;
    return Object.entries(by).map(([state, v]) => [{ state }, v]);
  });
  t.gaugeFn('canopy_cluster_replicas', 'Replicas of the placement in force, by state (assigned to a node, unplaced)', () => [
    [{ state: 'assigned' }, s.assignment.size],
    [{ state: 'unplaced' }, [...s.unplaced.values()].reduce((a, b) => a + b, 0)],
  ]);
  t.gaugeFn('canopy_cluster_placement_seq', 'The seq of the placement in force (0 for none)', () => s.placement?.version.seq ?? 0);
  t.health('cluster', () => {
    const online = [...s.nodes.values()].filter((n) => n.online).length;
    const applied = s.placement ? `placement #${s.placement.version.seq}` : 'no placement yet';
    const failing = s.record.failures ? `; status record failing (${s.record.failures} in a row)` : '';
    const detail = `${applied}, ${online}/${s.nodes.size} nodes online${failing}`;
    return reachesNodes() ? { ok: true, detail } : { ok: false, detail: `the node bus is not connected; ${detail}` };
  });
}

/** Run a step and observe its duration as canopy_cluster_reconcile_seconds{step}. */
export function timed<T>(m: ClusterMetrics, step: string, f: () => Promise<T> | T): Promise<T> {
  return timeInto(m.steps, { step }, f);
}
