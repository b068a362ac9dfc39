// What the root does per cluster outside a pass: bring it to its current placement (sendTo,
// with the hold-back for a send in flight), record its liveness; and recording convergence.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseNote } from '../../reconciler/core/note.js';
import type { Version } from '../../schemas/messages.js';
import { recordConvergence } from '../../reconciler/root/steps/convergence.js';
import { RESEND_AFTER_MS, RETRY_AFTER_MS, RETRY_MAX_MS, sendTo } from '../../reconciler/root/steps/delegate.js';
import { recordLiveness } from '../../reconciler/root/steps/liveness.js';
import type { ClusterState } from '../../reconciler/root/state.js';
import { clusterStatusIn } from '../../reconciler/root/inputs.js';
import { aPlacement, aService } from '../helpers/builders.js';
import { aClusterStatus, desiredState, FakeBook, fakeRoot, metric, oid, START_MS } from '../helpers/root-fakes.js';

const web = aService('shop/web').replicas(2);
const v1 = aPlacement('munich').with(web, 1).seq(1).build();
const v2 = aPlacement('munich').with(web).seq(2).build();

/** A book that committed v1 then v2 for munich (so it can patch from v1). */
async function book(): Promise<FakeBook> {
  const b = new FakeBook();
  await b.commit(v1, 'v1');
  await b.commit(v2, 'v2');
  return b;
}

const Send = suite('root: sendTo');

const cases: Array<[string, Partial<ClusterState> | undefined, 'snapshot' | 'patch' | 'none' | number]> = [
  ['a cluster never heard of gets nothing', undefined, 'none'],
  ['an offline cluster gets nothing', { online: false }, 'none'],
  ['a cluster that applied the current version gets nothing', { status: aClusterStatus('munich', { applied: v2.version }) }, 'none'],
  ['a cluster that applied nothing gets a snapshot', { status: aClusterStatus('munich') }, 'snapshot'],
  ['a cluster that applied an older version the book knows gets a patch', { status: aClusterStatus('munich', { applied: v1.version }) }, 'patch'],
  ['sent this version 200 ms ago: looked at again when it has had time to land', { lastSent: { seq: 2, at: START_MS - 200 } }, RESEND_AFTER_MS - 200],
  ['sent this version 1.5 s ago: sent again', { lastSent: { seq: 2, at: START_MS - 1500 } }, 'snapshot'],
  ['sent an older version moments ago: the new one goes at once', { lastSent: { seq: 1, at: START_MS - 10 } }, 'snapshot'],
];
for (const [name, cluster, want] of cases) {
  Send(name, async () => {
    const f = fakeRoot({ book: await book() });
    if (cluster) f.state.clusters.set('munich', { status: aClusterStatus('munich'), online: true, lastHeard: START_MS, ...cluster });
    const r = await sendTo(f.state, f.ports, 'munich');
    if (typeof want === 'number') {
      assert.equal(r, { requeueAfterMs: want });
      assert.is(f.sent.length, 0);
      return;
    }
    const tries = cluster?.lastSent?.seq === 2 ? 2 : 1;
    assert.equal(r, want === 'none' ? undefined : { requeueAfterMs: tries * RETRY_AFTER_MS }, 'looked at again after a send');
    assert.equal(
      f.sent.map((s) => s.msg.kind),
      want === 'none' ? [] : [want],
    );
    if (want === 'none') return;
    assert.is(f.sent[0].cluster, 'munich');
    assert.equal(f.state.clusters.get('munich')!.lastSent, { seq: 2, at: START_MS, tries }, 'marked sent');
    assert.is(f.ports.stats.sent, 1);
    assert.is(metric(f.telemetry, 'canopy_root_sends_total', { kind: want }), 1);
  });
}

// A cluster whose connection never dropped, and that never got the message (a bridged site whose
// queue on the central broker overflowed while its uplink was down), has nothing new to report:
// the root sends again, and again, waiting twice as long each time, until the cluster reports
// the version.
Send('a cluster still behind after a send, with no status since, is sent it again, less and less often', async () => {
  const f = fakeRoot({ book: await book() });
  f.state.clusters.set('munich', { status: aClusterStatus('munich', { applied: v1.version }), online: true, lastHeard: START_MS });
  const waits: number[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await sendTo(f.state, f.ports, 'munich');
    waits.push(r!.requeueAfterMs!);
    f.clock.ms += r!.requeueAfterMs!;
  }
  assert.equal(waits, [RETRY_AFTER_MS, 2 * RETRY_AFTER_MS, 4 * RETRY_AFTER_MS, 8 * RETRY_AFTER_MS, RETRY_MAX_MS, RETRY_MAX_MS]);
  assert.equal(
    f.sent.map((s) => s.msg.kind),
    Array(6).fill('patch'),
    'each time a patch from what it applied',
  );
  assert.is(f.state.clusters.get('munich')!.lastSent!.tries, 6);
  // It reports the version: no more sends, no more looks.
  clusterStatusIn(f.state, f.ports, 'munich', aClusterStatus('munich', { applied: v2.version }));
  assert.is(await sendTo(f.state, f.ports, 'munich'), undefined);
  assert.is(f.sent.length, 6);
});

