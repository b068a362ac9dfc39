// The fleet repository at the root, for the bundle commands: a local directory, or the Git
// server a root works against (an http(s) URL; credentials in it or in CANOPY_GIT_USERNAME /
// CANOPY_GIT_PASSWORD or CANOPY_GIT_TOKEN). A remote one is mirrored as the root mirrors it, by
// default in the directory a root on this machine uses for that URL (~/.cache/canopy/root-<url>),
// so a root running here sees at once what an import adds. main is taken as the server has it (as
// the root takes it); the root's records and the status refs only ever move forward onto what the
// mirror holds, so a root sharing the mirror never sees its refs moved back.
import { Failure } from '../args.js';
import { openRepo, RefConflictError, type Repo } from '../../reconciler/git/repo.js';
import type { Remote } from '../../reconciler/git/remote.js';
import { defaultCache, remoteRepo } from '../parts/remote.js';

export interface FleetRepo {
  repo: Repo;
  /** What the user gave, for messages (a URL without its credentials). */
  where: string;
  /** Set for a remote repository. */
  remote?: Remote;
  /** The server's refs as they were when mirrored (remote only). */
  served: Map<string, string>;
}

export interface FleetRepoOptions {
  cacheDir?: string;
  /** Taken as the server has them (main). */
  refs: string[];
  /** Taken only when they move forward from what the mirror holds (the root's records, status refs). */
  forward: string[];
  /** Turns a problem with --repo into the command's usage error. */
  usage(problem: string): Error;
}

export const isUrl = (s: string) => /^https?:\/\//.test(s);

export async function openFleetRepo(arg: string, o: FleetRepoOptions): Promise<FleetRepo> {
  const r = await remoteRepo(arg);
  if (!r) {
    const repo = await openRepo(arg).catch((e: Error) => {
      throw o.usage(`--repo ${arg}: ${e.message}`);
    });
    return { repo, where: arg, served: new Map() };
  }
  const { remote } = r;
  const dir = o.cacheDir ?? defaultCache('root', remote.url);
  const repo = await r.openMirror(dir, remote);
  const mirror = async () => {
    const served = await r.lsRemote(remote, 'refs/');
    if (!served.has('refs/heads/main')) throw new Error('it has no main branch: is it the fleet repository?');
    for (const ref of o.refs) if (served.has(ref)) await r.fetchRef(repo, remote, ref);
    for (const ref of o.forward) if (served.has(ref)) await r.fetchRef(repo, remote, ref, { fastForwardOnly: true });
    return served;
  };
  try {
    // A root sharing the mirror may move a ref between this read and this write: once more.
    const served = await mirror().catch((e: Error) => (e instanceof RefConflictError ? mirror() : Promise.reject(e)));
    return { repo, where: remote.url, remote, served };
  } catch (e) {
    throw new Failure(`--repo ${remote.url}: ${(e as Error).message} (mirrored in ${dir}); check the URL and the credentials`);
  }
}

/** Push `ref` (from the local ref `from`) to the server; a refusal names what the server said. */
export async function publish(f: FleetRepo, ref: string, from = ref): Promise<void> {
  if (!f.remote) return;
  const { pushRef } = await import('../../reconciler/git/remote.js');
  await pushRef(f.repo, f.remote, ref, from);
}
