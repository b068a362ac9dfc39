import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  placeServices,
  exclusion,
  request,
  clusterViewOf,
  keepRefusals,
  stableJson,
  MAX_REASON,
  type ClusterView,
  type ServiceView,
  type Allocation,
  type RootPolicy,
  type Target,
} from '../../reconciler/root/place.js';
import type { Capacity, ClusterStatus } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { geohash } from '../../reconciler/scheduling/geo.js';
import { aCluster, aService, aFleet, allocation, prng, MUNICH, PARIS, type ClusterBuilder, type ServiceBuilder, type Rng } from '../helpers/builders.js';

const place = (services: ServiceBuilder[], clusters: ClusterBuilder[], previous: Allocation = new Map(), policy?: RootPolicy) =>
  placeServices(
    services.map((s) => s.build()),
    clusters.map((c) => c.build()),
    previous,
    policy,
  );

/** The one decision of a one-service placement. */
const decide = (service: ServiceBuilder, clusters: ClusterBuilder[], previous?: Allocation) => place([service], clusters, previous).decisions.get(service.id)!;

const where = (d: { clusters: Map<string, number> }) => Object.fromEntries(d.clusters);

// --- request -----------------------------------------------------------------------------------

const Request = suite('request');

const requests: Array<[string, ServiceBuilder, Capacity]> = [
  ['no resources asks for nothing', aService('shop/web'), { cpu: 0, memoryMi: 0, gpu: 0 }],
  ['cpu, memory in Mi and gpu', aService('shop/web').cpu(0.5).memory('128Mi').gpu(1), { cpu: 0.5, memoryMi: 128, gpu: 1 }],
  ['memory in Gi is converted to Mi', aService('shop/web').memory('1Gi'), { cpu: 0, memoryMi: 1024, gpu: 0 }],
  ['memory in bytes is converted to Mi', aService('shop/web').memory(64 * 1024 * 1024), { cpu: 0, memoryMi: 64, gpu: 0 }],
];
for (const [name, svc, want] of requests) {
  Request(name, () => assert.equal(request(svc.spec()), want));
}

// --- exclusion ---------------------------------------------------------------------------------

const Exclusion = suite('exclusion');

const munich = () => aCluster('munich').at(MUNICH.lat, MUNICH.lon);
const paris = () => aCluster('paris').at(PARIS.lat, PARIS.lon);

const exclusions: Array<[string, ClusterBuilder, ServiceBuilder, RegExp | string | undefined]> = [
  ['a plain cluster takes a plain service', munich(), aService('shop/web'), undefined],
  ['an offline cluster is unreachable', munich().offline(), aService('shop/web'), 'unreachable'],
  [
    'runtime: no node runs the workload kind',
    munich().withRuntimes('container'),
    aService('shop/web').runtime('process'),
    'no node runs process workloads (has container)',
  ],
  ['runtime: a cluster with no runtimes says none', munich().withRuntimes(), aService('shop/web'), /\(has none\)$/],
  ['runtime: a matching runtime passes', munich().withRuntimes('process'), aService('shop/web').runtime('process'), undefined],
  ['arch: a missing architecture', munich().withArch('amd64'), aService('shop/web').arch('arm64'), 'architecture arm64 not present (has amd64)'],
  ['arch: any listed architecture will do', munich().withArch('amd64'), aService('shop/web').arch('arm64', 'amd64'), undefined],
  ['names: not among the named clusters', munich(), aService('shop/web').inClusters('paris', 'lyon'), 'not among the named clusters paris, lyon'],
  ['names: a named cluster passes', munich(), aService('shop/web').inClusters('paris', 'munich'), undefined],
  ['operator: another operator', munich().operatedBy('telekom'), aService('shop/web').operatedBy('orange'), 'operator is telekom, needs orange'],
  ['operator: an unset operator', munich(), aService('shop/web').operatedBy('orange'), 'operator is unset, needs orange'],
  ['operator: the same operator passes', munich().operatedBy('orange'), aService('shop/web').operatedBy('orange'), undefined],
  ['labels: every label matches', munich().withLabels({ tier: 'edge', region: 'eu' }), aService('shop/web').onClustersLabelled({ tier: 'edge' }), undefined],
  [
    'labels: another value',
    munich().withLabels({ tier: 'core' }),
    aService('shop/web').onClustersLabelled({ tier: 'edge' }),
    'label tier=edge not matched (has tier=core)',
  ],
  ['labels: a missing label', munich(), aService('shop/web').onClustersLabelled({ tier: 'edge' }), 'label tier=edge not matched (has tier=unset)'],
  ['geo: Munich is within 50 km of Munich', munich(), aService('shop/web').within(50, MUNICH), undefined],
  ['geo: Paris is 684 km from Munich, not within 50', paris(), aService('shop/web').within(50, MUNICH), '684 km from (48.137, 11.575), limit 50 km'],
  ['geo: Paris is within 700 km of Munich', paris(), aService('shop/web').within(700, MUNICH), undefined],
  ['geo: a cluster without a location cannot be checked', aCluster('x'), aService('shop/web').within(50, MUNICH), /^location unknown/],
  [
    'size: no node large enough for one replica',
    munich().withCapacity(16, '32Gi').withLargestNode(4, '8Gi'),
    aService('shop/web').cpu(6),
    'no node large enough for one replica (needs cpu 6, memory 0Mi, largest node cpu 4, memory 8192Mi)',
  ],
  ['size: memory beyond the largest node', munich().withLargestNode(4, '8Gi'), aService('shop/web').memory('9Gi'), /^no node large enough/],
  ['size: a gpu where no node has one', munich(), aService('shop/web').gpu(1), /needs cpu 0, memory 0Mi, gpu 1, largest node/],
  ['size: exactly the largest node fits', munich().withLargestNode(4, '8Gi', 1), aService('shop/web').cpu(4).memory('8Gi').gpu(1), undefined],
];
for (const [name, c, s, want] of exclusions) {
  Exclusion(name, () => {
    const got = exclusion(c.build(), s.spec());
    if (want === undefined || typeof want === 'string') assert.is(got, want);
    else assert.match(got ?? '<none>', want);
  });
}