Send('a status saying it is behind, moments after a retry, waits for the retry to land; a new version starts the count again', async () => {
  const f = fakeRoot({ book: await book() });
  f.state.clusters.set('munich', {
    status: aClusterStatus('munich', { applied: v1.version }),
    online: true,
    lastHeard: START_MS,
    lastSent: { seq: 2, at: START_MS - 5000, tries: 3 },
  });
  assert.equal(await sendTo(f.state, f.ports, 'munich'), { requeueAfterMs: 8 * RETRY_AFTER_MS });
  f.clock.ms += 100;
  assert.equal(await sendTo(f.state, f.ports, 'munich'), { requeueAfterMs: RESEND_AFTER_MS - 100 });
  assert.is(f.sent.length, 1);
  f.state.clusters.get('munich')!.lastSent = { seq: 1, at: START_MS, tries: 5 };
  assert.equal(await sendTo(f.state, f.ports, 'munich'), { requeueAfterMs: RETRY_AFTER_MS });
  assert.is(f.state.clusters.get('munich')!.lastSent!.tries, 1);
});

const Converge = suite('root: recording convergence');

const applied = (v: Version, running = 2) => aClusterStatus('munich', { applied: v, services: { 'shop/web': { desired: 2, running, failed: 0 } } });

async function pendingRoot(status: ReturnType<typeof applied>) {
  const f = fakeRoot({
    book: await book(),
    seed: { good: desiredState(v2.version.commit, [web]), pending: { outcome: 'accepted', commit: oid('c2'), at: new Date(START_MS - 3000).toISOString() } },
  });
  f.state.older.push({ outcome: 'accepted', commit: oid('c1'), at: 'x' });
  f.state.clusters.set('munich', { status, online: true, lastHeard: START_MS });
  f.state.counts.statusChanged(undefined, status, f.state.good!.services);
  return f;
}

Converge('every cluster at its version and every service running as wanted: the commit and those before it converged', async () => {
  const f = await pendingRoot(applied(v2.version));
  await recordConvergence(f.state, f.ports);
  const at = new Date(START_MS).toISOString();
  assert.is(f.state.pending!.convergedAt, at);
  assert.is(f.notes.length, 1);
  assert.is(f.notes[0].message, `canopy: ${oid('c2').slice(0, 12)} converged`);
  assert.equal(
    [...f.notes[0].notes].map(([c, text]) => [c, parseNote(text)!.convergedAt]),
    [
      [oid('c2'), at],
      [oid('c1'), at],
    ],
  );
  assert.is(f.state.older.length, 0);
  assert.is(metric(f.telemetry, 'canopy_commit_converge_seconds'), 1);
  await recordConvergence(f.state, f.ports);
  assert.is(f.notes.length, 1, 'once');
});

const notYet: Array<[string, ReturnType<typeof applied>]> = [
  ['a cluster behind its version', applied(v1.version)],
  ['a service short of replicas', applied(v2.version, 1)],
];
for (const [name, status] of notYet) {
  Converge(`not converged: ${name}`, async () => {
    const f = await pendingRoot(status);
    await recordConvergence(f.state, f.ports);
    assert.is(f.state.pending!.convergedAt, undefined);
    assert.is(f.notes.length, 0);
  });
}

Converge('not converged: what the clusters report failing goes into the note, the first reason for each service, once', async () => {
  const refused = 'shop/web#1: refused by node policy: image canopy/app:1 is not in the allowed images (nginx)';
  const failing = (message: string) =>
    aClusterStatus('munich', { applied: v2.version, services: { 'shop/web': { desired: 2, running: 1, failed: 1, message } } });
  const f = await pendingRoot(applied(v2.version, 1));
  clusterStatusIn(f.state, f.ports, 'munich', failing(refused));
  await recordConvergence(f.state, f.ports);
  assert.is(f.notes.length, 1);
  assert.is(f.notes[0].message, `canopy: ${oid('c2').slice(0, 12)} failing`);
  const text = f.notes[0].notes.get(oid('c2'))!;
  assert.ok(text.includes(`Not converged yet.`), text);
  assert.ok(text.includes(`Failing, as the clusters report it:\n  shop/web: munich: ${refused}\n`), text);
  assert.equal(parseNote(text)!.failing, { 'shop/web': `munich: ${refused}` });
  // Heard again, and with another reason for the same service: nothing new to write.
  clusterStatusIn(f.state, f.ports, 'munich', failing(refused));
  clusterStatusIn(f.state, f.ports, 'munich', failing('shop/web#1: exited with code 1'));
  await recordConvergence(f.state, f.ports);
  assert.is(f.notes.length, 1);
  // Once it converges, the note drops what held it up.
  clusterStatusIn(f.state, f.ports, 'munich', applied(v2.version));
  await recordConvergence(f.state, f.ports);
  assert.is(f.notes.length, 2);
  const done = parseNote(f.notes[1].notes.get(oid('c2'))!)!;
  assert.equal([done.convergedAt, done.failing], [new Date(START_MS).toISOString(), undefined]);
  assert.not.ok(f.notes[1].notes.get(oid('c2'))!.includes('Failing'));
});

