// The one loop shape used at every level (root, cluster, agent): a keyed work queue. Events only
// enqueue a key; `reconcile(key)` re-reads desired and observed state and acts. A key queued
// while it is being reconciled runs once more afterwards (never twice at once); errors retry
// with exponential backoff and jitter; a TerminalError is not retried; every key known to the
// loop is resynced periodically.
import type { Logger } from '../core/log.js';
import { TerminalError } from '../core/errors.js';

export interface ReconcileResult {
  requeueAfterMs?: number;
}
export type Reconciler = (key: string) => Promise<ReconcileResult | void>;

export interface LoopOptions {
  name: string;
  reconcile: Reconciler;
  log: Logger;
  /** Periodic resync of `resyncKeys()`; 0 disables. */
  resyncMs?: number;
  resyncKeys?: () => string[];
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  timers?: Timers;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}
const realTimers: Timers = { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };

export interface Loop {
  enqueue(key: string): void;
  enqueueAfter(key: string, ms: number): void;
  /** Resolves when the queue is empty and nothing is running (tests, clean shutdown). */
  idle(): Promise<void>;
  stop(): Promise<void>;
  readonly stats: { runs: number; errors: number };
}

export function startLoop(opts: LoopOptions): Loop {
  const timers = opts.timers ?? realTimers;
  const base = opts.baseBackoffMs ?? 200;
  const max = opts.maxBackoffMs ?? 30_000;
  const queue: string[] = [];
  const queued = new Set<string>();
  const running = new Set<string>();
  const dirty = new Set<string>(); // enqueued while running
  const failures = new Map<string, number>();
  const delayed = new Map<string, unknown>();
  const idleWaiters: Array<() => void> = [];
  const stats = { runs: 0, errors: 0 };
  let stopped = false;
  let pumping = false;
  let resyncTimer: unknown;

  const enqueue = (key: string) => {
    if (stopped) return;
    if (running.has(key)) {
      dirty.add(key);
      return;
    }
    if (queued.has(key)) return;
    queued.add(key);
    queue.push(key);
    void pump();
  };

  const enqueueAfter = (key: string, ms: number) => {
    if (stopped) return;
    const prev = delayed.get(key);
    if (prev !== undefined) timers.clearTimeout(prev);
    delayed.set(
      key,
      timers.setTimeout(() => {
        delayed.delete(key);
        enqueue(key);
      }, ms),
    );
  };

  // Keys run one at a time, in order: each level's work is small and ordered work keeps writes
  // to Git and MQTT simple. Concurrency, if ever needed, goes here and nowhere else.
  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      while (queue.length && !stopped) {
        const key = queue.shift()!;
        queued.delete(key);
        running.add(key);
        stats.runs++;
        const t0 = performance.now();
        try {
          const res = await opts.reconcile(key);
          // Where a pass spends its time, for CANOPY_LOG=debug (passes under 2 ms are not worth a line).
          const ms = performance.now() - t0;
          if (ms >= 2) opts.log.debug(`${key}: ${ms.toFixed(1)} ms`);
          failures.delete(key);
          if (res?.requeueAfterMs !== undefined) enqueueAfter(key, res.requeueAfterMs);
        } catch (e) {
          stats.errors++;
          if (e instanceof TerminalError) {
            opts.log.error(`${key}: ${e.message} (not retried: ${e.next})`);
          } else {
            const n = (failures.get(key) ?? 0) + 1;
            failures.set(key, n);
            const delay = Math.min(max, base * 2 ** (n - 1)) * (0.5 + Math.random() / 2);
            opts.log.warn(`${key}: ${(e as Error).message}; retry ${n} in ${Math.round(delay)} ms`);
            if (n > 3) opts.log.debug((e as Error).stack ?? '');
            enqueueAfter(key, delay);
          }
        } finally {
          running.delete(key);
          if (dirty.delete(key)) enqueue(key);
        }
      }
    } finally {
      pumping = false;
      if (!queue.length && !running.size) for (const w of idleWaiters.splice(0)) w();
    }
  }

  const scheduleResync = () => {
    if (!opts.resyncMs || stopped) return;
    resyncTimer = timers.setTimeout(() => {
      for (const k of opts.resyncKeys?.() ?? []) enqueue(k);
      scheduleResync();
    }, opts.resyncMs);
  };
  scheduleResync();

  return {
    enqueue,
    enqueueAfter,
    stats,
    idle: () => (queue.length || running.size ? new Promise((r) => idleWaiters.push(r)) : Promise.resolve()),
    async stop() {
      stopped = true;
      if (resyncTimer !== undefined) timers.clearTimeout(resyncTimer);
      for (const h of delayed.values()) timers.clearTimeout(h);
      delayed.clear();
      queue.length = 0;
      queued.clear();
      while (running.size) await new Promise((r) => setTimeout(r, 10));
    },
  };
}
