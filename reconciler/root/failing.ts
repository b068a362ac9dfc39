// What holds the pending commit up, as the clusters tell it: for each service a cluster reports
// failing, the first reason it gave (a node's admission refusal, a crash), kept in the pending
// note until the commit converges, so `git notes --ref canopy show` says why it has not. Pure.
import type { ClusterStatus } from '../../schemas/messages.js';
import type { RootState } from './state.js';

/** At most this many services are named: the note stays small however much fails. */
export const FAILING_LISTED = 200;

/** Note the failures in a cluster's status; marks the pending note for writing when it gained one. */
export function noteFailures(state: RootState, cluster: string, status: ClusterStatus): void {
  const p = state.pending;
  if (!p || p.convergedAt) return;
  let listed = Object.keys(p.failing ?? {}).length;
  for (const [id, s] of Object.entries(status.services)) {
    if (!s.failed || !s.message || p.failing?.[id] || !state.good?.services.has(id)) continue;
    if (listed >= FAILING_LISTED) return;
    (p.failing ??= {})[id] = `${cluster}: ${s.message}`;
    listed++;
    state.failingUnwritten = true;
  }
}
