// Retiring a cluster: the drain decision (pure) and the steps with fake ports. A retired cluster
// is never chosen; what it runs is placed elsewhere while it keeps its replicas, which leave its
// placement once the replicas elsewhere are ready (at once when it is unreachable).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseNote } from '../../reconciler/core/note.js';
import { Drain, drainDecision, readyAsGiven, retiredOf, type DrainView } from '../../reconciler/root/drain.js';
import { DRAIN_PASS, PLACE_PASS } from '../../reconciler/root/reconcile.js';
import { runPass } from '../../reconciler/root/steps/pass.js';
import { recordConvergence } from '../../reconciler/root/steps/convergence.js';
import { clusterStatusIn } from '../../reconciler/root/inputs.js';
import { retireText } from '../../reconciler/core/retire-file.js';
import { aPlacement, aService, allocation } from '../helpers/builders.js';
import { aClusterStatus, desiredState, FakeBook, fakeRoot, oid, START_MS } from '../helpers/root-fakes.js';

const Decide = suite('drain: the decision');

const view = (o: { gone?: string[]; ready?: Record<string, boolean> } = {}): DrainView => ({
  reachable: (c) => !o.gone?.includes(c),
  readyOn: (x, id) => (o.ready?.[`${x}/${id}`] ? { ok: true } : { ok: false, why: `${x}: 0/2 ready` }),
});
const where = (m: Record<string, Record<string, number>>) => (id: string) => new Map(Object.entries(m[id] ?? {}));

Decide('replicas elsewhere not ready yet: the retired cluster keeps its own, saying what it waits for', () => {
  const d = drainDecision('munich', ['shop/web'], where({ 'shop/web': { paris: 2 } }), view());
  assert.equal([...d.drop], []);
  assert.equal([...d.keep], [['shop/web', 'cluster munich retired: waiting for paris: 0/2 ready']]);
});

Decide('ready on every cluster it went to: dropped, and why', () => {
  const d = drainDecision(
    'munich',
    ['shop/web', 'shop/db'],
    where({ 'shop/web': { paris: 1, rome: 1 }, 'shop/db': { paris: 1, rome: 1 } }),
    view({ ready: { 'paris/shop/web': true, 'rome/shop/web': true, 'paris/shop/db': true } }),
  );
  assert.equal([...d.drop], [['shop/web', 'cluster munich retired: ready on paris (1), rome (1)']]);
  assert.equal([...d.keep], [['shop/db', 'cluster munich retired: waiting for rome: 0/2 ready']]);
});

Decide('unreachable: nothing to wait for, everything drops at once', () => {
  const d = drainDecision('munich', ['shop/web', 'shop/db'], where({}), view({ gone: ['munich'] }));
  assert.equal([...d.drop.keys()], ['shop/web', 'shop/db']);
  assert.match(d.drop.get('shop/web')!, /retired and unreachable/);
});

Decide('no other cluster can take it: kept rather than stopped', () => {
  const d = drainDecision('munich', ['shop/web'], where({ 'shop/web': { paris: 0 } }), view());
  assert.equal([...d.keep], [['shop/web', 'cluster munich retired: no other cluster can take it yet']]);
});

Decide('ready as given: placed there, the placement applied, as many ready (updated first) as given', () => {
  const svc = aService('shop/web').replicas(2);
  const p = aPlacement('paris').with(svc).build();
  const applied = aClusterStatus('paris', { applied: p.version });
  const with_ = (s: object) => aClusterStatus('paris', { applied: p.version, services: { 'shop/web': { desired: 2, running: 2, failed: 0, ...s } } });
  assert.equal(readyAsGiven('paris', 'shop/db', true, p, applied), { ok: false, why: 'paris: not placed there yet' });
  assert.equal(readyAsGiven('paris', 'shop/web', false, p, applied), { ok: false, why: 'paris: unreachable' });
  assert.equal(readyAsGiven('paris', 'shop/web', true, p, aClusterStatus('paris')), { ok: false, why: `paris: placement #${p.version.seq} not applied yet` });
  assert.equal(readyAsGiven('paris', 'shop/web', true, p, with_({ ready: 1 })), { ok: false, why: 'paris: 1/2 ready' });
  assert.equal(readyAsGiven('paris', 'shop/web', true, p, with_({ ready: 2, updated: 1 })), { ok: false, why: 'paris: 1/2 ready' });
  assert.equal(readyAsGiven('paris', 'shop/web', true, p, with_({ ready: 2 })), { ok: true });
});

Decide('the retired clusters of a commit; a cluster no longer retired forgets its drain', () => {
  assert.equal(
    retiredOf([
      { metadata: { name: 'rome' }, spec: { retired: true } },
      { metadata: { name: 'paris' }, spec: {} },
      { metadata: { name: 'munich' }, spec: { retired: true } },
    ]),
    ['munich', 'rome'],
  );
  const d = new Drain();
  assert.ok(d.setRetired(['munich']));
  assert.not.ok(d.setRetired(['munich']));
  assert.ok(d.keeps('shop/web', 'munich'));
  assert.not.ok(d.keeps('shop/web', 'paris'));
  d.drop('munich', 'shop/web');
  assert.not.ok(d.keeps('shop/web', 'munich'));
  d.setRetired([]);
  d.setRetired(['munich']);
  assert.ok(d.keeps('shop/web', 'munich'), 'retired again: what it runs drains again');
});

const Steps = suite('drain: the root steps with fake ports');

const C1 = oid('c1');
const web = aService('shop/web').replicas(2).cpu(1);

