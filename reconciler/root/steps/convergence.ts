// Recording convergence: once every cluster has applied its current placement and every service
// runs as many replicas as it wants, every one of them ready (and nothing else runs; a cluster
// that reports no ready count, an older one, counts its running replicas as ready; see
// running-counts.ts), the pending commit's note says when,
// as do the notes of the commits accepted before it that converged with it. Until then the note
// says what the clusters report failing or not ready (failing.ts), so it tells why it has not converged.
import { renderNote } from '../../core/note.js';
import { sameVersion } from '../delegate.js';
import type { RootPorts } from '../ports.js';
import type { RootState } from '../state.js';
import { writeNotesKept } from './notes.js';
import { idleAirGapped, noteAwaiting } from '../awaiting-bundle.js';

export async function recordConvergence(state: RootState, ports: Pick<RootPorts, 'book' | 'notes' | 'now' | 'log' | 'metrics' | 'notify'>): Promise<void> {
  const { pending } = state;
  if (!pending || !converged(state, ports)) {
    // Every connected cluster converged, air-gapped ones await a bundle: the note says so (awaiting-bundle.ts).
    noteAwaiting(state, ports.book, ports.now);
    return writeFailing(state, ports);
  }
  // The state says converged only once the notes say so: a write that fails (a ref lock left by
  // a root killed mid-write) is retried by the loop, and must find the commit still pending.
  // Converged, nothing fails any more: the note drops what held it up.
  const convergedAt = ports.now().toISOString();
  const notes = new Map([[pending.commit, renderNote({ ...pending, failing: undefined, notReady: undefined, awaitingBundle: undefined, convergedAt })]]);
  for (const n of state.older) notes.set(n.commit, renderNote({ ...n, failing: undefined, notReady: undefined, convergedAt }));
  await writeNotesKept(state, ports, notes, `canopy: ${pending.commit.slice(0, 12)} converged`);
  pending.convergedAt = convergedAt;
  pending.failing = undefined;
  pending.notReady = undefined;
  pending.awaitingBundle = undefined;
  const done = [pending, ...state.older];
  state.older.length = 0;
  ports.metrics.convergence.observe(Math.max(0, Date.parse(convergedAt) - Date.parse(pending.at)) / 1000);
  for (const n of done) ports.notify?.emit({ event: 'converged', commit: n.commit, seconds: Math.max(0, Date.parse(convergedAt) - Date.parse(n.at)) / 1000 });
  ports.log.with({ commit: pending.commit }).info(`converged ${pending.commit.slice(0, 12)}`);
}

/** A pending commit, every cluster at its placement's version, every service running as wanted, every replica ready. */
function converged(state: RootState, ports: Pick<RootPorts, 'book'>): boolean {
  if (!state.pending || state.pending.convergedAt || !state.good) return false;
  for (const c of ports.book.clusters()) {
    const st = state.clusters.get(c);
    if (idleAirGapped(state, ports.book, c)) continue;
    // A retired cluster that is gone runs nothing of the fleet (drain.ts): it is not waited for.
    if (state.drain.retired.has(c) && !st?.online) continue;
    if (!st?.status || !sameVersion(st.status.applied, ports.book.get(c)!.version)) return false;
  }
  // A rollout under way, paused or rolled back: the fleet does not run what main says.
  if (state.rollouts.holding()) return false;
  // Kept as counts (running and ready) updated by each status, so this check does not walk the fleet.
  return state.counts.off() === 0;
}

/**
 * Not converged: the failures the clusters reported go into the pending note. Notes an earlier
 * write could not write go out here at the latest (converge is resynced).
 */
async function writeFailing(state: RootState, ports: Pick<RootPorts, 'notes' | 'metrics'>): Promise<void> {
  const { pending } = state;
  const notes = new Map<string, string>();
  const text = pending && state.failingUnwritten ? renderNote(pending) : undefined;
  if (pending && text !== undefined && text !== state.lastPendingText) notes.set(pending.commit, text);
  if (!notes.size && !state.unwrittenNotes.size) return;
  const what = notes.size ? `${pending!.commit.slice(0, 12)} failing` : 'notes an earlier write could not write';
  await writeNotesKept(state, ports, notes, `canopy: ${what}`);
  state.failingUnwritten = false;
  if (text !== undefined) state.lastPendingText = text;
}
