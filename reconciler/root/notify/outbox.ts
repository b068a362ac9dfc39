// The notifications not yet delivered, off the reconcile loop: a bounded list (the oldest is
// dropped, and counted, when it is full) delivered per target in order (a commit status's pending
// before its success), each retried with exponential backoff and jitter on a network error, a
// timeout, 5xx or 429 until it is delivered or too old; any other answer ends it. The list is
// journaled in the root's state directory (the repository's gitdir) before a request is first
// sent, so a root killed -9 delivers what it had not after its restart.
import type { Journal } from '../../core/journal.js';
import type { Logger } from '../../core/log.js';
import type { Counter } from '../../core/telemetry.js';
import { send as httpSend, type Outcome, type Request } from './deliveries.js';

export interface Entry extends Request {
  id: number;
  /** When it was queued, and when it is next tried (ms). */
  firstAt: number;
  nextAt: number;
  attempts: number;
}

export interface OutboxOptions {
  log: Logger;
  /** canopy_notifications_total{target, result}: delivered, retried, rejected, failed, dropped. */
  counter: Counter;
  env?: NodeJS.ProcessEnv;
  journal?: Journal;
  max?: number;
  baseMs?: number;
  capMs?: number;
  giveUpMs?: number;
  timeoutMs?: number;
  clock?: () => number;
  random?: () => number;
  send?: (r: Request, env: NodeJS.ProcessEnv, timeoutMs: number) => Promise<Outcome>;
}

export const OUTBOX_FILE = 'notify-outbox.json';
interface Saved {
  nextId: number;
  entries: Entry[];
}

/** The wait before try `attempts + 1`: base × 2^(attempts−1) up to cap, the upper half of it at random. */
export function backoffMs(attempts: number, baseMs: number, capMs: number, random: () => number): number {
  const full = Math.min(capMs, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(full / 2 + (random() * full) / 2);
}

export class Outbox {
  readonly entries: Entry[] = [];
  private nextId = 1;
  private readonly busy = new Map<string, Promise<void>>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private saving: Promise<void> = Promise.resolve();
  private dirty = false;
  private readonly o: Required<Omit<OutboxOptions, 'journal'>> & { journal?: Journal };

  constructor(o: OutboxOptions) {
    this.o = {
      env: process.env,
      max: 1000,
      baseMs: 1000,
      capMs: 60_000,
      giveUpMs: 600_000,
      timeoutMs: 10_000,
      clock: Date.now,
      random: Math.random,
      send: httpSend,
      ...o,
    };
  }

  /** What an earlier root left undelivered. */
  async load(): Promise<void> {
    const saved = await this.o.journal?.read<Saved>(OUTBOX_FILE);
    if (!saved?.entries?.length) return;
    // A restarted root tries at once what it had been backing off from.
    const now = this.o.clock();
    this.entries.push(...saved.entries.slice(-this.o.max).map((e) => ({ ...e, nextAt: now })));
    this.nextId = Math.max(saved.nextId, ...this.entries.map((e) => e.id + 1));
    this.o.log.info(`notifications: ${this.entries.length} undelivered from before the restart`);
    this.kick();
  }

  add(r: Request): void {
    if (this.stopped) return;
    const now = this.o.clock();
    this.entries.push({ ...r, id: this.nextId++, firstAt: now, nextAt: now, attempts: 0 });
    while (this.entries.length > this.o.max) {
      const old = this.entries.shift()!;
      this.o.counter.inc({ target: old.target, result: 'dropped' });
      this.o.log.warn(`notifications: outbox full (${this.o.max}): dropped the oldest, ${old.event} to ${old.url}`);
    }
    // Journaled before it is first sent.
    void this.save().then(() => this.kick());
  }

  /** Deliver what is due, one request per target key at a time; wake for the next that is not. */
  private kick(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const now = this.o.clock();
    let wake = Infinity;
    const heads = new Map<string, Entry>();
    for (const e of this.entries) if (!heads.has(e.key)) heads.set(e.key, e);
    for (const [key, e] of heads) {
      if (this.busy.has(key)) continue;
      if (e.nextAt > now) wake = Math.min(wake, e.nextAt - now);
      else
        this.busy.set(
          key,
          this.deliver(e).finally(() => {
            this.busy.delete(key);
            this.kick();
          }),
        );
    }
    if (wake < Infinity) this.timer = setTimeout(() => this.kick(), wake).unref();
  }

  private async deliver(e: Entry): Promise<void> {
    const out = await this.o.send(e, this.o.env, this.o.timeoutMs);
    e.attempts++;
    const now = this.o.clock();
    const to = `${e.event} to ${e.url}`;
    if (out.ok) {
      this.o.counter.inc({ target: e.target, result: 'delivered' });
      if (e.attempts > 1) this.o.log.info(`notifications: delivered ${to} after ${e.attempts} tries`);
      this.remove(e);
    } else if (out.retry && now - e.firstAt < this.o.giveUpMs) {
      this.o.counter.inc({ target: e.target, result: 'retried' });
      e.nextAt = now + backoffMs(e.attempts, this.o.baseMs, this.o.capMs, this.o.random);
      const say = `notifications: ${to}: ${out.why}; retrying in ${Math.round((e.nextAt - now) / 1000)} s`;
      if (e.attempts === 1) this.o.log.warn(say);
      else this.o.log.debug(say);
    } else {
      this.o.counter.inc({ target: e.target, result: out.retry ? 'failed' : 'rejected' });
      this.o.log.warn(`notifications: ${to}: ${out.why}; ${out.retry ? `given up after ${e.attempts} tries` : 'not retried'}`);
      this.remove(e);
    }
    await this.save();
  }

  private remove(e: Entry): void {
    const i = this.entries.indexOf(e);
    if (i >= 0) this.entries.splice(i, 1);
  }

  /** Write the list; writes asked for while one runs make one more write after it. */
  private save(): Promise<void> {
    const j = this.o.journal;
    if (!j) return Promise.resolve();
    if (this.dirty) return this.saving;
    this.dirty = true;
    this.saving = this.saving.then(async () => {
      this.dirty = false;
      try {
        await j.write(OUTBOX_FILE, { nextId: this.nextId, entries: this.entries } satisfies Saved);
      } catch (e) {
        this.o.log.warn(`notifications: cannot journal the outbox: ${(e as Error).message}`);
      }
    });
    return this.saving;
  }

  /** Stop sending (what is undelivered stays journaled); waits for requests under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.all(this.busy.values());
    await this.saving;
  }
}
