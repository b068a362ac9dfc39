// Rollouts as the notes on main tell them (CommitNote.rollouts, written by the root): read,
// checked, and worded for status, wait and history. A rollout is written in the note of the
// commit that started it (updated as it goes) and carried in the notes of later accepted
// commits while it is not done; readers take the furthest record of each. A note whose
// `rollouts` (or one of them) does not have the shape is ignored for that part, with a warning
// naming the note: a reader never crashes on it.
import type { Rollout } from '../../schemas/model.js';
import { checkNoteOn, type CommitNote, type NoteRollout } from '../core/note.js';
import { resolveRef, type Repo } from '../git/repo.js';
import { firstParents } from '../git/log.js';
import { NOTES_REF, readNote } from '../git/notes.js';

const STATES: readonly string[] = ['progressing', 'done', 'paused', 'rolled-back'];
const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isTime = (v: unknown) => typeof v === 'string' && !Number.isNaN(Date.parse(v));
const isNames = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Why `v` is not a NoteRollout, or undefined when it is one. */
export function rolloutProblem(v: unknown): string | undefined {
  if (!isObj(v)) return 'not an object';
  if (!STATES.includes(v.state as string)) return `state ${JSON.stringify(v.state) ?? 'missing'} is not progressing, done, paused or rolled-back`;
  if (typeof v.commit !== 'string' || !/^[0-9a-f]{40}$/.test(v.commit)) return `commit ${JSON.stringify(v.commit) ?? 'missing'} is not a commit id`;
  if (!isObj(v.from) || typeof v.from.commit !== 'string' || typeof v.from.specHash !== 'string') return 'from is not {commit, specHash}';
  if (typeof v.to !== 'string') return 'to is not a string';
  if (!isTime(v.startedAt)) return 'startedAt is not a time';
  if (v.endedAt !== undefined && !isTime(v.endedAt)) return 'endedAt is not a time';
  if (v.reason !== undefined && typeof v.reason !== 'string') return 'reason is not a string';
  if (!Array.isArray(v.waves)) return 'waves is not a list';
  for (const [i, w] of v.waves.entries()) {
    const at = `waves[${i}]`;
    if (!isObj(w) || !isNames(w.clusters)) return `${at}.clusters is not a list of cluster names`;
    for (const k of ['startedAt', 'readyAt', 'bakedAt'] as const) if (w[k] !== undefined && !isTime(w[k])) return `${at}.${k} is not a time`;
    if (w.skipped !== undefined && !isNames(w.skipped)) return `${at}.skipped is not a list of cluster names`;
    if (w.airGapped !== undefined && !isNames(w.airGapped)) return `${at}.airGapped is not a list of cluster names`;
  }
  return undefined;
}

/** The rollouts of a note that have their shape; each one that does not is named in `problems`. */
export function rolloutsOf(n: CommitNote | undefined): { rollouts: Record<string, NoteRollout>; problems: string[] } {
  const out: { rollouts: Record<string, NoteRollout>; problems: string[] } = { rollouts: {}, problems: [] };
  const v = (n as { rollouts?: unknown } | undefined)?.rollouts;
  if (v === undefined) return out;
  if (!isObj(v)) {
    out.problems.push('rollouts is not an object');
    return out;
  }
  for (const [id, r] of Object.entries(v)) {
    const why = rolloutProblem(r);
    if (why) out.problems.push(`rollouts.${id}: ${why}`);
    else out.rollouts[id] = r as NoteRollout;
  }
  return out;
}

/** The warning a reader gives for a note's rollout it ignores. */
export const rolloutWarning = (oid: string, problem: string) => `${NOTES_REF}: the note on ${oid.slice(0, 12)}: ${problem}: ignored`;

/** The checked rollouts of a note, warning of each ignored one. */
export function checkedRollouts(n: CommitNote | undefined, warn: (m: string) => void): Record<string, NoteRollout> {
  const { rollouts, problems } = rolloutsOf(n);
  for (const p of problems) warn(rolloutWarning(n?.commit ?? '', p));
  return rollouts;
}

