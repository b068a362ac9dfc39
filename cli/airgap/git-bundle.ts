// Native Git bundles, through the git CLI (isomorphic-git has no bundle support): create one from
// refs and prerequisites, verify one, list its refs, fetch its refs into a repository. Every file
// canopy writes or reads as a bundle goes through here, so `git bundle verify` accepts what we
// write and we refuse what it refuses.
import { execFile } from 'node:child_process';

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

/** Fetch `refspecs` (`src:dst`) from a bundle into `gitdir`'s objects (refs are the caller's to move). */
export async function fetchBundle(gitdir: string, file: string, refspecs: string[]): Promise<void> {
  const r = await git(gitdir, ['fetch', '-q', '--no-tags', '--no-write-fetch-head', file, ...refspecs]);
  if (r.code !== 0) throw new Error(`git fetch ${file}: ${gitSays(r)}`);
}
