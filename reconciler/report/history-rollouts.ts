// A history's rollout events, from the notes on main: each rollout as far as any note tells it
// (the note of the commit that started it, updated as it goes, and those of later commits that
// carried it), one event per thing that happened: a wave started (with the clusters skipped as
// unreachable), ready, baked; the rollout done, paused or rolled back with its reason.
import type { CommitNote, NoteRollout } from '../core/note.js';
import { checkedRollouts, furthest } from './rollouts.js';

export interface RolloutEvent {
  kind: 'rollout';
  at: string;
  service: string;
  /** The commit that started the rollout. */
  commit: string;
  step: 'started' | 'ready' | 'baked' | 'done' | 'paused' | 'rolled-back';
  /** The wave (1-based) of a wave's step, and how many waves the rollout has. */
  wave?: number;
  waves: number;
  clusters?: string[];
  /** Clusters of the wave skipped as unreachable (on `started`). */
  skipped?: string[];
  /** Air-gapped clusters of the wave, not waited for (on `started`). */
  airGapped?: string[];
  reason?: string;
}

/** Rollout events of `notes` (oldest first), of service `id` or of every service. */
export function rolloutEvents(notes: Array<CommitNote | undefined>, id: string | undefined, warn: (m: string) => void): RolloutEvent[] {
  const seen = new Map<string, { service: string; r: NoteRollout }>();
  for (const n of notes) {
    if (n?.outcome !== 'accepted') continue;
    for (const [service, r] of Object.entries(checkedRollouts(n, warn))) {
      if (id && service !== id) continue;
      const key = `${service}\n${r.commit}\n${r.startedAt}`;
      seen.set(key, { service, r: furthest(r, seen.get(key)?.r) });
    }
  }
  const out: RolloutEvent[] = [];
  for (const { service, r } of seen.values()) {
    const base = { kind: 'rollout' as const, service, commit: r.commit, waves: r.waves.length };
    r.waves.forEach((w, i) => {
      const wave = { wave: i + 1, clusters: w.clusters };
      if (w.startedAt)
        out.push({
          ...base,
          at: w.startedAt,
          step: 'started',
          ...wave,
          ...(w.skipped?.length ? { skipped: w.skipped } : {}),
          ...(w.airGapped?.length ? { airGapped: w.airGapped } : {}),
        });
      if (w.readyAt) out.push({ ...base, at: w.readyAt, step: 'ready', ...wave });
      if (w.bakedAt) out.push({ ...base, at: w.bakedAt, step: 'baked', ...wave });
    });
    if (r.state !== 'progressing') {
      const last = [...r.waves].reverse().find((w) => w.bakedAt ?? w.readyAt ?? w.startedAt);
      const at = r.endedAt ?? last?.bakedAt ?? last?.readyAt ?? last?.startedAt ?? r.startedAt;
      out.push({ ...base, at, step: r.state, ...(r.reason ? { reason: r.reason } : {}) });
    }
  }
  return out;
}

/** How a rollout event reads in the timeline (`service` set: the history of that one service). */
export function describeRollout(e: RolloutEvent, service: string | null): string {
  const of = service ? 'rollout' : `rollout of ${e.service}`;
  const by = `(commit ${e.commit.slice(0, 12)})`;
  const wave = `wave ${e.wave}/${e.waves}`;
  switch (e.step) {
    case 'started':
      return `${of}: ${wave} started: ${(e.clusters ?? []).join(', ') || 'no cluster'}${e.skipped?.length ? `; skipped (unreachable): ${e.skipped.join(', ')}` : ''}${e.airGapped?.length ? `; not waited for (air-gapped, by bundle): ${e.airGapped.join(', ')}` : ''} ${by}`;
    case 'ready':
      return `${of}: ${wave} ready: ${(e.clusters ?? []).join(', ')}`;
    case 'baked':
      return `${of}: ${wave} baked: ${(e.clusters ?? []).join(', ')}`;
    case 'done':
      return `${of}: done ${by}`;
    case 'paused':
      return `${of}: PAUSED${e.reason ? `: ${e.reason}` : ''}; push a new commit to go on ${by}`;
    case 'rolled-back':
      return `${of}: ROLLED BACK${e.reason ? `: ${e.reason}` : ''} ${by}`;
  }
}
