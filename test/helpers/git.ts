// Native git in tests: to make commits as users do, and to check what canopy wrote.
import { execFileSync, execFile } from 'node:child_process';
import { writeFileSync, rmSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/** Temporary directories are the clean-up helper's: each is removed when the test file's process exits. */
export { tempDir } from './cleanup.js';

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 't@example.com' },
  }).trimEnd();
}

/** git without blocking this process: for talking to a server the test itself runs. */
export function gitAsync(dir: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('git', ['-C', dir, ...args], { encoding: 'utf8' }, (e, out, err) =>
      e ? reject(new Error(`git ${args.join(' ')}: ${err || e.message}`)) : resolve(out.trimEnd()),
    ),
  );
}

/**
 * Write (or with null delete) files, commit them all on the current branch, return the commit.
 * With `signingKey` (an SSH private key file, as ssh-keygen writes it) the commit is signed with it.
 */
export function commitFiles(dir: string, files: Record<string, string | null>, message = 'change', o: { signingKey?: string } = {}): string {
  for (const [f, text] of Object.entries(files)) {
    const p = path.join(dir, f);
    if (text === null) {
      rmSync(p, { force: true });
      continue;
    }
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  git(dir, 'add', '-A');
  if (o.signingKey) git(dir, '-c', 'gpg.format=ssh', '-c', `user.signingkey=${o.signingKey}`, 'commit', '-q', '-S', '-m', message);
  else git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

/** A service descriptor's YAML. */
export function serviceYaml(app: string, name: string, spec: Record<string, unknown>): string {
  const lines = ['apiVersion: canopy/v1', 'kind: Service', `metadata: {name: ${name}, app: ${app}}`, 'spec:'];
  for (const [k, v] of Object.entries(spec)) lines.push(`  ${k}: ${JSON.stringify(v)}`);
  return lines.join('\n') + '\n';
}
