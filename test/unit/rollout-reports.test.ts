// The pure parts of what users read about rollouts: a service's state and reason with its
// rollout (fleet-status.ts withRollout), the wave a rollout is at, the ROLLOUT column, which of
// two records of one rollout is taken, the history's events, and wait's exit-3 message.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { NoteRollout, CommitNote } from '../../reconciler/core/note.js';
import { withRollout, type FleetReport } from '../../reconciler/report/fleet-status.js';
import { renderStatus } from '../../reconciler/report/render.js';
import { furthest, rolloutAt, rolloutFailedMessage, rolloutProblem, rolloutReason, rolloutReport, waveAt } from '../../reconciler/report/rollouts.js';
import { describeRollout, rolloutEvents } from '../../reconciler/report/history-rollouts.js';

const C = 'c'.repeat(40);
const r = (state: NoteRollout['state'], waves: NoteRollout['waves'], o: Partial<NoteRollout> = {}): NoteRollout => ({
  state,
  commit: C,
  from: { commit: 'a'.repeat(40), specHash: 'x' },
  to: 'y',
  startedAt: '2026-01-01T00:00:00Z',
  waves,
  ...o,
});
const W = (clusters: string[], t: Partial<{ startedAt: string; readyAt: string; bakedAt: string }> = {}) => ({ clusters, ...t });
const t = (s: number) => `2026-01-01T00:0${s}:00Z`;

const state = suite('status: a service’s state with its rollout');

state('failed: paused and rolled-back are the state, whatever the counts; done and none: as judged', () => {
  const conv = { state: 'converged' as const, reason: '3/3 ready' };
  const failed = r('rolled-back', [W(['munich'], { startedAt: t(1) })], { endedAt: t(2), reason: 'wave 1 (munich): 0/1 ready' });
  assert.equal(withRollout(conv, failed), { state: 'rolled-back', reason: `rolled back at ${t(2)}: wave 1 (munich): 0/1 ready` });
  assert.equal(withRollout({ state: 'degraded', reason: 'x' }, { ...failed, state: 'paused' }), {
    state: 'paused',
    reason: `paused at ${t(2)}: wave 1 (munich): 0/1 ready; push a new commit to go on`,
  });
  assert.equal(withRollout(conv, r('done', [W(['munich'], { startedAt: t(1) })])), conv);
  assert.equal(withRollout(conv, undefined), conv);
});

state('progressing: converged becomes progressing; progressing keeps its detail; degraded stays, the wave added', () => {
  const p = r('progressing', [W(['munich'], { startedAt: t(1), readyAt: t(2), bakedAt: t(3) }), W(['paris', 'rome'], { startedAt: t(3) }), W(['tokyo'])]);
  const wave2 = `rollout wave 2/3 (paris, rome): started at ${t(3)}, waiting for its replicas on the new spec to be ready (progressDeadlineSeconds 90)`;
  assert.equal(withRollout({ state: 'converged', reason: '3/3 ready' }, p, { progressDeadlineSeconds: 90 }), { state: 'progressing', reason: wave2 });
  assert.equal(withRollout({ state: 'progressing', reason: 'paris: 1 not ready: GET /: 503' }, p, { progressDeadlineSeconds: 90 }), {
    state: 'progressing',
    reason: `${wave2}: paris: 1 not ready: GET /: 503`,
  });
  assert.equal(withRollout({ state: 'degraded', reason: 'cluster rome unreachable' }, p, { progressDeadlineSeconds: 90 }), {
    state: 'degraded',
    reason: `cluster rome unreachable; ${wave2}`,
  });
});

state('the wave a rollout is at: the last started; the next once it baked; the one it stopped at', () => {
  assert.is(waveAt(r('progressing', [W(['a']), W(['b'])])), 0);
  assert.is(waveAt(r('progressing', [W(['a'], { startedAt: t(1), bakedAt: t(2) }), W(['b'])])), 1);
  assert.is(waveAt(r('rolled-back', [W(['a'], { startedAt: t(1), bakedAt: t(2) }), W(['b'], { startedAt: t(2) }), W(['c'])])), 1);
  assert.equal(rolloutReport(r('done', [W(['a'], { startedAt: t(1), bakedAt: t(2) }), W(['b'], { startedAt: t(2), bakedAt: t(3) })], { endedAt: t(3) })), {
    state: 'done',
    commit: C,
    wave: 2,
    waves: 2,
    clusters: ['b'],
    startedAt: '2026-01-01T00:00:00Z',
    endedAt: t(3),
  });
  assert.is(rolloutReason(r('progressing', [W(['a'], { startedAt: t(1), bakedAt: t(2) })])), `rollout wave 1/1 (a): baked at ${t(2)}, finishing`);
});

state('the ROLLOUT column: only when a service shown has one not done', () => {
  const svc = (rollout?: ReturnType<typeof rolloutReport>) => ({
    desired: 1,
    running: 1,
    ready: 1,
    clusters: { a: 1 },
    state: 'progressing' as const,
    reason: 'r',
    rollout,
  });
  const report = (rollout?: ReturnType<typeof rolloutReport>): FleetReport => ({
    fleet: 'f',
    head: { commit: C, outcome: 'accepted' },
    inForce: C,
    services: { 'shop/web': svc(rollout) },
    clusters: {},
  });
  assert.match(
    renderStatus(report(rolloutReport(r('progressing', [W(['a'], { startedAt: t(1) }), W(['b'])])))),
    /^shop\/web +1\/1 +progressing +wave 1\/2 +a:1/m,
  );
  assert.not.match(renderStatus(report()), /ROLLOUT/);
  assert.not.match(renderStatus(report(rolloutReport(r('done', [W(['a'], { startedAt: t(1) })])))), /ROLLOUT/);
});

