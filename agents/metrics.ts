// What the agent measures, registered in its part's telemetry registry: replicas by state (as
// last reported), replicas its admission rules refuse, restarts of failed replicas, how long
// carrying out a plan takes, and whether the runtime answers. Labels stay bounded: states and
// runtime kinds, never replica ids.
import type { Telemetry } from '../reconciler/core/telemetry.js';
import type { ReplicaPhase } from './runtimes/driver.js';
import type { AgentState } from './state.js';

const PHASES: readonly ReplicaPhase[] = ['starting', 'running', 'failed', 'stopped'];

export interface AgentMetrics {
  /** A failed or stopped replica was restarted. */
  restarted(runtime: string): void;
  /** A pass carried out its actions in this many seconds. */
  applied(seconds: number): void;
}

export function agentMetrics(t: Telemetry, s: AgentState): AgentMetrics {
  t.gaugeFn('canopy_agent_replicas', 'Replicas on this node by state, as last reported', () => replicasByState(s));
  t.gaugeFn('canopy_agent_replicas_refused', "Replicas refused by the node's admission rules (--allow-image, --allow-command)", () => {
    let n = 0;
    for (const a of s.admission.values()) if (a.refused) n++;
    return n;
  });
  t.health('runtime', () =>
    s.runtimeError === undefined ? { ok: true } : { ok: false, detail: `the runtime does not list its workloads: ${s.runtimeError}` },
  );
  const restarts = t.counter('canopy_agent_restarts_total', 'Restarts of failed or stopped replicas, by runtime');
  const apply = t.histogram('canopy_agent_apply_seconds', "Time to carry out one pass's starts and stops");
  return {
    restarted: (runtime) => restarts.inc({ runtime }),
    applied: (seconds) => apply.observe(seconds),
  };
}

/** Every state, zeros included, so the series do not come and go. */
export function replicasByState(s: AgentState): Array<[{ state: string }, number]> {
  const n = new Map<string, number>(PHASES.map((p) => [p, 0]));
  for (const r of s.status?.replicas ?? []) n.set(r.state, (n.get(r.state) ?? 0) + 1);
  return [...n].map(([state, count]) => [{ state }, count]);
}