/** A root that placed web on munich (its placement ref), with paris online beside it; munich then retired. */
function retiring(o: { munichOnline?: boolean } = {}) {
  const book = new FakeBook(aPlacement('munich').with(web).build());
  const f = fakeRoot({ book, seed: { good: desiredState(C1, [web]), seen: C1, pending: { outcome: 'accepted', commit: C1, at: 'x', changed: {} } } });
  f.state.allocation = allocation({ 'shop/web': { munich: 2 } });
  const munich = aClusterStatus('munich', { applied: book.get('munich')!.version, services: { 'shop/web': { desired: 2, running: 2, ready: 2, failed: 0 } } });
  clusterStatusIn(f.state, f.ports, 'munich', munich);
  clusterStatusIn(f.state, f.ports, 'paris', aClusterStatus('paris'));
  if (o.munichOnline === false) Object.assign(f.state.clusters.get('munich')!, { online: false, offlineSince: START_MS });
  f.enqueued.length = 0;
  f.state.drain.setRetired(['munich']);
  f.state.docs.seed('munich', book.get('munich')!.services);
  return f;
}
const replicas = (f: ReturnType<typeof retiring>, c: string) => f.book.get(c)?.services['shop/web']?.replicas ?? 0;

Steps('placed on paris while munich keeps its replicas; dropped from munich once paris reports them ready; the note says why', async () => {
  const f = retiring();
  await runPass(PLACE_PASS, f.state, f.ports);
  assert.is(replicas(f, 'paris'), 2, 'placed elsewhere first');
  assert.is(replicas(f, 'munich'), 2, 'munich keeps its replicas while paris starts');
  assert.match(f.book.get('munich')!.services['shop/web'].reason ?? '', /cluster munich retired: kept until/);
  assert.ok(f.state.drain.active, 'statuses wake the drain');
  const note = parseNote(f.notes.at(-1)!.notes.get(C1)!)!;
  const moved = note.changed?.['shop/web'] as { reason: string; clusters: Record<string, number> };
  assert.match(moved.reason, /^moved off munich \(cluster munich retired\): /);
  assert.equal(moved.clusters, { paris: 2 });

  // paris applied its placement, 1 of 2 ready: munich still runs its own.
  const paris = f.book.get('paris')!;
  const status = (ready: number) => aClusterStatus('paris', { applied: paris.version, services: { 'shop/web': { desired: 2, running: 2, ready, failed: 0 } } });
  clusterStatusIn(f.state, f.ports, 'paris', status(1));
  assert.ok(f.enqueued.includes('drain'));
  await runPass(DRAIN_PASS, f.state, f.ports);
  assert.is(replicas(f, 'munich'), 2);

  clusterStatusIn(f.state, f.ports, 'paris', status(2));
  await runPass(DRAIN_PASS, f.state, f.ports);
  assert.equal(f.book.get('munich')!.services, {}, "munich's placement is empty: it runs nothing");
  assert.is(replicas(f, 'paris'), 2);
  assert.not.ok(f.state.drain.active);
  assert.match(f.logs.join('\n'), /shop\/web: dropped from munich \(cluster munich retired: ready on paris \(2\)\)/);

  // Placed again (a status from munich, back): it is never chosen, and gets nothing.
  await runPass(PLACE_PASS, f.state, f.ports);
  assert.equal(f.book.get('munich')!.services, {});
});

Steps('an unreachable retired cluster is not waited for: its replicas go at once, and convergence does not wait for it', async () => {
  const f = retiring({ munichOnline: false });
  await runPass(PLACE_PASS, f.state, f.ports);
  assert.is(replicas(f, 'paris'), 2);
  assert.equal(f.book.get('munich')!.services, {});
  assert.not.ok(f.state.drain.active);
  assert.equal(f.state.clusters.get('munich')!.status!.services, {}, 'what it ran is not counted any more');
  const paris = f.book.get('paris')!;
  clusterStatusIn(
    f.state,
    f.ports,
    'paris',
    aClusterStatus('paris', { applied: paris.version, services: { 'shop/web': { desired: 2, running: 2, ready: 2, failed: 0 } } }),
  );
  await recordConvergence(f.state, f.ports);
  assert.ok(f.state.pending!.convergedAt, 'converged without munich');
});

Steps('a cluster that is not retired keeps nothing it is no longer given', async () => {
  const f = retiring();
  f.state.drain.setRetired([]);
  const svc = aService('shop/web').replicas(2).cpu(1).inClusters('paris');
  f.state.good = desiredState(C1, [svc]);
  await runPass(PLACE_PASS, f.state, f.ports);
  assert.equal(f.book.get('munich')!.services, {});
});

const Cli = suite('canopy retire: the file edit');

Cli('spec.retired: true added, comments and other fields kept', () => {
  const text = '# Munich site: rack 4\napiVersion: canopy/v1\nkind: Cluster\nmetadata:\n  name: munich # the name\nspec:\n  operator: acme # who runs it\n';
  const out = retireText('clusters/munich.yaml', text);
  assert.ok('text' in out);
  const t = (out as { text: string }).text;
  assert.match(t, /# Munich site: rack 4/);
  assert.match(t, /name: munich # the name/);
  assert.match(t, /operator: acme # who runs it\n {2}retired: true\n/);
});

Cli('no spec yet: one is added; already retired: said so; not YAML: file:line', () => {
  const t = retireText('clusters/rome.yaml', 'apiVersion: canopy/v1\nkind: Cluster\nmetadata:\n  name: rome\n') as { text: string };
  assert.match(t.text, /spec:\n {2}retired: true\n/);
  assert.equal(retireText('clusters/rome.yaml', t.text), { already: true });
  assert.throws(() => retireText('clusters/rome.yaml', 'a: [\n'), /clusters\/rome\.yaml:\d+:\d+: not valid YAML/);
});

Decide.run();
Steps.run();
Cli.run();
