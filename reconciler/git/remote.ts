// Remote fleet repositories over smart HTTP(S), as with any Git host. A process that works
// against a remote keeps a bare mirror in its own directory: it fetches the refs it reads
// (main, its placement ref) and pushes the refs it alone writes (placements and notes for the
// root, its status ref for a cluster). Each ref has one writer, so every push fast-forwards.
import fs from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { gcAuto } from './maintenance.js';
import path from 'node:path';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { openRepo, resolveRef, updateRef, type Repo } from './repo.js';

export interface Remote {
  /** The URL without credentials (safe to log). */
  url: string;
  auth?: { username: string; password: string };
}

/** An http(s) URL → a Remote; credentials from the URL or CANOPY_GIT_USERNAME / _PASSWORD (or _TOKEN). */
export function parseRemote(s: string, env: NodeJS.ProcessEnv = process.env): Remote | undefined {
  if (!/^https?:\/\//.test(s)) return undefined;
  const u = new URL(s);
  const username = decodeURIComponent(u.username) || env.CANOPY_GIT_USERNAME || (env.CANOPY_GIT_TOKEN ? 'token' : '');
  const password = decodeURIComponent(u.password) || env.CANOPY_GIT_PASSWORD || env.CANOPY_GIT_TOKEN || '';
  u.username = '';
  u.password = '';
  return { url: u.toString(), ...(username || password ? { auth: { username, password } } : {}) };
}

const onAuth = (r: Remote) => () => r.auth ?? { cancel: true as const };
const onAuthFailure = (r: Remote) => () => {
  throw new Error(`${r.url}: the Git server refused the credentials: set them in the URL or CANOPY_GIT_USERNAME/CANOPY_GIT_PASSWORD (or CANOPY_GIT_TOKEN)`);
};

/** The bare mirror in `dir`, created on first use. */
export async function openMirror(dir: string, remote: Remote): Promise<Repo> {
  if (!(await stat(path.join(dir, 'HEAD')).catch(() => undefined))) {
    await mkdir(dir, { recursive: true });
    await git.init({ fs, gitdir: dir, bare: true, defaultBranch: 'main' });
  }
  // isomorphic-git's fetch needs a remote with a refspec, though canopy updates refs itself.
  await git.setConfig({ fs, gitdir: dir, path: 'remote.origin.url', value: remote.url });
  await git.setConfig({ fs, gitdir: dir, path: 'remote.origin.fetch', value: '+refs/heads/*:refs/remotes/origin/*' });
  return openRepo(dir);
}

/** ls-remote: refs under `prefix` (e.g. refs/canopy/) → oid. Cheap: one small request. */
export async function lsRemote(remote: Remote, prefix?: string): Promise<Map<string, string>> {
  const refs = await git.listServerRefs({ http, url: remote.url, prefix, onAuth: onAuth(remote), onAuthFailure: onAuthFailure(remote), protocolVersion: 1 });
  return new Map(refs.filter((r) => !prefix || r.ref.startsWith(prefix)).map((r) => [r.ref, r.oid]));
}

/**
 * Fetch `ref` from the remote into the local ref of the same name (it mirrors the remote's).
 * Returns the oid, or undefined when the remote has no such ref.
 */
export async function fetchRef(
  repo: Repo,
  remote: Remote,
  ref: string,
  opts: { depth?: number; known?: string; fastForwardOnly?: boolean } = {},
): Promise<string | undefined> {
  const local = await resolveRef(repo, ref);
  if (opts.known && opts.known === local) return local;
  try {
    const r = await git.fetch({
      fs,
      http,
      gitdir: repo.gitdir,
      url: remote.url,
      ref,
      remoteRef: ref,
      singleBranch: true,
      tags: false,
      depth: local ? undefined : opts.depth,
      onAuth: onAuth(remote),
      onAuthFailure: onAuthFailure(remote),
      cache: repo.cache,
    });
    const oid = r.fetchHead ?? undefined;
    // fastForwardOnly: a ref this repository holds ahead of the remote (or beside it) stays where it is.
    if (oid && oid !== local && (!opts.fastForwardOnly || !local || (await descends(repo, oid, local)))) await updateRef(repo, ref, oid, local);
    await compactPacks(repo);
    return oid;
  } catch (e) {
    if ((e as { code?: string }).code === 'NotFoundError') return undefined;
    throw e;
  }
}

async function descends(repo: Repo, oid: string, ancestor: string): Promise<boolean> {
  return git.isDescendent({ fs, gitdir: repo.gitdir, oid, ancestor, depth: -1, cache: repo.cache }).catch(() => false);
}

/**
 * Push a ref this process alone writes (fast-forward), from the local ref `from` (default: the
 * same name). A refusal names what the server's hooks said (their "remote:" lines).
 */
export async function pushRef(repo: Repo, remote: Remote, ref: string, from = ref): Promise<void> {
  const said: string[] = [];
  const refused = (why: string) => new Error(`push ${ref} to ${remote.url}: ${why}${said.length ? `\n${said.map((l) => `remote: ${l}`).join('\n')}` : ''}`);
  const r = await git
    .push({
      fs,
      http,
      gitdir: repo.gitdir,
      url: remote.url,
      ref: from,
      remoteRef: ref,
      force: false,
      onAuth: onAuth(remote),
      onAuthFailure: onAuthFailure(remote),
      onMessage: (m) => void said.push(...m.split('\n').filter((l) => l.trim())),
      cache: repo.cache,
    })
    .catch(async (e: Error) => {
      // isomorphic-git hands the server's lines over without waiting for them: let them arrive.
      await new Promise((r) => setImmediate(r));
      throw refused((e as { data?: { result?: { refs?: Record<string, { error?: string }> } } }).data?.result?.refs?.[ref]?.error ?? e.message);
    });
  if (!r.ok) throw refused(r.refs?.[ref]?.error ?? r.error ?? JSON.stringify(r.refs));
}

const MAX_PACKS = 16;
let nativeGit: boolean | undefined;

/**
 * Every isomorphic-git fetch leaves a pack file and nothing repacks them: a process fetching all
 * day would slow down and fill its disk. Past MAX_PACKS, fold them into one: with native git
 * when the node has it, else with isomorphic-git's packObjects over what the refs reach.
 */
export async function compactPacks(repo: Repo, max = MAX_PACKS): Promise<boolean> {
  const dir = path.join(repo.gitdir, 'objects', 'pack');
  const packs = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.pack'));
  if (packs.length <= max) return false;
  nativeGit ??= await new Promise<boolean>((r) => execFile('git', ['--version'], (e) => r(!e)));
  if (nativeGit) {
    // Through git gc (one at a time per repository, gc.pid against other git processes): a bare
    // `git repack -a -d` beside another repack or beside the loose-object maintenance can delete
    // the other's packs, leaving refs to objects that are gone.
    await gcAuto(repo, { packLimit: max });
  } else {
    const oids = await reachable(repo);
    const { filename } = await git.packObjects({ fs, gitdir: repo.gitdir, oids: [...oids], write: true, cache: repo.cache });
    for (const p of packs) {
      if (p === filename) continue;
      await rm(path.join(dir, p), { force: true });
      await rm(path.join(dir, p.replace(/\.pack$/, '.idx')), { force: true });
    }
  }
  for (const k of Object.keys(repo.cache)) delete (repo.cache as Record<string, unknown>)[k];
  return true;
}

async function reachable(repo: Repo): Promise<Set<string>> {
  const seen = new Set<string>();
  const refs = await git.listRefs({ fs, gitdir: repo.gitdir, filepath: 'refs' });
  const stack: string[] = [];
  for (const r of refs) {
    const oid = await resolveRef(repo, `refs/${r}`);
    if (oid) stack.push(oid);
  }
  while (stack.length) {
    const oid = stack.pop()!;
    if (seen.has(oid)) continue;
    let obj: Awaited<ReturnType<typeof git.readObject>>;
    try {
      obj = await git.readObject({ fs, gitdir: repo.gitdir, oid, cache: repo.cache, format: 'parsed' });
    } catch {
      continue;
    } // beyond a shallow boundary
    seen.add(oid);
    if (obj.type === 'commit') {
      const c = obj.object as { tree: string; parent: string[] };
      stack.push(c.tree, ...c.parent);
    } else if (obj.type === 'tree') {
      for (const e of obj.object as Array<{ oid: string; type: string }>) if (e.type !== 'commit') stack.push(e.oid);
    } else if (obj.type === 'tag') {
      stack.push((obj.object as unknown as { object: string }).object);
    }
  }
  return seen;
}
