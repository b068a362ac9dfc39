// Step 5: record the pass in Git. The pending commit's note says where every service it changed
// went (also on later passes: clusters that report after the first pass change where things go,
// and the note must say where they went); it and the pass's other notes are written in one
// notes commit. Then convergence is looked at.
import { renderNote } from '../../core/note.js';
import type { RootPorts } from '../ports.js';
import type { RootState } from '../state.js';
import type { Pass, StepResult } from './pass.js';
import { writeNotesKept } from './notes.js';

export async function record(
  state: RootState,
  ports: Pick<RootPorts, 'notes' | 'log' | 'queue' | 'metrics' | 'notify' | 'book'>,
  pass: Pass,
): Promise<StepResult> {
  const { good } = state;
  if (!good) return 'done';
  const t0 = performance.now();
  notePlacements(state, pass);
  await writeNotesKept(state, ports, pass.notes, `canopy: ${good.commit.slice(0, 12)} ${state.pending?.convergedAt ? 'converged' : 'accepted'}`);
  const { result } = pass.placed ?? {};
  const ms = (n: number | undefined) => `${Math.round(n ?? 0)} ms`;
  ports.log.debug(
    `place ${result?.recomputed.size ?? 0} of ${result?.decisions.size ?? 0}: decide ${ms(pass.ms.place)}, ${pass.written} placement ref(s) ${ms(pass.ms.delegate)}, notes ${ms(performance.now() - t0)}`,
  );
  ports.queue.enqueue('converge');
  const loaded = pass.commit?.result;
  if (!loaded?.ok) return;
  const { head } = pass.commit!;
  ports.log.with({ commit: head }).info(`accepted ${head.slice(0, 12)}: ${loaded.changed.size} changed, ${loaded.removed.size} removed`);
  const clusters = ports.book.clusters().filter((c) => Object.keys(ports.book.get(c)?.services ?? {}).length).length;
  ports.notify?.emit({ event: 'accepted', commit: head, clusters, changed: loaded.changed.size, removed: loaded.removed.size });
}

/** Fill the pending note in from this pass's decisions; into `pass.notes` when its text changed. */
export function notePlacements(state: RootState, pass: Pass): void {
  const { pending } = state;
  const decisions = pass.placed?.result.decisions;
  if (!pending || pending.convergedAt || !decisions) return;
  const ids = new Set([
    ...pass.changed,
    ...Object.entries(pending.changed ?? {})
      .filter(([, v]) => !('removed' in v))
      .map(([k]) => k),
  ]);
  for (const id of ids) {
    const d = decisions.get(id);
    if (!d) continue;
    // Moved off a retired cluster (steps/drain.ts): the note says so.
    const off = state.drain.moved?.commit === pending.commit ? state.drain.moved.from.get(id) : undefined;
    const reason = off ? `moved off ${off} (cluster ${off} retired): ${d.reason}` : d.reason;
    pending.changed![id] = { desired: d.desired, placed: d.placed, clusters: Object.fromEntries(d.clusters), reason };
  }
  pending.unschedulable = state.docs.short();
  const text = renderNote(pending);
  if (text !== state.lastPendingText) {
    pass.notes.set(pending.commit, text);
    state.lastPendingText = text;
  }
}
