// A push of refs/canopy/status/C by someone other than C (the root, carrying C's history from an
// air-gapped site's bundle), as native git sees it: whether it fast-forwards the ref, and the
// first new commit (rev-list old..new) that C's declared keys did not sign. Native git only, so
// that a pre-receive hook sees the pushed objects in their quarantine (git passes its
// GIT_OBJECT_DIRECTORY and GIT_ALTERNATE_OBJECT_DIRECTORIES to the processes it starts).
import { execFile } from 'node:child_process';
import type { StatusHistory } from './hook.js';
import { firstNotSignedBy, verdictProblem } from './verify-commit.js';

const TIMEOUT_MS = 60_000;

function git(gitArgs: string[], args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('git', [...gitArgs, ...args], { encoding: 'utf8', timeout: TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024 }, (e, stdout, stderr) => {
      const code = e ? (e as NodeJS.ErrnoException & { code?: unknown }).code : 0;
      if (e && typeof code !== 'number') return reject(new Error(`git ${args[0]} could not run: ${e.message}`));
      resolve({ code: code as number, stdout, stderr });
    });
  });
}

const ZERO = /^0+$/;

/** Whether `ancestor` is `descendant` or reachable from it (throws when git cannot tell: an object missing). */
export async function isAncestor(gitArgs: string[], ancestor: string, descendant: string): Promise<boolean> {
  const r = await git(gitArgs, ['merge-base', '--is-ancestor', ancestor, descendant]);
  if (r.code === 0 || r.code === 1) return r.code === 0;
  throw new Error(`git merge-base --is-ancestor ${ancestor.slice(0, 12)} ${descendant.slice(0, 12)}: ${r.stderr.trim()}`);
}

/** The commits `newOid` adds to `oldOid` (all of its history when the ref is new), oldest first. */
export async function newCommits(gitArgs: string[], oldOid: string | undefined, newOid: string): Promise<string[]> {
  const range = oldOid && !ZERO.test(oldOid) ? [`${oldOid}..${newOid}`] : [newOid];
  const r = await git(gitArgs, ['rev-list', '--reverse', ...range]);
  if (r.code !== 0) throw new Error(`git rev-list ${range[0]}: ${r.stderr.trim()}`);
  return r.stdout.split('\n').filter(Boolean);
}

/**
 * The verdict on moving a status ref of `cluster` from `oldOid` to `newOid`: `gitArgs` picks the
 * repository (none: the one git runs the hook in; else `--git-dir DIR`).
 */
export async function judgeStatusHistory(gitArgs: string[], cluster: string, oldOid: string, newOid: string, keys: readonly string[]): Promise<StatusHistory> {
  if (ZERO.test(newOid)) return { fastForward: false };
  try {
    if (!ZERO.test(oldOid) && !(await isAncestor(gitArgs, oldOid, newOid))) return { fastForward: false };
    const bad = await firstNotSignedBy(gitArgs, await newCommits(gitArgs, oldOid, newOid), keys);
    return bad ? { fastForward: true, problem: verdictProblem(bad.commit, bad.verdict, `cluster ${cluster}'s keys`) } : { fastForward: true };
  } catch (e) {
    return { fastForward: true, problem: `its history cannot be read: ${(e as Error).message}` };
  }
}