/** How far a record has got: an ended one is furthest, then by the times its waves have. */
function progress(r: NoteRollout): number {
  let n = r.endedAt || r.state === 'done' || r.state === 'paused' || r.state === 'rolled-back' ? 10_000 : 0;
  for (const w of r.waves) n += (w.startedAt ? 1 : 0) + (w.readyAt ? 1 : 0) + (w.bakedAt ? 1 : 0);
  return n;
}

/** Of two records of the same rollout, the one that has got further (on a tie, `a`). */
export const furthest = (a: NoteRollout, b: NoteRollout | undefined): NoteRollout => (b && progress(b) > progress(a) ? b : a);

/** Whether two records tell the same rollout (of one service). */
export const sameRollout = (a: NoteRollout, b: NoteRollout) => a.commit === b.commit && a.startedAt === b.startedAt;

/**
 * The rollouts in force by service: those the last accepted commit's note tells (it carries
 * every one not done), each as far as the note of the commit that started it has got.
 */
export async function rolloutsInForce(repo: Repo, good: CommitNote, warn: (m: string) => void, at?: Date): Promise<Map<string, NoteRollout>> {
  const out = new Map<string, NoteRollout>();
  const origins = new Map<string, Record<string, NoteRollout>>();
  for (const [id, r] of Object.entries(checkedRollouts(good, warn))) {
    if (r.commit !== good.commit && !origins.has(r.commit)) {
      const text = await readNote(repo, r.commit).catch(() => undefined);
      const note = text === undefined ? undefined : checkNoteOn(r.commit, text).note;
      origins.set(r.commit, checkedRollouts(note, warn));
    }
    const there = origins.get(r.commit)?.[id];
    const told = there && sameRollout(r, there) ? furthest(r, there) : r;
    const then = at ? rolloutAt(told, at) : told;
    if (then) out.set(id, then);
  }
  return out;
}

/**
 * A rollout as its note read at `at` (status --at): a note is rewritten as the rollout moves on,
 * so what it tells of later moments is left out: waves started, ready or baked after `at`, and
 * an end after it (the rollout was progressing then). Undefined when it had not started.
 */
export function rolloutAt(r: NoteRollout, at: Date): NoteRollout | undefined {
  const by = (t: string | undefined): t is string => t !== undefined && Date.parse(t) <= at.getTime();
  if (!by(r.startedAt)) return undefined;
  const waves = r.waves.map((w) => {
    if (!by(w.startedAt)) return { clusters: w.clusters };
    const { readyAt, bakedAt, ...rest } = w;
    return { ...rest, ...(by(readyAt) ? { readyAt } : {}), ...(by(bakedAt) ? { bakedAt } : {}) };
  });
  if (r.state === 'progressing' || r.endedAt === undefined || by(r.endedAt)) return { ...r, waves };
  const { endedAt: _e, reason: _r, ...progressing } = r;
  return { ...progressing, state: 'progressing', waves };
}

/** The wave a rollout is at (0-based): the last started, or the next once that one baked; 0 before any. */
export function waveAt(r: NoteRollout): number {
  const started = r.waves.map((w) => !!w.startedAt).lastIndexOf(true);
  if (r.state === 'progressing' && started >= 0 && r.waves[started].bakedAt && started + 1 < r.waves.length) return started + 1;
  return Math.max(started, 0);
}

/** `rolled back at T: why`, `paused at T: why; push a new commit to go on`, `rollout wave 2/3 (paris, rome): …`, `rollout done at T`. */
export function rolloutReason(r: NoteRollout, rollout?: Rollout, detail?: string): string {
  const at = r.endedAt ? ` at ${r.endedAt}` : '';
  const why = r.reason ? `: ${r.reason}` : '';
  if (r.state === 'rolled-back') return `rolled back${at}${why}`;
  if (r.state === 'paused') return `paused${at}${why}; push a new commit to go on`;
  if (r.state === 'done') return `rollout done${at}`;
  const i = waveAt(r);
  const w = r.waves[i];
  const head = `rollout wave ${i + 1}/${r.waves.length}${w ? ` (${w.clusters.join(', ')})` : ''}`;
  const skipped =
    (w?.skipped?.length ? `; skipped (unreachable): ${w.skipped.join(', ')}` : '') +
    (w?.airGapped?.length ? `; not waited for (air-gapped, by bundle): ${w.airGapped.join(', ')}` : '');
  if (!w?.startedAt) return `${head}: waiting to start${i > 0 ? ` (wave ${i} baked)` : ''}`;
  if (w.bakedAt) return `${head}: baked at ${w.bakedAt}, finishing${skipped}`;
  if (w.readyAt) return `${head}: ready at ${w.readyAt}, baking ${rollout?.bakeSeconds ?? 0} s${skipped}`;
  const deadline = rollout?.progressDeadlineSeconds ?? 600;
  return `${head}: started at ${w.startedAt}, waiting for its replicas on the new spec to be ready (progressDeadlineSeconds ${deadline})${skipped}${detail ? `: ${detail}` : ''}`;
}

