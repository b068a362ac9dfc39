// What holds the pending commit up, as the clusters tell it: for each service a cluster reports
// failing, the first reason it gave (a node's admission refusal, a crash), kept in the pending
// note until the commit converges, so `git notes --ref canopy show` says why it has not. Likewise
// for each service a cluster runs and reports not ready (its probe fails): its ready, running and
// desired counts there and the probe's message, as first reported. Pure.
import type { ClusterStatus } from '../../schemas/messages.js';
import type { RootState } from './state.js';

/** At most this many services are named: the note stays small however much fails. */
export const FAILING_LISTED = 200;

/** Note the failures in a cluster's status; marks the pending note for writing when it gained one. */
export function noteFailures(state: RootState, cluster: string, status: ClusterStatus): void {
  const p = state.pending;
  if (!p || p.convergedAt) return;
  let listed = Object.keys(p.failing ?? {}).length + Object.keys(p.notReady ?? {}).length;
  for (const [id, s] of Object.entries(status.services)) {
    if (!s.message || !state.good?.services.has(id)) continue;
    const failing = s.failed > 0 && !p.failing?.[id];
    const unready = s.running > (s.ready ?? s.running) && !p.notReady?.[id];
    if (!failing && !unready) continue;
    if (listed >= FAILING_LISTED) return;
    if (failing) (p.failing ??= {})[id] = `${cluster}: ${s.message}`;
    else (p.notReady ??= {})[id] = `${cluster}: ${s.ready}/${s.desired} ready, ${s.running} running: ${s.message}`;
    listed++;
    state.failingUnwritten = true;
  }
}
