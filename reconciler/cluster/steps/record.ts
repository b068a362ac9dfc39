// Step: record the status in Git (refs/canopy/status/<cluster>, through status-ref.ts). It runs
// beside the loop, not in it: it costs more than the report itself in a cluster holding
// thousands of services (tens of ms), and nothing the cluster does next waits for it. One write
// at a time; a status that comes while one is being written replaces any other waiting (the
// latest state is what gets recorded). A failed write is tried again by a report 2 s later.
import type { ClusterStatus } from '../../../schemas/messages.js';
import { KEYS, type ClusterPorts } from '../ports.js';
import type { ClusterState } from '../state.js';

export function recordStatus(s: ClusterState, p: ClusterPorts, status: ClusterStatus): void {
  const recorder = p.recorder;
  if (!recorder) return;
  const r = s.record;
  r.next = status;
  r.running ??= (async () => {
    while (r.next) {
      const next = r.next;
      r.next = undefined;
      const t = performance.now();
      try {
        const outcome = await recorder.record(next, p.cfg.statusRefreshMs);
        r.failures = 0;
        p.metrics.commits.inc({ outcome });
        if (outcome !== 'unchanged') p.onStatusCommit?.();
        const ms = performance.now() - t;
        p.metrics.steps.observe(ms / 1000, { step: 'record' });
        if (outcome !== 'unchanged') p.metrics.gitWrite.observe(ms / 1000, { what: 'status' });
        if (ms >= 20) p.log.debug(`status record (${outcome}): ${ms.toFixed(1)} ms`);
      } catch (e) {
        r.failures++;
        p.metrics.commits.inc({ outcome: 'error' });
        p.log.warn(`recording status in Git: ${(e as Error).message}; trying again`);
        p.work.enqueueAfter(KEYS.report, 2000);
      }
    }
  })().finally(() => {
    r.running = undefined;
  });
}

/** Resolves once no status is being or waiting to be recorded. */
export async function recorded(s: ClusterState): Promise<void> {
  while (s.record.running !== undefined) await s.record.running;
}
