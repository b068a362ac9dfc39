// A commit's signature, checked by native `git verify-commit` against SSH keys (git runs
// ssh-keygen -Y verify; Debian's openssh-client). The keys go to git as an allowed_signers file
// of their own, written for the check and removed after it; what git reports is read by
// core/commit-signers.ts. A commit without a signature, or with one SSH keys cannot verify
// (OpenPGP, X.509), is judged from the commit object alone: no process is started for it.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { allowedSigners, parseVerifyOutput, signatureFormat, type SignatureVerdict } from '../core/commit-signers.js';
import { commitPayload, sshVerify } from '../core/sshsig.js';
import { readCommitObject } from './log.js';
import type { Repo } from './repo-handle.js';

const TIMEOUT_MS = 30_000;

export async function verifyCommitSignature(repo: Repo, commit: string, keys: readonly string[]): Promise<SignatureVerdict> {
  const { gpgsig } = await readCommitObject(repo, commit);
  if (!gpgsig) return { kind: 'unsigned' };
  const format = signatureFormat(gpgsig);
  if (format !== 'ssh') {
    const what = format === 'openpgp' ? 'an OpenPGP signature' : format === 'x509' ? 'an X.509 signature' : 'a signature of unknown kind';
    return { kind: 'invalid', message: `${what}; spec.trust.commitSigners holds SSH keys: sign with git -c gpg.format=ssh` };
  }
  return withAllowedSigners(keys, (file) => gitVerifyCommit(['--git-dir', repo.gitdir], commit, file, keys));
}

/**
 * The first of `commits` that `keys` did not sign, with its verdict (undefined: every one is
 * signed by one of them), by native git's reading: objects git can see but canopy's object store
 * cannot (a pre-receive hook's quarantine) are judged too. The commits are read by one
 * `git cat-file --batch` and their Ed25519 SSH signatures checked in process (core/sshsig.ts
 * sshVerify, what ssh-keygen -Y verify does: a process per commit takes about 0.1 s, a day of
 * heartbeats minutes); the last commit, and any signed with another kind of key, also by native
 * `git verify-commit`, which has the last word.
 */
export async function firstNotSignedBy(
  gitArgs: string[],
  commits: readonly string[],
  keys: readonly string[],
): Promise<{ commit: string; verdict: SignatureVerdict } | undefined> {
  if (!commits.length) return undefined;
  const raw = await catCommits(gitArgs, commits);
  return withAllowedSigners(keys, async (file) => {
    // A signature git cannot check with SSH keys (OpenPGP: gpg may be absent) is not C's.
    const native = (commit: string) =>
      gitVerifyCommit(gitArgs, commit, file, keys).catch((e): SignatureVerdict => ({ kind: 'invalid', message: (e as Error).message }));
    for (const [i, commit] of commits.entries()) {
      const { payload, gpgsig } = commitPayload(raw[i]!);
      let verdict: SignatureVerdict;
      if (!gpgsig) verdict = { kind: 'unsigned' };
      else if (signatureFormat(gpgsig) !== 'ssh') verdict = await native(commit);
      else {
        const v = sshVerify(gpgsig, payload, 'git', keys);
        verdict = v.kind === 'other-key' ? await native(commit) : v;
      }
      if (verdict.kind === 'trusted' && i === commits.length - 1) verdict = await native(commit);
      if (verdict.kind !== 'trusted') return { commit, verdict };
    }
    return undefined;
  });
}

/** The commits' objects as git stores them, by one `git cat-file --batch`. */
function catCommits(gitArgs: string[], commits: readonly string[]): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const child = execFile('git', [...gitArgs, 'cat-file', '--batch'], { encoding: 'buffer', maxBuffer: 1024 * 1024 * 1024, timeout: TIMEOUT_MS }, (e, out) => {
      if (e) return reject(new Error(`git cat-file --batch: ${e.message}`));
      const found: Buffer[] = [];
      let at = 0;
      for (const oid of commits) {
        const eol = out.indexOf(0x0a, at);
        const m = /^([0-9a-f]+) (\w+) (\d+)$/.exec(out.subarray(at, eol).toString('latin1'));
        if (!m || m[1] !== oid || m[2] !== 'commit')
          return reject(new Error(`git cat-file --batch: ${oid} is not a commit here (${out.subarray(at, eol).toString('latin1')})`));
        found.push(out.subarray(eol + 1, eol + 1 + Number(m[3])));
        at = eol + 1 + Number(m[3]) + 1;
      }
      resolve(found);
    });
    child.stdin?.end(commits.map((c) => `${c}\n`).join(''));
  });
}

/** What a verdict other than trusted means, in a sentence about `commit` ("not signed", "signed by …"). */
export function verdictProblem(commit: string, v: SignatureVerdict, whose: string): string {
  const c = `commit ${commit.slice(0, 12)}`;
  if (v.kind === 'unsigned') return `${c} is not signed`;
  if (v.kind === 'untrusted') return `${c} is signed by ${v.fingerprint}, not by ${whose}`;
  if (v.kind === 'invalid') return `${c}: its signature does not verify (${v.message})`;
  return `${c} is signed by ${whose}`;
}

async function withAllowedSigners<T>(keys: readonly string[], fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'canopy-signers-'));
  try {
    const file = path.join(dir, 'allowed_signers');
    await writeFile(file, allowedSigners(keys), { mode: 0o600 });
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function gitVerifyCommit(gitArgs: string[], commit: string, file: string, keys: readonly string[]): Promise<SignatureVerdict> {
  const { code, output } = await run([
    ...gitArgs,
    '-c',
    'gpg.format=ssh',
    '-c',
    'gpg.ssh.program=ssh-keygen',
    '-c',
    `gpg.ssh.allowedSignersFile=${file}`,
    'verify-commit',
    '--raw',
    commit,
  ]);
  return parseVerifyOutput(code, output, keys);
}

/** git's exit code and all it printed (ssh-keygen reports on stderr); throws when git cannot run. */
function run(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { encoding: 'utf8', timeout: TIMEOUT_MS, env: { ...process.env, LC_ALL: 'C' } }, (e, stdout, stderr) => {
      const code = e ? (e as NodeJS.ErrnoException & { code?: unknown }).code : 0;
      if (e && typeof code !== 'number') return reject(new Error(`git verify-commit could not run: ${e.message}`));
      resolve({ code: code as number, output: `${stdout}${stderr}` });
    });
  });
}
