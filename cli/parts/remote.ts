// A remote repository (an http(s) URL) and the Git client code to mirror it, loaded only then:
// a part on a local repository, and every agent, never loads an HTTP Git client.
import os from 'node:os';
import path from 'node:path';
import type { Remote } from '../../reconciler/git/remote.js';

export async function remoteRepo(repo: string) {
  if (!/^https?:\/\//.test(repo)) return undefined;
  const [remote, sync] = await Promise.all([import('../../reconciler/git/remote.js'), import('../../reconciler/git/sync.js')]);
  return { ...remote, remote: remote.parseRemote(repo) as Remote, gitSync: sync.gitSync };
}

/** Where a part of `kind` mirrors the remote repository `url` (without credentials) by default. */
export function defaultCache(kind: string, url: string): string {
  return path.join(os.homedir(), '.cache', 'canopy', `${kind}-${url.replace(/^https?:\/\//, '').replace(/[^A-Za-z0-9._-]+/g, '_')}`);
}
