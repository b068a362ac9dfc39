// Everything the node agent keeps between passes, in one object: the assignment in force, the
// ones just received, the restart records behind the backoff, what the runtime showed last and
// what was last reported. Event handlers write the observed parts and enqueue a pass; the steps
// (steps/*.ts) read and update the rest. Nothing here does I/O.
import type { NodeDesired, NodeStatus, ReplicaState } from '../schemas/messages.js';
import type { ObservedReplica } from './runtimes/driver.js';
import type { RestartRecord } from './plan.js';
import type { HealthRecord } from './health/readiness.js';

/** How the node's admission rules judged a replica's spec (steps/admit.ts). */
export interface Admitted {
  specHash: string;
  /** Refused: reported as this failed replica, never started. */
  refused?: ReplicaState;
  /** Admitted process: its argv with the executable as judged, an absolute path. */
  command?: string[];
}

/** An assignment as it came off the bus, waiting for the next pass to adopt it. */
export interface ReceivedAssignment {
  topic: string;
  assignment: NodeDesired;
}

export interface AgentState {
  /** The assignment in force: from the state directory at start, then from the cluster. */
  assignment: NodeDesired | undefined;
  /** Assignments received since the last pass, in arrival order (each is checked against the one before). */
  inbox: ReceivedAssignment[];
  /** The resync (and heartbeat) period; follows the cluster's once an assignment says it. */
  heartbeatMs: number;
  /** Restarts per replica id, for the backoff; forgotten once a replica has run for a while. */
  restarts: Map<string, RestartRecord>;
  /** Replicas whose start failed and that the runtime does not show, reported as failed. */
  startErrors: Map<string, ReplicaState>;
  /** Running replicas with a health probe: their readiness (agents/health, written by the probes off the pass). */
  health: Map<string, HealthRecord>;
  /** Replicas the agent stopped for failing their probe (steps/health.ts), reported failed until restarted after their backoff. */
  healthStopped: Map<string, ReplicaState>;
  /** The assignment's replicas as the admission rules judged them (empty when there are no rules). */
  admission: Map<string, Admitted>;
  /** What the drivers listed in the last pass. */
  observed: ObservedReplica[];
  /** Why the drivers could not be listed in the last pass (undefined when they could). */
  runtimeError: string | undefined;
  /** Round trips to the latency targets (target → ms), as the prober last told. */
  latency: Record<string, number>;
  /** The status the last pass built (published or not). */
  status: NodeStatus | undefined;
  /** Services its workloads looked up by name without a route (reported: the cluster adds their routes). */
  interest: Set<string>;
  /** The last published status without its time; '' after a reconnect, so the next one goes out. */
  reportedKey: string;
  /** The services whose volumes the last look kept (steps/volumes.ts); undefined: look again. */
  volumesKey?: string;
}

export function newAgentState(assignment: NodeDesired | undefined, heartbeatMs: number): AgentState {
  return {
    assignment,
    inbox: [],
    heartbeatMs,
    restarts: new Map(),
    startErrors: new Map(),
    health: new Map(),
    healthStopped: new Map(),
    admission: new Map(),
    observed: [],
    runtimeError: undefined,
    latency: {},
    interest: new Set(),
    status: undefined,
    reportedKey: '',
  };
}
