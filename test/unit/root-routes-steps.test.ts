// Routes in the root's passes: placementPatch per route, the delegate step writing routes, and a
// status that changes endpoints marking only the clusters routing to the service (the `routes`
// key), which then get a new placement version without a re-placement.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import jsonpatch from 'fast-json-patch';
import type { Placement, Route } from '../../schemas/messages.js';
import { placementPatch } from '../../reconciler/root/delegate.js';
import { clusterOnlineIn, clusterStatusIn } from '../../reconciler/root/inputs.js';
import { PLACE_PASS, ROUTES_PASS } from '../../reconciler/root/reconcile.js';
import { newPass, runPass } from '../../reconciler/root/steps/pass.js';
import { placementMessage } from '../../reconciler/root/steps/delegate.js';
import { aPlacement, aService, MUNICH, PARIS } from '../helpers/builders.js';
import { aClusterStatus, desiredState, fakeRoot, oid, START_MS } from '../helpers/root-fakes.js';

const route = (port: number, clusters: Route['clusters'] = []): Route => ({ port, clusters });
const apply = (base: Placement, doc: Placement) =>
  jsonpatch.applyPatch(structuredClone(base), placementPatch(base, doc) as jsonpatch.Operation[], true, false).newDocument;

const P = suite('placementPatch with routes');

P('routes appear, change, go: one op per changed route, and the patch applied to the base gives the new document', () => {
  const base = aPlacement('munich').build();
  const v = (seq: number) => ({ ...base.version, seq });
  const a: Placement = {
    ...base,
    version: v(2),
    routes: { 'shop/web': route(80), 'shop/db': route(5432, [{ cluster: 'paris', rank: 0, endpoints: ['1.1.1.1:5432'] }]) },
  };
  const ops1 = placementPatch(base, a);
  assert.equal(
    ops1.map((o) => [o.op, o.path]),
    [
      ['add', '/routes'],
      ['add', '/routes/shop~1web'],
      ['add', '/routes/shop~1db'],
      ['replace', '/version'],
    ],
  );
  assert.equal(apply(base, a), a);

  const b: Placement = { ...a, version: v(3), routes: { 'shop/web': a.routes!['shop/web'], 'shop/db': route(5432), 'pay/api': route(9000) } };
  const ops2 = placementPatch(a, b);
  assert.equal(
    ops2.map((o) => [o.op, o.path]),
    [
      ['replace', '/routes/shop~1db'],
      ['add', '/routes/pay~1api'],
      ['replace', '/version'],
    ],
    'shop/web is the same object: untouched',
  );
  assert.equal(apply(a, b), b);

  const c: Placement = { ...b, version: v(4), routes: { 'pay/api': route(9000) } };
  assert.equal(
    placementPatch(b, c).map((o) => [o.op, o.path]),
    [
      ['remove', '/routes/shop~1web'],
      ['remove', '/routes/shop~1db'],
      ['replace', '/version'],
    ],
    'pay/api equal by value (as read back from Git): untouched',
  );
  assert.equal(apply(b, c), c);

  const { routes: _, ...d0 } = c;
  const d: Placement = { ...d0, version: v(5) };
  assert.equal(placementPatch(c, d), [
    { op: 'remove', path: '/routes' },
    { op: 'replace', path: '/version', value: d.version },
  ]);
  assert.equal(apply(c, d), d);
});

P('placementMessage names the changed routes, bounded', () => {
  const doc: Placement = { ...aPlacement('munich').build(), routes: { 'shop/web': route(80, [{ cluster: 'paris', rank: 0, endpoints: ['1.1.1.1:80'] }]) } };
  const text = placementMessage(doc, [], ['shop/db', 'shop/web']);
  assert.match(text, /\n\nroutes: shop\/db removed, shop\/web \(1 cluster\)$/);
  const many = Array.from({ length: 25 }, (_, i) => `a/s${i}`);
  assert.match(placementMessage(doc, [], many), /, … and 5 more$/);
  assert.ok(placementMessage(doc, []).endsWith('(no services)'));
});

