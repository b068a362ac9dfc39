import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startLoop, type Loop, type LoopOptions, type Timers, type ReconcileResult } from '../../reconciler/runtime/loop.js';
import { TerminalError } from '../../reconciler/core/errors.js';
import { createLogger } from '../../reconciler/core/log.js';

const log = createLogger('t', 'silent');

/** A promise and the function that resolves it. */
function gate(): { open: () => void; wait: Promise<void> } {
  let open!: () => void;
  const wait = new Promise<void>((r) => {
    open = r;
  });
  return { open, wait };
}

/** Let every pending promise callback run (the loop pumps on microtasks). */
const settle = () => new Promise<void>((r) => setImmediate(r));

/** Timers the test fires by hand: the delays the loop asks for are visible, and nothing fires by itself. */
class ManualTimers implements Timers {
  private next = 1;
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  readonly cleared: number[] = [];
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { fn, ms });
    return id;
  }
  clearTimeout(handle: unknown): void {
    if (this.pending.delete(handle as number)) this.cleared.push(handle as number);
  }
  delays(): number[] {
    return [...this.pending.values()].map((t) => t.ms);
  }
  /** Fire every timer pending now (not ones they schedule). */
  fireAll(): void {
    const due = [...this.pending];
    for (const [id] of due) this.pending.delete(id);
    for (const [, t] of due) t.fn();
  }
}

/** A loop whose reconcile records each key and runs `body`. */
function recording(
  body: (key: string, run: number) => Promise<ReconcileResult | void> | ReconcileResult | void = () => undefined,
  opts: Partial<LoopOptions> = {},
) {
  const calls: string[] = [];
  const active = new Map<string, number>();
  let maxActive = 0;
  const loop: Loop = startLoop({
    name: 'test',
    log,
    reconcile: async (key) => {
      calls.push(key);
      const n = (active.get(key) ?? 0) + 1;
      active.set(key, n);
      maxActive = Math.max(maxActive, n);
      try {
        return await body(key, calls.filter((k) => k === key).length);
      } finally {
        active.set(key, active.get(key)! - 1);
      }
    },
    ...opts,
  });
  return { loop, calls, maxConcurrent: () => maxActive };
}

const Loop_ = suite('startLoop');

Loop_('runs an enqueued key, and idle() resolves when the work is done', async () => {
  const { loop, calls } = recording();
  loop.enqueue('a');
  await loop.idle();
  assert.equal(calls, ['a']);
  assert.equal(loop.stats, { runs: 1, errors: 0 });
  await loop.stop();
});

Loop_('idle() resolves at once when there is nothing to do', async () => {
  const { loop, calls } = recording();
  await loop.idle();
  assert.equal(calls, []);
  await loop.stop();
});

Loop_('idle() waits for work still running', async () => {
  const g = gate();
  const events: string[] = [];
  const { loop } = recording(async () => {
    await g.wait;
    events.push('done');
  });
  loop.enqueue('a');
  const idle = loop.idle().then(() => events.push('idle'));
  await settle();
  assert.equal(events, [], 'not idle while a key runs');
  g.open();
  await idle;
  assert.equal(events, ['done', 'idle']);
  await loop.stop();
});

Loop_('a key enqueued many times while queued runs once', async () => {
  const g = gate();
  const { loop, calls } = recording(async (key) => {
    if (key === 'blocker') await g.wait;
  });
  loop.enqueue('blocker');
  for (let i = 0; i < 5; i++) loop.enqueue('a');
  for (let i = 0; i < 3; i++) loop.enqueue('b');
  g.open();
  await loop.idle();
  assert.equal(calls, ['blocker', 'a', 'b']);
});

Loop_('keys run in the order they were first enqueued', async () => {
  const g = gate();
  const { loop, calls } = recording(async (key) => {
    if (key === 'first') await g.wait;
  });
  loop.enqueue('first');
  for (const k of ['c', 'a', 'b', 'a', 'c']) loop.enqueue(k);
  g.open();
  await loop.idle();
  assert.equal(calls, ['first', 'c', 'a', 'b']);
});

Loop_('a key enqueued while it runs runs once more afterwards, never concurrently', async () => {
  const gates = [gate(), gate()];
  const { loop, calls, maxConcurrent } = recording(async (_key, run) => {
    if (run <= 2) await gates[run - 1].wait;
  });
  loop.enqueue('a');
  await settle();
  for (let i = 0; i < 4; i++) loop.enqueue('a'); // while run 1 is in progress
  gates[0].open();
  await settle();
  assert.equal(calls, ['a', 'a'], 'run 2 started after run 1');
  loop.enqueue('a'); // while run 2 is in progress
  gates[1].open();
  await loop.idle();
  assert.equal(calls, ['a', 'a', 'a']);
  assert.is(maxConcurrent(), 1);
});

Loop_('errors are retried with growing backoff until the key succeeds', async () => {
  const timers = new ManualTimers();
  const { loop, calls } = recording(
    (_k, run) => {
      if (run <= 3) throw new Error(`boom ${run}`);
    },
    { timers, baseBackoffMs: 100, maxBackoffMs: 250 },
  );
  loop.enqueue('a');
  await loop.idle();
  // Jitter keeps each delay within [half, full] of base · 2^(n-1), capped at maxBackoffMs.
  const expected: Array<[number, number]> = [
    [50, 100],
    [100, 200],
    [125, 250],
  ];
  for (const [lo, hi] of expected) {
    const delays = timers.delays();
    assert.is(delays.length, 1, 'one retry is scheduled');
    assert.ok(delays[0] >= lo && delays[0] <= hi, `retry in ${delays[0]} ms, expected ${lo}..${hi}`);
    timers.fireAll();
    await loop.idle();
  }
  assert.equal(calls, ['a', 'a', 'a', 'a']);
  assert.equal(loop.stats, { runs: 4, errors: 3 });
  assert.equal(timers.delays(), [], 'nothing more after success');
  await loop.stop();
});

