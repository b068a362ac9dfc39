// Step 4 of a pass over main: accept the commit's desired state or reject it whole (for its
// problems, or for its signature: verify-signature.ts). A rejection leaves the last good state
// in force and is recorded at once (its note names each problem at file:line, and who signed
// when fleet.yaml requires signed commits); an acceptance makes it the good state and opens its
// note, which the record step fills in with where things went.
import { renderNote, type CommitNote } from '../../core/note.js';
import type { RootPorts } from '../ports.js';
import type { RootState } from '../state.js';
import type { Pass, StepResult } from './pass.js';
import { writeNotesKept } from './notes.js';

export async function validate(
  state: RootState,
  ports: Pick<RootPorts, 'notes' | 'log' | 'now' | 'stats' | 'metrics' | 'notify'>,
  pass: Pass,
): Promise<StepResult> {
  if (!pass.commit?.result) return 'done';
  const { head, result: res, signature } = pass.commit;
  const signed = signature ? { signature } : {};
  const good = state.good;
  if (!res.ok) {
    ports.stats.rejected++;
    ports.metrics.commits.inc({ result: 'rejected' });
    ports.log
      .with({ commit: head })
      .warn(`rejected ${head.slice(0, 12)}: ${res.problems.length} problem(s), keeping ${good?.commit.slice(0, 12) ?? 'nothing'}`);
    pass.notes.set(
      head,
      renderNote({ outcome: 'rejected', commit: head, at: ports.now().toISOString(), problems: res.problems, inForce: good?.commit, ...signed }),
    );
    state.seen = head;
    await writeNotesKept(state, ports, pass.notes, `canopy: ${head.slice(0, 12)} rejected`);
    ports.notify?.emit({ event: 'rejected', commit: head, problems: res.problems, inForce: good?.commit });
    return 'done';
  }
  ports.stats.accepted++;
  ports.metrics.commits.inc({ result: 'accepted' });
  pass.before = good?.commit;
  state.good = res.state;
  state.counts.desiredChanged([...res.changed, ...res.removed], res.state.services);
  state.seen = head;
  const changed: CommitNote['changed'] = {};
  for (const id of res.removed) changed[id] = { removed: true };
  // An earlier accepted commit that has not converged converges with this one.
  if (state.pending && !state.pending.convergedAt) state.older.push(state.pending);
  state.pending = { outcome: 'accepted', commit: head, at: ports.now().toISOString(), changed, ...signed };
  pass.changed = [...res.changed];
  pass.removed = [...res.removed];
}