state('a record’s shape: a valid one passes; which of two records of one rollout is taken', () => {
  const a = r('progressing', [W(['a'], { startedAt: t(1) }), W(['b'])]);
  assert.is(rolloutProblem(a), undefined);
  const b = r('progressing', [W(['a'], { startedAt: t(1), readyAt: t(2) }), W(['b'])]);
  assert.is(furthest(a, b), b);
  assert.is(furthest(b, a), b);
  const ended = r('paused', [W(['a'], { startedAt: t(1) }), W(['b'])], { endedAt: t(5) });
  assert.is(furthest(b, ended), ended, 'an ended record is furthest');
  assert.is(furthest(a, undefined), a);
});

const history = suite('history: rollout events');

history('one event per thing that happened, the furthest record of each rollout, of the service asked for', () => {
  const behind = r('progressing', [W(['a'], { startedAt: t(1) }), W(['b'])]);
  const ahead = r('rolled-back', [W(['a'], { startedAt: t(1), readyAt: t(2), bakedAt: t(3) }), W(['b'], { startedAt: t(3) })], {
    endedAt: t(4),
    reason: 'wave 2 (b): 0/1 ready',
  });
  const notes: CommitNote[] = [
    { outcome: 'accepted', commit: C, at: t(0), rollouts: { 'shop/web': ahead } },
    { outcome: 'accepted', commit: 'd'.repeat(40), at: t(1), rollouts: { 'shop/web': behind, 'shop/db': behind } },
    { outcome: 'rejected', commit: 'e'.repeat(40), at: t(1), rollouts: 5 as never },
  ];
  const warnings: string[] = [];
  const ev = rolloutEvents(notes, 'shop/web', (w) => void warnings.push(w));
  assert.equal(
    ev.map((e) => [e.step, e.wave, e.at]),
    [
      ['started', 1, t(1)],
      ['ready', 1, t(2)],
      ['baked', 1, t(3)],
      ['started', 2, t(3)],
      ['rolled-back', undefined, t(4)],
    ],
  );
  assert.equal(warnings, [], 'a rejected commit’s note is not read for rollouts');
  assert.is(describeRollout(ev[4], null), `rollout of shop/web: ROLLED BACK: wave 2 (b): 0/1 ready (commit ${C.slice(0, 12)})`);
  assert.is(rolloutEvents(notes, undefined, () => {}).length, 6, 'every service: shop/db’s start too');
});

const wait = suite('wait: the message of exit 3');

wait('which services, why, what they run now, and what to do', () => {
  const rb = r('rolled-back', [W(['a'], { startedAt: t(1) })], { endedAt: t(2), reason: 'wave 1 (a): crash' });
  const text = rolloutFailedMessage(C, [
    { service: 'shop/web', rollout: rb, note: C },
    { service: 'shop/db', rollout: { ...rb, state: 'paused', commit: 'b'.repeat(40) }, note: C },
  ]);
  assert.is(
    text,
    [
      'cccccccccccc: rollout failed for 2 service(s); the fleet will not converge on it:',
      `  shop/web: rolled back at ${t(2)}: wave 1 (a): crash`,
      '    its replicas went back to the last ready spec (of aaaaaaaaaaaa)',
      `  shop/db: paused at ${t(2)}: wave 1 (a): crash; push a new commit to go on (rollout started by bbbbbbbbbbbb)`,
      '    its clusters keep what they run: waves started run the new spec, the others the old one',
      'Main still holds cccccccccccc: push a new commit that fixes shop/web, shop/db (or reverts the change) to roll out again;',
      'canopy history shop/web tells the rollout wave by wave.',
      '',
    ].join('\n'),
  );
});

const at = suite('status --at: a rollout as its note read then');

at('waves started, ready or baked later are left out; an end later makes it progressing; one started later is not there', () => {
  const done = r(
    'rolled-back',
    [W(['munich'], { startedAt: t(1), readyAt: t(2), bakedAt: t(3) }), W(['paris'], { startedAt: t(3), readyAt: t(5) }), W(['rome'])],
    { startedAt: t(1), endedAt: t(6), reason: 'wave 2 (paris): a probe failed' },
  );
  const mid = rolloutAt(done, new Date(t(4)))!;
  assert.equal(
    mid,
    r('progressing', [W(['munich'], { startedAt: t(1), readyAt: t(2), bakedAt: t(3) }), W(['paris'], { startedAt: t(3) }), W(['rome'])], { startedAt: t(1) }),
  );
  assert.is(rolloutReason(mid).startsWith('rollout wave 2/3 (paris): started at'), true, rolloutReason(mid));
  assert.equal(
    rolloutAt(done, new Date(t(2))),
    r('progressing', [W(['munich'], { startedAt: t(1), readyAt: t(2) }), W(['paris']), W(['rome'])], { startedAt: t(1) }),
  );
  assert.equal(rolloutAt(done, new Date(t(6))), done, 'at its end: as the note reads now');
  assert.is(rolloutAt(done, new Date('2026-01-01T00:00:30Z')), undefined, 'before it started');
});

state.run();
history.run();
wait.run();
at.run();
