// Steps 3–5 of a root pass with fake ports: place (the real placer), delegate (placement refs
// in a book in memory, sends queued), record (the pending commit's note).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseNote } from '../../reconciler/core/note.js';
import { PLACE_PASS } from '../../reconciler/root/reconcile.js';
import { delegate, placementMessage } from '../../reconciler/root/steps/delegate.js';
import { newPass, runPass } from '../../reconciler/root/steps/pass.js';
import { clusterViews, nextFailoverMs, place } from '../../reconciler/root/steps/place.js';
import { record } from '../../reconciler/root/steps/record.js';
import type { ClusterState } from '../../reconciler/root/state.js';
import { aCluster, aPlacement, aService, allocation } from '../helpers/builders.js';
import { aClusterStatus, desiredState, FakeBook, fakeRoot, metric, oid, START_MS } from '../helpers/root-fakes.js';

const C1 = oid('c1');
const web = aService('shop/web').replicas(2).cpu(1);

/** A root that accepted C1 (web, 2 replicas) and hears munich and paris. */
function accepted(o: { book?: FakeBook; services?: (typeof web)[] } = {}) {
  const f = fakeRoot({
    book: o.book,
    seed: { good: desiredState(C1, o.services ?? [web]), seen: C1, pending: { outcome: 'accepted', commit: C1, at: 'x', changed: {} } },
  });
  for (const c of ['munich', 'paris']) f.state.clusters.set(c, { status: aClusterStatus(c), online: true, lastHeard: START_MS });
  return f;
}

const Place = suite('root steps: place, delegate, record');

Place('nothing accepted yet: nothing to place', () => {
  const f = fakeRoot();
  assert.is(place(f.state, f.ports, newPass()), 'done');
});

Place('a first pass places every service, gives every cluster seen its first placement, and notes where things went', async () => {
  const f = accepted();
  const pass = newPass();
  pass.changed = ['shop/web'];
  place(f.state, f.ports, pass);
  const d = pass.placed!.result.decisions.get('shop/web')!;
  assert.is(d.placed, 2);
  assert.equal(pass.placed!.clusters, ['munich', 'paris']);
  assert.is(pass.placed!.failedOver, false);

  await delegate(f.state, f.ports, pass);
  assert.equal(
    f.book.commits.map((c) => [c.doc.cluster, c.doc.version]),
    [
      ['munich', { commit: C1, seq: 1, epoch: 0 }],
      ['paris', { commit: C1, seq: 2, epoch: 0 }],
    ],
  );
  assert.is(f.state.seq, 2);
  assert.equal(f.wrote, ['refs/canopy/placements/munich', 'refs/canopy/placements/paris']);
  assert.equal(f.enqueued, ['send:munich', 'send:paris']);
  assert.is(pass.written, 2);
  assert.is(metric(f.telemetry, 'canopy_root_placements_written_total'), 2);
  const placed = Object.fromEntries(f.book.commits.map((c) => [c.doc.cluster, c.doc.services['shop/web']?.replicas ?? 0]));
  assert.equal(placed, { munich: d.clusters.get('munich') ?? 0, paris: d.clusters.get('paris') ?? 0 }, 'each cluster gets what the decision gave it');

  await record(f.state, f.ports, pass);
  assert.is(f.notes.length, 1);
  assert.is(f.notes[0].message, `canopy: ${C1.slice(0, 12)} accepted`);
  const n = parseNote(f.notes[0].notes.get(C1)!)!;
  assert.equal(n.changed?.['shop/web'], { desired: 2, placed: 2, clusters: Object.fromEntries(d.clusters), reason: d.reason });
  assert.equal(f.enqueued.at(-1), 'converge');
});

Place('a pass that changes nothing writes no placement and no note', async () => {
  const f = accepted();
  const first = newPass();
  first.changed = ['shop/web'];
  await runPass(PLACE_PASS, f.state, f.ports, first);
  const [commits, notes] = [f.book.commits.length, f.notes.length];
  const again = await runPass(PLACE_PASS, f.state, f.ports);
  assert.is(again.written, 0);
  assert.is(f.book.commits.length, commits);
  assert.is(f.notes.length, notes);
  assert.is(metric(f.telemetry, 'canopy_root_reconcile_seconds', { step: 'place' }), 2, 'each step timed');
  assert.is(metric(f.telemetry, 'canopy_root_reconcile_seconds', { step: 'record' }), 2);
});

