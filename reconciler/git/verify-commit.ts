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
  const dir = await mkdtemp(path.join(os.tmpdir(), 'canopy-signers-'));
  try {
    const file = path.join(dir, 'allowed_signers');
    await writeFile(file, allowedSigners(keys), { mode: 0o600 });
    const { code, output } = await run([
      '--git-dir',
      repo.gitdir,
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
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
