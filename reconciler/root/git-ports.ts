// The root's Git ports as startRoot wires them: the commits of the branch it follows (read and
// judged by desired.ts, skipped ones found by recover.ts) and the notes it writes, each write
// told to the remote sync.
import { resolveRef, type Identity, type Repo } from '../git/repo.js';
import { NOTES_REF, writeNotes } from '../git/notes.js';
import { loadDesired } from './desired.js';
import { skippedCommits } from './recover.js';
import type { CommitsPort, NotesPort } from './ports.js';

export function gitCommits(repo: Repo, branchRef: string): CommitsPort {
  return {
    head: () => resolveRef(repo, branchRef),
    // The last good state is handed over (no copy of the fleet); a rejection leaves it intact.
    load: (head, good, cache) => loadDesired(repo, head, good, cache, { consume: true }),
    skipped: (from, head) => skippedCommits(repo, from, head),
  };
}

export function gitNotes(repo: Repo, author: Identity, wrote: (ref: string) => void): NotesPort {
  return {
    async write(notes, message) {
      await writeNotes(repo, notes, author, message);
      wrote(NOTES_REF);
    },
  };
}
