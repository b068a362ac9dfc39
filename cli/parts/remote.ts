// A remote repository (an http(s) URL) and the Git client code to mirror it, loaded only then:
// a part on a local repository, and every agent, never loads an HTTP Git client.
import type { Remote } from '../../reconciler/git/remote.js';

export async function remoteRepo(repo: string) {
  if (!/^https?:\/\//.test(repo)) return undefined;
  const [remote, sync] = await Promise.all([import('../../reconciler/git/remote.js'), import('../../reconciler/git/sync.js')]);
  return { ...remote, remote: remote.parseRemote(repo) as Remote, gitSync: sync.gitSync };
}