Exclusion('an offline cluster is unreachable before any other reason', () => {
  assert.is(exclusion(munich().offline().withRuntimes().build(), aService('shop/web').within(1, PARIS).spec()), 'unreachable');
});

// --- placeServices -----------------------------------------------------------------------------

const Place = suite('placeServices');

Place('places every replica on a cluster that fits, and says where', () => {
  const d = decide(aService('shop/web').replicas(3).cpu(0.5), [munich()]);
  assert.equal(where(d), { munich: 3 });
  assert.is(d.placed, 3);
  assert.is(d.desired, 3);
  assert.is(d.reason, 'placed on munich×3');
});

Place('fills a cluster up to its capacity and no further', () => {
  const d = decide(aService('shop/web').replicas(5).cpu(0.5), [munich().withCapacity(2)]);
  assert.equal(where(d), { munich: 4 });
  assert.is(d.placed, 4);
  assert.is(d.desired, 5);
  assert.match(d.reason, /^only 4 of 5 replicas fit \(munich×4\)/);
});

Place('a partly placed service says why the rest did not fit', () => {
  // munich holds 4 of 5; the reason must say what stopped the fifth.
  const d = decide(aService('shop/web').replicas(5).cpu(0.5), [munich().withCapacity(2)]);
  assert.match(d.reason, /munich: full: a replica needs cpu 0\.5, memory 0Mi, and cpu 0, memory 16384Mi is left/);
});

Place('memory limits as well as cpu', () => {
  const d = decide(aService('shop/web').replicas(4).cpu(0.1).memory('3Gi'), [munich().withCapacity(8, '8Gi')]);
  assert.is(d.placed, 2);
});

Place('a service that finds its cluster full is left unplaced, and says so', () => {
  // app/a (placed first, by id) fills munich; app/b finds no room.
  const r = place([aService('app/b').replicas(2).cpu(0.5), aService('app/a').cpu(2)], [munich().withCapacity(2)]);
  const d = r.decisions.get('app/b')!;
  assert.is(d.placed, 0);
  assert.equal(where(d), {});
  assert.is(d.reason, 'no cluster can run it: munich: full: a replica needs cpu 0.5, memory 0Mi, and cpu 0, memory 16384Mi is left');
});

const constrained: Array<[string, ServiceBuilder, ClusterBuilder[], Record<string, number>, Record<string, RegExp>]> = [
  [
    'matchLabels picks the labelled cluster',
    aService('shop/web').replicas(2).onClustersLabelled({ tier: 'edge' }),
    [aCluster('a').withLabels({ tier: 'core' }), aCluster('b').withLabels({ tier: 'edge' })],
    { b: 2 },
    { a: /label tier=edge/ },
  ],
  [
    "operator picks the operator's cluster",
    aService('shop/web').replicas(2).operatedBy('orange'),
    [aCluster('a').operatedBy('telekom'), aCluster('b').operatedBy('orange')],
    { b: 2 },
    { a: /operator is telekom/ },
  ],
  [
    'names pick the named cluster',
    aService('shop/web').replicas(2).inClusters('b'),
    [aCluster('a'), aCluster('b')],
    { b: 2 },
    { a: /not among the named clusters b/ },
  ],
  [
    'runtime skips clusters without it',
    aService('shop/web').replicas(2).runtime('process'),
    [aCluster('a').withRuntimes('container'), aCluster('b')],
    { b: 2 },
    { a: /no node runs process/ },
  ],
  [
    'arch skips clusters without it',
    aService('shop/web').replicas(2).arch('arm64'),
    [aCluster('a'), aCluster('b').withArch('amd64', 'arm64')],
    { b: 2 },
    { a: /architecture arm64 not present/ },
  ],
  [
    'geo: 50 km around Munich admits Munich and not Paris',
    aService('shop/web').replicas(2).within(50, MUNICH),
    [paris(), munich()],
    { munich: 2 },
    { paris: /^68\d km from \(48\.137, 11\.575\), limit 50 km$/ },
  ],
  [
    'an offline cluster is passed over as unreachable',
    aService('shop/web').replicas(2),
    [aCluster('a').offline(5000), aCluster('b')],
    { b: 2 },
    { a: /^unreachable$/ },
  ],
];
for (const [name, svc, clusters, want, excluded] of constrained) {
  Place(name, () => {
    const d = decide(svc, clusters);
    assert.equal(where(d), want);
    for (const [c, re] of Object.entries(excluded)) {
      assert.match(d.excluded[c] ?? '<not excluded>', re);
      assert.ok(d.reason.includes(`${c}: ${d.excluded[c]}`), `reason names ${c} and why: ${d.reason}`);
    }
  });
}

