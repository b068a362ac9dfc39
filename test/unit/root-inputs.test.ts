// The root's MQTT inputs only update what it observed and enqueue keys; and the clusters it
// knows from Git alone before any is heard (seed-unheard.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bus, Handler } from '../../reconciler/mqtt/bus.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { clusterOnlineIn, clusterStatusIn, shapeChanged, subscribeInputs } from '../../reconciler/root/inputs.js';
import { seedUnheard } from '../../reconciler/root/seed-unheard.js';
import type { ClusterState } from '../../reconciler/root/state.js';
import type { ClusterStatus } from '../../schemas/messages.js';
import { aPlacement, aService, capacity } from '../helpers/builders.js';
import { aClusterStatus, desiredState, FakeBook, fakeRoot, oid, START_MS } from '../helpers/root-fakes.js';

const web = aService('shop/web').replicas(2);
const placed = aPlacement('munich').with(web).build();

const Status = suite('root input: a cluster’s status');

const statusCases: Array<[string, ClusterState | undefined, Partial<ClusterStatus>, string[]]> = [
  ['first heard, behind its placement', undefined, {}, ['place', 'send:munich', 'converge']],
  ['first heard, at its placement', undefined, { applied: placed.version }, ['place', 'converge']],
  [
    'heard again, nothing placement looks at changed',
    { status: aClusterStatus('munich'), online: true, lastHeard: 1 },
    { applied: placed.version },
    ['converge'],
  ],
  [
    'heard again with more capacity',
    { status: aClusterStatus('munich'), online: true, lastHeard: 1 },
    { applied: placed.version, capacity: capacity(16, '32Gi') },
    ['place', 'converge'],
  ],
  [
    'known from Git only until now',
    { status: aClusterStatus('munich'), online: false, lastHeard: 0, offlineSince: 1, unheard: 'unknown' },
    { applied: placed.version },
    ['place', 'live:munich', 'converge'],
  ],
];
for (const [name, before, status, keys] of statusCases) {
  Status(name, () => {
    const f = fakeRoot({ book: new FakeBook(placed) });
    if (before) f.state.clusters.set('munich', before);
    clusterStatusIn(f.state, f.ports, 'munich', aClusterStatus('munich', status));
    assert.equal(f.enqueued, keys);
    const st = f.state.clusters.get('munich')!;
    assert.equal([st.online, st.lastHeard, st.offlineSince, st.unheard], [true, START_MS, undefined, undefined]);
  });
}

Status('what runs there is counted towards convergence', () => {
  const f = fakeRoot({ book: new FakeBook(placed), seed: { good: desiredState(oid('c1'), [web]) } });
  assert.is(f.state.counts.off(), 1);
  clusterStatusIn(f.state, f.ports, 'munich', aClusterStatus('munich', { services: { 'shop/web': { desired: 2, running: 2, failed: 0 } } }));
  assert.is(f.state.counts.off(), 0);
});

Status('a refusal of what it was given is kept and re-places', () => {
  const f = fakeRoot({ book: new FakeBook(placed) });
  f.state.clusters.set('munich', { status: aClusterStatus('munich'), online: true, lastHeard: 1 });
  const refused = { 'shop/web': { desired: 2, running: 1, failed: 0, refused: { count: 1, reason: 'no node has 4 CPUs free' } } };
  clusterStatusIn(f.state, f.ports, 'munich', aClusterStatus('munich', { applied: placed.version, services: refused }));
  assert.equal(f.state.clusters.get('munich')!.refused?.['shop/web']?.limit, 1);
  assert.equal(f.enqueued, ['place', 'converge']);
});

Status('shapeChanged: what placement looks at, not what is free or runs', () => {
  const a = aClusterStatus('munich');
  assert.not.ok(shapeChanged(a, aClusterStatus('munich', { free: capacity(1, '1Gi'), at: '2030-01-01T00:00:00Z' })));
  assert.ok(shapeChanged(a, aClusterStatus('munich', { labels: { zone: 'b' } })));
  assert.ok(shapeChanged(a, aClusterStatus('munich', { location: { lat: 1, lon: 2 } })));
});

