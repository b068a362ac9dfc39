// Recording convergence: once every cluster has applied its current placement and every service
// runs as many replicas as it wants (and nothing else runs), the pending commit's note says when,
// as do the notes of the commits accepted before it that converged with it.
import { renderNote } from '../../core/note.js';
import { sameVersion } from '../delegate.js';
import type { RootPorts } from '../ports.js';
import type { RootState } from '../state.js';

export async function recordConvergence(state: RootState, ports: Pick<RootPorts, 'book' | 'notes' | 'now' | 'log' | 'metrics'>): Promise<void> {
  const { pending } = state;
  if (!pending || pending.convergedAt || !state.good) return;
  for (const c of ports.book.clusters()) {
    const st = state.clusters.get(c);
    if (!st?.status || !sameVersion(st.status.applied, ports.book.get(c)!.version)) return;
  }
  // Kept as counts updated by each status, so this check does not walk the fleet.
  if (state.counts.off() > 0) return;
  pending.convergedAt = ports.now().toISOString();
  const notes = new Map([[pending.commit, renderNote(pending)]]);
  for (const n of state.older.splice(0)) notes.set(n.commit, renderNote({ ...n, convergedAt: pending.convergedAt }));
  await ports.notes.write(notes, `canopy: ${pending.commit.slice(0, 12)} converged`);
  ports.metrics.convergence.observe(Math.max(0, Date.parse(pending.convergedAt) - Date.parse(pending.at)) / 1000);
  ports.log.info(`converged ${pending.commit.slice(0, 12)}`);
}