const S = suite('root steps: routes');

const web = aService('shop/web').replicas(1).cpu(1).ports({ port: 80 });
const db = aService('shop/db').replicas(1).cpu(1).ports({ port: 5432 });
const eps = (e: Record<string, string[]>) =>
  Object.fromEntries(Object.entries(e).map(([id, endpoints]) => [id, { desired: 1, running: 1, failed: 0, endpoints }]));

/** shop/web and shop/db placed on munich and paris (one each, by the placer), each exposing what it runs. */
async function placed() {
  const f = fakeRoot({ seed: { good: desiredState(oid('c1'), [web, db], { scheduler: { root: 'spread' } } as never), seen: oid('c1') } });
  for (const [c, at] of [
    ['munich', MUNICH],
    ['paris', PARIS],
  ] as const)
    f.state.clusters.set(c, { status: aClusterStatus(c, { location: at }), online: true, lastHeard: START_MS });
  const pass = newPass();
  pass.changed = ['shop/web', 'shop/db'];
  await runPass(PLACE_PASS, f.state, f.ports, pass);
  return f;
}

S('the first placements carry routes for every service of the app, with no other cluster yet', async () => {
  const f = await placed();
  for (const c of ['munich', 'paris']) {
    const doc = f.book.get(c)!;
    assert.ok(Object.keys(doc.services).length > 0, `${c} runs something`);
    assert.equal(doc.routes, { 'shop/db': route(5432), 'shop/web': route(80) });
  }
});

S('a status with new endpoints marks only the clusters routing to them; the routes pass writes their new versions', async () => {
  const f = await placed();
  const where = (id: string) => (f.book.get('munich')!.services[id] ? 'munich' : 'paris');
  const other = (c: string) => (c === 'munich' ? 'paris' : 'munich');
  const hostWeb = where('shop/web');
  const was = f.book.get(other(hostWeb))!;
  f.enqueued.length = 0;
  const before = f.book.commits.length;
  clusterStatusIn(
    f.state,
    f.ports,
    hostWeb,
    aClusterStatus(hostWeb, { location: f.state.clusters.get(hostWeb)!.status!.location, services: eps({ 'shop/web': ['10.0.0.1:80'] }) }),
  );
  assert.ok(f.enqueued.includes('routes'));
  assert.not.ok(f.enqueued.includes('place'), 'endpoints alone re-place nothing');
  await runPass(ROUTES_PASS, f.state, f.ports);
  const written = f.book.commits.slice(before);
  assert.equal(
    written.map((c) => c.doc.cluster),
    [other(hostWeb)],
    'the cluster exposing it is never routed to itself: its routes did not change',
  );
  const doc = written[0].doc;
  assert.equal(doc.routes!['shop/web'], route(80, [{ cluster: hostWeb, rank: 0, endpoints: ['10.0.0.1:80'] }]));
  assert.equal(doc.services, was.services, 'same services');
  assert.ok(doc.routes!['shop/db'] === was.routes!['shop/db'], 'an unchanged route keeps its object');
  assert.match(written[0].message, /routes: shop\/web \(1 cluster\)/);
  const patch = await f.book.messageFor(doc.cluster, was.version);
  assert.equal(patch?.kind, 'patch');
  if (patch?.kind === 'patch')
    assert.equal(
      patch.ops.map((o) => o.path),
      ['/routes/shop~1web', '/version'],
    );

  // The same endpoints again: nothing marked. The endpoint gone: a new version without it.
  f.enqueued.length = 0;
  const st = f.state.clusters.get(hostWeb)!.status!;
  clusterStatusIn(f.state, f.ports, hostWeb, { ...st });
  assert.not.ok(f.enqueued.includes('routes'));
  clusterStatusIn(f.state, f.ports, hostWeb, { ...st, services: eps({ 'shop/web': [] }) });
  assert.ok(f.enqueued.includes('routes'));
  await runPass(ROUTES_PASS, f.state, f.ports);
  assert.equal(f.book.get(other(hostWeb))!.routes!['shop/web'], route(80));
});