Place('sticky: a service keeps its cluster when a new equal cluster appears', () => {
  const svc = aService('shop/web').replicas(3).cpu(1);
  const newcomer = aCluster('aachen'); // sorts first: without stickiness it would win the tie
  assert.equal(where(decide(svc, [newcomer, munich()])), { aachen: 3 }, 'the tie goes to aachen when nothing was placed before');
  const d = decide(svc, [newcomer, munich()], allocation({ 'shop/web': { munich: 3 } }));
  assert.equal(where(d), { munich: 3 });
});

Place('sticky: a scale-up keeps the old replicas where they were', () => {
  const d = decide(aService('shop/web').replicas(4).cpu(1).spread('clusters'), [aCluster('a'), aCluster('b')], allocation({ 'shop/web': { b: 3 } }));
  assert.is(d.clusters.get('b')! >= 3, true, `b keeps its 3: ${d.reason}`);
  assert.is(d.placed, 4);
});

Place('sticky: a new service never displaces one that was already placed', () => {
  // b/old sat on `a`, which it fills. a/new sorts first and is placed first; it must take `b`.
  const clusters = [aCluster('a').withCapacity(1), aCluster('b').withCapacity(1)];
  const old = aService('b/old').cpu(1);
  const fresh = aService('a/new').cpu(1);
  const r = place([old, fresh], clusters, allocation({ 'b/old': { a: 1 } }));
  assert.equal(where(r.decisions.get('b/old')!), { a: 1 }, 'b/old stays on a');
  assert.equal(where(r.decisions.get('a/new')!), { b: 1 });
});

Place('an unreachable cluster keeps the replicas it had (no failover policy)', () => {
  const d = decide(aService('shop/web').replicas(2), [aCluster('a').offline(3_600_000), aCluster('b')], allocation({ 'shop/web': { a: 2 } }));
  assert.equal(where(d), { a: 2 });
  assert.match(d.excluded.a, /^unreachable; keeps its replicas/);
});

Place('an unreachable cluster keeps its replicas until failover.afterSeconds, then they move', () => {
  const svc = aService('shop/web').replicas(2).failoverAfter(30);
  const prev = allocation({ 'shop/web': { a: 2 } });
  const early = decide(svc, [aCluster('a').offline(10_000), aCluster('b')], prev);
  assert.equal(where(early), { a: 2 });
  assert.match(early.excluded.a, /until failover after 30 s/);
  const late = decide(svc, [aCluster('a').offline(31_000), aCluster('b')], prev);
  assert.equal(where(late), { b: 2 });
  assert.match(late.excluded.a, /^unreachable for 31 s: failed over/);
});

Place('an unreachable cluster does not keep replicas the service no longer allows there', () => {
  // The service was on `a`; the author now restricts it to `b` while `a` is away.
  const d = decide(aService('shop/web').replicas(2).inClusters('b'), [aCluster('a').offline(1000), aCluster('b')], allocation({ 'shop/web': { a: 2 } }));
  assert.equal(where(d), { b: 2 });
});

Place('an unreachable cluster never gains replicas it did not have', () => {
  const d = decide(aService('shop/web').replicas(4), [aCluster('a').offline(1000), aCluster('b').withCapacity(2)], allocation({ 'shop/web': { a: 1 } }));
  assert.is(d.clusters.get('a'), 1);
});

Place("spread: 'clusters' splits replicas evenly", () => {
  const even = decide(aService('shop/web').replicas(4).cpu(0.5).spread('clusters'), [aCluster('a'), aCluster('b')]);
  assert.equal(where(even), { a: 2, b: 2 });
  assert.match(even.reason, /\(spread across clusters\)/);
  const odd = decide(aService('shop/web').replicas(7).cpu(0.5).spread('clusters'), [aCluster('a'), aCluster('b'), aCluster('c')]);
  const counts = [...odd.clusters.values()];
  assert.is(counts.length, 3);
  assert.is(Math.max(...counts) - Math.min(...counts), 1);
  assert.is(odd.placed, 7);
});

Place('without spread a service stays together', () => {
  assert.equal(where(decide(aService('shop/web').replicas(4).cpu(0.5), [aCluster('a'), aCluster('b')])), { a: 4 });
});

Place("spread: 'clusters' still respects capacity", () => {
  const d = decide(aService('shop/web').replicas(6).cpu(1).spread('clusters'), [aCluster('a').withCapacity(1), aCluster('b'), aCluster('c')]);
  // `a` has room for one; the other five alternate between b and c.
  assert.equal(where(d), { a: 1, b: 3, c: 2 });
});

Place('policy bestfit packs the fuller cluster, spread the emptier one', () => {
  const clusters = [aCluster('a').withCapacity(4), aCluster('b').withCapacity(4)];
  const services = [aService('app/big').cpu(2), aService('app/small').cpu(1)];
  // app/big goes to `a` (name tie); then bestfit puts app/small beside it, spread on `b`.
  assert.equal(where(place(services, clusters, new Map(), 'bestfit').decisions.get('app/small')!), { a: 1 });
  assert.equal(where(place(services, clusters, new Map(), 'spread').decisions.get('app/small')!), { b: 1 });
});

Place('capacity is shared across services', () => {
  const r = place(
    [aService('app/one').replicas(2).cpu(2), aService('app/two').replicas(2).cpu(2)],
    [aCluster('a').withCapacity(4), aCluster('b').withCapacity(4)],
  );
  assert.equal(where(r.decisions.get('app/one')!), { a: 2 });
  assert.equal(where(r.decisions.get('app/two')!), { b: 2 });
});

