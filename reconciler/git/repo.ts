// The Git port: what canopy reads from and writes to a fleet repository, with no Git library:
// refs as native git stores them (ref-store.ts), objects through the object store (odb.ts:
// loose objects and packs). System-authored commits never touch the index or the work tree:
// blobs and trees are written along the changed paths only, and refs are updated with a lock
// file and a compare-and-swap, so a ref has exactly one writer and a reader (native git too)
// never sees half a write. isomorphic-git is loaded only where canopy talks to a Git server
// (remote.ts) or creates a repository with an index (canopy init).
//
// Layers, each importing only those below it: repo-handle.ts (the Repo handle type);
// pack.ts and odb.ts (objects); log.ts (commits) and tree.ts (trees, Entry); this module on top,
// which re-exports the handle and Entry so that callers need one import.
import { mkdir, open, rename, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { CommitObject } from 'isomorphic-git';
import { CanopyError } from '../core/errors.js';
import type { CommitSigner } from '../core/sshsig.js';
import type { Repo } from './repo-handle.js';
import { objectStore } from './odb.js';
import { readCommitObject } from './log.js';
import { entryAtPath } from './tree.js';
import { isRefName, readRef, refNamesUnder } from './ref-store.js';

export type { Repo } from './repo-handle.js';
export type { Entry } from './tree.js';

export interface Identity {
  name: string;
  email: string;
}

export async function openRepo(dir: string): Promise<Repo> {
  const abs = path.resolve(dir);
  const dotgit = path.join(abs, '.git');
  const st = await stat(dotgit).catch(() => undefined);
  if (st?.isDirectory()) return { dir: abs, gitdir: dotgit, cache: {} };
  if (st?.isFile()) {
    const m = /^gitdir: (.+)$/m.exec(await readFile(dotgit, 'utf8'));
    if (m) return { dir: abs, gitdir: path.resolve(abs, m[1].trim()), cache: {} };
  }
  if (await stat(path.join(abs, 'HEAD')).catch(() => undefined)) return { dir: abs, gitdir: abs, cache: {} };
  throw new Error(`${dir} is not a Git repository: create one with \`canopy init ${dir}\``);
}

/**
 * The object `ref` points at (symbolic refs followed; a short name looked up as git does), or
 * undefined when there is no such ref. A damaged ref file is an error that names it.
 */
export async function resolveRef(repo: Repo, ref: string): Promise<string | undefined> {
  return readRef(repo.gitdir, ref);
}

/** A revision that names no commit here; `why` says what was found instead. */
export class RevisionError extends CanopyError {
  constructor(
    readonly rev: string,
    readonly why: string,
  ) {
    super('unknown-revision', `unknown revision ${rev}: ${why}`, { rev });
  }
}

/** A revision as a user writes it (HEAD, main, a ref, a full or short oid) → commit oid. */
export async function resolveRevision(repo: Repo, rev: string): Promise<string> {
  const direct = await resolveRef(repo, rev);
  if (direct) return peelToCommit(repo, direct, rev);
  if (/^[0-9a-f]{4,40}$/.test(rev)) {
    const found = await objectStore(repo).expand(rev);
    if (found.length > 1)
      throw new RevisionError(
        rev,
        `the short id matches ${found.length} objects (${found
          .slice(0, 4)
          .map((o) => o.slice(0, 12))
          .join(', ')}${found.length > 4 ? ', …' : ''}): give more digits`,
      );
    if (found.length === 1) return peelToCommit(repo, found[0], rev);
  }
  throw new RevisionError(rev, `${rev} is not a branch, ref or commit here (in a clone, fetch it first)`);
}

/** An annotated tag followed to the commit it tags (a commit is returned as it is). */
async function peelToCommit(repo: Repo, oid: string, rev: string): Promise<string> {
  const store = objectStore(repo);
  for (let depth = 0; depth < 10; depth++) {
    const o = await store.read(oid);
    if (!o) throw new RevisionError(rev, `object ${oid} is not in this repository (a shallow or partial clone? fetch it)`);
    if (o.type === 'commit') return oid;
    const target = o.type === 'tag' ? /^object ([0-9a-f]{40})$/m.exec(o.body.toString('utf8'))?.[1] : undefined;
    if (!target) throw new RevisionError(rev, `${oid.slice(0, 12)} is a ${o.type}, not a commit`);
    oid = target;
  }
  throw new RevisionError(rev, 'tags nest more than 10 deep');
}

/** A commit (an annotated tag is followed to its commit). */
export async function readCommit(repo: Repo, oid: string): Promise<CommitObject> {
  try {
    return await readCommitObject(repo, oid);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ObjectTypeError') throw e;
    return readCommitObject(repo, await peelToCommit(repo, oid, oid));
  }
}

/** The text of the file at `file` (a/b/c) in a commit, or undefined when the commit has no such file. */
export async function readFileAt(repo: Repo, commit: string, file: string): Promise<string | undefined> {
  const { tree } = await readCommit(repo, commit);
  const e = await entryAtPath(repo, tree, file);
  if (!e) return undefined;
  if (e.type !== 'blob') throw new Error(`${commit.slice(0, 12)}:${file} is a ${e.type === 'tree' ? 'directory' : 'submodule'}, not a file`);
  return (await objectStore(repo).readType(e.oid, 'blob')).toString('utf8');
}

export interface CommitOptions {
  tree: string;
  parents: string[];
  message: string;
  author: Identity;
  /** When the recorded thing happened (status: observed time, also when committed later). */
  time?: Date;
  /** Signs the commit (core/sshsig.ts): its armoured signature goes in a gpgsig header, as git commit -S writes it. */
  sign?: CommitSigner;
}

/**
 * Write a commit object: author and committer are `author` at `time` (UTC). The message is
 * normalised as isomorphic-git and git commit do (no CR, no leading blank lines, one final
 * newline), so the same inputs give the same commit id as before this module wrote commits.
 */
export async function writeCommit(repo: Repo, o: CommitOptions): Promise<string> {
  const { name, email } = o.author;
  if (/[<>\n]/.test(name + email)) throw new Error(`commit identity ${JSON.stringify(`${name} <${email}>`)}: a name or e-mail may not hold <, > or a newline`);
  const when = Math.floor((o.time ?? new Date()).getTime() / 1000);
  const sig = `${name} <${email}> ${when} +0000`;
  const message = o.message.replace(/\r/g, '').replace(/^\n+/, '').replace(/\n+$/, '') + '\n';
  const head = `tree ${o.tree}\n${o.parents.map((p) => `parent ${p}\n`).join('')}author ${sig}\ncommitter ${sig}\n`;
  const text = `${head}\n${message}`;
  if (!o.sign) return objectStore(repo).write('commit', Buffer.from(text, 'utf8'));
  // What is signed is the commit without its signature; the header's continuation lines start with a space.
  const armoured = o.sign(Buffer.from(text, 'utf8')).replace(/\n+$/, '');
  return objectStore(repo).write('commit', Buffer.from(`${head}gpgsig ${armoured.replaceAll('\n', '\n ')}\n\n${message}`, 'utf8'));
}

export class RefConflictError extends Error {
  constructor(ref: string, expected: string | undefined, actual: string | undefined) {
    super(`ref ${ref} moved (expected ${expected ?? 'none'}, found ${actual ?? 'none'}): another writer?`);
  }
}

/**
 * Point `ref` at `oid` if it still points at `expected` (undefined: must not exist). The new
 * value is written to `<ref>.lock` and renamed into place, as native git does.
 */
export async function updateRef(repo: Repo, ref: string, oid: string, expected: string | undefined): Promise<void> {
  if (!isRefName(ref) || !ref.startsWith('refs/')) throw new Error(`cannot update ${JSON.stringify(ref)}: not a ref name under refs/`);
  if (!/^[0-9a-f]{40}$/.test(oid)) throw new Error(`cannot point ${ref} at ${JSON.stringify(oid)}: not an object id`);
  const file = path.join(repo.gitdir, ref);
  await mkdir(path.dirname(file), { recursive: true });
  const lock = file + '.lock';
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(lock, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      // A lock left by a writer killed mid-update is stale once older than a few seconds.
      const st = await stat(lock).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > 5000) {
        await rm(lock, { force: true });
        return updateRef(repo, ref, oid, expected);
      }
      throw new Error(`ref ${ref} is locked (${lock}); retry`);
    }
    throw e;
  }
  try {
    const actual = readRef(repo.gitdir, ref, true);
    if (actual !== expected) throw new RefConflictError(ref, expected, actual);
    await fh.writeFile(oid + '\n');
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(lock, file);
  } finally {
    if (fh) {
      await fh.close();
      await rm(lock, { force: true });
    }
  }
}

/** Refs under a prefix, e.g. refs/canopy/status/ → { cluster: oid }. Loose and packed. */
export async function listRefs(repo: Repo, prefix: string): Promise<Map<string, string>> {
  const base = prefix.replace(/\/+$/, '');
  const out = new Map<string, string>();
  for (const n of refNamesUnder(repo.gitdir, base)) {
    const oid = readRef(repo.gitdir, `${base}/${n}`, true);
    if (oid) out.set(n, oid);
  }
  return out;
}