Loop_('backoff starts over after a success', async () => {
  const timers = new ManualTimers();
  const fail = new Set([1, 2, 4]);
  const { loop } = recording(
    (_k, run) => {
      if (fail.has(run)) throw new Error('boom');
    },
    { timers, baseBackoffMs: 100 },
  );
  loop.enqueue('a'); // run 1 fails
  await loop.idle();
  timers.fireAll(); // run 2 fails: second delay
  await loop.idle();
  assert.ok(timers.delays()[0] >= 100, 'second failure waits longer');
  timers.fireAll(); // run 3 succeeds
  await loop.idle();
  loop.enqueue('a'); // run 4 fails: first delay again
  await loop.idle();
  assert.ok(timers.delays()[0] <= 100, `after a success the first delay again, got ${timers.delays()[0]}`);
  await loop.stop();
});

Loop_('errors retry with real timers and a small base backoff', async () => {
  const done = gate();
  const { loop, calls } = recording(
    (_k, run) => {
      if (run < 3) throw new Error('flaky');
      done.open();
    },
    { baseBackoffMs: 1 },
  );
  loop.enqueue('a');
  await done.wait;
  await loop.idle();
  assert.equal(calls, ['a', 'a', 'a']);
  assert.is(loop.stats.errors, 2);
  await loop.stop();
});

Loop_('a TerminalError is not retried; the key still runs when enqueued again', async () => {
  const timers = new ManualTimers();
  const { loop, calls } = recording(
    () => {
      throw new TerminalError('bad-input', 'the fleet repo is invalid', 'fix the repo');
    },
    { timers, baseBackoffMs: 1 },
  );
  loop.enqueue('a');
  await loop.idle();
  assert.equal(timers.delays(), [], 'no retry scheduled');
  assert.equal(loop.stats, { runs: 1, errors: 1 });
  loop.enqueue('a');
  await loop.idle();
  assert.equal(calls, ['a', 'a']);
  await loop.stop();
});

Loop_('requeueAfterMs runs the key again after that delay', async () => {
  const timers = new ManualTimers();
  const { loop, calls } = recording((_k, run) => (run === 1 ? { requeueAfterMs: 1234 } : undefined), { timers });
  loop.enqueue('a');
  await loop.idle();
  assert.equal(timers.delays(), [1234]);
  assert.equal(calls, ['a']);
  timers.fireAll();
  await loop.idle();
  assert.equal(calls, ['a', 'a']);
  assert.equal(timers.delays(), [], 'the second run asked for nothing');
  await loop.stop();
});

Loop_('enqueueAfter replaces an earlier delayed run of the same key', async () => {
  const timers = new ManualTimers();
  const { loop, calls } = recording(undefined, { timers });
  loop.enqueueAfter('a', 500);
  loop.enqueueAfter('a', 100);
  loop.enqueueAfter('b', 300);
  assert.equal(
    timers.delays().sort((x, y) => x - y),
    [100, 300],
  );
  assert.is(timers.cleared.length, 1);
  timers.fireAll();
  await loop.idle();
  assert.equal(calls, ['a', 'b']);
  await loop.stop();
});

Loop_('resync enqueues every known key periodically; stop() ends it', async () => {
  const timers = new ManualTimers();
  const { loop, calls } = recording(undefined, { timers, resyncMs: 1000, resyncKeys: () => ['x', 'y'] });
  assert.equal(timers.delays(), [1000]);
  timers.fireAll();
  await loop.idle();
  assert.equal(calls, ['x', 'y']);
  assert.equal(timers.delays(), [1000], 'the next resync is scheduled');
  await loop.stop();
  assert.equal(timers.delays(), [], 'stop() cancels the resync');
  loop.enqueue('z');
  await loop.idle();
  assert.equal(calls, ['x', 'y'], 'nothing runs after stop()');
});

Loop_('resyncMs 0 disables resync', async () => {
  const timers = new ManualTimers();
  const { loop } = recording(undefined, { timers, resyncMs: 0, resyncKeys: () => ['x'] });
  assert.equal(timers.delays(), []);
  await loop.stop();
});

Loop_('stop() cancels delayed runs and drops queued keys', async () => {
  const timers = new ManualTimers();
  const g = gate();
  const { loop, calls } = recording(
    async (key) => {
      if (key === 'running') await g.wait;
    },
    { timers },
  );
  loop.enqueue('running');
  loop.enqueue('queued');
  loop.enqueueAfter('later', 50);
  const stopped = loop.stop();
  assert.equal(timers.delays(), [], 'delayed runs cancelled');
  g.open();
  await stopped;
  assert.equal(calls, ['running']);
});

Loop_('stop() waits for the key that is running', async () => {
  const g = gate();
  const events: string[] = [];
  const { loop } = recording(async () => {
    await g.wait;
    events.push('finished');
  });
  loop.enqueue('a');
  await settle();
  const stopped = loop.stop().then(() => events.push('stopped'));
  await settle();
  assert.equal(events, []);
  g.open();
  await stopped;
  assert.equal(events, ['finished', 'stopped']);
});

Loop_.run();
