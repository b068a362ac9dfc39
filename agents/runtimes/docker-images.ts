// What the docker runtime asks of images: whether the node has one (imagePullPolicy
// IfNotPresent), and which bytes a container runs, as its repository digest (`name@sha256:…`) or
// else its image ID, for the replica's status. Digests are looked up once per image ID.
import type { ContainerSummary, DockerEngine } from './docker-engine.js';
import { pullImage } from './docker-pull.js';
import type { DriverOptions, Workload } from './driver.js';
import { noRegistryAuth, parseImageRef } from './image-ref.js';
import { Pulls } from './pulls.js';

export type PullPolicy = 'IfNotPresent' | 'Always' | 'Never';

/** True when the node has the image (by reference or ID). */
export async function hasImage(docker: DockerEngine, ref: string): Promise<boolean> {
  try {
    await docker.inspectImage(ref);
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

/** Whether a start pulls first: always with `Always`, when the node lacks the image with `IfNotPresent` (the default), never with `Never`. */
export async function needsPull(docker: DockerEngine, image: string, policy: PullPolicy = 'IfNotPresent'): Promise<boolean> {
  return policy === 'Always' || (policy === 'IfNotPresent' && !(await hasImage(docker, image)));
}

const MAX_CACHED = 256;
/** What a status may carry (schemas/messages.ts ImageDigest). */
const DIGEST = /^([^@\s]+@)?sha256:[0-9a-f]{64}$/;

/** A container's image as a digest, from a cache of image ID → repository digests. */
export function imageDigests(docker: DockerEngine) {
  const cache = new Map<string, string[]>();
  return {
    /** The repository digest of the container's repository, else the image's first one, else its ID. */
    async of(c: ContainerSummary): Promise<string | undefined> {
      if (!c.ImageID) return undefined;
      let digests = cache.get(c.ImageID);
      if (!digests) {
        try {
          digests = (await docker.inspectImage(c.ImageID)).RepoDigests ?? [];
        } catch {
          return c.ImageID; // removed since: its ID is what ran
        }
        if (cache.size >= MAX_CACHED) cache.clear();
        cache.set(c.ImageID, digests);
      }
      const repo = c.Image && !c.Image.startsWith('sha256:') ? familiar(parseImageRef(c.Image).name) : undefined;
      const found = digests.find((d) => familiar(d.slice(0, d.indexOf('@'))) === repo) ?? digests[0] ?? c.ImageID;
      return DIGEST.test(found) ? found : undefined;
    },
    /** A pull may give an image ID repository digests it lacked. */
    forget(): void {
      cache.clear();
    },
  };
}

/** `docker.io/library/nginx` → `nginx`, as the engine writes repository digests. */
function familiar(name: string): string {
  return name.replace(/^docker\.io\//, '').replace(/^library\//, '');
}

/**
 * The docker runtime's pulls (pulls.ts) over the engine, with the digests cache they refresh:
 * `run` starts a replica whose image came (unless it is no longer wanted); after `close` none starts.
 */
export function containerPulls(docker: DockerEngine, opts: DriverOptions, run: (w: Workload, wanted: () => boolean) => Promise<void>) {
  const digests = imageDigests(docker);
  const listeners: Array<() => void> = [];
  let closed = false;
  const pulls = new Pulls({
    pull: (image, auth, onProgress) =>
      pullImage(docker.address, image, auth, { timeoutMs: opts.pull?.timeoutMs ?? 600_000, stallMs: opts.pull?.stallMs ?? 60_000, onProgress }),
    run: (w, wanted) => {
      digests.forget();
      return run(w, () => !closed && wanted());
    },
    auth: opts.registryAuth ?? noRegistryAuth,
    now: Date.now,
    changed: () => {
      for (const fn of listeners) fn();
    },
  });
  return {
    pulls,
    digests,
    listen: (fn: () => void) => void listeners.push(fn),
    close: () => {
      closed = true;
    },
  };
}
