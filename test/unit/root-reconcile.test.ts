// The root's loop keys end to end over fake ports: a pass over main (read, signature, load,
// validate, place, delegate, record), the pass runner, and the health check a failing key turns.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseNote } from '../../reconciler/core/note.js';
import { DRAIN_PASS, MAIN_PASS, ROLLOUT_PASS, rootReconciler } from '../../reconciler/root/reconcile.js';
import { runPass, type Step } from '../../reconciler/root/steps/pass.js';
import { aService } from '../helpers/builders.js';
import { aClusterStatus, desiredState, fakeCommits, fakeRoot, loaded, metric, oid, START_MS } from '../helpers/root-fakes.js';

const [C1, C2] = ['c1', 'c2'].map(oid);
const web = aService('shop/web').replicas(2).cpu(1);

const Keys = suite('root loop keys');

Keys('main: a new commit is read, accepted, placed, handed out and noted; the same head again is nothing', async () => {
  const commits = fakeCommits({ head: C1, loads: { [C1]: loaded(desiredState(C1, [web])) } });
  const f = fakeRoot({ commits });
  f.state.clusters.set('munich', { status: aClusterStatus('munich'), online: true, lastHeard: START_MS });
  const reconcile = rootReconciler(f.state, f.ports);
  await reconcile('main');
  assert.is(f.ports.stats.accepted, 1);
  assert.equal(
    f.book.commits.map((c) => [c.doc.cluster, c.doc.services['shop/web'].replicas]),
    [['munich', 2]],
  );
  assert.equal(f.enqueued, ['send:munich', 'converge']);
  const n = parseNote(f.notes[0].notes.get(C1)!)!;
  assert.is(n.outcome, 'accepted');
  assert.equal(n.changed!['shop/web'], { desired: 2, placed: 2, clusters: { munich: 2 }, reason: (n.changed!['shop/web'] as { reason: string }).reason });
  assert.match(f.logs.at(-1)!, /info +\[root\] accepted c10000000000: 1 changed, 0 removed/);
  for (const step of ['read', 'signature', 'load', 'validate', 'place', 'delegate', 'record'])
    assert.is(metric(f.telemetry, 'canopy_root_reconcile_seconds', { step }), 1, step);

  await reconcile('main');
  assert.is(commits.calls.length, 1, 'not loaded again');
  assert.is(metric(f.telemetry, 'canopy_root_reconcile_seconds', { step: 'validate' }), 1, 'the pass ended at read');
});

Keys('main: a rejected commit is noted; nothing is placed', async () => {
  const problems = [{ file: 'fleet.yaml', line: 1, column: 1, message: 'bad' }];
  const f = fakeRoot({ commits: fakeCommits({ head: C2, loads: { [C2]: { ok: false, problems } } }) });
  await rootReconciler(f.state, f.ports)('main');
  assert.equal([f.ports.stats.rejected, f.book.commits.length, f.notes.length], [1, 0, 1]);
  assert.is(metric(f.telemetry, 'canopy_commits_total', { result: 'rejected' }), 1);
  assert.is(metric(f.telemetry, 'canopy_root_reconcile_seconds', { step: 'place' }), 0);
});

Keys('send, live and converge keys run their steps, each timed', async () => {
  const f = fakeRoot();
  const reconcile = rootReconciler(f.state, f.ports);
  await reconcile('send:munich');
  await reconcile('live:munich');
  await reconcile('converge');
  for (const step of ['send', 'liveness', 'convergence']) assert.is(metric(f.telemetry, 'canopy_root_reconcile_seconds', { step }), 1, step);
});

Keys('a key that fails makes the root unhealthy until it succeeds', async () => {
  const commits = fakeCommits({ head: C1, loads: {} });
  const f = fakeRoot({ commits });
  const reconcile = rootReconciler(f.state, f.ports);
  assert.equal(f.telemetry.checkHealth().checks.root, { ok: true, detail: 'no accepted commit yet' });
  try {
    await reconcile('main');
    assert.unreachable('the load fails');
  } catch (e) {
    assert.match((e as Error).message, /no load result/);
  }
  const h = f.telemetry.checkHealth();
  assert.is(h.ok, false);
  assert.match(h.checks.root.detail!, /^main: no load result for c1/);
  commits.branchHead = undefined;
  await reconcile('main');
  assert.is(f.telemetry.checkHealth().ok, true);
});

const Runner = suite('root pass runner');

Runner('steps run in order; "done" ends the pass; each step is timed even when it fails', async () => {
  const f = fakeRoot();
  const ran: string[] = [];
  const step = (name: string, r?: 'done' | 'throw'): Step => ({
    name,
    run: async () => {
      ran.push(name);
      if (r === 'throw') throw new Error(name);
      return r === 'done' ? 'done' : undefined;
    },
  });
  await runPass([step('a'), step('b', 'done'), step('c')], f.state, f.ports);
  assert.equal(ran, ['a', 'b']);
  const err = await runPass([step('x', 'throw'), step('y')], f.state, f.ports).then(
    () => undefined,
    (e: Error) => e.message,
  );
  assert.is(err, 'x');
  assert.equal(ran, ['a', 'b', 'x']);
  assert.is(metric(f.telemetry, 'canopy_root_reconcile_seconds', { step: 'x' }), 1);
});

Runner('the pass over main is read, signature, load, validate, trust, air-gapped, retired, rollouts, place, drain, waves, delegate, record', () => {
  assert.equal(
    MAIN_PASS.map((s) => s.name),
    ['read', 'signature', 'load', 'validate', 'trust', 'air-gapped', 'retired', 'rollouts', 'place', 'drain', 'waves', 'delegate', 'record'],
  );
  assert.equal(
    DRAIN_PASS.map((s) => s.name),
    ['drain', 'delegate', 'record'],
  );
  assert.equal(
    ROLLOUT_PASS.map((s) => s.name),
    ['waves', 'delegate', 'record'],
  );
});

Keys.run();
Runner.run();
