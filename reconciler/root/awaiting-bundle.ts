// Convergence with air-gapped clusters: they hear of a placement, and the root of what they run,
// only by bundle files, days later perhaps. So the pending commit's note says first when every
// connected cluster has converged on it, naming the air-gapped clusters it still awaits a bundle
// from (`connectedConvergedAt`, `awaitingBundle`: `canopy wait` exits 5 naming them); convergedAt
// comes once their statuses come back at the placement's version, every replica ready. Pure.
import type { ClusterStatus } from '../../schemas/messages.js';
import { sameVersion } from '../core/version.js';
import type { BookPort } from './ports.js';
import type { RootState } from './state.js';

type Service = ClusterStatus['services'][string];
const readyOf = (s: Service | undefined) => s?.updated ?? s?.ready ?? s?.running ?? 0;

/** An air-gapped cluster whose placement holds nothing and that runs nothing: convergence does not wait for it. */
export function idleAirGapped(state: RootState, book: Pick<BookPort, 'get'>, cluster: string): boolean {
  const st = state.clusters.get(cluster);
  if (!st?.airGapped) return false;
  const doc = book.get(cluster);
  return !Object.keys(doc?.services ?? {}).length && !Object.values(st.status?.services ?? {}).some((s) => s.running > 0);
}

/**
 * The air-gapped clusters the pending commit awaits a bundle from, when every connected cluster
 * has converged on it (at its placement's version, each service running as many ready replicas
 * as it wants less those given to air-gapped clusters); undefined otherwise.
 */
export function awaitingBundle(state: RootState, book: Pick<BookPort, 'get' | 'clusters'>): string[] | undefined {
  const { pending, good } = state;
  if (!pending || pending.convergedAt || !good || state.rollouts.holding()) return undefined;
  const airGapped = book.clusters().filter((c) => state.clusters.get(c)?.airGapped && !idleAirGapped(state, book, c));
  if (!airGapped.length) return undefined;
  for (const c of book.clusters()) {
    const st = state.clusters.get(c);
    if (st?.airGapped) continue;
    if (!st?.status || !sameVersion(st.status.applied, book.get(c)!.version)) return undefined;
  }
  // What the air-gapped clusters are given and what their last statuses say they run: the rest is the connected clusters'.
  const given = new Map<string, number>();
  const runs = new Map<string, { running: number; ready: number }>();
  const awaiting = new Set<string>();
  for (const c of airGapped) {
    const doc = book.get(c)!;
    const status = state.clusters.get(c)!.status;
    if (!sameVersion(status?.applied, doc.version)) awaiting.add(c);
    for (const [id, a] of Object.entries(doc.services)) {
      given.set(id, (given.get(id) ?? 0) + a.replicas);
      const s = status?.services[id];
      if (!s || s.running !== a.replicas || readyOf(s) !== a.replicas) awaiting.add(c);
    }
    for (const [id, s] of Object.entries(status?.services ?? {})) {
      const r = runs.get(id) ?? { running: 0, ready: 0 };
      runs.set(id, { running: r.running + s.running, ready: r.ready + readyOf(s) });
    }
  }
  for (const id of state.counts.offServices()) {
    const want = (good.services.get(id)?.spec.replicas ?? 0) - (given.get(id) ?? 0);
    const all = state.counts.of(id);
    const there = runs.get(id) ?? { running: 0, ready: 0 };
    if (all.running - there.running !== want || all.ready - there.ready !== want) return undefined;
  }
  return awaiting.size ? [...awaiting].sort() : undefined;
}

/** Keep the pending note's `awaitingBundle` as it is now; true when it changed (the note is then written). */
export function noteAwaiting(state: RootState, book: Pick<BookPort, 'get' | 'clusters'>, now: () => Date): boolean {
  const p = state.pending;
  if (!p || p.convergedAt) return false;
  const list = awaitingBundle(state, book);
  if (JSON.stringify(list ?? null) === JSON.stringify(p.awaitingBundle ?? null)) return false;
  if (list) {
    p.awaitingBundle = list;
    p.connectedConvergedAt ??= now().toISOString();
  } else {
    // A connected cluster moved away from it again: not what `wait` may report any more.
    p.awaitingBundle = undefined;
    p.connectedConvergedAt = undefined;
  }
  state.failingUnwritten = true;
  return true;
}