Place('a failover opens a new epoch: every cluster gets a placement that carries it', async () => {
  const svc = aService('shop/web').replicas(2).cpu(1).failoverAfter(30);
  const book = new FakeBook(aPlacement('munich').with(svc).build());
  const f = accepted({ book, services: [svc] });
  f.state.allocation = allocation({ 'shop/web': { munich: 2 } });
  Object.assign(f.state.clusters.get('munich')!, { online: false, offlineSince: START_MS - 60_000 });
  const pass = await runPass(PLACE_PASS, f.state, f.ports);
  assert.ok(pass.placed!.failedOver);
  assert.is(f.state.epoch, 1);
  assert.is(metric(f.telemetry, 'canopy_root_failovers_total'), 1);
  assert.match(f.logs.join('\n'), /failover: epoch 1/);
  assert.equal(
    f.book.commits.map((c) => [c.doc.cluster, c.doc.version.epoch, c.doc.services['shop/web']?.replicas ?? 0]),
    [
      ['munich', 1, 0],
      ['paris', 1, 2],
    ],
  );
});

Place('a service on an unreachable cluster is placed again when its failover deadline passes', () => {
  const svc = aService('shop/web').replicas(2).cpu(1).failoverAfter(30);
  const f = accepted({ book: new FakeBook(aPlacement('munich').with(svc).build()), services: [svc] });
  f.state.allocation = allocation({ 'shop/web': { munich: 2 } });
  Object.assign(f.state.clusters.get('munich')!, { online: false, offlineSince: START_MS - 10_000 });
  place(f.state, f.ports, newPass());
  assert.equal(f.after, [['place', 20_050]]);
});

const Views = suite('root step helpers');

const st = (o: Partial<ClusterState>): ClusterState => ({ status: aClusterStatus('x'), online: true, lastHeard: 0, ...o });
const viewCases: Array<[string, ClusterState, { online: boolean; offlineForMs: number } | undefined]> = [
  ['online', st({}), { online: true, offlineForMs: 0 }],
  ['offline for 5 s', st({ online: false, offlineSince: START_MS - 5000 }), { online: false, offlineForMs: 5000 }],
  [
    'known from Git only, with no status there: offline whatever its flag',
    st({ unheard: 'unknown', offlineSince: START_MS }),
    { online: false, offlineForMs: 0 },
  ],
  ['no status: not a candidate', st({ status: undefined }), undefined],
];
for (const [name, s, want] of viewCases) {
  Views(`clusterViews: ${name}`, () => {
    const [v] = clusterViews(new Map([['munich', s]]), START_MS);
    assert.equal(v && { online: v.online, offlineForMs: v.offlineForMs }, want);
    if (v) assert.is(v.name, 'munich');
  });
}

const svc30 = aService('shop/web').failoverAfter(30);
const failoverCases: Array<[string, boolean, number, typeof web, number | undefined]> = [
  ['offline 10 s, fails over after 30 s', false, 10_000, svc30, 20_000],
  ['deadline already passed', false, 40_000, svc30, -10_000],
  ['online', true, 0, svc30, undefined],
  ['no failover policy', false, 10_000, aService('shop/web'), undefined],
];
for (const [name, online, offlineForMs, svc, want] of failoverCases) {
  Views(`nextFailoverMs: ${name}`, () => {
    const view = { ...aCluster('munich').build(), online, offlineForMs };
    assert.is(nextFailoverMs([view], allocation({ 'shop/web': { munich: 1 } }), desiredState(C1, [svc])), want);
  });
}

Views('placementMessage names up to 50 services and counts the rest', () => {
  const doc = aPlacement('munich').with(web).build();
  const ids = Array.from({ length: 52 }, (_, i) => (i ? `shop/s${i}` : 'shop/web'));
  const text = placementMessage(doc, ids);
  assert.ok(text.startsWith(`placement munich #1 from ${doc.version.commit.slice(0, 12)}\n\nshop/web: 2 replica(s)\nshop/s1: removed`));
  assert.ok(text.endsWith('… and 2 more'));
  assert.ok(placementMessage(doc, []).endsWith('(no services)'));
});

Place.run();
Views.run();
