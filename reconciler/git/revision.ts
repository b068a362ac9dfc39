// Revisions as users write them: branches, refs, full or short ids, with ~N and ^N suffixes.
import { readCommit, resolveRevision, RevisionError, type Repo } from './repo.js';

export { RevisionError };

/** A revision as users write it, with `~N` and `^N` suffixes (HEAD~1, origin/main^2). */
export async function resolveRev(repo: Repo, rev: string): Promise<string> {
  const m = /^(.+?)((?:[~^][0-9]*)*)$/.exec(rev.trim());
  if (!m) throw new RevisionError(rev, 'give a branch, a ref or a commit id');
  let oid: string;
  try {
    oid = await resolveRevision(repo, m[1]);
  } catch (e) {
    // Name the revision as written (HEAD~1, not HEAD), with the reason found for its base.
    throw e instanceof RevisionError && m[2] ? new RevisionError(rev, e.why) : e;
  }
  for (const [, op, n] of m[2].matchAll(/([~^])([0-9]*)/g)) {
    const count = n === '' ? 1 : Number(n);
    for (let i = 0; i < (op === '~' ? count : Math.min(count, 1)); i++) {
      const parents = (await readCommit(repo, oid)).parent;
      const next = op === '~' ? parents[0] : parents[count - 1];
      if (!next) throw new RevisionError(rev, `${oid.slice(0, 12)} has no such parent (shallow clone? fetch with full history)`);
      oid = next;
    }
  }
  return oid;
}