Place('an unschedulable service names each cluster and why', () => {
  const d = decide(aService('shop/web').replicas(2).cpu(2).within(50, MUNICH), [
    aCluster('a').offline(),
    paris(),
    munich().withLargestNode(1, '4Gi'),
    aCluster('z').withRuntimes('process'),
  ]);
  assert.is(d.placed, 0);
  assert.match(d.reason, /^no cluster can run it: /);
  for (const [c, re] of Object.entries({ a: /unreachable/, paris: /68\d km from/, munich: /no node large enough/, z: /no node runs container/ })) {
    assert.match(d.excluded[c], re);
    assert.ok(d.reason.includes(`${c}: ${d.excluded[c]}`), `reason names ${c}: ${d.reason}`);
  }
});

Place('with no clusters the reason says none are registered', () => {
  assert.is(decide(aService('shop/web'), []).reason, 'no cluster can run it: no clusters are registered');
});

Place('zero replicas is a decision too', () => {
  const d = decide(aService('shop/web').replicas(0), [munich()]);
  assert.is(d.placed, 0);
  assert.equal(where(d), {});
  assert.is(d.reason, 'scaled to 0 replicas');
});

Place('every service gets a decision, keyed by id', () => {
  const fleet = aFleet().withCluster('a').withService(aService('b/x')).withService(aService('a/y').replicas(0));
  const r = placeServices(fleet.services(), fleet.clusters(), new Map());
  assert.equal([...r.decisions.keys()].sort(), ['a/y', 'b/x']);
});

// --- placeServices: properties over random fleets ---------------------------------------------

const CLUSTER_NAMES = ['aachen', 'berlin', 'bonn', 'lyon', 'munich', 'paris', 'rome', 'wien'];

function randomFleet(rng: Rng): { clusters: ClusterView[]; services: ServiceView[]; previous: Allocation } {
  const names = rng.subset(CLUSTER_NAMES, 1).slice(0, rng.int(1, 6));
  const clusters = names.map((name) => {
    const cpu = rng.int(0, 32) / 2;
    const memMi = rng.int(0, 32) * 512;
    const gpu = rng.int(0, 2);
    const c = aCluster(name)
      .withCapacity(cpu, memMi, gpu)
      .withLargestNode(cpu * rng.pick([0.25, 0.5, 1]), memMi * rng.pick([0.25, 0.5, 1]), rng.int(0, gpu))
      .withArch(...rng.subset(['amd64', 'arm64', 'arm'], 1))
      .withRuntimes(...rng.subset(['container', 'process']))
      .withLabels({ tier: rng.pick(['edge', 'core']), region: rng.pick(['eu', 'us']) });
    if (rng.chance(0.5)) c.operatedBy(rng.pick(['telekom', 'orange']));
    const where = { lat: 45 + rng.next() * 8, lon: 2 + rng.next() * 12 };
    if (rng.chance(0.6)) c.at(where.lat, where.lon);
    if (rng.chance(0.15)) c.offline(rng.int(0, 120) * 1000);
    const v: ClusterView = c.build();
    if (rng.chance(0.5)) v.footprint = [geohash(where, rng.pick([3, 4, 5]))];
    if (rng.chance(0.4)) v.latency = { cams: { ms: rng.int(1, 40), source: rng.pick(['measured', 'estimated'] as const) } };
    if (rng.chance(0.2)) v.refused = { [`app/svc-${rng.int(0, 7)}`]: { limit: rng.int(0, 3), count: 1, reason: 'no node can take a replica' } };
    return v;
  });
  const services = Array.from({ length: rng.int(1, 8) }, (_, i) => {
    const s = aService(`app/svc-${i}`)
      .replicas(rng.int(0, 6))
      .cpu(rng.int(0, 8) / 4);
    if (rng.chance(0.7)) s.memory(rng.pick(['64Mi', '256Mi', '1Gi', '2Gi', 500_000_000]));
    if (rng.chance(0.1)) s.gpu(1);
    if (rng.chance(0.3)) s.runtime('process');
    if (rng.chance(0.2)) s.arch(rng.pick(['amd64', 'arm64'] as const));
    if (rng.chance(0.2)) s.inClusters(...rng.subset(CLUSTER_NAMES, 1));
    if (rng.chance(0.2)) s.onClustersLabelled({ tier: rng.pick(['edge', 'core']) });
    if (rng.chance(0.15)) s.operatedBy(rng.pick(['telekom', 'orange']));
    if (rng.chance(0.2)) s.within(rng.pick([50, 300, 800]), rng.pick([MUNICH, PARIS]));
    if (rng.chance(0.3)) s.spread('clusters');
    if (rng.chance(0.3)) s.failoverAfter(rng.int(0, 90));
    const spec = s.spec();
    if (rng.chance(0.25))
      (spec.constraints ??= {}).latency = { to: rng.chance(0.5) ? { target: rng.pick(['cams', 'nowhere']) } : MUNICH, maxMs: rng.pick([3, 10, 25]) };
    return { id: s.id, spec };
  });
  const previous: Allocation = new Map();
  for (const s of services) {
    if (!rng.chance(0.4)) continue;
    previous.set(s.id, new Map(rng.subset(names, 1).map((c) => [c, rng.int(1, 4)])));
  }
  return { clusters, services, previous };
}

const TARGETS: Record<string, Target> = { cams: MUNICH };