S('a cluster going offline leaves every route at once; back online, it returns', async () => {
  const f = await placed();
  clusterStatusIn(
    f.state,
    f.ports,
    'paris',
    aClusterStatus('paris', { location: PARIS, services: eps({ 'shop/web': ['10.1.0.1:80'], 'shop/db': ['10.1.0.1:5432'] }) }),
  );
  await runPass(ROUTES_PASS, f.state, f.ports);
  assert.equal(
    f.book.get('munich')!.routes!['shop/db'].clusters.map((c) => c.cluster),
    ['paris'],
  );
  f.enqueued.length = 0;
  clusterOnlineIn(f.state, f.ports, 'paris', false);
  assert.equal(f.enqueued, ['place', 'live:paris'], 'the place pass takes the routes marked');
  await runPass(PLACE_PASS, f.state, f.ports);
  assert.equal(f.book.get('munich')!.routes, { 'shop/db': route(5432), 'shop/web': route(80) });
  clusterOnlineIn(f.state, f.ports, 'paris', true);
  await runPass(PLACE_PASS, f.state, f.ports);
  assert.equal(
    f.book.get('munich')!.routes!['shop/web'].clusters.map((c) => c.cluster),
    ['paris'],
  );
});

S('interest adds a route to the asking cluster only', async () => {
  const pay = aService('pay/api').replicas(0).ports({ port: 9000 });
  const f = fakeRoot({ seed: { good: desiredState(oid('c1'), [web, pay]), seen: oid('c1') } });
  f.state.clusters.set('munich', { status: aClusterStatus('munich'), online: true, lastHeard: START_MS });
  const pass = newPass();
  pass.changed = ['shop/web', 'pay/api'];
  await runPass(PLACE_PASS, f.state, f.ports, pass);
  assert.equal(Object.keys(f.book.get('munich')!.routes!), ['shop/web']);
  f.enqueued.length = 0;
  clusterStatusIn(f.state, f.ports, 'munich', aClusterStatus('munich', { interest: ['pay/api', 'nope/x'] }));
  assert.ok(f.enqueued.includes('routes'));
  await runPass(ROUTES_PASS, f.state, f.ports);
  assert.equal(Object.keys(f.book.get('munich')!.routes!), ['pay/api', 'shop/web']);
  assert.match(f.logs.join('\n'), /asks for nope\/x: no such service/);
});

S('a new service with ports reaches the routes of every cluster running its app; a removed one leaves them', async () => {
  const f = fakeRoot({ seed: { good: desiredState(oid('c1'), [web]), seen: oid('c1') } });
  for (const c of ['munich', 'paris']) f.state.clusters.set(c, { status: aClusterStatus(c), online: true, lastHeard: START_MS });
  const first = newPass();
  first.changed = ['shop/web'];
  await runPass(PLACE_PASS, f.state, f.ports, first);
  const host = f.book.get('munich')!.services['shop/web'] ? 'munich' : 'paris';
  assert.equal(Object.keys(f.book.get(host)!.routes!), ['shop/web']);
  const pinned = aService('shop/db')
    .replicas(1)
    .cpu(1)
    .ports({ port: 5432 })
    .inClusters(host === 'munich' ? 'paris' : 'munich');
  f.state.good = desiredState(oid('c2'), [web, pinned]);
  const second = newPass();
  second.changed = ['shop/db'];
  await runPass(PLACE_PASS, f.state, f.ports, second);
  assert.equal(Object.keys(f.book.get(host)!.routes!), ['shop/db', 'shop/web'], 'the cluster running web routes to the new db');
  assert.match(f.book.commits.find((c) => c.doc.cluster === host && c.doc.version.commit === oid('c2'))!.message, /routes: shop\/db \(0 clusters\)/);
  f.state.good = desiredState(oid('c3'), [web]);
  const third = newPass();
  third.removed = ['shop/db'];
  await runPass(PLACE_PASS, f.state, f.ports, third);
  assert.equal(Object.keys(f.book.get(host)!.routes!), ['shop/web']);
});

P.run();
S.run();
