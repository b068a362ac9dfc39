// Step 1 of a pass: adopt the assignments received since the last one, in arrival order. One
// from an older epoch than the assignment in force is dropped (a cluster that lost its
// leadership still talking); any other replaces it. The adopted assignment is saved, so an agent
// restarted while its cluster is unreachable goes on running it, and its heartbeat period and
// latency targets take effect.
import type { NodeDesired } from '../../schemas/messages.js';
import type { AgentState } from '../state.js';

export interface AdoptPorts {
  /** Count and log a message refused at the boundary (the bus's drop). */
  drop(topic: string, error: string): void;
  /** Keep the assignment in the state directory (may finish after the pass). */
  save(assignment: NodeDesired): void;
  /** The resync period changed. */
  heartbeat(ms: number): void;
  /** The latency targets to measure. */
  probe(targets: NodeDesired['targets']): void;
  /** The cluster's keys the assignment carries: verify what comes next by them. */
  trustKeys?(trust: NonNullable<NodeDesired['trust']>): void;
}

/** True when an assignment was adopted. */
export function adoptAssignments(s: AgentState, p: AdoptPorts): boolean {
  const received = s.inbox.splice(0);
  let adopted: NodeDesired | undefined;
  for (const { topic, assignment } of received) {
    const inForce = s.assignment;
    if (inForce && assignment.epoch < inForce.epoch) {
      p.drop(topic, `${topic}: epoch ${assignment.epoch} is older than ${inForce.epoch}`);
      continue;
    }
    s.assignment = adopted = assignment;
    const beatMs = (assignment.heartbeatSeconds ?? 0) * 1000;
    if (beatMs && beatMs !== s.heartbeatMs) {
      s.heartbeatMs = beatMs;
      p.heartbeat(beatMs);
    }
  }
  if (!adopted) return false;
  if (adopted.trust) p.trustKeys?.(adopted.trust);
  p.probe(adopted.targets);
  p.save(adopted);
  return true;
}