Place('property: capacity, constraints (geo, latency, refusals), determinism and counts hold for 400 random fleets', () => {
  const rng = prng(20240611);
  for (let n = 0; n < 400; n++) {
    const { clusters, services, previous } = randomFleet(rng);
    const policy = rng.pick(['bestfit', 'spread', 'closest'] as const);
    const ctx = `case ${n}`;
    const result = placeServices(services, clusters, previous, policy, { targets: TARGETS });

    // Same inputs, in any order, give the same output.
    assert.equal(placeServices(services, clusters, previous, policy, { targets: TARGETS }), result, `${ctx}: same inputs, same output`);
    assert.equal(
      placeServices(rng.shuffle(services), rng.shuffle(clusters), previous, policy, { targets: TARGETS }),
      result,
      `${ctx}: input order does not matter`,
    );

    const used = new Map(clusters.map((c) => [c.name, { cpu: 0, memoryMi: 0, gpu: 0 }]));
    for (const s of services) {
      const d = result.decisions.get(s.id);
      assert.ok(d, `${ctx}: ${s.id} has a decision`);
      const total = [...d!.clusters.values()].reduce((a, b) => a + b, 0);
      assert.is(d!.placed, total, `${ctx}: ${s.id} placed is the sum of its clusters`);
      assert.ok(d!.placed <= d!.desired, `${ctx}: ${s.id} placed ${d!.placed} > desired ${d!.desired}`);
      assert.is(d!.desired, s.spec.replicas, `${ctx}: desired`);
      const r = request(s.spec);
      for (const [name, count] of d!.clusters) {
        assert.ok(count > 0, `${ctx}: ${s.id} lists ${name} with ${count}`);
        const c = clusters.find((x) => x.name === name)!;
        const why = exclusion(c, s.spec, TARGETS);
        const refusal = c.refused?.[s.id];
        if (refusal) assert.ok(count <= refusal.limit, `${ctx}: ${s.id} has ${count} on ${name}, which refused beyond ${refusal.limit}`);
        if (why !== undefined) {
          // The one allowed exception: an unreachable cluster keeping what it had, within failover.
          const after = s.spec.failover?.afterSeconds;
          assert.is(why, 'unreachable', `${ctx}: ${s.id} on ${name} although ${why}`);
          assert.ok(count <= (previous.get(s.id)?.get(name) ?? 0), `${ctx}: ${s.id} gained replicas on unreachable ${name}`);
          assert.ok(after === undefined || (c.offlineForMs ?? 0) < after * 1000, `${ctx}: ${s.id} kept on ${name} past failover`);
        }
        const u = used.get(name)!;
        u.cpu += r.cpu * count;
        u.memoryMi += r.memoryMi * count;
        u.gpu += r.gpu * count;
      }
    }
    for (const c of clusters) {
      const u = used.get(c.name)!;
      const eps = 1e-6;
      assert.ok(
        u.cpu <= c.capacity.cpu + eps && u.memoryMi <= c.capacity.memoryMi + eps && u.gpu <= c.capacity.gpu + eps,
        `${ctx}: ${c.name} over capacity: uses ${JSON.stringify(u)} of ${JSON.stringify(c.capacity)}`,
      );
    }
  }
});

// --- latency and footprints: known answers (Munich 48.137,11.575; Paris 48.857,2.352) ----------

Place('an air-gapped cluster takes what names it, what spreads over clusters, and what no connected cluster could take', () => {
  // bestfit prefers the tighter cluster: ship, were it connected.
  const ship = () => aCluster('ship').withCapacity(1, '2Gi').at(53.5, 9.9).airGapped();
  const big = () => aCluster('ship').withCapacity(64, '64Gi').at(53.5, 9.9).airGapped();
  const roomy = () => munich().withCapacity(8, '16Gi');
  assert.equal(where(decide(aService('shop/web').cpu(0.5).replicas(2), [aCluster('ship').withCapacity(1, '2Gi'), roomy()])), { ship: 2 }, 'connected: bestfit');
  assert.equal(where(decide(aService('shop/web').cpu(0.5).replicas(2), [ship(), roomy()])), { munich: 2 });
  assert.equal(where(decide(aService('ops/beacon').cpu(0.5).inClusters('ship'), [ship(), roomy()])), { ship: 1 });
  assert.equal(
    where(decide(aService('ops/beacon').cpu(0.5).inClusters('ship', 'munich'), [ship(), roomy()])),
    { munich: 1 },
    'named with another: connected first',
  );
  assert.equal(where(decide(aService('shop/edge').cpu(0.1).replicas(3).spread('clusters'), [ship(), roomy(), paris()])), {
    munich: 1,
    paris: 1,
    ship: 1,
  });
  // Not where a connected cluster could take it, even full or with no node yet: it waits for room there.
  const full = decide(aService('shop/web').cpu(0.5).replicas(18), [big(), roomy()]);
  assert.equal(where(full), { munich: 16 });
  assert.match(full.reason, /ship: air-gapped: it takes what names it/);
  assert.equal(where(decide(aService('shop/big').cpu(16), [big(), roomy()])), {}, 'too big for munich: not sent to the ship for it');
  // Where no connected cluster could: the ship alone, or near it only.
  assert.equal(where(decide(aService('shop/web').cpu(0.5), [ship()])), { ship: 1 });
  assert.equal(where(decide(aService('ops/sonar').cpu(0.5).within(50, { lat: 53.5, lon: 9.9 }), [ship(), roomy()])), { ship: 1 });
  // Unnamed and placed there before: it moves to the connected cluster.
  assert.equal(where(decide(aService('shop/web').cpu(0.5), [ship(), roomy()], allocation({ 'shop/web': { ship: 1 } }))), { munich: 1 });
});

const Where = suite('geo and latency at the root');

