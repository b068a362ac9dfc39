// What a benchmark must undo (processes, containers, brokers), registered as it is created, so
// that Ctrl-C or a failing benchmark still leaves the machine as it found it. Each benchmark
// runs its own cleanups in a `finally`; the runner runs whatever is left on a signal.
type Fn = () => Promise<void> | void;

const pending = new Set<Fn>();

/** Register `fn`; the returned function runs it once (and unregisters it). */
export function onCleanup(fn: Fn): () => Promise<void> {
  let done = false;
  const once: Fn = async () => {
    if (done) return;
    done = true;
    pending.delete(once);
    await fn();
  };
  pending.add(once);
  return async () => {
    await once();
  };
}

/** Run every registered cleanup, newest first; errors are reported, never thrown. */
export async function cleanupAll(report: (line: string) => void = (l) => process.stderr.write(l + '\n')): Promise<void> {
  for (const fn of [...pending].reverse()) {
    try {
      await fn();
    } catch (e) {
      report(`cleanup: ${(e as Error).message}`);
    }
  }
}

/** A scope: cleanups registered through it run, newest first, when `close()` is called. */
export class Scope {
  private fns: Array<() => Promise<void>> = [];
  add(fn: Fn): void {
    this.fns.push(onCleanup(fn));
  }
  async close(): Promise<void> {
    for (const fn of this.fns.reverse()) {
      try {
        await fn();
      } catch (e) {
        process.stderr.write(`cleanup: ${(e as Error).message}\n`);
      }
    }
    this.fns = [];
  }
}

/** Remove a fleet's containers (by its canopy.fleet label) and, with `volumes`, its named volumes. */
export async function removeFleetDocker(docker: import('dockerode'), fleet: string, o: { volumes?: boolean } = {}): Promise<void> {
  const label = [`canopy.fleet=${fleet}`];
  const cs = await docker.listContainers({ all: true, filters: { label } });
  await Promise.all(
    cs.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: !!o.volumes })
        .catch(() => undefined),
    ),
  );
  if (!o.volumes) return;
  const vs = (await docker.listVolumes({ filters: { label } })).Volumes ?? [];
  await Promise.all(
    vs.map((v) =>
      docker
        .getVolume(v.Name)
        .remove()
        .catch(() => undefined),
    ),
  );
}
