// Rollouts across clusters, as the root runs them: a service whose descriptor has a `rollout`
// and whose workload a commit changes goes to its clusters wave by wave (core/waves.ts). The
// clusters of a wave not started yet keep the last spec that was ready (`from`) in their
// placement; a wave's clusters get the new one when it starts; a wave whose reachable clusters
// all report every replica on the new spec ready (`ServiceStatus.updated`) and stay so for
// bakeSeconds lets the next start. A wave not ready progressDeadlineSeconds after it started,
// or still not ready CRASH_LOOP_MS after replicas on the new spec failed (a crash loop, a
// refusal, an image that cannot be had), fails the rollout: paused (clusters keep what they
// have) or, with autoRollback, rolled back (every cluster gets `from` again). An unreachable cluster does not hold its wave: it is
// skipped, keeps `from` while the rollout runs, and gets the outcome when it ends. Each change
// is written in the notes (core/note.ts NoteRollout). Pure apart from the state it is handed.
import type { Rollout, ServiceSpec } from '../../schemas/model.js';
import type { CommitNote, NoteRollout, NoteWave } from '../core/note.js';

export interface HeldSpec {
  spec: ServiceSpec;
  hash: string;
}

export interface Rolling {
  id: string;
  /** The record in the notes, changed as the rollout goes. */
  note: NoteRollout;
  /** The note of the commit that started it (written again as it goes, also after later commits). */
  origin: CommitNote;
  from: HeldSpec;
  to: HeldSpec;
  cfg: { bakeMs: number; deadlineMs: number; autoRollback: boolean };
  /** The wave under way (waves.length once every wave baked). */
  wave: number;
  /** Clusters given the new spec. */
  given: Set<string>;
  /** When a cluster of the wave first reported replicas on the new spec failed, since the wave was last ready (ms). */
  failingSince?: number;
  /** What the last failure said. */
  failingWhy?: string;
}

/**
 * A wave still not ready this long after replicas on the new spec failed (exited, crash-looping,
 * refused, not pulled) fails before its deadline: a crash loop alternates failed and running, so
 * the time counts from the first failure until the wave is ready, not while failures last.
 */
export const CRASH_LOOP_MS = 30_000;

/** What a rollout sees of the clusters: whether one is reachable, and whether it runs the new spec ready. */
export interface WaveView {
  online(cluster: string): boolean;
  /** Air-gapped (clusters/<c>.yaml): never waited for, as an unreachable cluster; it takes the outcome by bundle. */
  airGapped?(cluster: string): boolean;
  /** The cluster's placement gives it spec `hash`, it applied that, and every replica runs it ready; else why not. */
  ready(cluster: string, id: string, hash: string): { ok: true } | { ok: false; why: string; failing?: boolean };
}

/** What one look at a rollout changed, and when to look again. */
export interface Advance {
  /** Which clusters get which spec changed: the placements are written again. */
  respec: boolean;
  /** The record changed: the notes are written again. */
  noted: boolean;
  /** Look again after this long (a bake ending, a deadline). */
  wakeMs?: number;
}

export function rolloutConfig(r: Rollout | undefined): Rolling['cfg'] {
  return {
    bakeMs: 1000 * (r?.bakeSeconds ?? 0),
    deadlineMs: 1000 * (r?.progressDeadlineSeconds ?? 600),
    autoRollback: r?.autoRollback ?? false,
  };
}

export class Rollouts {
  private active = new Map<string, Rolling>();

  get(id: string): Rolling | undefined {
    return this.active.get(id);
  }

  set(r: Rolling): void {
    this.active.set(r.id, r);
  }

  delete(id: string): void {
    this.active.delete(id);
  }

  values(): IterableIterator<Rolling> {
    return this.active.values();
  }

  get size(): number {
    return this.active.size;
  }

  /**
   * The spec cluster `c` is to run of service `id` when a rollout holds it at another than the
   * desired one: the last ready spec before its wave started, and everywhere after a rollback.
   */
  specFor(id: string, cluster: string): HeldSpec | undefined {
    const r = this.active.get(id);
    if (!r || r.note.state === 'done') return undefined;
    if (r.note.state === 'rolled-back') return r.from;
    return r.given.has(cluster) ? undefined : r.from;
  }

  /** A rollout under way or failed: the fleet does not run what main says, so nothing converges. */
  holding(): boolean {
    for (const r of this.active.values()) if (r.note.state !== 'done') return true;
    return false;
  }