/** What `canopy status --json` gives of a service's rollout (additive to the entry). */
export interface RolloutReport {
  state: NoteRollout['state'];
  /** The commit that started it. */
  commit: string;
  /** The wave it is at (1-based; the one it stopped at when paused or rolled back) and how many it has. */
  wave: number;
  waves: number;
  /** The clusters of that wave. */
  clusters: string[];
  startedAt: string;
  endedAt?: string;
  reason?: string;
}

export function rolloutReport(r: NoteRollout): RolloutReport {
  const i = waveAt(r);
  return {
    state: r.state,
    commit: r.commit,
    wave: r.waves.length ? i + 1 : 0,
    waves: r.waves.length,
    clusters: r.waves[i]?.clusters ?? [],
    startedAt: r.startedAt,
    ...(r.endedAt ? { endedAt: r.endedAt } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
  };
}

/** A failed rollout `canopy wait` reports (exit 3). */
export interface FailedRollout {
  service: string;
  rollout: NoteRollout;
  /** The note it was read from. */
  note: string;
}

const failed = (r: NoteRollout) => r.state === 'paused' || r.state === 'rolled-back';

/**
 * The rollouts that failed for `target` (accepted, its note `n`): paused or rolled back in its
 * own note (those it started, and those it carries), or in the note of a later accepted commit
 * of main carrying a rollout `target` started.
 */
export async function failedRollouts(repo: Repo, target: string, n: CommitNote, warn: (m: string) => void, branch = 'main'): Promise<FailedRollout[]> {
  const out = new Map<string, FailedRollout>();
  for (const [service, r] of Object.entries(checkedRollouts(n, warn))) if (failed(r)) out.set(service, { service, rollout: r, note: target });
  const head = await resolveRef(repo, `refs/heads/${branch}`);
  if (head && head !== target) {
    for await (const { oid } of firstParents(repo, head, 10_000)) {
      if (oid === target) break;
      const text = await readNote(repo, oid);
      const later = text === undefined ? undefined : checkNoteOn(oid, text).note;
      if (later?.outcome !== 'accepted') continue;
      for (const [service, r] of Object.entries(checkedRollouts(later, warn)))
        if (r.commit === target && failed(r) && !out.has(service)) out.set(service, { service, rollout: r, note: oid });
    }
  }
  return [...out.values()].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
}

/** What `canopy wait` prints on exit 3: which services, why, and what to do next. */
export function rolloutFailedMessage(target: string, failures: FailedRollout[]): string {
  const short = (o: string) => o.slice(0, 12);
  const lines = [`${short(target)}: rollout failed for ${failures.length} service(s); the fleet will not converge on it:`];
  for (const f of failures) {
    const r = f.rollout;
    const by = r.commit === target ? '' : ` (rollout started by ${short(r.commit)})`;
    lines.push(`  ${f.service}: ${rolloutReason(r)}${by}`);
    if (r.state === 'rolled-back') lines.push(`    its replicas went back to the last ready spec (of ${short(r.from.commit)})`);
    else lines.push('    its clusters keep what they run: waves started run the new spec, the others the old one');
  }
  const ids = failures.map((f) => f.service).join(', ');
  lines.push(
    `Main still holds ${short(target)}: push a new commit that fixes ${ids} (or reverts the change) to roll out again;`,
    `canopy history ${failures[0]?.service ?? 'SERVICE'} tells the rollout wave by wave.`,
  );
  return lines.join('\n') + '\n';
}
