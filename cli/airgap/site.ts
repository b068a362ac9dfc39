// A site cluster's own Git repository: `<state-dir>/repo`, bare. A cluster with no --repo (an
// air-gapped site) records its status history there (refs/canopy/status/<c>), and `canopy bundle
// import FILE --state-dir DIR` fetches the root's placement ref, main and notes into it; the
// cluster adopts a placement from it as from any repository. Made by whichever comes first.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { git, gitSays } from './git-bundle.js';

export function siteRepoDir(stateDir: string): string {
  return path.join(path.resolve(stateDir), 'repo');
}

/** The site repository's git dir, made (bare, branch main) when it is not there yet. */
export async function ensureSiteRepo(stateDir: string): Promise<string> {
  const dir = siteRepoDir(stateDir);
  if (existsSync(path.join(dir, 'HEAD'))) return dir;
  await mkdir(dir, { recursive: true });
  const r = await git(undefined, ['init', '-q', '--bare', '--initial-branch=main', dir]);
  if (r.code !== 0) throw new Error(`making the site repository ${dir}: ${gitSays(r)}`);
  return dir;
}
