import type { ParseResult } from '../core/validate.js';
// A root that starts (or restarts after kill -9) rebuilds its state from Git alone: the notes
// say which commits it has seen and which was the last accepted; the placement refs say what
// each cluster was given.
import { firstParentLog, listRefs, resolveRef, type Repo } from '../git/repo.js';
import { readNote } from '../git/notes.js';
import { parseNote, type CommitNote } from '../core/note.js';
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

export async function recoverRoot(repo: Repo, branchRef: string, book: PlacementBook, cache: Map<string, ParseResult>): Promise<Recovered> {
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
  for (const { oid } of await firstParentLog(repo, head, SCAN)) {
    const text = await readNote(repo, oid);
    const note = text ? parseNote(text) : undefined;
    if (!note) continue;
    seen ??= oid;
    if (note.outcome === 'accepted') { goodNote = note; break; }
  }
  if (!goodNote) return { seen, allocation };
  const res = await loadDesired(repo, goodNote.commit, undefined, cache);
  if (!res.ok) return { seen, allocation };
  return { good: res.state, seen, pending: goodNote.convergedAt ? undefined : goodNote, allocation };
}