  /** Whether a status from `cluster` may move a rollout on (its current wave holds the cluster). */
  involves(cluster: string): boolean {
    for (const r of this.active.values()) if (r.note.state === 'progressing' && r.note.waves[r.wave]?.clusters.includes(cluster)) return true;
    return false;
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
const secs = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** Move rollout `r` on as far as the clusters allow at `now` (ms). */
export function advance(r: Rolling, now: number, view: WaveView): Advance {
  const out: Advance = { respec: false, noted: false };
  while (r.note.state === 'progressing') {
    const w = r.note.waves[r.wave];
    if (!w) {
      r.note.state = 'done';
      r.note.endedAt = iso(now);
      return { ...out, respec: true, noted: true };
    }
    if (!w.startedAt) {
      start(r, w, now, view);
      out.respec = out.noted = true;
    }
    const reachable = reachableOf(w, view, out);
    if (!reachable.length) {
      // Nobody to wait for: the wave is skipped whole, and the next starts.
      w.bakedAt = iso(now);
      r.wave++;
      continue;
    }
    const notReady = firstNotReady(reachable, r, view);
    if (notReady?.failing) {
      r.failingSince ??= now;
      r.failingWhy = notReady.why;
    }
    if (notReady === undefined) {
      r.failingSince = undefined;
      if (!w.readyAt) {
        w.readyAt = iso(now);
        out.noted = true;
      }
      const bakedIn = Date.parse(w.readyAt) + r.cfg.bakeMs - now;
      if (bakedIn > 0) return { ...out, wakeMs: bakedIn };
      w.bakedAt = iso(now);
      out.noted = true;
      r.wave++;
      continue;
    }
    // Not (or no longer) ready: a bake starts again once it is.
    if (w.readyAt) {
      w.readyAt = undefined;
      out.noted = true;
    }
    const started = Date.parse(w.startedAt!);
    const left = started + r.cfg.deadlineMs - now;
    const crashLeft = r.failingSince === undefined ? Infinity : r.failingSince + CRASH_LOOP_MS - now;
    if (left > 0 && crashLeft > 0) return { ...out, wakeMs: Math.min(left, crashLeft) };
    const what =
      left > 0
        ? `not ready ${secs(now - r.failingSince!)} after replicas on the new spec failed: ${r.failingWhy}; now ${notReady.why}`
        : `not ready after ${secs(now - started)} (progressDeadlineSeconds ${r.cfg.deadlineMs / 1000}): ${notReady.why}`;
    fail(r, `wave ${r.wave + 1} (${w.clusters.join(', ')}) ${what}`, now);
    return { ...out, respec: out.respec || r.cfg.autoRollback, noted: true };
  }
  return out;
}

/** The wave starts: its reachable clusters get the new spec, the others are skipped. */
function start(r: Rolling, w: NoteWave, now: number, view: WaveView): void {
  w.startedAt = iso(now);
  r.failingSince = undefined;
  for (const c of w.clusters) {
    if (view.airGapped?.(c)) (w.airGapped ??= []).push(c);
    else if (view.online(c)) r.given.add(c);
    else (w.skipped ??= []).push(c);
  }
}

/** The wave's clusters it waits for: a cluster that became unreachable is skipped from then on. */
function reachableOf(w: NoteWave, view: WaveView, out: Advance): string[] {
  const reachable: string[] = [];
  for (const c of w.clusters) {
    if (w.skipped?.includes(c) || w.airGapped?.includes(c)) continue;
    if (view.online(c)) reachable.push(c);
    else {
      (w.skipped ??= []).push(c);
      out.noted = true;
    }
  }
  return reachable;
}

/** The first cluster's reason for not being ready, a failing one first (what holds the wave up worst). */
function firstNotReady(clusters: string[], r: Rolling, view: WaveView): { why: string; failing?: boolean } | undefined {
  let first: { why: string; failing?: boolean } | undefined;
  for (const c of clusters) {
    const j = view.ready(c, r.id, r.to.hash);
    if (j.ok) continue;
    if (j.failing) return j;
    first ??= j;
  }
  return first;
}

/** The rollout failed: rolled back (every cluster gets the last ready spec) or paused. */
export function fail(r: Rolling, reason: string, now: number): void {
  r.note.state = r.cfg.autoRollback ? 'rolled-back' : 'paused';
  r.note.reason = reason;
  r.note.endedAt = iso(now);
  if (r.cfg.autoRollback) r.given.clear();
}