const CAMS: Record<string, Target> = { cams: MUNICH };
const AUGSBURG = { lat: 48.3705, lon: 10.8978 }; // 56.5 km from Munich
const FREISING = { lat: 48.4029, lon: 11.7488 }; // 32.2 km
const ROSENHEIM = { lat: 47.8571, lon: 12.1181 }; // 51.0 km; its 5-character cell comes within 46 km
/** A cluster that reports no single location, only the cells of its nodes. */
const spreadOut = (name: string, ...at: Array<{ lat: number; lon: number }>): ClusterView => ({
  ...aCluster(name).build(),
  footprint: at.map((p) => geohash(p, 5)),
});
const withLatency = (c: ClusterView, ms: number, source: 'measured' | 'estimated' = 'measured'): ClusterView => ({ ...c, latency: { cams: { ms, source } } });
const latencySpec = (to: { target: string } | { lat: number; lon: number }, maxMs: number, s = aService('traffic-cam/detector')): ServiceSpec => {
  const spec = s.spec();
  (spec.constraints ??= {}).latency = { to, maxMs };
  return spec;
};

const whereCases: Array<[string, ClusterView, ServiceSpec, string | RegExp | undefined]> = [
  ['latency: a measured round trip within the limit', withLatency(paris().build(), 4), latencySpec({ target: 'cams' }, 5), undefined],
  [
    'latency: a measured round trip over the limit',
    withLatency(munich().build(), 12.34),
    latencySpec({ target: 'cams' }, 10),
    '12.3 ms to target cams (measured), limit 10 ms',
  ],
  [
    'latency: nothing measured, Paris is estimated 8.8 ms from a Munich target (684 km)',
    paris().build(),
    latencySpec({ target: 'cams' }, 5),
    'about 8.8 ms to target cams (estimated from 684 km), limit 5 ms',
  ],
  ['latency: the same estimate admits Paris under 10 ms', paris().build(), latencySpec({ target: 'cams' }, 10), undefined],
  ['latency: to a point, always estimated', paris().build(), latencySpec(MUNICH, 5), 'about 8.8 ms to (48.137, 11.575) (estimated from 684 km), limit 5 ms'],
  ['latency: Munich to a Munich point is the fixed 2 ms', munich().build(), latencySpec(MUNICH, 2), undefined],
  [
    "latency: the cluster's own estimate, from its nodes' positions",
    withLatency(paris().build(), 9.1, 'estimated'),
    latencySpec({ target: 'cams' }, 5),
    "about 9.1 ms to target cams (estimated from its nodes' positions), limit 5 ms",
  ],
  [
    'latency: an undeclared target nobody measured',
    paris().build(),
    latencySpec({ target: 'radar' }, 5),
    "no round trip to target radar is known: the cluster reports none, and the target's point is not known here",
  ],
  ['latency: a cluster nobody can place', aCluster('x').build(), latencySpec({ target: 'cams' }, 5), 'location unknown, latency constraint cannot be checked'],
  [
    'latency: estimated from the footprint when there is no location',
    spreadOut('x', PARIS),
    latencySpec(MUNICH, 5),
    /^about 8\.8 ms to \(48\.137, 11\.575\) \(estimated from 682 km\)/,
  ],
  ['geo: a footprint cell within 50 km admits the cluster', spreadOut('x', FREISING), aService('s/x').within(50, MUNICH).spec(), undefined],
  ['geo: any one cell is enough', spreadOut('x', PARIS, FREISING), aService('s/x').within(50, MUNICH).spec(), undefined],
  [
    'geo: a footprint entirely beyond the radius',
    spreadOut('x', AUGSBURG),
    aService('s/x').within(50, MUNICH).spec(),
    'its nodes are 55 km or more from (48.137, 11.575), limit 50 km',
  ],
  [
    "geo: the cell's size counts: a node 51 km away may be within, so the cluster is asked",
    spreadOut('x', ROSENHEIM),
    aService('s/x').within(50, MUNICH).spec(),
    undefined,
  ],
  [
    'geo: a location is exact and wins over the footprint',
    { ...aCluster('x').at(ROSENHEIM.lat, ROSENHEIM.lon).build(), footprint: [geohash(ROSENHEIM)] },
    aService('s/x').within(50, MUNICH).spec(),
    '51 km from (48.137, 11.575), limit 50 km',
  ],
  [
    'geo and latency: both must hold',
    withLatency(munich().build(), 30),
    latencySpec({ target: 'cams' }, 20, aService('s/x').within(50, MUNICH)),
    '30 ms to target cams (measured), limit 20 ms',
  ],
];
for (const [name, c, spec, want] of whereCases) {
  Where(name, () => {
    const got = exclusion(c, spec, CAMS);
    if (want === undefined || typeof want === 'string') assert.is(got, want);
    else assert.match(got ?? '<none>', want);
  });
}

Where('a service within 50 km of Munich lands on munich only, and the reason says why paris was not chosen', () => {
  const d = decide(aService('traffic-cam/detector').replicas(2).within(50, MUNICH), [paris(), munich()]);
  assert.equal(where(d), { munich: 2 });
  assert.is(d.reason, 'placed on munich×2 (0 km from (48.137, 11.575), within 50 km); passed over paris: 684 km from (48.137, 11.575), limit 50 km');
});

