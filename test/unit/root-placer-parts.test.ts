// The pieces placeServices is made of, each on its own: a service's state before placing
// (eligible.ts), the two passes (rank.ts), a decision's words (explain.ts) and which services an
// incremental call may leave alone (settled.ts). root-place.test.ts pins what they give together.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { askOf, workOf, type Asks, type Work } from '../../reconciler/root/eligible.js';
import { giveBack, placeRest, type Free } from '../../reconciler/root/rank.js';
import { decisionOf, passedOver } from '../../reconciler/root/explain.js';
import { unsettledByHint, unsettledByWalk, entryOf, type Entry } from '../../reconciler/root/settled.js';
import { stableJson } from '../../reconciler/root/refusals.js';
import { rootScheduler } from '../../reconciler/root/policies/index.js';
import type { ClusterView, ServiceView } from '../../reconciler/root/cluster-view.js';
import { aCluster, aService, allocation, type ServiceBuilder } from '../helpers/builders.js';

const byName = (...cs: ClusterView[]) => cs.sort((a, b) => (a.name < b.name ? -1 : 1));
const freeOf = (cs: ClusterView[]): Free => new Map(cs.map((c) => [c.name, { ...c.capacity }]));
const workFor = (s: ServiceBuilder | ServiceView, cs: ClusterView[], previous = allocation({}), asks: Asks = new Map()): Work =>
  workOf('build' in s ? s.build() : s, cs, previous, asks);

// --- eligible.ts: one service's state before placing ------------------------------------------

const Eligible = suite('eligible: workOf');

const refusedBy = (name: string, id: string, limit: number, spec?: string): ClusterView => ({
  ...aCluster(name).build(),
  refused: { [id]: { limit, count: 1, reason: 'no node can take a replica', ...(spec !== undefined ? { spec } : {}) } },
});

