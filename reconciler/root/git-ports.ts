// The root's Git ports as startRoot wires them: the commits of the branch it follows (read and
// judged by desired.ts, skipped ones found by recover.ts), their signatures (git verify-commit),
// and the notes it writes, each write told to the remote sync.
import { parseDescriptor } from '../core/parse-descriptor.js';
import { readFileAt, resolveRef, type Identity, type Repo } from '../git/repo.js';
import { verifyCommitSignature } from '../git/verify-commit.js';
import { NOTES_REF, writeNotes } from '../git/notes.js';
import { loadDesired } from './desired.js';
import { skippedCommits } from './recover.js';
import type { CommitsPort, NotesPort, SignaturesPort } from './ports.js';

export function gitCommits(repo: Repo, branchRef: string): CommitsPort {
  return {
    head: () => resolveRef(repo, branchRef),
    // The last good state is handed over (no copy of the fleet); a rejection leaves it intact.
    load: (head, good, cache) => loadDesired(repo, head, good, cache, { consume: true }),
    skipped: (from, head) => skippedCommits(repo, from, head),
  };
}

export function gitSignatures(repo: Repo): SignaturesPort {
  return {
    async rulesAt(commit) {
      const text = await readFileAt(repo, commit, 'fleet.yaml').catch(() => undefined);
      const r = text === undefined ? undefined : parseDescriptor({ path: 'fleet.yaml', text });
      const keys = r?.ok && r.kind === 'Fleet' ? r.value.spec?.trust?.commitSigners : undefined;
      return keys?.length ? { keys, from: commit, fleetYaml: text! } : undefined;
    },
    verify: (commit, keys) => verifyCommitSignature(repo, commit, keys),
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