Where('a hundred clusters passed over: alike reasons are counted, the nearest named, and the reason stays short', () => {
  const far = Array.from({ length: 100 }, (_, i) =>
    aCluster(`c${String(i).padStart(3, '0')}`)
      .at(40 + i / 20, -5 + i / 20)
      .withCapacity(8, '16Gi'),
  );
  const d = decide(aService('traffic-cam/detector').replicas(1).within(50, MUNICH), [...far, munich()]);
  assert.equal(where(d), { munich: 1 });
  assert.ok(d.reason.length <= MAX_REASON, `${d.reason.length} characters`);
  assert.match(
    d.reason,
    /^placed on munich×1 \(0 km from \(48\.137, 11\.575\), within 50 km\); passed over 100 clusters for the same reason, nearest c\d+: \d+ km from \(48\.137, 11\.575\), limit 50 km; c\d+: /,
  );
  // Every cluster's own reason is still kept for plan and history.
  assert.is(Object.keys(d.excluded).length, 100);
  // The nearest misses come first.
  const named = [...d.reason.matchAll(/(c\d+): (\d+) km/g)].map((m) => Number(m[2]));
  const all = Object.values(d.excluded)
    .map((t) => Number(/^(\d+) km/.exec(t)![1]))
    .sort((a, b) => a - b);
  assert.equal(named, all.slice(0, 2));
});

Where('when munich is full the service is unschedulable, with the reason per cluster', () => {
  const d = decide(aService('traffic-cam/detector').replicas(2).cpu(2).within(50, MUNICH), [paris(), munich().withCapacity(2)]);
  assert.equal(where(d), { munich: 1 });
  assert.is(
    d.reason,
    'only 1 of 2 replicas fit (munich×1); munich: full: a replica needs cpu 2, memory 0Mi, and cpu 0, memory 16384Mi is left; paris: 684 km from (48.137, 11.575), limit 50 km',
  );
});

Where('an architecture no cluster has: unschedulable, and each cluster says what it has', () => {
  const d = decide(aService('ml/infer').arch('riscv64'), [paris(), munich().withArch('amd64', 'arm64')]);
  assert.is(
    d.reason,
    'no cluster can run it: munich: architecture riscv64 not present (has amd64, arm64); paris: architecture riscv64 not present (has amd64)',
  );
});

Where('latency: a measured round trip places and the reason says it was measured', () => {
  const r = placeServices(
    [{ id: 'cam/d', spec: latencySpec({ target: 'cams' }, 10) }],
    [withLatency(munich().build(), 3.2), paris().build()],
    new Map(),
    'bestfit',
    { targets: CAMS },
  );
  const d = r.decisions.get('cam/d')!;
  assert.equal(where(d), { munich: 1 });
  assert.is(d.reason, 'placed on munich×1 (3.2 ms to target cams (measured), within 10 ms)');
  const five = placeServices(
    [{ id: 'cam/d', spec: latencySpec({ target: 'cams' }, 5) }],
    [withLatency(munich().build(), 3.2), paris().build()],
    new Map(),
    'bestfit',
    { targets: CAMS },
  );
  assert.match(five.decisions.get('cam/d')!.reason, /passed over paris: about 8\.8 ms to target cams \(estimated from 684 km\), limit 5 ms$/);
});

Where('latency: a measurement moves the service away from where distance alone would put it', () => {
  // Both within 10 ms by distance; munich's nodes measured 25 ms (a congested link).
  const svc = { id: 'cam/d', spec: latencySpec({ target: 'cams' }, 10) };
  const before = placeServices([svc], [munich().build(), paris().build()], new Map(), 'closest', { targets: CAMS });
  assert.equal(where(before.decisions.get('cam/d')!), { munich: 1 });
  const after = placeServices([svc], [withLatency(munich().build(), 25), paris().build()], allocation({ 'cam/d': { munich: 1 } }), 'closest', {
    targets: CAMS,
  });
  assert.equal(where(after.decisions.get('cam/d')!), { paris: 1 });
  assert.match(after.decisions.get('cam/d')!.reason, /munich: 25 ms to target cams \(measured\), limit 10 ms/);
});

Where('closest picks the nearer cluster where bestfit picks the fuller one', () => {
  // munich is empty, paris half full: bestfit prefers paris; closest the cluster nearest the target.
  const services = [aService('a/filler').cpu(4).inClusters('paris').build(), { id: 'cam/d', spec: latencySpec({ target: 'cams' }, 20) }];
  const clusters = [munich().build(), paris().build()];
  assert.equal(where(placeServices(services, clusters, new Map(), 'bestfit', { targets: CAMS }).decisions.get('cam/d')!), { paris: 1 });
  const d = placeServices(services, clusters, new Map(), 'closest', { targets: CAMS }).decisions.get('cam/d')!;
  assert.equal(where(d), { munich: 1 });
  assert.equal(d.candidates?.munich.rtt, { ms: 2, source: 'estimated', km: 0 });
  assert.is(d.candidates?.paris.rtt?.ms, 8.8);
});

// --- refusals: a cluster that could not place what it was given -------------------------------

const Refuse = suite('refusals at the root');
const refusing = (c: ClusterBuilder, id: string, limit: number, count: number, spec?: ServiceSpec): ClusterView => ({
  ...c.build(),
  refused: {
    [id]: {
      limit,
      count,
      reason: 'no node can take a replica: n1: needs cpu 2, memory 0Mi, cpu 1, memory 8192Mi free',
      ...(spec ? { spec: stableJson(spec) } : {}),
    },
  },
});

Refuse('a cluster that refused some is full at what it holds; the rest go to the next candidate, and the reason says so', () => {
  const svc = aService('shop/web').replicas(3).cpu(2);
  const r = placeServices([svc.build()], [refusing(aCluster('a'), 'shop/web', 2, 1), aCluster('b').build()], allocation({ 'shop/web': { a: 3 } }));
  const got = r.decisions.get('shop/web')!;
  assert.equal(where(got), { a: 2, b: 1 });
  assert.is(
    got.reason,
    'placed on a×2, b×1; a refused 1 replica (no node can take a replica: n1: needs cpu 2, memory 0Mi, cpu 1, memory 8192Mi free), so it is treated as full for this service at 2',
  );
});

