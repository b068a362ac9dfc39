// Native Git bundles, through the git CLI (isomorphic-git has no bundle support): create one from
// refs and prerequisites, verify one, list its refs, fetch its refs into a repository. Every file
// canopy writes or reads as a bundle goes through here, so `git bundle verify` accepts what we
// write and we refuse what it refuses.
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

// A docker save of large images, or a bundle of a long history, may take minutes.
const TIMEOUT_MS = 30 * 60_000;

export interface GitRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Who the root's bundle commits are by (the chain, the manifest, the site's note). */
export const ROOT_AUTHOR = {
  GIT_AUTHOR_NAME: 'canopy root',
  GIT_AUTHOR_EMAIL: 'root@canopy.invalid',
  GIT_COMMITTER_NAME: 'canopy root',
  GIT_COMMITTER_EMAIL: 'root@canopy.invalid',
};

/** Run a tool (git, docker, tar); resolves with its exit code and output, rejects only when it cannot run. */
export function runTool(cmd: string, args: string[], o: { input?: string; env?: Record<string, string> } = {}): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { encoding: 'utf8', timeout: TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...o.env, LC_ALL: 'C' } },
      (e, stdout, stderr) => {
        const code = e ? (e as NodeJS.ErrnoException & { code?: unknown }).code : 0;
        if (e && typeof code !== 'number') return reject(new Error(`${cmd} ${args[0] ?? ''} could not run (${e.message}): is ${cmd} installed and on PATH?`));
        resolve({ code: code as number, stdout, stderr });
      },
    );
    if (o.input !== undefined) child.stdin?.end(o.input);
  });
}

/** Run git with `args` in `gitdir`. */
export function git(gitdir: string | undefined, args: string[], input?: string, env?: Record<string, string>): Promise<GitRun> {
  return runTool('git', gitdir ? ['--git-dir', gitdir, ...args] : args, { input, env });
}

/** Run git in `gitdir` and return its output; a failure throws, naming the command, `where` and git's words. */
export async function gitOut(gitdir: string, args: string[], where: string, o: { input?: string; env?: Record<string, string> } = {}): Promise<string> {
  const r = await git(gitdir, args, o.input, o.env);
  if (r.code !== 0) throw new Error(`git ${args[0]} (${where}): ${gitSays(r)}`);
  return r.stdout;
}

/** Whether `gitdir` holds the commit `oid`. */
export async function hasCommit(gitdir: string, oid: string): Promise<boolean> {
  return (await git(gitdir, ['cat-file', '-e', `${oid}^{commit}`])).code === 0;
}

/** git's own words for a failure, one line. */
export function gitSays(r: GitRun): string {
  return (r.stderr || r.stdout).trim().split('\n').filter(Boolean).slice(-3).join('; ') || `exit ${r.code}`;
}

/** A bundle's refs (ref → oid), from its header: no repository needed. */
export async function bundleHeads(file: string): Promise<Map<string, string>> {
  const r = await git(undefined, ['bundle', 'list-heads', file]);
  if (r.code !== 0) throw new Error(`${file} is not a Git bundle git can read: ${gitSays(r)}`);
  const heads = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^([0-9a-f]{40,64}) (\S+)$/.exec(line);
    if (m) heads.set(m[2]!, m[1]!);
  }
  return heads;
}

/** `git bundle verify` in `gitdir`: the bundle is whole and the repository has its prerequisites. */
export async function verifyBundle(gitdir: string, file: string): Promise<void> {
  const r = await git(gitdir, ['bundle', 'verify', file]);
  if (r.code !== 0) throw new Error(`git bundle verify ${file}: ${gitSays(r)}`);
}

/**
 * Write a bundle of `refs` (full ref names, as the repository has them) minus what `have`
 * (commit ids the receiver holds) reaches. Returns false when there is nothing new to carry
 * (git refuses to write an empty bundle).
 */
export async function createBundle(gitdir: string, out: string, refs: string[], have: string[] = []): Promise<boolean> {
  const r = await git(gitdir, ['bundle', 'create', '-q', out, '--stdin'], [...refs, ...have.map((h) => `^${h}`)].join('\n') + '\n');
  if (r.code === 0) return true;
  if (/empty bundle|Refusing to create empty/.test(r.stderr)) return false;
  throw new Error(`git bundle create ${out}: ${gitSays(r)}`);
}

/**
 * A placement bundle. A whole one (no prerequisite) is `git bundle create`'s. A delta is written
 * as git would write it (the v2 format: a header of prerequisites and refs, then a thin pack),
 * with two differences that matter at the cost of one missed commit. Every ref is listed, also one whose commit is a prerequisite (main when only the
 * placement moved: git would leave it out, and the site checks each ref against the signed
 * manifest). And a file that is new (a service added) gets a delta base: pack-objects deltas an
 * object only against what the receiver has at the same path, so a new descriptor travels whole;
 * here it is named to pack-objects by a file the receiver has beside it (same directory and
 * extension, closest in size: another descriptor), a name used only to find a base. (The pack
 * is thin as a fetch's: the prerequisites' trees are preferred bases, `-<commit>` on
 * pack-objects' input, whose objects the pack refers to and does not carry.)
 */
