// Writing notes so that none is lost: a pass decides what each commit's note says and moves on
// (main is marked seen, the pending note's text is remembered), so a write that fails must not
// drop those notes. They are kept in the state and written with the next notes commit, the
// newer text for the same commit winning; the loop retries the failed key, and every step that
// writes notes (validate, record, convergence) goes through here.
import { timeInto } from '../../core/telemetry.js';
import type { RootPorts } from '../ports.js';
import type { RootState } from '../state.js';

export async function writeNotesKept(
  state: RootState,
  ports: Pick<RootPorts, 'notes' | 'metrics'>,
  notes: Map<string, string>,
  message: string,
): Promise<void> {
  const all = new Map([...state.unwrittenNotes, ...notes]);
  if (!all.size) return;
  try {
    await timeInto(ports.metrics.gitWrite, { what: 'notes' }, () => ports.notes.write(all, message));
  } catch (e) {
    state.unwrittenNotes = all;
    throw e;
  }
  state.unwrittenNotes = new Map();
}
