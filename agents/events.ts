// What the agent does when something happens outside a pass: an assignment arrives, the bus
// reconnects, a round trip changes. Each only records what it saw in the state and enqueues a
// pass; the pass (pass.ts) decides and acts.
import { parsePayload } from '../schemas/parse.js';
import type { AgentState } from './state.js';
import { MAX_INTEREST } from '../schemas/messages.js';

/** The one key the agent's loop knows: its node. */
export const SYNC = 'sync';

export type Enqueue = (key: string) => void;

/** A node-desired message: decoded and validated here, adopted by the next pass (steps/adopt.ts). */
export function assignmentReceived(s: AgentState, enqueue: Enqueue, drop: (topic: string, error: string) => void) {
  return (topic: string, payload: Buffer): void => {
    if (!payload.length) return; // a cleared retained message: keep running what was given
    const p = parsePayload('NodeDesired', payload, topic);
    if (!p.ok) {
      drop(topic, p.error);
      return;
    }
    s.inbox.push({ topic, assignment: p.value });
    enqueue(SYNC);
  };
}

/** After every (re)connect the status goes out again, changed or not: the broker may have lost it. */
export function reconnected(s: AgentState, enqueue: Enqueue): void {
  s.reportedKey = '';
  enqueue(SYNC);
}

/** The prober's figures changed: they go into the next status. */
export function latencyChanged(s: AgentState, latency: Record<string, number>, enqueue: Enqueue): void {
  s.latency = latency;
  enqueue(SYNC);
}

/** A workload looked up a service the node has no route for: the next status asks for it (bounded, said once per service). */
export function interestIn(s: AgentState, service: string, enqueue: Enqueue, log: { info(m: string): void }): void {
  if (s.interest.has(service) || s.interest.size >= MAX_INTEREST) return;
  s.interest.add(service);
  log.info(`a workload looked up ${service}, which this node was not told about: asking its cluster for its endpoints`);
  enqueue(SYNC);
}
