// What users read of air-gapped clusters (clusters/<c>.yaml `spec.connectivity: air-gapped`): a
// service placed on one that its last status (come back by bundle) does not show running at the
// placement's version is `awaiting-bundle` there, once every connected cluster runs its share:
// not converged, not failed; the reason says how to bring the site its placement. Pure.
import { exportHint } from '../core/air-gapped.js';

/** An air-gapped cluster a service is placed on, not seen running it. */
export interface Awaiting {
  cluster: string;
  /** The placement's sequence number it must apply. */
  seq: number;
  replicas: number;
  /** What its last status says it runs of the service. */
  running: number;
  ready: number;
  /** Its last status is of an older placement (or there is none). */
  behind: boolean;
}

/** What `judge` needs of a service's counts. */
interface Counts {
  want: number;
  running: number;
  ready: number;
  stale: boolean;
  awaiting?: Awaiting[];
}

/** awaiting-bundle when every connected cluster runs its share ready; undefined otherwise (judged as usual). */
export function awaitingJudged(c: Counts): { state: 'awaiting-bundle'; reason: string } | undefined {
  const awaiting = c.awaiting ?? [];
  if (!awaiting.length || c.stale) return undefined;
  const sum = (f: (a: Awaiting) => number) => awaiting.reduce((n, a) => n + f(a), 0);
  const want = c.want - sum((a) => a.replicas);
  if (c.running - sum((a) => a.running) !== want || c.ready - sum((a) => a.ready) !== want) return undefined;
  return { state: 'awaiting-bundle', reason: awaitingReason(awaiting, want) };
}

/** `2/2 ready on connected clusters; air-gapped ship awaits placement #7 (0/1 there by its last status): export a bundle: …` */
export function awaitingReason(awaiting: readonly Awaiting[], connected: number): string {
  const parts = awaiting.map(
    (a) =>
      `air-gapped ${a.cluster} ${a.behind ? `awaits placement #${a.seq}` : 'has not reported it ready'} (${a.ready}/${a.replicas} ready there by its last status): ${exportHint(a.cluster)}`,
  );
  return `${connected}/${connected} ready on connected clusters; ${parts.join('; ')}`;
}
