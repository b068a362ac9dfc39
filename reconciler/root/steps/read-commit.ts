// Step 1 of a pass over main: read the branch's head and load the desired state at it (judged
// against the last good one, desired.ts). Commits the head skipped over since the last one
// handled are noted "superseded" (they are written with this commit's outcome).
import { renderNote } from '../../core/note.js';
import type { RootPorts } from '../ports.js';
import type { RootState } from '../state.js';
import type { Pass, StepResult } from './pass.js';

export async function readCommit(state: RootState, ports: Pick<RootPorts, 'commits' | 'log' | 'now' | 'metrics'>, pass: Pass): Promise<StepResult> {
  const head = await ports.commits.head();
  if (!head || head === state.seen) return 'done';
  const tl = performance.now();
  const result = await ports.commits.load(head, state.good, state.parseCache);
  ports.log.debug(`loaded ${head.slice(0, 12)} in ${Math.round(performance.now() - tl)} ms`);
  for (const skipped of state.seen ? await ports.commits.skipped(state.seen, head) : []) {
    pass.notes.set(skipped, renderNote({ outcome: 'superseded', commit: skipped, at: ports.now().toISOString(), supersededBy: head }));
    ports.metrics.commits.inc({ outcome: 'superseded' });
  }
  pass.commit = { head, result };
}
