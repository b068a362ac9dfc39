// A root pass: an ordered list of named steps over the state, the ports and what the pass has
// found so far (`Pass`). A step may end the pass ('done': nothing changed, or a rejection was
// recorded); each step's time goes to canopy_root_reconcile_seconds{step}.
import type { NoteSignature } from '../../core/note.js';
import type { LoadResult } from '../desired.js';
import type { IncrementalResult } from '../incremental.js';
import type { RootPorts } from '../ports.js';
import type { RootState } from '../state.js';
import { timeInto } from '../../core/telemetry.js';

/** What the place step decided: what the delegate and record steps act on. */
export interface Placed {
  result: IncrementalResult;
  /** Each cluster whose document changed, and the services that changed in it. */
  touched: Map<string, string[]>;
  /** Replicas were taken from an unreachable cluster: a new epoch was opened. */
  failedOver: boolean;
  /** The clusters placement looked at (those with a status). */
  clusters: string[];
}

export interface Pass {
  /** Notes the pass writes at its end, commit → text (one notes commit). */
  notes: Map<string, string>;
  /**
   * The head read (a pass over a new commit only); what loading it gave, or a rejection of its
   * signature (then it is not loaded); who signed it, when fleet.yaml requires signed commits.
   */
  commit?: { head: string; result?: LoadResult; signature?: NoteSignature };
  /** The accepted commit before this pass's (a pass over a new commit that is accepted). */
  before?: string;
  /** Services the accepted commit changed or removed (none on a re-placement). */
  changed: string[];
  removed: string[];
  placed?: Placed;
  /** Placement refs written. */
  written: number;
  /** Each step's time (ms), for the debug line. */
  ms: Record<string, number>;
}

export const newPass = (): Pass => ({ notes: new Map(), changed: [], removed: [], written: 0, ms: {} });

export type StepResult = 'done' | void;

export interface Step {
  name: string;
  run(state: RootState, ports: RootPorts, pass: Pass): Promise<StepResult> | StepResult;
}

export async function runPass(steps: readonly Step[], state: RootState, ports: RootPorts, pass: Pass = newPass()): Promise<Pass> {
  for (const step of steps) {
    const t0 = performance.now();
    let r: StepResult;
    try {
      r = await step.run(state, ports, pass);
    } finally {
      pass.ms[step.name] = performance.now() - t0;
      ports.metrics.stepSeconds.observe(pass.ms[step.name] / 1000, { step: step.name });
    }
    if (r === 'done') break;
  }
  return pass;
}

/** One timed step outside a pass (a send, a liveness record, the convergence check). */
export function timed<T>(ports: Pick<RootPorts, 'metrics'>, step: string, run: () => Promise<T>): Promise<T> {
  return timeInto(ports.metrics.stepSeconds, { step }, run);
}
