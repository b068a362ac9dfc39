// Converged means ready: the root converges a commit only once every replica it asks for runs and
// is ready (a cluster that reports no ready count, an older one, counts running as ready); until
// then the note says which services are not ready, with their counts and the probe's message.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseNote, renderNote } from '../../reconciler/core/note.js';
import type { ServiceStatus, Version } from '../../schemas/messages.js';
import { recordConvergence } from '../../reconciler/root/steps/convergence.js';
import { clusterStatusIn } from '../../reconciler/root/inputs.js';
import { RunningCounts } from '../../reconciler/root/running-counts.js';
import { aPlacement, aService } from '../helpers/builders.js';
import { aClusterStatus, desiredState, FakeBook, fakeRoot, oid, START_MS } from '../helpers/root-fakes.js';

const web = aService('shop/web').replicas(3);
const v1 = aPlacement('munich').with(web).seq(1).build();
const status = (v: Version, s: Partial<ServiceStatus>) =>
  aClusterStatus('munich', { applied: v, services: { 'shop/web': { desired: 3, running: 3, failed: 0, ...s } } });

async function pendingRoot() {
  const book = new FakeBook();
  await book.commit(v1, 'v1');
  return fakeRoot({
    book,
    seed: { good: desiredState(v1.version.commit, [web]), pending: { outcome: 'accepted', commit: oid('c1'), at: new Date(START_MS - 3000).toISOString() } },
  });
}

const Counts = suite('RunningCounts: ready replicas');
const wants = new Map([['shop/web', { spec: { replicas: 3 } }]]);

const cases: Array<[string, Partial<ServiceStatus>, number]> = [
  ['running == desired, ready < desired: off', { running: 3, ready: 2 }, 1],
  ['running == ready == desired: where it should be', { running: 3, ready: 3 }, 0],
  ['ready absent (an older cluster): running counts as ready', { running: 3 }, 0],
  ['ready == desired, but more run (an old replica not stopped yet): off', { running: 4, ready: 3 }, 1],
];
for (const [name, s, off] of cases) {
  Counts(name, () => {
    const c = new RunningCounts();
    c.desiredChanged(wants.keys(), wants);
    c.statusChanged(undefined, status(v1.version, s), wants);
    assert.is(c.off(), off);
    assert.is(c.isOff('shop/web'), off === 1);
  });
}

Counts('a status that moves only the ready count is counted', () => {
  const c = new RunningCounts();
  c.desiredChanged(wants.keys(), wants);
  const a = status(v1.version, { ready: 1 });
  c.statusChanged(undefined, a, wants);
  assert.equal(c.of('shop/web'), { running: 3, ready: 1 });
  const b = status(v1.version, { ready: 3 });
  c.statusChanged(a, b, wants);
  assert.equal([c.of('shop/web'), c.off()], [{ running: 3, ready: 3 }, 0]);
  c.statusChanged(b, aClusterStatus('munich', { applied: v1.version }), wants);
  assert.equal([c.of('shop/web'), c.off()], [{ running: 0, ready: 0 }, 1], 'gone from the status: nothing counts');
});

const Converge = suite('root: convergence judged on ready');

Converge('running == desired but ready < desired: not converged, and the note says which and why', async () => {
  const f = await pendingRoot();
  clusterStatusIn(f.state, f.ports, 'munich', status(v1.version, { ready: 1, message: '2 not ready: GET /health: 503' }));
  await recordConvergence(f.state, f.ports);
  assert.is(f.state.pending!.convergedAt, undefined);
  assert.is(f.notes.length, 1, 'the not-ready reason is written');
  const text = f.notes[0].notes.get(oid('c1'))!;
  assert.ok(text.includes('Not converged yet.'), text);
  const why = 'munich: 1/3 ready, 3 running: 2 not ready: GET /health: 503';
  assert.ok(text.includes(`Not ready, as the clusters first reported it (ready/desired there):\n  shop/web: ${why}\n`), text);
  assert.equal(parseNote(text)!.notReady, { 'shop/web': why });
  // Ready now: converged, and the note drops what held it up.
  clusterStatusIn(f.state, f.ports, 'munich', status(v1.version, { ready: 3 }));
  await recordConvergence(f.state, f.ports);
  assert.is(f.state.pending!.convergedAt, new Date(START_MS).toISOString());
  const done = parseNote(f.notes[1].notes.get(oid('c1'))!)!;
  assert.equal([done.convergedAt, done.notReady], [new Date(START_MS).toISOString(), undefined]);
  assert.not.ok(f.notes[1].notes.get(oid('c1'))!.includes('Not ready'));
});

Converge('an older cluster (no ready count) converges once as many run as wanted', async () => {
  const f = await pendingRoot();
  clusterStatusIn(f.state, f.ports, 'munich', status(v1.version, {}));
  await recordConvergence(f.state, f.ports);
  assert.ok(f.state.pending!.convergedAt);
});

Converge('a not-ready service the fleet does not have is not noted', async () => {
  const f = await pendingRoot();
  clusterStatusIn(
    f.state,
    f.ports,
    'munich',
    aClusterStatus('munich', { applied: v1.version, services: { 'shop/gone': { desired: 0, running: 1, ready: 0, failed: 0, message: '1 not ready: x' } } }),
  );
  assert.is(f.state.pending!.notReady, undefined);
});

Converge('a note renders failing and not-ready services apart', () => {
  const text = renderNote({
    outcome: 'accepted',
    commit: oid('c1'),
    at: 'now',
    failing: { 'a/x': 'm: crash' },
    notReady: { 'a/y': 'm: 0/1 ready, 1 running: 1 not ready: z' },
  });
  assert.match(text, /Failing, as the clusters report it:\n {2}a\/x: m: crash\n/);
  assert.match(text, /Not ready, as the clusters first reported it \(ready\/desired there\):\n {2}a\/y: m: 0\/1 ready, 1 running: 1 not ready: z\n/);
});

Counts.run();
Converge.run();
