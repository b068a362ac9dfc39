// How a long-running command (up, root, cluster, agent) ends: on SIGINT, SIGTERM or SIGHUP, or
// when its start-up fails, it stops its parts, in order, each within a time limit, and exits
// 0 when every part stopped, 1 when one failed or ran out of time. Shutdown runs once:
//
// - A signal during start-up waits for the step under way (bounded), then stops what started;
//   the start-up checks `stopping` between steps and starts nothing more.
// - A second signal during shutdown does not cut it short (the workloads would stay running):
//   it is reported and ignored. Each part's stop is bounded, so shutdown is too; SIGKILL abandons it.
// - stdout/stderr may be closed pipes (stdio.ts): messages then go only to the log sink.
// - Once stopped, the process exits even if a handle (a socket still closing) would keep it up.
import type { Running } from './parts/running.js';
import { guardStdio, writable } from './stdio.js';

export const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface PartOptions {
  /** For messages: what failed to stop. */
  name?: string;
  /** Parts stop by descending rank, then last started first. */
  rank?: number;
  /** How long its stop may take (default 10 s). */
  timeoutMs?: number;
}

interface Entry extends PartOptions {
  part: Running;
  seq: number;
}

export interface LifecycleOptions {
  /** Also receives every message (e.g. canopy up's log file, which outlives a closed terminal). */
  log?: (line: string) => void;
  /** How long shutdown waits for a start-up step under way (default 15 s). */
  startupGraceMs?: number;
  /** After shutdown, how long open handles may keep the process up before it exits (default 3 s). */
  exitGraceMs?: number;
}

export class Lifecycle {
  private readonly entries: Entry[] = [];
  private seq = 0;
  private state: 'running' | 'stopping' | 'stopped' = 'running';
  private startup: Promise<unknown> = Promise.resolve();
  private resolveDone!: (code: number) => void;
  /** Resolves with the exit code once every part has stopped (or failed to). */
  readonly done: Promise<number> = new Promise((r) => (this.resolveDone = r));

  constructor(private readonly opts: LifecycleOptions = {}) {
    guardStdio();
  }

  get stopping(): boolean {
    return this.state !== 'running';
  }

  /** Stop on SIGINT, SIGTERM and SIGHUP; a later signal is reported and ignored. */
  listen(): this {
    for (const sig of SIGNALS) {
      process.on(sig, () => {
        if (this.state === 'running') void this.stop(sig);
        else
          this.say(
            `${sig} again: ${this.state === 'stopping' ? 'still stopping (each part has a time limit; SIGKILL abandons the clean-up)' : 'already stopped'}`,
          );
      });
    }
    return this;
  }

  /**
   * A part to stop on shutdown. One added while shutdown runs is stopped with the rest; one added
   * after it (a start-up step that outlived its grace) is stopped at once.
   */
  add(part: Running, o: PartOptions = {}): void {
    if (this.state !== 'stopped') {
      this.entries.push({ part, seq: this.seq++, ...o });
      return;
    }
    this.say(`${o.name ?? 'a part'} started after shutdown: stopping it`);
    void within(part.stop(), o.timeoutMs ?? 10_000).catch((e) => this.say(`stop: ${o.name ?? 'a part'}: ${(e as Error).message}`));
  }

  /** A start-up step under way: shutdown waits for it (bounded) before it stops the parts. */
  step<T>(p: Promise<T>): Promise<T> {
    this.startup = Promise.allSettled([this.startup, p]);
    return p;
  }

  /** Begins shutdown (once; later calls get the same result). `failed`: exit 1 whatever happens. */
  stop(reason: string, failed = false): Promise<number> {
    if (this.state !== 'running') return this.done;
    this.state = 'stopping';
    void this.shutdown(reason, failed);
    return this.done;
  }

  private async shutdown(reason: string, failed: boolean): Promise<void> {
    this.say(`${reason}: stopping…`);
    let ok = !failed;
    if (!(await within(this.startup, this.opts.startupGraceMs ?? 15_000))) {
      ok = false;
      this.say('start-up did not settle in time: stopping what has started');
    }
    // Parts added while earlier ones stop (a start-up step that finished late) are stopped too.
    for (let e = this.next(); e; e = this.next()) {
      const what = e.name ?? 'a part';
      try {
        if (!(await within(e.part.stop(), e.timeoutMs ?? 10_000))) {
          ok = false;
          this.say(`stop: ${what} did not stop within ${(e.timeoutMs ?? 10_000) / 1000} s`);
        }
      } catch (err) {
        ok = false;
        this.say(`stop: ${what}: ${(err as Error).message}`);
      }
    }
    this.state = 'stopped';
    const code = ok ? 0 : 1;
    this.say(ok ? 'stopped' : 'stopped, with failures (exit 1)');
    this.resolveDone(code);
    // A socket or timer left open must not keep a stopped command up.
    setTimeout(() => process.exit(code), this.opts.exitGraceMs ?? 3000).unref();
  }

  private next(): Entry | undefined {
    if (!this.entries.length) return undefined;
    this.entries.sort((a, b) => (b.rank ?? 0) - (a.rank ?? 0) || b.seq - a.seq);
    return this.entries.shift();
  }

  private say(msg: string): void {
    if (writable(process.stderr)) process.stderr.write(msg + '\n');
    this.opts.log?.(msg);
  }
}

/** Whether p settled within ms (a rejection counts as settled: the caller awaits p itself when it cares). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = p.then(
    () => true,
    (e) => {
      throw e;
    },
  );
  try {
    return await Promise.race([settled, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** A single part's command (root, cluster, agent): start it, then run until a signal. */
export async function runUntilSignal(start: () => Promise<Running>, name: string, onRunning?: () => void): Promise<number> {
  const life = new Lifecycle().listen();
  let part: Running;
  try {
    part = await life.step(start());
  } catch (e) {
    if (life.stopping) return life.done;
    throw e;
  }
  life.add(part, { name });
  if (!life.stopping) onRunning?.();
  return life.done;
}
