// The two passes of a placement run over the services' state (eligible.ts), consuming the
// clusters' free capacity: pass 1 gives every service back what it had, pass 2 places the rest
// by the fleet's policy. Pure apart from the run's own state (`free`, each `Work`), which the
// passes update in place: at 10,000 services × 100 clusters nothing may be copied per step.
import type { Capacity } from '../../schemas/messages.js';
import { round1 } from '../scheduling/geo.js';
import { compareScores, type Score } from '../scheduling/score.js';
import { fitting, fits, take } from '../scheduling/capacity.js';
import type { RootScheduler } from './policies/policy.js';
import type { ServiceDecision } from './cluster-view.js';
import type { Eligible, Work } from './eligible.js';

/** Each cluster's free capacity in this run, by name. */
export type Free = Map<string, Capacity>;

export type Candidates = NonNullable<ServiceDecision['candidates']>;

const MAX_CANDIDATES = 5;

/**
 * Pass 1, sticky: every service first gets back the replicas it had where they may stay, so
 * a new or grown service never pushes out one that is already running.
 * (Taken in one step per cluster, however many: a stand-in for 10,000 settled replicas is one.)
 */
export function giveBack(work: Work[], free: Free): void {
  for (const w of work) {
    for (const { c, limit } of w.eligible) {
      const had = Math.min(w.prev.get(c.name) ?? 0, limit, w.svc.spec.replicas - w.n);
      if (had <= 0) continue;
      const f = free.get(c.name)!;
      // Kept on a cluster that is away: those replicas exist, whatever its last known free room.
      const k = w.keep.has(c.name) ? had : Math.min(had, fitting(f, w.r));
      if (k <= 0) continue;
      f.cpu -= w.r.cpu * k;
      f.memoryMi -= w.r.memoryMi * k;
      f.gpu -= w.r.gpu * k;
      w.got.set(c.name, (w.got.get(c.name) ?? 0) + k);
      w.n += k;
    }
  }
}

/**
 * Pass 2 for one service: the rest of its replicas, best by policy first; returns the best few
 * candidates as the policy saw them. A candidate's score is [first, ...policy score], kept apart
 * here (no array per comparison): 10,000 services × 100 clusters is a million scores.
 */
export function placeRest(w: Work, free: Free, scheduler: RootScheduler): Candidates {
  const spread = w.svc.spec.spread === 'clusters';
  // One scan scores every candidate once: it ranks the best few (what the policy saw, kept
  // small: a million of these must not be held) and picks the first replica's cluster, since
  // both see the same free capacity. Later replicas are scored afresh.
  const top: Array<{ e: Eligible; f: number; s: Score; i: number }> = [];
  let best: Eligible | undefined,
    bestF = 0,
    bestS: Score = [];
  w.eligible.forEach((e, i) => {
    if (w.keep.has(e.c.name)) return;
    const f = firstOf(w, e, spread),
      sc = scoreOf(w, e, free, scheduler);
    keepTop(top, { e, f, s: sc, i });
    if (w.n < w.svc.spec.replicas && open(w, e, free) && (!best || f < bestF || (f === bestF && compareScores(sc, bestS) < 0))) {
      best = e;
      bestF = f;
      bestS = sc;
    }
  });
  const candidates: Candidates = {};
  for (const { e, s: sc } of top) {
    candidates[e.c.name] = {
      score: [...sc],
      ...(e.a.rtt ? { rtt: e.a.rtt } : {}),
      ...(e.a.distanceKm !== undefined ? { distanceKm: round1(e.a.distanceKm) } : {}),
    };
  }
  if (best) add(w, (best as Eligible).c.name, free);
  while (best && w.n < w.svc.spec.replicas) {
    best = undefined;
    for (const e of w.eligible) {
      if (!open(w, e, free)) continue;
      const f = firstOf(w, e, spread),
        sc = scoreOf(w, e, free, scheduler);
      if (!best || f < bestF || (f === bestF && compareScores(sc, bestS) < 0)) {
        best = e;
        bestF = f;
        bestS = sc;
      }
    }
    if (best) add(w, (best as Eligible).c.name, free);
  }
  return candidates;
}

/**
 * The first element of a candidate's score: spread, fewest of this service first; otherwise keep
 * it together, where it already is. Between clusters equal on that, a connected one before an
 * air-gapped one (reached by a bundle carried by hand), whatever the policy says of them.
 */
function firstOf(w: Work, e: Eligible, spread: boolean): number {
  const holds = w.got.get(e.c.name) ?? 0;
  return 2 * (spread ? holds : holds > 0 ? 0 : 1) + (e.c.airGapped ? 1 : 0);
}

/** The rest of a candidate's score: the policy's. */
function scoreOf(w: Work, e: Eligible, free: Free, scheduler: RootScheduler): Score {
  return scheduler.score(
    { cluster: e.c, free: free.get(e.c.name)!, request: w.r, holds: w.got.get(e.c.name) ?? 0, rtt: e.a.rtt, distanceKm: e.a.distanceKm },
    w.svc.spec,
  );
}

/** Whether the cluster can take one more replica of the service now. */
function open(w: Work, e: Eligible, free: Free): boolean {
  return !w.keep.has(e.c.name) && (w.got.get(e.c.name) ?? 0) < e.limit && fits(free.get(e.c.name)!, w.r);
}

function add(w: Work, name: string, free: Free): void {
  take(free.get(name)!, w.r);
  w.got.set(name, (w.got.get(name) ?? 0) + 1);
  w.n++;
}

/** Keeps `top` the MAX_CANDIDATES best (lowest [f, ...s], then earliest), in order. */
function keepTop<T extends { f: number; s: Score; i: number }>(top: T[], x: T): void {
  const before = (a: T, b: T) => (a.f !== b.f ? a.f < b.f : (compareScores(a.s, b.s) || a.i - b.i) < 0);
  if (top.length === MAX_CANDIDATES && !before(x, top[top.length - 1])) return;
  let k = top.length;
  while (k > 0 && before(x, top[k - 1])) k--;
  top.splice(k, 0, x);
  if (top.length > MAX_CANDIDATES) top.pop();
}
