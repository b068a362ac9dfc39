// Steps 1 and 3 of a pass over main: read the branch's head, then (once its signature is judged,
// verify-signature.ts) load the desired state at it, judged against the last good one
// (desired.ts). Commits the head skipped over since the last one handled are noted "superseded"
// (they are written with this commit's outcome).
import { renderNote } from '../../core/note.js';
import type { RootPorts } from '../ports.js';
import type { RootState } from '../state.js';
import type { Pass, StepResult } from './pass.js';

export async function readCommit(state: RootState, ports: Pick<RootPorts, 'commits' | 'now' | 'metrics'>, pass: Pass): Promise<StepResult> {
  const head = await ports.commits.head();
  if (!head || head === state.seen) return 'done';
  for (const skipped of state.seen ? await ports.commits.skipped(state.seen, head) : []) {
    pass.notes.set(skipped, renderNote({ outcome: 'superseded', commit: skipped, at: ports.now().toISOString(), supersededBy: head }));
    ports.metrics.superseded.inc();
  }
  pass.commit = { head };
}

/** Load the head, unless its signature already rejected it (a refused commit is never parsed). */
export async function loadCommit(state: RootState, ports: Pick<RootPorts, 'commits' | 'log'>, pass: Pass): Promise<StepResult> {
  if (!pass.commit) return 'done';
  if (pass.commit.result) return;
  const { head } = pass.commit;
  const tl = performance.now();
  pass.commit.result = await ports.commits.load(head, state.good, state.parseCache);
  ports.log.debug(`loaded ${head.slice(0, 12)} in ${Math.round(performance.now() - tl)} ms`);
}