Refuse('a cluster that refused everything is passed over for that service only', () => {
  const r = placeServices(
    [aService('shop/web').replicas(2).build(), aService('shop/db').build()],
    [refusing(aCluster('a'), 'shop/web', 0, 2), aCluster('b').build()],
    allocation({ 'shop/web': { a: 2 } }),
  );
  assert.equal(where(r.decisions.get('shop/web')!), { b: 2 });
  assert.match(
    r.decisions.get('shop/web')!.reason,
    /^placed on b×2; passed over a: refused 2 replicas \(no node can take a replica: .*\), so it is treated as full for this service at 0$/,
  );
  assert.equal(where(r.decisions.get('shop/db')!), { a: 1 }, 'other services still go there');
});

Refuse('what fits nowhere else is unschedulable, with the refusal among the reasons', () => {
  const d = placeServices(
    [aService('cam/d').replicas(1).within(50, MUNICH).build()],
    [refusing(munich(), 'cam/d', 0, 1), paris().build()],
    new Map(),
  ).decisions.get('cam/d')!;
  assert.is(d.placed, 0);
  assert.match(
    d.reason,
    /^no cluster can run it: munich: refused 1 replica \(no node can take a replica: .*\), so it is treated as full for this service at 0; paris: 684 km from/,
  );
});

Refuse('a refusal of an older spec does not hold against the new one', () => {
  const svc: ServiceView = aService('shop/web').replicas(2).cpu(1).build();
  const old = aService('shop/web').replicas(2).cpu(2).spec();
  const d = placeServices([svc], [refusing(aCluster('a'), 'shop/web', 0, 2, old), aCluster('b').build()], new Map()).decisions.get('shop/web')!;
  assert.equal(where(d), { a: 2 });
  const same = placeServices(
    [svc],
    [refusing(aCluster('a'), 'shop/web', 0, 2, Object.fromEntries(Object.entries(svc.spec).reverse()) as ServiceSpec), aCluster('b').build()],
    new Map(),
  ).decisions.get('shop/web')!;
  assert.equal(where(same), { b: 2 }, 'the same spec (keys in any order) is still refused');
});

const KeepRefusals = suite('keepRefusals');

function statusOf(o: { seq?: number; refused?: number; cpu?: number } = {}): ClusterStatus {
  const cap = { cpu: o.cpu ?? 4, memoryMi: 8192, gpu: 0 };
  return {
    kind: 'cluster-status',
    cluster: 'a',
    at: '2025-01-01T00:00:00Z',
    applied: { commit: 'c'.repeat(40), seq: o.seq ?? 5, epoch: 0 },
    capacity: cap,
    free: cap,
    maxNodeFree: cap,
    maxNode: cap,
    arch: ['amd64'],
    runtimes: ['container'],
    labels: {},
    nodes: { total: 1, online: 1 },
    services: { 'shop/web': { desired: 3, running: 3 - (o.refused ?? 0), failed: 0, ...(o.refused ? { refused: { count: o.refused, reason: 'full' } } : {}) } },
  };
}
const WEB = aService('shop/web').replicas(3).spec();
const given = { version: { commit: 'c'.repeat(40), seq: 5, epoch: 0 }, services: { 'shop/web': { replicas: 3, spec: WEB } } };

KeepRefusals('a refusal answering the placement in force is kept: full at what it could place', () => {
  const r = keepRefusals(undefined, statusOf(), statusOf({ refused: 1 }), given);
  assert.ok(r.changed);
  assert.equal(r.refused, { 'shop/web': { limit: 2, count: 1, reason: 'full', spec: stableJson(WEB) } });
  assert.is(keepRefusals(r.refused, statusOf({ refused: 1 }), statusOf({ refused: 1 }), given).changed, false, 'the same again is no change');
});

KeepRefusals('a refusal of an older placement is not taken', () => {
  const r = keepRefusals(undefined, undefined, statusOf({ seq: 4, refused: 1 }), given);
  assert.equal(r, { refused: undefined, changed: false });
});

KeepRefusals('kept while the cluster holds what it could (no refusal now); forgotten when its capacity changes', () => {
  const kept = keepRefusals(undefined, undefined, statusOf({ refused: 1 }), given).refused;
  assert.equal(keepRefusals(kept, statusOf(), statusOf({ seq: 6 }), given).refused, kept);
  const grown = keepRefusals(kept, statusOf(), statusOf({ cpu: 8 }), given);
  assert.equal(grown, { refused: undefined, changed: true });
});

KeepRefusals('clusterViewOf carries footprint, latency and refusals to the placer', () => {
  const st = { ...statusOf(), location: MUNICH, footprint: ['u281z'], latency: { cams: { ms: 3, source: 'measured' as const } } };
  const v = clusterViewOf(st, { refused: { 'shop/web': { limit: 1, count: 2, reason: 'full' } } });
  assert.equal(v.footprint, ['u281z']);
  assert.equal(v.latency, { cams: { ms: 3, source: 'measured' } });
  assert.equal(v.refused, { 'shop/web': { limit: 1, count: 2, reason: 'full' } });
  assert.is(v.name, 'a');
  assert.ok(v.online);
});

Request.run();
Exclusion.run();
Place.run();
Where.run();
Refuse.run();
KeepRefusals.run();
