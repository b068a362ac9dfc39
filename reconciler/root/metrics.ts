// What the root measures, registered once in the part's telemetry registry (core/telemetry.ts):
// commits by outcome, how long each step takes, placement refs written, messages sent to
// clusters, failovers, time to converge, rollouts by state and outcome, and the root's health: it is unhealthy while a key keeps failing (Git
// unwritable, a commit that cannot be read), not when a commit is merely rejected.
import type { Counter, Histogram, Telemetry } from '../core/telemetry.js';
import type { RootState } from './state.js';

export interface RootMetrics {
  /** canopy_root_commits_total{outcome}: accepted, rejected, superseded. */
  commits: Counter;
  /** canopy_root_reconcile_seconds{step}. */
  stepSeconds: Histogram;
  placementsWritten: Counter;
  /** canopy_root_sends_total{kind}: snapshot or patch. */
  sends: Counter;
  failovers: Counter;
  /** canopy_root_convergence_seconds: from a commit's acceptance to its convergence. */
  convergence: Histogram;
  /** canopy_root_rollouts_total{outcome}: done, paused, rolled-back. */
  rollouts: Counter;
  /** A loop key's run failed, or succeeded (which clears its failure). */
  failed(key: string, error: unknown): void;
  succeeded(key: string): void;
}

export function rootMetrics(t: Telemetry, state: RootState): RootMetrics {
  const failing = new Map<string, string>();
  t.gaugeFn('canopy_root_clusters', 'Clusters the root knows, by state', () => {
    const n = { online: 0, offline: 0, unheard: 0 };
    for (const c of state.clusters.values()) n[c.unheard ? 'unheard' : c.online ? 'online' : 'offline']++;
    return Object.entries(n).map(([s, v]) => [{ state: s }, v]);
  });
  t.gaugeFn('canopy_root_services_off', 'Services not running as many ready replicas as they want', () => state.counts.off());
  t.gaugeFn('canopy_root_rollouts', 'Rollouts the root holds, by state (progressing, paused, rolled-back)', () => {
    const n = { progressing: 0, paused: 0, 'rolled-back': 0 };
    for (const r of state.rollouts.values()) if (r.note.state !== 'done') n[r.note.state]++;
    return Object.entries(n).map(([s, v]) => [{ state: s }, v]);
  });
  t.gaugeFn('canopy_root_epoch', 'The placement epoch (a failover opens a new one)', () => state.epoch);
  t.health('root', () => {
    if (failing.size) {
      const [[key, error]] = failing;
      return { ok: false, detail: `${key}: ${error}${failing.size > 1 ? ` (and ${failing.size - 1} more failing)` : ''}` };
    }
    return { ok: true, detail: state.good ? `in force: ${state.good.commit.slice(0, 12)}` : 'no accepted commit yet' };
  });
  return {
    commits: t.counter('canopy_root_commits_total', 'Commits of main the root decided on, by outcome'),
    stepSeconds: t.histogram('canopy_root_reconcile_seconds', 'Time spent in each step of a root pass'),
    placementsWritten: t.counter('canopy_root_placements_written_total', 'Placement refs the root wrote'),
    sends: t.counter('canopy_root_sends_total', 'Placements sent to clusters, by kind'),
    failovers: t.counter('canopy_root_failovers_total', 'Failovers (each opens a new epoch)'),
    convergence: t.histogram('canopy_root_convergence_seconds', 'From accepting a commit to the fleet running it'),
    rollouts: t.counter('canopy_root_rollouts_total', 'Rollouts that ended, by outcome'),
    failed: (key, error) => void failing.set(key, error instanceof Error ? error.message : String(error)),
    succeeded: (key) => void failing.delete(key),
  };
}