const eligibleCases: Array<[string, ClusterView, Record<string, number>, { eligible: number[]; keep: boolean; pure: boolean; excluded?: string | RegExp }]> = [
  ['a plain cluster is eligible without a limit', aCluster('a').build(), {}, { eligible: [Infinity], keep: false, pure: true }],
  [
    'an unreachable cluster that held nothing is excluded',
    aCluster('a').offline().build(),
    {},
    { eligible: [], keep: false, pure: true, excluded: 'unreachable' },
  ],
  [
    'an unreachable cluster keeps what it held (no failover policy)',
    aCluster('a').offline(5000).build(),
    { a: 2 },
    { eligible: [Infinity], keep: true, pure: false, excluded: 'unreachable; keeps its replicas (no failover policy)' },
  ],
  [
    'a cluster not heard since the start keeps what it held',
    { ...aCluster('a').offline().build(), unheard: 'unknown' },
    { a: 1 },
    { eligible: [Infinity], keep: true, pure: false, excluded: /^not heard since the root started; keeps/ },
  ],
  ['a refusal at 2 limits the cluster to 2', refusedBy('a', 'shop/web', 2), {}, { eligible: [2], keep: false, pure: false }],
  ['a refusal at 0 excludes it', refusedBy('a', 'shop/web', 0), {}, { eligible: [], keep: false, pure: false, excluded: /^refused 1 replica \(/ }],
  ['a refusal of another spec does not count', refusedBy('a', 'shop/web', 0, 'other'), {}, { eligible: [Infinity], keep: false, pure: true }],
  [
    'a refusal of this very spec counts',
    refusedBy('a', 'shop/web', 0, stableJson(aService('shop/web').spec())),
    {},
    { eligible: [], keep: false, pure: false, excluded: /^refused/ },
  ],
];
for (const [name, c, had, want] of eligibleCases) {
  Eligible(name, () => {
    const w = workFor(aService('shop/web'), [c], allocation({ 'shop/web': had }));
    assert.equal(
      w.eligible.map((e) => e.limit),
      want.eligible,
    );
    assert.is(w.keep.has('a'), want.keep);
    assert.is(w.pure, want.pure);
    if (want.excluded === undefined) assert.not.ok('a' in w.excluded);
    else if (typeof want.excluded === 'string') assert.is(w.excluded.a, want.excluded);
    else assert.match(w.excluded.a, want.excluded);
  });
}

Eligible('an unreachable cluster past the failover time fails over', () => {
  const w = workFor(aService('shop/web').failoverAfter(30), [aCluster('a').offline(60_000).build()], allocation({ 'shop/web': { a: 1 } }));
  assert.equal(w.eligible, []);
  assert.is(w.excluded.a, 'unreachable for 60 s: failed over (failover.afterSeconds 30)');
});

Eligible('services that ask the same share one assessment', () => {
  const cs = byName(aCluster('a').build(), aCluster('b').withArch('arm64').build());
  const asks: Asks = new Map();
  const x = askOf(asks, cs, aService('shop/web').cpu(0.5).spec());
  const y = askOf(asks, cs, aService('shop/api').cpu(0.5).env({ A: '1' }).spec());
  const z = askOf(asks, cs, aService('shop/db').cpu(1).spec());
  assert.is(x, y);
  assert.is.not(x, z);
  assert.is(asks.size, 2);
  assert.is(x.all.length, 2);
});

// --- rank.ts: the two passes -------------------------------------------------------------------

const Rank = suite('rank: giveBack and placeRest');

Rank('pass 1 gives back what fits, and an away cluster keeps its replicas whatever its free room', () => {
  const cs = byName(aCluster('a').withCapacity(1).build(), aCluster('b').withLargestNode(8).withCapacity(0).offline(1000).build());
  const free = freeOf(cs);
  const w = workFor(aService('shop/web').cpu(0.5).replicas(5), cs, allocation({ 'shop/web': { a: 3, b: 2 } }));
  giveBack([w], free);
  assert.equal(Object.fromEntries(w.got), { a: 2, b: 2 });
  assert.is(w.n, 4);
  assert.equal(free.get('a'), { cpu: 0, memoryMi: 16384, gpu: 0 });
  assert.equal(free.get('b'), { cpu: -1, memoryMi: 16384, gpu: 0 });
});

const restCases: Array<[string, ServiceBuilder, Record<string, number>]> = [
  ['together: every replica where the first went (best fit: the smaller cluster)', aService('shop/web').cpu(1).replicas(3), { a: 3 }],
  ['spread across clusters: one each in turn', aService('shop/web').cpu(1).replicas(3).spread('clusters'), { a: 2, b: 1 }],
  ['capacity first: what does not fit goes elsewhere', aService('shop/web').cpu(2).replicas(4), { a: 2, b: 2 }],
];
for (const [name, s, want] of restCases) {
  Rank(name, () => {
    const cs = byName(aCluster('a').withCapacity(4).build(), aCluster('b').withCapacity(8).build());
    const free = freeOf(cs);
    const w = workFor(s, cs);
    const candidates = placeRest(w, free, rootScheduler('bestfit'));
    assert.equal(Object.fromEntries(w.got), want);
    assert.equal(Object.keys(candidates), ['a', 'b']);
  });
}

Rank('at most five candidates are kept, the best first', () => {
  const cs = byName(
    ...Array.from({ length: 8 }, (_, i) =>
      aCluster(`c${i}`)
        .withCapacity(8 - i)
        .build(),
    ),
  );
  const w = workFor(aService('shop/web').cpu(1), cs);
  const candidates = placeRest(w, freeOf(cs), rootScheduler('spread'));
  assert.equal(Object.keys(candidates), ['c0', 'c1', 'c2', 'c3', 'c4']);
  assert.equal(Object.fromEntries(w.got), { c0: 1 });
});

// --- explain.ts: a decision in words -----------------------------------------------------------

const Explain = suite('explain: decisionOf and passedOver');

Explain('a service short of replicas names the clusters that are full, all in cluster order', () => {
  const cs = byName(aCluster('b').withCapacity(1).build(), aCluster('a').withCapacity(1).build(), aCluster('c').withRuntimes('process').build());
  const free = freeOf(cs);
  const w = workFor(aService('shop/web').cpu(1).replicas(3), cs);
  const d = decisionOf(w, free, placeRest(w, free, rootScheduler('bestfit')));
  assert.is(d.placed, 2);
  assert.equal(Object.keys(d.excluded), ['a', 'b', 'c']);
  assert.is(
    d.reason,
    'only 2 of 3 replicas fit (a×1, b×1); a: full: a replica needs cpu 1, memory 0Mi, and cpu 0, memory 16384Mi is left; ' +
      'b: full: a replica needs cpu 1, memory 0Mi, and cpu 0, memory 16384Mi is left; c: no node runs container workloads (has process)',
  );
});

Explain('services excluded by their ask alone share its words', () => {
  const cs = byName(aCluster('a').withArch('arm64').build(), aCluster('b').build());
  const asks: Asks = new Map();
  const free = freeOf(cs);
  const w1 = workFor(aService('shop/web').arch('amd64'), cs, allocation({}), asks);
  decisionOf(w1, free, placeRest(w1, free, rootScheduler('bestfit')));
  assert.is(w1.ask.passedOver, 'a: architecture amd64 not present (has arm64)');
  const w2 = workFor(aService('shop/api').arch('amd64'), cs, allocation({}), asks);
  assert.is(w2.ask, w1.ask);
});

Explain('passedOver names up to eight clusters, then counts alike misses, nearest first', () => {
  const few: Array<[string, string]> = [
    ['a', 'unreachable'],
    ['b', 'unreachable'],
  ];
  assert.is(passedOver(few), 'a: unreachable; b: unreachable');
  const many: Array<[string, string]> = Array.from({ length: 10 }, (_, i) => [`c${i}`, `${900 - i} km from (0, 0), limit 800 km`]);
  const misses = new Map(many.map(([c], i) => [c, { kind: 'geo location 0 0 800', by: 900 - i }]));
  assert.is(passedOver(many, misses), '10 clusters for the same reason, nearest c9: 891 km from (0, 0), limit 800 km; c8: 892 km from (0, 0), limit 800 km');
});

// --- settled.ts: what an incremental call may leave alone --------------------------------------

const Settled = suite('settled: which services to place again');

const svc = (id: string, hash = 'h1'): ServiceView => ({ ...aService(id).build(), specHash: hash });
const settledEntry = (s: ServiceView, where: Record<string, number>): Entry =>
  entryOf(s, { clusters: new Map(Object.entries(where)), placed: 1, desired: 1, reason: '', excluded: {} }, new Map(Object.entries(where)));

Settled('the walk places again what changed, what a refusal names, what sits on an offline cluster, and what is new', () => {
  const [same, changed, refused, away, fresh] = [svc('a/same'), svc('a/changed'), svc('a/refused'), svc('a/away'), svc('a/new')];
  const entries = new Map<string, Entry>([
    [same.id, settledEntry(same, { x: 1 })],
    [changed.id, settledEntry(svc('a/changed', 'h0'), { x: 1 })],
    [refused.id, settledEntry(refused, { x: 1 })],
    [away.id, settledEntry(away, { y: 1 })],
    ['a/gone', settledEntry(svc('a/gone'), { x: 1 })],
  ]);
  const r = unsettledByWalk(
    [same, changed, refused, away, fresh],
    { entries, refused: new Set([refused.id]), lastRefused: new Set() },
    { first: false, offline: new Set(['y']), sameAlloc: true, previous: new Map() },
  );
  assert.equal(
    r.unsettled.map((s) => s.id),
    ['a/changed', 'a/refused', 'a/away', 'a/new'],
  );
  assert.equal([...r.removed], ['a/gone']);
  assert.is(r.total, 5);
});

Settled('the hint looks only at what it names, what refusals name and what did not settle', () => {
  const [same, changed, stuck] = [svc('a/same'), svc('a/changed', 'h2'), svc('a/stuck')];
  const all = new Map([same, changed, stuck].map((s) => [s.id, s]));
  const entries = new Map<string, Entry>([
    [same.id, settledEntry(same, { x: 1 })],
    [changed.id, settledEntry(svc('a/changed'), { x: 1 })],
    ['a/gone', settledEntry(svc('a/gone'), { x: 1 })],
  ]);
  const r = unsettledByHint(
    { changed: [changed.id, same.id], removed: ['a/gone', 'a/never'], get: (id) => all.get(id), size: 3 },
    { entries, refused: new Set(), lastRefused: new Set() },
    new Set([stuck.id]),
  );
  assert.equal(
    r.unsettled.map((s) => s.id),
    ['a/changed', 'a/stuck'],
  );
  assert.equal([...r.removed], ['a/gone']);
  assert.is(r.total, 3);
});

Eligible.run();
Rank.run();
Explain.run();
Settled.run();
