import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { placeServices, type Allocation, type ClusterView, type ServiceDecision, type ServiceView } from '../../reconciler/root/place.js';
import { IncrementalPlacer, type ChangeHint } from '../../reconciler/root/incremental.js';
import { specHash } from '../../reconciler/core/ids.js';
import { aCluster, aService, prng, MUNICH, type Rng } from '../helpers/builders.js';

/** What a decision decides (`candidates` is the policy's view at the time, not a decision), by id. */
const decided = (m: Map<string, ServiceDecision>) =>
  [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, d]) => [id, [...d.clusters], d.placed, d.desired, d.reason, d.excluded]);

/** What a commit tells the root: the services it added or changed, and those it removed. */
function hintOf(before: ServiceView[], after: ServiceView[]): ChangeHint {
  const was = new Map(before.map((s) => [s.id, s]));
  const now = new Map(after.map((s) => [s.id, s]));
  return {
    changed: after.filter((s) => was.get(s.id)?.specHash !== s.specHash).map((s) => s.id),
    removed: before.filter((s) => !now.has(s.id)).map((s) => s.id),
    get: (id) => now.get(id),
    size: now.size,
  };
}

const NAMES = ['aachen', 'berlin', 'bonn', 'lyon', 'munich', 'paris'];

function clusters(rng: Rng, roomy: boolean): ClusterView[] {
  return rng.subset(NAMES, 2).map((name) => {
    const cpu = roomy ? rng.int(40, 80) : rng.int(2, 12);
    const c = aCluster(name)
      .withCapacity(cpu, cpu * 1024)
      .withLargestNode(Math.max(2, cpu / 4), 4096)
      .withRuntimes(...rng.subset(['container', 'process'], 1))
      .withLabels({ tier: rng.pick(['edge', 'core']) });
    if (rng.chance(0.5)) c.at(MUNICH.lat + rng.next(), MUNICH.lon + rng.next());
    return c.build();
  });
}

function service(rng: Rng, i: number, gen = 0): ServiceView {
  const s = aService(`app/svc-${String(i).padStart(3, '0')}`)
    .replicas(rng.int(0, 4))
    .cpu(rng.pick([0.1, 0.25, 0.5, 1]))
    .memory(rng.pick(['64Mi', '256Mi', 100_000_000]));
  if (rng.chance(0.3)) s.runtime('process');
  if (rng.chance(0.2)) s.spread('clusters');
  if (rng.chance(0.15)) s.onClustersLabelled({ tier: rng.pick(['edge', 'core']) });
  if (rng.chance(0.1)) s.within(300, MUNICH);
  if (rng.chance(0.1)) s.failoverAfter(rng.int(0, 30));
  s.env({ GEN: String(gen) });
  const spec = s.spec();
  return { id: s.id, spec, specHash: specHash(spec) };
}

const Incremental = suite('IncrementalPlacer');

