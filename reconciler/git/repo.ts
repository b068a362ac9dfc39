// The Git port: what canopy reads from and writes to a fleet repository, over isomorphic-git.
// System-authored commits never touch the index or the work tree: blobs and trees are written
// along the changed paths only, and refs are updated with a lock file and a compare-and-swap,
// so a ref has exactly one writer and a reader (native git too) never sees half a write.
import fs from 'node:fs';
import { mkdir, open, rename, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import git from 'isomorphic-git';

export interface Repo {
  readonly dir: string;
  readonly gitdir: string;
  readonly cache: object;
}

export interface Identity { name: string; email: string }

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

export async function resolveRef(repo: Repo, ref: string): Promise<string | undefined> {
  try {
    return await git.resolveRef({ fs, gitdir: repo.gitdir, ref });
  } catch (e) {
    if ((e as { code?: string }).code === 'NotFoundError') return undefined;
    throw e;
  }
}

/** A revision as a user writes it (HEAD, main, a ref, a full or short oid) → commit oid. */
export async function resolveRevision(repo: Repo, rev: string): Promise<string> {
  const direct = await resolveRef(repo, rev).catch(() => undefined);
  if (direct) return direct;
  if (/^[0-9a-f]{4,40}$/.test(rev)) {
    try { return await git.expandOid({ fs, gitdir: repo.gitdir, oid: rev, cache: repo.cache }); } catch { /* fall through */ }
  }
  throw new Error(`unknown revision ${rev}: give a branch, a ref or a commit id`);
}

export async function readCommit(repo: Repo, oid: string) {
  return (await git.readCommit({ fs, gitdir: repo.gitdir, oid, cache: repo.cache })).commit;
}

export interface Entry { mode: string; oid: string; type: 'blob' | 'tree' | 'commit' }

export async function readTree(repo: Repo, oid: string): Promise<Map<string, Entry>> {
  const { tree } = await git.readTree({ fs, gitdir: repo.gitdir, oid, cache: repo.cache });
  return new Map(tree.map((e) => [e.path, { mode: e.mode, oid: e.oid, type: e.type }]));
}

export async function readBlobText(repo: Repo, oid: string): Promise<string> {
  const { blob } = await git.readBlob({ fs, gitdir: repo.gitdir, oid, cache: repo.cache });
  return Buffer.from(blob).toString('utf8');
}

export async function blobSize(repo: Repo, oid: string): Promise<number> {
  const { blob } = await git.readBlob({ fs, gitdir: repo.gitdir, oid, cache: repo.cache });
  return blob.length;
}

/** The blob at `file` (a/b/c) in a commit, or undefined. */
export async function readFileAt(repo: Repo, commit: string, file: string): Promise<string | undefined> {
  try {
    const { blob } = await git.readBlob({ fs, gitdir: repo.gitdir, oid: commit, filepath: file, cache: repo.cache });
    return Buffer.from(blob).toString('utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'NotFoundError') return undefined;
    throw e;
  }
}

export async function writeBlob(repo: Repo, text: string | Uint8Array): Promise<string> {
  return git.writeBlob({ fs, gitdir: repo.gitdir, blob: typeof text === 'string' ? Buffer.from(text) : text });
}

export async function writeTree(repo: Repo, entries: Map<string, Entry>): Promise<string> {
  const tree = [...entries].map(([p, e]) => ({ path: p, mode: e.mode, oid: e.oid, type: e.type }));
  return git.writeTree({ fs, gitdir: repo.gitdir, tree });
}

export interface CommitOptions {
  tree: string;
  parents: string[];
  message: string;
  author: Identity;
  /** When the recorded thing happened (status: observed time, also when committed later). */
  time?: Date;
}

export async function writeCommit(repo: Repo, o: CommitOptions): Promise<string> {
  const when = o.time ?? new Date();
  const sig = { name: o.author.name, email: o.author.email, timestamp: Math.floor(when.getTime() / 1000), timezoneOffset: 0 };
  return git.writeCommit({
    fs, gitdir: repo.gitdir,
    commit: { message: o.message.endsWith('\n') ? o.message : o.message + '\n', tree: o.tree, parent: o.parents, author: sig, committer: sig },
  });
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
  const file = path.join(repo.gitdir, ref);
  await mkdir(path.dirname(file), { recursive: true });
  const lock = file + '.lock';
  let fh;
  try {
    fh = await open(lock, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      // A lock left by a writer killed mid-update is stale once older than a few seconds.
      const st = await stat(lock).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > 5000) { await rm(lock, { force: true }); return updateRef(repo, ref, oid, expected); }
      throw new Error(`ref ${ref} is locked (${lock}); retry`);
    }
    throw e;
  }
  try {
    const actual = await resolveRef(repo, ref);
    if (actual !== expected) throw new RefConflictError(ref, expected, actual);
    await fh.writeFile(oid + '\n');
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(lock, file);
  } finally {
    if (fh) { await fh.close(); await rm(lock, { force: true }); }
  }
}

/** Refs under a prefix, e.g. refs/canopy/status/ → { cluster: oid }. Loose and packed. */
export async function listRefs(repo: Repo, prefix: string): Promise<Map<string, string>> {
  const names = await git.listRefs({ fs, gitdir: repo.gitdir, filepath: prefix.replace(/\/$/, '') });
  const out = new Map<string, string>();
  for (const n of names) {
    if (n.endsWith('.lock')) continue;
    const oid = await resolveRef(repo, `${prefix.replace(/\/$/, '')}/${n}`);
    if (oid) out.set(n, oid);
  }
  return out;
}

/** Commits from `oid` back along first parents, newest first, at most `limit`. */
export async function firstParentLog(repo: Repo, oid: string, limit = Infinity, stopAt?: (c: { oid: string; commit: Awaited<ReturnType<typeof readCommit>> }) => boolean) {
  const out: Array<{ oid: string; commit: Awaited<ReturnType<typeof readCommit>> }> = [];
  let cur: string | undefined = oid;
  while (cur && out.length < limit) {
    const commit = await readCommit(repo, cur);
    const item = { oid: cur, commit };
    out.push(item);
    if (stopAt?.(item)) break;
    cur = commit.parent[0];
  }
  return out;
}

export { git, fs as nodeFs };
