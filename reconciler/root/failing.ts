// What holds the pending commit up, as the clusters tell it: for each service a cluster reports
// failing, the first reason it gave (a node's admission refusal, a crash), kept in the pending
// note until the commit converges, so `git notes --ref canopy show` says why it has not. Likewise
// for each service a cluster runs and reports not ready (its probe fails): its ready, running and
// desired counts there and the probe's message, as first reported. And the images (digests) the
// changed services run, once a cluster runs one in full. Pure.
import { MAX_SERVICE_IMAGES, type ClusterStatus } from '../../schemas/messages.js';
import type { RootState } from './state.js';

/** At most this many services are named: the note stays small however much fails. */
export const FAILING_LISTED = 200;

/** Note the failures (and images: noteImages) in a cluster's status; marks the pending note for writing when it gained one. */
export function noteFailures(state: RootState, cluster: string, status: ClusterStatus): void {
  const p = state.pending;
  if (!p || p.convergedAt) return;
  noteImages(state, status);
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

/** Note the images a cluster runs the commit's changed services with, once it runs one in full; marks the note for writing when it gained one. */
export function noteImages(state: RootState, status: ClusterStatus): void {
  const p = state.pending;
  if (!p?.changed) return;
  for (const [id, s] of Object.entries(status.services)) {
    const changed = p.changed[id];
    if (!changed || 'removed' in changed || !s.images?.length || !s.desired || (s.updated ?? s.ready ?? s.running) < s.desired) continue;
    const had = p.images?.[id] ?? [];
    const all = [...new Set([...had, ...s.images])].sort().slice(0, MAX_SERVICE_IMAGES);
    if (all.length === had.length) continue;
    if (!p.images?.[id] && Object.keys(p.images ?? {}).length >= FAILING_LISTED) return;
    (p.images ??= {})[id] = all;
    state.failingUnwritten = true;
  }
}
