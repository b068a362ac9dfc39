// Keeps a local repository in step with a remote: pulls the refs a process reads, pushes the
// refs it writes. Pushes are queued and retried with backoff, so a site cut off from its Git
// host keeps committing locally and catches up when the link returns, history intact.
import type { Logger } from '../core/log.js';
import type { Telemetry } from '../core/telemetry.js';
import { withTimeout } from '../core/timeout.js';
import { resolveRef, type Repo } from './repo.js';
import { fetchRef, lsRemote, pushRef, type Remote } from './remote.js';

export interface GitSync {
  readonly remote: Remote;
  /** Fetch these refs if the remote moved them (fastForwardOnly: only onto what is here); resolves with the refs that changed. */
  pull(refs: string[], opts?: { depth?: number; fastForwardOnly?: boolean }): Promise<string[]>;
  /** Push this ref as soon as the remote can be reached. */
  push(ref: string): void;
  /** Refs committed locally and not yet pushed. */
  unpushed(): string[];
  /** Resolves when nothing is waiting to be pushed (or the remote is unreachable). */
  flush(): Promise<void>;
  close(): void;
}

/** isomorphic-git's HTTP requests have no deadline: one hung request must not stall a process. */
const TIMEOUT_MS = 30_000;

/** `telemetry`: where each push's time goes, as canopy_git_push_seconds{result: ok | error}. */
export function gitSync(repo: Repo, remote: Remote, log: Logger, telemetry?: Telemetry): GitSync {
  const pushSeconds = telemetry?.histogram('canopy_git_push_seconds', 'Time to push a ref to the remote fleet repository, by result (ok, error)');
  const pending = new Set<string>();
  let running: Promise<void> | undefined;
  let backoff = 500;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let lastError = '';

  /** What each ref was last pushed at (or found at on the remote): pushing it again is a no-op. */
  const pushed = new Map<string, string>();

  /** Push one ref; true when the remote has what this repository has. */
  const pushOne = async (ref: string, oid: string): Promise<void> => {
    const t0 = performance.now();
    const took = (result: string) => pushSeconds?.observe((performance.now() - t0) / 1000, { result });
    try {
      await withTimeout(pushRef(repo, remote, ref), TIMEOUT_MS, `push ${ref}`);
    } catch (e) {
      // isomorphic-git fails on a push that changes nothing (the remote already has this commit:
      // pushed before a restart, or by an earlier try whose answer was lost): ask the remote.
      const there = await withTimeout(lsRemote(remote, ref), TIMEOUT_MS, 'ls-remote').catch(() => undefined);
      if (there?.get(ref) !== oid) {
        took('error');
        throw e;
      }
    }
    took('ok');
    pushed.set(ref, oid);
  };

  const run = async () => {
    // Every waiting ref is tried in turn: one that keeps failing does not hold the others back.
    let failed = false;
    while (pending.size && !closed) {
      let progressed = false;
      for (const ref of [...pending]) {
        if (closed) return;
        // A ref asked for before it was ever written (nothing to push yet) is not an error.
        const oid = await resolveRef(repo, ref);
        if (!oid || pushed.get(ref) === oid) {
          pending.delete(ref);
          progressed = true;
          continue;
        }
        try {
          await pushOne(ref, oid);
          // Moved again while being pushed (a new commit asked for its own push): push once more.
          if ((await resolveRef(repo, ref)) === oid) pending.delete(ref);
          progressed = true;
          backoff = 500;
          if (lastError) {
            log.info(`pushed to ${remote.url} again`);
            lastError = '';
          }
        } catch (e) {
          const msg = (e as Error).message;
          if (msg !== lastError) log.warn(`push ${ref} to ${remote.url} failed (${msg}); kept locally, retrying`);
          lastError = msg;
          failed = true;
        }
      }
      if (failed || !progressed) break;
    }
    if (failed && !closed) {
      timer = setTimeout(
        () => {
          timer = undefined;
          kick();
        },
        backoff * (0.75 + Math.random() / 2),
      );
      backoff = Math.min(backoff * 2, 30_000);
    }
  };
  const kick = () => {
    if (running || closed) return;
    // A push asked for after the loop's last check and before this settles must not wait for
    // the next push to be noticed: look again once the loop is done.
    running = run().finally(() => {
      running = undefined;
      if (pending.size && !timer && !closed) kick();
    });
  };

  return {
    remote,
    async pull(refs, opts = {}) {
      const remoteRefs = await withTimeout(lsRemote(remote, 'refs/'), TIMEOUT_MS, 'ls-remote');
      const changed: string[] = [];
      for (const ref of refs) {
        const want = remoteRefs.get(ref);
        if (!want) continue;
        const before = await resolveRef(repo, ref);
        if (before === want || pending.has(ref)) continue; // our own unpushed commits win
        await withTimeout(fetchRef(repo, remote, ref, opts), TIMEOUT_MS, `fetch ${ref}`);
        if ((await resolveRef(repo, ref)) !== before) changed.push(ref);
      }
      return changed;
    },
    push(ref) {
      pending.add(ref);
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      kick();
    },
    unpushed: () => [...pending],
    async flush() {
      while (running !== undefined) await running;
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
    },
  };
}