export async function createThinBundle(gitdir: string, out: string, refs: Array<[string, string]>, have: string[]): Promise<void> {
  // A whole bundle (no prerequisite) is git's own, streamed: a long history is never listed in memory.
  if (!have.length) {
    if (
      !(await createBundle(
        gitdir,
        out,
        refs.map(([ref]) => ref),
      ))
    )
      throw new Error(`git wrote no bundle ${out}`);
    return;
  }
  const must = (args: string[], input?: string) => gitOut(gitdir, args, `bundle ${out}`, { input });
  const tips = [...new Set(refs.map(([, oid]) => oid))];
  const listed = (await must(['rev-list', '--objects', '--stdin'], [...tips, ...have.map((h) => `^${h}`)].join('\n') + '\n')).split('\n').filter(Boolean);
  const objects = listed.map((l) => {
    const i = l.indexOf(' ');
    return i < 0 ? { oid: l, path: '' } : { oid: l.slice(0, i), path: l.slice(i + 1) };
  });
  const hints = await baseHints(must, have, objects);
  const header = ['# v2 git bundle'];
  for (const l of (await must(['log', '--no-walk', '--format=%H %s', ...have])).split('\n').filter(Boolean)) header.push(`-${l}`);
  for (const [ref, oid] of refs) header.push(`${oid} ${ref}`);
  const input = [...have.map((h) => `-${h}`), ...objects.map((o) => `${o.oid} ${hints.get(o.oid) ?? o.path}`.trim())].join('\n') + '\n';
  // A wider delta window than git's 10: a delta bundle has few objects, each worth its bytes on a USB stick.
  await writePack(gitdir, out, `${header.join('\n')}\n\n`, input, 50);
}

/** New files (paths no prerequisite has) → a path the receiver has beside each, to find a delta base by. */
async function baseHints(
  must: (args: string[], input?: string) => Promise<string>,
  have: string[],
  objects: Array<{ oid: string; path: string }>,
): Promise<Map<string, string>> {
  const held = new Map<string, number>();
  for (const h of have)
    for (const l of (await must(['ls-tree', '-r', '-l', '--full-tree', h])).split('\n')) {
      const m = /^\d+ blob [0-9a-f]+ +(\d+)\t(.+)$/.exec(l);
      if (m) held.set(m[2]!, Number(m[1]));
    }
  const fresh = objects.filter((o) => o.path && !held.has(o.path));
  if (!fresh.length) return new Map();
  const sizes = (await must(['cat-file', '--batch-check=%(objecttype) %(objectsize)'], fresh.map((o) => o.oid).join('\n') + '\n')).split('\n');
  const dirOf = (p: string) => p.slice(0, p.lastIndexOf('/') + 1);
  const extOf = (p: string) => /\.[^./]*$/.exec(p)?.[0] ?? '';
  const hints = new Map<string, string>();
  fresh.forEach((o, i) => {
    const [type, size] = (sizes[i] ?? '').split(' ');
    if (type !== 'blob') return;
    let best: [string, number] | undefined;
    for (const [p, n] of held) {
      if (dirOf(p) !== dirOf(o.path) || extOf(p) !== extOf(o.path)) continue;
      const d = Math.abs(n - Number(size));
      if (!best || d < best[1]) best = [p, d];
    }
    if (best) hints.set(o.oid, best[0]);
  });
  return hints;
}

/** The header, then pack-objects' thin pack of `input` (its stdin: preferred bases, then objects), into `out`. */
function writePack(gitdir: string, out: string, header: string, input: string, window: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const file = createWriteStream(out);
    const written = new Promise<void>((ok, fail) => file.on('finish', ok).on('error', fail));
    file.write(header);
    const child = spawn('git', ['--git-dir', gitdir, 'pack-objects', '--stdout', '--delta-base-offset', `--window=${window}`, '-q'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    let stderr = '';
    child.stderr.on('data', (d) => void (stderr += d));
    child.stdout.pipe(file);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`git pack-objects (bundle ${out}): ${stderr.trim() || `exit ${code}`}`));
      written.then(resolve, reject);
    });
    child.stdin.end(input);
  });
}

/** Fetch `refspecs` (`src:dst`) from a bundle into `gitdir`'s objects (refs are the caller's to move). */
export async function fetchBundle(gitdir: string, file: string, refspecs: string[]): Promise<void> {
  const r = await git(gitdir, ['fetch', '-q', '--no-tags', '--no-write-fetch-head', file, ...refspecs]);
  if (r.code !== 0) throw new Error(`git fetch ${file}: ${gitSays(r)}`);
}
