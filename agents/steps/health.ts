// Step 3b of a pass: replicas whose health probe asked for a restart (agents/health/readiness.ts:
// unready past startSeconds for failureThreshold more probes) are stopped here and reported
// failed with `health probe failed: …`; the plan restarts them with the backoff of a failed
// replica (plan.ts `held`), so a workload that never passes its probe does not restart in a
// tight loop. A stopped replica no longer assigned is forgotten.
import type { ReplicaSpec } from '../../schemas/messages.js';
import type { Logger } from '../../reconciler/core/log.js';
import type { AgentState } from '../state.js';
import type { AgentDrivers } from './apply.js';

/** True when it stopped a replica (the runtimes are to be observed again). */
export async function stopFailedProbes(s: AgentState, p: { drivers: AgentDrivers; log: Logger }, now: number): Promise<boolean> {
  const assigned = new Set((s.assignment?.replicas ?? []).map((r) => r.id));
  for (const id of [...s.healthStopped.keys()]) if (!assigned.has(id)) s.healthStopped.delete(id);
  let stopped = false;
  for (const o of s.observed) {
    const rec = s.health.get(o.id);
    if (!rec?.failed || o.state !== 'running' || rec.specHash !== o.specHash || rec.since !== o.since) continue;
    p.log.warn(`stop ${o.id}: ${rec.failed}`);
    for (const drv of p.drivers.all) await drv.stop(o.id); // stop of an unknown id is a no-op
    s.health.delete(o.id);
    s.healthStopped.set(o.id, {
      id: o.id,
      service: o.service,
      specHash: o.specHash,
      state: 'failed',
      message: rec.failed,
      since: new Date(now).toISOString(),
    });
    stopped = true;
  }
  return stopped;
}

/** For the plan: why the agent stopped this replica (its spec unchanged since), or undefined. */
export function heldFor(s: AgentState): (r: ReplicaSpec) => string | undefined {
  return (r) => {
    const e = s.healthStopped.get(r.id);
    return e && e.specHash === r.specHash ? e.message : undefined;
  };
}