Converge('failures are not noted on a converged commit, nor for services the fleet does not have', async () => {
  const f = await pendingRoot(applied(v2.version, 1));
  clusterStatusIn(
    f.state,
    f.ports,
    'munich',
    aClusterStatus('munich', { applied: v2.version, services: { 'shop/gone': { desired: 0, running: 0, failed: 1, message: 'shop/gone#0: exited' } } }),
  );
  await recordConvergence(f.state, f.ports);
  assert.is(f.notes.length, 0);
  f.state.pending!.convergedAt = 'x';
  clusterStatusIn(
    f.state,
    f.ports,
    'munich',
    aClusterStatus('munich', { applied: v2.version, services: { 'shop/web': { desired: 2, running: 1, failed: 1, message: 'm' } } }),
  );
  assert.is(f.state.pending!.failing, undefined);
});

const Live = suite('root: recording liveness');

Live('transitions are recorded once each, beside the placement', async () => {
  const f = fakeRoot({ book: await book() });
  const st: ClusterState = { online: true, lastHeard: START_MS - 1000 };
  f.state.clusters.set('munich', st);
  await recordLiveness(f.state, f.ports, 'munich');
  await recordLiveness(f.state, f.ports, 'munich');
  Object.assign(st, { online: false, offlineSince: START_MS - 500 });
  await recordLiveness(f.state, f.ports, 'munich');
  assert.equal(f.book.liveness, [
    ['munich', { state: 'online', since: new Date(START_MS).toISOString(), lastHeard: new Date(START_MS - 1000).toISOString() }],
    ['munich', { state: 'unreachable', since: new Date(START_MS - 500).toISOString(), lastHeard: new Date(START_MS - 1000).toISOString() }],
  ]);
  assert.equal(f.wrote, ['refs/canopy/placements/munich', 'refs/canopy/placements/munich']);
});

Live('a cluster never heard: lastHeard is null', async () => {
  const f = fakeRoot();
  f.state.clusters.set('munich', { online: false, lastHeard: 0, offlineSince: START_MS });
  await recordLiveness(f.state, f.ports, 'munich');
  assert.equal(f.book.liveness[0][1].lastHeard, null);
  await recordLiveness(f.state, f.ports, 'paris');
  assert.is(f.book.liveness.length, 1, 'an unknown cluster: nothing');
});

Send.run();
Converge('a notes write that fails (a lock left by a killed root) loses nothing: the commit stays pending and its notes go out on the retry', async () => {
  const f = await pendingRoot(applied(v2.version));
  const write = f.ports.notes.write;
  let failures = 1;
  f.ports.notes.write = async (notes, message) => {
    if (failures-- > 0) throw new Error('ref refs/notes/canopy is locked (refs/notes/canopy.lock); retry');
    return write(notes, message);
  };
  const err = await recordConvergence(f.state, f.ports).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.match(err?.message ?? '', /is locked/);
  assert.is(f.state.pending!.convergedAt, undefined);
  assert.is(f.state.older.length, 1);
  assert.is(f.notes.length, 0);
  await recordConvergence(f.state, f.ports);
  assert.is(f.notes.length, 1);
  assert.equal([...f.notes[0].notes.keys()], [oid('c2'), oid('c1')]);
  assert.ok(f.state.pending!.convergedAt);
  assert.is(f.state.unwrittenNotes.size, 0);
});

Converge('notes another step could not write are written with the next notes commit', async () => {
  const f = await pendingRoot(applied(v2.version, 1));
  f.state.unwrittenNotes.set(oid('c0'), 'canopy: superseded');
  await recordConvergence(f.state, f.ports);
  assert.is(f.notes.length, 1, 'written although the commit has not converged');
  assert.equal([...f.notes[0].notes.keys()], [oid('c0')]);
  assert.is(f.state.unwrittenNotes.size, 0);
});

Converge.run();
Live.run();
