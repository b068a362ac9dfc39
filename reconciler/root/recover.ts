// A root that starts (or restarts after kill -9) rebuilds its state from Git alone: the notes
// say which commits it has seen and which was the last accepted; the placement refs say what
// each cluster was given. Also here: which commits a new head skipped over, for their notes,
// which must survive a force-push that rewrote main.
import type { ParseResult } from '../core/validate.js';
import { listRefs, resolveRef, type Repo } from '../git/repo.js';
import { readCommitObject } from '../git/log.js';
import { NOTES_REF, notesIndex, readNote } from '../git/notes.js';
import { checkNoteOn, type CommitNote } from '../core/note.js';
import { loadDesired, type DesiredState } from './desired.js';
import type { PlacementBook } from './delegate.js';
import type { Allocation } from './place.js';

export interface Recovered {
  good?: DesiredState;
  seen?: string;
  pending?: CommitNote;
  allocation: Allocation;
}

const SCAN = 1000;

/** `warn` is told of each note it meets that holds no record canopy wrote for that commit: it is ignored. */
export async function recoverRoot(
  repo: Repo,
  branchRef: string,
  book: PlacementBook,
  cache: Map<string, ParseResult>,
  warn: (message: string) => void = () => {},
): Promise<Recovered> {
  const clusters = await listRefs(repo, 'refs/canopy/placements/');
  await book.load(clusters.keys());
  const allocation: Allocation = new Map();
  for (const c of book.clusters()) {
    for (const [id, a] of Object.entries(book.get(c)!.services)) {
      if (!allocation.has(id)) allocation.set(id, new Map());
      allocation.get(id)!.set(c, a.replicas);
    }
  }
  const head = await resolveRef(repo, branchRef);
  if (!head) return { allocation };
  let seen: string | undefined;
  let goodNote: CommitNote | undefined;
  const noted = await notesIndex(repo);
  let oid: string | undefined = head;
  for (let i = 0; oid && i < SCAN; i++) {
    const text = noted.has(oid) ? await readNote(repo, oid) : undefined;
    const note = text === undefined ? undefined : noteOn(oid, text, warn);
    if (note) {
      seen ??= oid;
      if (note.outcome === 'accepted') {
        goodNote = note;
        break;
      }
    }
    oid = (await readCommitObject(repo, oid)).parent[0];
  }
  if (!goodNote) return { seen, allocation };
  const res = await loadDesired(repo, goodNote.commit, undefined, cache);
  if (!res.ok) return { seen, allocation };
  return { good: res.state, seen, pending: goodNote.convergedAt ? undefined : goodNote, allocation };
}

/** The note's record, if canopy wrote it for `oid`. */
function noteOn(oid: string, text: string, warn: (message: string) => void): CommitNote | undefined {
  const { note, why } = checkNoteOn(oid, text);
  if (why) warn(`${NOTES_REF}: the note on ${oid.slice(0, 12)}: ${why}: ignored`);
  return note;
}

/**
 * Commits strictly between `from` (the last head the root handled) and `head`, first parents
 * only, that were never reconciled on their own: they get a "superseded" note. The walk stops
 * at `from`; if it meets a commit that already has a note first, or runs out, `from` is not
 * below `head`: main was rewritten (a force-push), and only the new head is noted (notes
 * already written stay where they are, on the commits they describe).
 */
export async function skippedCommits(repo: Repo, from: string, head: string, limit = SCAN): Promise<string[]> {
  const noted = await notesIndex(repo);
  const out: string[] = [];
  let oid = (await readCommitObject(repo, head)).parent[0];
  for (let i = 0; oid && i < limit; i++) {
    if (oid === from) return out;
    if (noted.has(oid)) return [];
    out.push(oid);
    oid = (await readCommitObject(repo, oid)).parent[0];
  }
  return [];
}
