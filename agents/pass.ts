// One reconcile pass of the node agent, the ordered steps the loop runs for its one key: adopt
// the assignments received (steps/adopt.ts), judge them by the node's admission rules
// (steps/admit.ts), observe the runtimes (steps/observe.ts), stop the replicas failing their health
// probe (steps/health.ts), plan (plan.ts), apply the plan
// (steps/apply.ts) and look again, remove the volumes of deleted services (steps/volumes.ts), report the status (steps/report.ts). A capability to come is a step here or a port below, not code in startAgent.
import type { ReconcileResult } from '../reconciler/runtime/loop.js';
import type { NodeDesired } from '../schemas/messages.js';
import { planAgent } from './plan.js';
import type { NodeFacts } from './node-facts.js';
import type { AgentState } from './state.js';
import { adoptAssignments, type AdoptPorts } from './steps/adopt.js';
import { admitReplicas, type AdmitPorts } from './steps/admit.js';
import { observeRuntimes } from './steps/observe.js';
import { applyActions, forgetSettled, type ApplyPorts } from './steps/apply.js';
import { reportStatus, type ReportPorts } from './steps/report.js';
import { heldFor, stopFailedProbes } from './steps/health.js';
import { dropVolumes } from './steps/volumes.js';
import type { AgentMetrics } from './metrics.js';

export interface PassPorts extends AdoptPorts, AdmitPorts, ApplyPorts, ReportPorts, Partial<AgentMetrics> {
  facts: NodeFacts;
  /** The health probes (agents/health/scheduler.ts): told after each look at the runtimes which replicas run. */
  health?: { sync(): void };
  /** Listen for the routes of the assignment in force, before any replica starts (agents/network). */
  syncRoutes?(routes: NodeDesired['routes']): Promise<void>;
}

/** Asks to be run again when a failed replica's backoff ends. */
export async function syncPass(s: AgentState, p: PassPorts): Promise<ReconcileResult | void> {
  adoptAssignments(s, p);
  admitReplicas(s, p);
  // Where the services its replicas call are listened for: known before any of them starts.
  await p.syncRoutes?.(s.assignment?.routes);
  const now = p.now();
  let observed = await observeRuntimes(s, p.drivers.all);
  // Replicas that failed their health probe: stopped, and restarted by the plan after their backoff.
  if (await stopFailedProbes(s, p, now)) observed = await observeRuntimes(s, p.drivers.all);
  const refused = (id: string) => s.admission.get(id)?.refused?.message;
  const { actions, nextCheckMs } = planAgent(s.assignment?.replicas ?? [], observed, s.restarts, now, refused, heldFor(s));
  if (actions.length) {
    const t0 = performance.now();
    await applyActions(s, p, actions, now);
    p.applied?.((performance.now() - t0) / 1000);
    await observeRuntimes(s, p.drivers.all);
  }
  p.health?.sync();
  await dropVolumes(s, p);
  forgetSettled(s, now);
  await reportStatus(s, p.facts, p, new Date(p.now()).toISOString());
  return nextCheckMs !== undefined ? { requeueAfterMs: nextCheckMs } : undefined;
}