Incremental('equals a full placement after every step of 300 random change sequences', () => {
  const rng = prng(7);
  let partial = 0,
    full = 0,
    hintedRuns = 0;
  for (let n = 0; n < 300; n++) {
    const roomy = rng.chance(0.7);
    let views = clusters(rng, roomy);
    let services = Array.from({ length: rng.int(10, 60) }, (_, i) => service(rng, i));
    const policy = rng.pick(['bestfit', 'spread', 'closest']);
    const placer = new IncrementalPlacer();
    // The same, told what changed (as the root is by each commit): it must not need to look.
    const hinted = new IncrementalPlacer();
    let previous: Allocation = new Map();
    let last: ServiceView[] = [];
    const byId = (a: Allocation) => [...a].map(([id, m]) => [id, [...m]] as const).sort(([x], [y]) => (x < y ? -1 : 1));
    for (let step = 0; step < 8; step++) {
      const ctx = `sequence ${n} step ${step}`;
      const want = placeServices(services, views, previous, policy);
      const b = decided(want.decisions);
      for (const [name, p, hint] of [
        ['scan', placer, undefined],
        ['hint', hinted, hintOf(last, services)],
      ] as const) {
        const got = p.place(services, views, step === 0 ? previous : p.allocation, policy, {}, hint);
        const a = decided(got.decisions);
        const diff = a.findIndex((x, i) => JSON.stringify(x) !== JSON.stringify(b[i]));
        assert.equal(a.length, b.length, `${ctx} ${name}`);
        assert.is(diff, -1, `${ctx} ${name} (${got.full ? 'full' : 'partial'}): ${JSON.stringify(a[diff])} vs full ${JSON.stringify(b[diff])}`);
        if (name === 'scan') {
          if (got.full) full++;
          else partial++;
        }
        if (name === 'hint' && got.hinted) hintedRuns++;
      }
      last = services;
      previous = new Map([...want.decisions].map(([id, d]) => [id, d.clusters]));
      assert.equal(byId(placer.allocation), byId(previous), `${ctx}: allocation`);
      assert.equal(byId(hinted.allocation), byId(previous), `${ctx}: allocation (hint)`);
      // The next commit: a few services change, come or go; sometimes a cluster's capacity moves.
      const next = [...services];
      for (let k = rng.int(0, 3); k > 0; k--) {
        const at = rng.int(0, next.length - 1);
        const r = rng.next();
        if (r < 0.6) next[at] = service(rng, Number(next[at].id.slice(-3)), step + 1);
        else if (r < 0.8) next.splice(at, 1);
        else next.push(service(rng, 100 + rng.int(0, 899), step + 1));
      }
      services = [...new Map(next.map((s) => [s.id, s])).values()];
      if (rng.chance(0.2)) views = views.map((v) => ({ ...v, capacity: { ...v.capacity, cpu: Math.max(1, v.capacity.cpu + rng.int(-3, 3)) } }));
      if (rng.chance(0.05)) views = views.map((v, i) => (i === 0 ? { ...v, online: !v.online, offlineForMs: 5000 } : v));
    }
  }
  assert.ok(partial > 1000, `partial runs exercised (${partial} partial, ${full} full)`);
  assert.ok(hintedRuns > 1000, `runs told what changed exercised (${hintedRuns})`);
});

Incremental('re-places only what changed when the fleet is roomy', () => {
  const views = [
    aCluster('a').withCapacity(1000, '1000Gi').withLargestNode(8, '16Gi').build(),
    aCluster('b').withCapacity(1000, '1000Gi').withLargestNode(8, '16Gi').build(),
  ];
  const rng = prng(3);
  const services = Array.from({ length: 500 }, (_, i) => service(rng, i));
  const placer = new IncrementalPlacer();
  const first = placer.place(services, views, new Map(), 'bestfit');
  assert.ok(first.full);
  placer.place(services, views, placer.allocation, 'bestfit'); // settles pass-2 order
  const changed = service(rng, 42, 1);
  const next = services.map((s) => (s.id === changed.id ? changed : s));
  const before = new Map(placer.allocation);
  const r = placer.place(next, views, placer.allocation, 'bestfit');
  assert.not.ok(r.full, r.why);
  // The changed service, and those no cluster can run (recomputed each time: cheap, and never settled).
  assert.ok(r.recomputed.has(changed.id));
  for (const id of r.recomputed) assert.ok(id === changed.id || r.decisions.get(id)!.placed < r.decisions.get(id)!.desired, id);
  assert.equal(decided(r.decisions), decided(placeServices(next, views, before, 'bestfit').decisions));
});

Incremental('places everything when the clusters change shape or a cluster is nearly full', () => {
  const a = aCluster('a').withCapacity(2, '4Gi').build();
  const services = [aService('app/x').cpu(1).build(), aService('app/y').cpu(1).build()];
  const placer = new IncrementalPlacer();
  const first = placer.place(services, [a], new Map(), 'bestfit');
  // Exactly full still holds every replica it placed: nothing changed, nothing is re-placed,
  // and the decisions are those of a full run.
  const again = placer.place(services, [a], placer.allocation, 'bestfit');
  assert.is(again.full, false);
  assert.equal(decided(again.decisions), decided(placeServices(services, [a], placer.allocation, 'bestfit').decisions));
  assert.equal(decided(again.decisions), decided(first.decisions));
  // A cluster that shrank below what it holds: pass 1 depends on order, so everything is placed.
  const smaller = { ...a, capacity: { ...a.capacity, cpu: 1.5 } };
  assert.is(placer.place(services, [smaller], placer.allocation, 'bestfit').why, 'a cluster cannot hold every previous replica');
  const b = { ...a, labels: { tier: 'edge' } };
  assert.is(placer.place(services, [b], placer.allocation, 'bestfit').why, 'clusters or policy changed');
});

Incremental.run();