const Online = suite('root input: a cluster’s online flag');

Online('going offline and back: each change re-places and is recorded; a repeat is nothing', () => {
  const f = fakeRoot();
  f.state.clusters.set('munich', { online: true, lastHeard: 1 });
  clusterOnlineIn(f.state, f.ports, 'munich', false);
  assert.equal(f.state.clusters.get('munich')!.offlineSince, START_MS);
  clusterOnlineIn(f.state, f.ports, 'munich', false);
  f.clock.ms += 1000;
  clusterOnlineIn(f.state, f.ports, 'munich', true);
  assert.equal(f.enqueued, ['place', 'live:munich', 'place', 'live:munich']);
  const st = f.state.clusters.get('munich')!;
  assert.equal([st.online, st.lastHeard, st.offlineSince], [true, START_MS + 1000, undefined]);
  assert.match(f.logs.join('\n'), /cluster munich offline[\s\S]*cluster munich online/);
});

Online('a cluster first known by its flag saying offline: nothing to do', () => {
  const f = fakeRoot();
  clusterOnlineIn(f.state, f.ports, 'munich', false);
  assert.equal(f.enqueued, []);
});

Online('subscribeInputs: payloads that do not parse, or name another cluster, are dropped', async () => {
  const f = fakeRoot({ book: new FakeBook(placed) });
  const handlers = new Map<string, Handler>();
  const dropped: string[] = [];
  let onConnect = () => {};
  const bus = {
    subscribe: async (pattern: string, h: Handler) => void handlers.set(pattern, h),
    drop: (topic: string, error: string) => void dropped.push(`${topic}: ${error}`),
    onConnect: (cb: () => void) => void (onConnect = cb),
  } as unknown as Bus;
  const t = topics('demo');
  await subscribeInputs(bus, t, f.state, f.ports);
  const status = handlers.get(t.allClusterStatus)!;
  status(t.clusterStatus('munich'), Buffer.from('{"kind":"cluster-status"'));
  status(t.clusterStatus('munich'), Buffer.from(JSON.stringify(aClusterStatus('paris'))));
  status(t.clusterStatus('munich'), Buffer.from(''));
  assert.is(dropped.length, 2);
  assert.match(dropped[1], /names cluster paris/);
  assert.is(f.state.clusters.size, 0);
  status(t.clusterStatus('munich'), Buffer.from(JSON.stringify(aClusterStatus('munich'))));
  handlers.get(t.allClusterOnline)!(t.clusterOnline('paris'), Buffer.from(JSON.stringify({ kind: 'online', online: true, at: '2025-01-01T00:00:00Z' })));
  assert.equal([...f.state.clusters.keys()], ['munich', 'paris']);
  f.enqueued.length = 0;
  onConnect();
  assert.equal(f.enqueued, ['send:munich', 'send:paris'], 'every cluster is sent its placement on reconnect');
});

const Seed = suite('root: clusters known from Git before any is heard');

Seed('a cluster with work placed on it is offline since the start, with its last committed status or none', async () => {
  const book = new FakeBook(placed, aPlacement('paris').with(web).build(), aPlacement('empty').build());
  const f = fakeRoot({ book });
  const committed = aClusterStatus('munich', { labels: { zone: 'a' } });
  await seedUnheard(f.state, book, async (c) => (c === 'munich' ? committed : undefined));
  assert.equal([...f.state.clusters.keys()], ['munich', 'paris'], 'a cluster given nothing is not kept');
  const m = f.state.clusters.get('munich')!;
  assert.equal([m.online, m.lastHeard, m.offlineSince, m.unheard, m.status], [false, 0, START_MS, 'last status from Git', committed]);
  const p = f.state.clusters.get('paris')!;
  assert.is(p.unheard, 'unknown');
  assert.equal([p.status!.capacity, p.status!.applied, p.status!.at], [capacity(0), null, new Date(START_MS).toISOString()]);
});

Status.run();
Online.run();
Seed.run();
