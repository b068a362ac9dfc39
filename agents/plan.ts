// The agent's decision: from the replicas it should run and the ones the runtime shows, what to
// start and what to stop. Pure. A failed replica is restarted with exponential backoff, so a
// crash-looping workload does not hammer the node. A replica the node's admission rules refuse
// is never started, and one the runtime shows anyway (started before the rules) is stopped. A
// replica the agent stopped for failing its health probe is restarted like a failed one.
import type { ReplicaSpec } from '../schemas/messages.js';
import type { ObservedReplica } from './runtimes/driver.js';

export type AgentAction = { kind: 'start'; replica: ReplicaSpec; why: string } | { kind: 'stop'; id: string; why: string };

export interface RestartRecord {
  count: number;
  lastAt: number;
}

export const backoffMs = (count: number) => Math.min(60_000, 1000 * 2 ** Math.max(0, count - 1));

export function planAgent(
  desired: ReplicaSpec[],
  observed: ObservedReplica[],
  restarts: Map<string, RestartRecord>,
  now: number,
  /** Why a replica is refused by the node's admission rules (steps/admit.ts), or undefined. */
  refused: (id: string) => string | undefined = () => undefined,
  /** Why the agent stopped a replica itself (a failed health probe), or undefined: restarted with the backoff of a failed one. */
  held: (r: ReplicaSpec) => string | undefined = () => undefined,
): { actions: AgentAction[]; nextCheckMs?: number } {
  const actions: AgentAction[] = [];
  const seen = new Map(observed.map((o) => [o.id, o]));
  const want = new Set<string>();
  let nextCheckMs: number | undefined;
  const restart = (r: ReplicaSpec, after: string) => {
    const rec = restarts.get(r.id);
    const wait = rec ? rec.lastAt + backoffMs(rec.count) - now : 0;
    if (wait <= 0) actions.push({ kind: 'start', replica: r, why: `restart after: ${after}` });
    else nextCheckMs = Math.min(nextCheckMs ?? Infinity, wait);
  };
  for (const r of desired) {
    want.add(r.id);
    const o = seen.get(r.id);
    const no = refused(r.id);
    if (no !== undefined) {
      if (o) actions.push({ kind: 'stop', id: r.id, why: no });
      continue;
    }
    if (!o) {
      const stoppedFor = held(r);
      if (stoppedFor === undefined) actions.push({ kind: 'start', replica: r, why: 'missing' });
      else restart(r, stoppedFor);
      continue;
    }
    if (o.specHash !== r.specHash) {
      actions.push({ kind: 'start', replica: r, why: 'spec changed' });
      continue;
    }
    if (o.state === 'failed' || o.state === 'stopped') restart(r, o.message ?? o.state);
  }
  for (const o of observed) if (!want.has(o.id)) actions.push({ kind: 'stop', id: o.id, why: 'no longer assigned to this node' });
  return { actions, nextCheckMs };
}
