// A root that (re)starts picks up the rollouts its predecessor left unfinished, from Git alone:
// the pending note tells each one not done (its waves and times), the placement refs tell which
// clusters hold the new spec, and the spec it rolls from is taken from a cluster that still holds
// it or, when none does, from the descriptor at the commit it came from. A rollout whose record
// or spec cannot be read is named in a warning and left alone (its clusters keep what they hold).
import { parseDescriptor } from '../core/parse-descriptor.js';
import { checkNoteOn, type CommitNote, type NoteRollout } from '../core/note.js';
import { workloadHash } from '../core/ids.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { readFileAt, type Repo } from '../git/repo.js';
import { readNote } from '../git/notes.js';
import type { PlacementBook } from './delegate.js';
import { assignmentHash } from './placement-docs.js';
import { rolloutConfig, type Rolling } from './rollouts.js';
import type { RootState } from './state.js';

export async function recoverRollouts(state: RootState, repo: Repo, book: PlacementBook, warn: (m: string) => void): Promise<void> {
  const { pending, good } = state;
  if (!pending?.rollouts || !good) return;
  for (const [id, note] of Object.entries(pending.rollouts)) {
    if (!isRecord(note)) {
      warn(`the note on ${pending.commit.slice(0, 12)}: rollout of ${id} is not a rollout record: ignored`);
      continue;
    }
    const svc = good.services.get(id);
    if (note.state === 'done' || !svc || assignmentHash(svc) !== note.to) continue;
    try {
      const from = await fromSpec(repo, book, id, note, svc.file);
      if (!from) {
        warn(
          `rollout of ${id}: the spec it rolls from (${note.from.specHash.slice(0, 12)} of ${note.from.commit.slice(0, 12)}) is nowhere to be read: left as it is`,
        );
        continue;
      }
      const origin: CommitNote | undefined = note.commit === pending.commit ? pending : await noteOf(repo, note.commit);
      const given = new Set(book.clusters().filter((c) => book.get(c)?.services[id]?.specHash === note.to));
      const wave = Math.max(
        0,
        note.waves.findIndex((w) => !w.bakedAt),
      );
      const r: Rolling = {
        id,
        note,
        origin: origin ?? pending,
        from: { spec: from, hash: note.from.specHash },
        to: { spec: svc.spec, hash: note.to },
        cfg: rolloutConfig(svc.spec.rollout),
        wave: note.waves.length && note.waves.every((w) => w.bakedAt) ? note.waves.length : wave,
        given,
      };
      if (origin && origin !== pending) origin.rollouts = { ...origin.rollouts, [id]: note };
      state.rollouts.set(r);
    } catch (e) {
      warn(`rollout of ${id}: ${(e as Error).message}: left as it is`);
    }
  }
}

function isRecord(n: unknown): n is NoteRollout {
  const r = n as NoteRollout;
  return (
    !!r &&
    typeof r === 'object' &&
    ['progressing', 'done', 'paused', 'rolled-back'].includes(r.state) &&
    typeof r.commit === 'string' &&
    typeof r.to === 'string' &&
    typeof r.from?.commit === 'string' &&
    typeof r.from?.specHash === 'string' &&
    Array.isArray(r.waves) &&
    r.waves.every((w) => w && Array.isArray(w.clusters))
  );
}

async function fromSpec(repo: Repo, book: PlacementBook, id: string, note: NoteRollout, file: string): Promise<ServiceSpec | undefined> {
  for (const c of book.clusters()) {
    const a = book.get(c)?.services[id];
    if (a?.specHash === note.from.specHash) return a.spec;
  }
  const text = await readFileAt(repo, note.from.commit, file);
  if (text === undefined) return undefined;
  const p = parseDescriptor({ path: file, text });
  if (!p.ok || p.kind !== 'Service') return undefined;
  const spec = p.value.spec as ServiceSpec;
  return workloadHash(spec) === note.from.specHash ? spec : undefined;
}

async function noteOf(repo: Repo, commit: string): Promise<CommitNote | undefined> {
  const text = await readNote(repo, commit);
  return text === undefined ? undefined : checkNoteOn(commit, text).note;
}
