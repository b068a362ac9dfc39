// Commit history, read through the fast object store (odb.ts): the same shapes repo.ts returns
// (isomorphic-git's CommitObject), at a few microseconds per commit instead of about a
// millisecond, and walked lazily, so a reader that stops at the first accepted commit reads
// that far and no further.
import type { CommitObject } from 'isomorphic-git';
import { objectStore } from './odb.js';
import type { Repo } from './repo-handle.js';

type Person = CommitObject['author'];

function person(line: string): Person {
  const m = /^(.*) <(.*)> (\d+) ([+-])(\d\d)(\d\d)$/.exec(line);
  if (!m) return { name: line, email: '', timestamp: 0, timezoneOffset: 0 };
  const minutes = Number(m[5]) * 60 + Number(m[6]);
  // isomorphic-git's convention (JavaScript's getTimezoneOffset): minutes west of UTC.
  const offset = m[4] === '+' ? -minutes : minutes;
  return { name: m[1], email: m[2], timestamp: Number(m[3]), timezoneOffset: offset === 0 ? 0 : offset };
}

/** A commit as repo.readCommit returns it. */
export async function readCommitObject(repo: Repo, oid: string): Promise<CommitObject> {
  const body = await objectStore(repo).readType(oid, 'commit');
  const text = body.toString('utf8');
  const end = text.indexOf('\n\n');
  const head = end < 0 ? text : text.slice(0, end);
  const c: CommitObject = { message: end < 0 ? '' : text.slice(end + 2), parent: [], tree: '', author: person(''), committer: person('') };
  const lines = head.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const sp = line.indexOf(' ');
    const key = line.slice(0, sp),
      value = line.slice(sp + 1);
    if (key === 'tree') c.tree = value;
    else if (key === 'parent') c.parent.push(value);
    else if (key === 'author') c.author = person(value);
    else if (key === 'committer') c.committer = person(value);
    else if (key === 'gpgsig') {
      let sig = value;
      while (lines[i + 1]?.startsWith(' ')) sig += '\n' + lines[++i].slice(1);
      c.gpgsig = sig;
    }
  }
  return c;
}

export interface LoggedCommit {
  oid: string;
  commit: CommitObject;
}

/** Commits from `oid` back along first parents, newest first, one at a time. */
export async function* firstParents(repo: Repo, oid: string | undefined, limit = Infinity): AsyncGenerator<LoggedCommit> {
  for (let n = 0; oid && n < limit; n++) {
    const commit = await readCommitObject(repo, oid);
    yield { oid, commit };
    oid = commit.parent[0];
  }
}

/** As repo.firstParentLog: at most `limit`, up to and including the first for which `stopAt` holds. */
export async function firstParentLog(repo: Repo, oid: string, limit = Infinity, stopAt?: (c: LoggedCommit) => boolean): Promise<LoggedCommit[]> {
  const out: LoggedCommit[] = [];
  for await (const c of firstParents(repo, oid, limit)) {
    out.push(c);
    if (stopAt?.(c)) break;
  }
  return out;
}
