import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { placeReplicas, nodeExclusion, type NodeView, type NodePlan, type ClusterPolicy, type NodeContext } from '../../reconciler/cluster/place.js';
import { request } from '../../reconciler/scheduling/capacity.js';
import type { Target } from '../../reconciler/scheduling/latency.js';
import type { Placement } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { aNode, aService, aPlacement, prng, MUNICH, PARIS, type NodeBuilder, type ServiceBuilder, type Rng } from '../helpers/builders.js';
import { placeOnNodes, assignedOf } from '../helpers/builders.js';

const plan = placeOnNodes;
const assigned = assignedOf;
/** node → how many replicas, for nodes that have any. */
const perNode = (p: NodePlan) => Object.fromEntries([...p.byNode].filter(([, rs]) => rs.length).map(([n, rs]) => [n, rs.length]));

// --- nodeExclusion -----------------------------------------------------------------------------

const Exclusion = suite('nodeExclusion');

const exclusions: Array<[string, NodeBuilder, ServiceBuilder, string | undefined]> = [
  ['a plain node takes a plain service', aNode('n1'), aService('shop/web'), undefined],
  ['an offline node', aNode('n1').offline(), aService('shop/web'), 'offline'],
  ['a node without the runtime', aNode('n1').withRuntimes('container'), aService('shop/web').runtime('process'), 'does not run process workloads'],
  ['a node with the runtime', aNode('n1').withRuntimes('process'), aService('shop/web').runtime('process'), undefined],
  ['another architecture', aNode('n1').withArch('amd64'), aService('shop/web').arch('arm64'), 'architecture amd64'],
  ['one of the listed architectures', aNode('n1').withArch('arm64'), aService('shop/web').arch('amd64', 'arm64'), undefined],
  ['node labels all match', aNode('n1').withLabels({ gpu: 'yes', disk: 'ssd' }), aService('shop/web').onNodesLabelled({ gpu: 'yes' }), undefined],
  ['a node label with another value', aNode('n1').withLabels({ gpu: 'no' }), aService('shop/web').onNodesLabelled({ gpu: 'yes' }), 'label gpu=yes not matched'],
  ['a missing node label', aNode('n1'), aService('shop/web').onNodesLabelled({ gpu: 'yes' }), 'label gpu=yes not matched'],
  ["cluster constraints are not the node's business", aNode('n1'), aService('shop/web').inClusters('paris').onClustersLabelled({ tier: 'edge' }), undefined],
];
for (const [name, n, s, want] of exclusions) {
  Exclusion(name, () => assert.is(nodeExclusion(n.build(), s.spec()), want));
}

// --- placeReplicas -----------------------------------------------------------------------------

const Place = suite('placeReplicas');

Place('gives every replica a node, with its id, index and spec hash', () => {
  const web = aService('shop/web').replicas(3).cpu(0.5);
  const p = plan([web], [aNode('n1')]);
  assert.equal(assigned(p), { 'shop/web#0': 'n1', 'shop/web#1': 'n1', 'shop/web#2': 'n1' });
  const rs = p.byNode.get('n1')!;
  assert.equal(
    rs.map((r) => [r.id, r.index, r.service]),
    [
      ['shop/web#0', 0, 'shop/web'],
      ['shop/web#1', 1, 'shop/web'],
      ['shop/web#2', 2, 'shop/web'],
    ],
  );
  const want = aPlacement('munich').with(web).build().services['shop/web'];
  for (const r of rs) {
    assert.is(r.specHash, want.specHash);
    assert.equal(r.spec, want.spec);
  }
  assert.equal(p.pending.size, 0);
  assert.equal(p.used.get('n1'), { cpu: 1.5, memoryMi: 0, gpu: 0 });
});

Place('the replica count comes from the placement, not the spec', () => {
  const web = aService('shop/web').replicas(5);
  const doc = aPlacement('munich').with(web, 2).build();
  const p = placeReplicas(doc, [aNode('n1').build()], new Map());
  assert.equal(Object.keys(assigned(p)), ['shop/web#0', 'shop/web#1']);
});

Place('no placement yet: every node has an empty list', () => {
  const p = placeReplicas(undefined, [aNode('n2').build(), aNode('n1').build()], new Map());
  assert.equal([...p.byNode.keys()], ['n1', 'n2']);
  assert.equal(perNode(p), {});
  assert.is(p.assignment.size, 0);
  assert.equal(p.used.get('n1'), { cpu: 0, memoryMi: 0, gpu: 0 });
});

Place('sticky: replicas stay on their node although policy would choose another', () => {
  const web = aService('shop/web').replicas(2).cpu(1);
  // Without history they spread, one on each node; history says both on n2.
  assert.equal(assigned(plan([web], [aNode('n1'), aNode('n2')])), { 'shop/web#0': 'n1', 'shop/web#1': 'n2' });
  const p = plan([web], [aNode('n1'), aNode('n2')], { 'shop/web#0': 'n2', 'shop/web#1': 'n2' });
  assert.equal(assigned(p), { 'shop/web#0': 'n2', 'shop/web#1': 'n2' });
});

Place('replicas of an offline node move to an online one', () => {
  const web = aService('shop/web').replicas(2).cpu(1);
  const p = plan([web], [aNode('n1'), aNode('n2').offline()], { 'shop/web#0': 'n2', 'shop/web#1': 'n1' });
  assert.equal(assigned(p), { 'shop/web#0': 'n1', 'shop/web#1': 'n1' });
  assert.equal(p.byNode.get('n2'), []);
  assert.equal(p.used.get('n2'), { cpu: 0, memoryMi: 0, gpu: 0 });
});

Place('replicas leave a node that no longer qualifies', () => {
  const web = aService('shop/web').onNodesLabelled({ zone: 'a' });
  const p = plan([web], [aNode('n1').withLabels({ zone: 'b' }), aNode('n2').withLabels({ zone: 'a' })], { 'shop/web#0': 'n1' });
  assert.equal(assigned(p), { 'shop/web#0': 'n2' });
});

Place('replicas of a previous node that is gone are placed anew', () => {
  const p = plan([aService('shop/web')], [aNode('n1')], { 'shop/web#0': 'vanished' });
  assert.equal(assigned(p), { 'shop/web#0': 'n1' });
});

Place('a newcomer never pushes out a replica that is already running', () => {
  // z/old fills n1 (4 cpu); a/new sorts first but must not take n1 from it.
  const old = aService('z/old').cpu(4);
  const fresh = aService('a/new').cpu(4);
  const p = plan([old, fresh], [aNode('n1'), aNode('n2')], { 'z/old#0': 'n1' });
  assert.equal(assigned(p), { 'z/old#0': 'n1', 'a/new#0': 'n2' });
});

Place('node labels: matchLabels picks the labelled nodes', () => {
  const p = plan([aService('ml/infer').replicas(2).onNodesLabelled({ accel: 'tpu' })], [aNode('n1'), aNode('n2').withLabels({ accel: 'tpu' }), aNode('n3')]);
  assert.equal(perNode(p), { n2: 2 });
});

Place('runtime: process replicas go to nodes that run processes', () => {
  const p = plan([aService('tools/cron').replicas(2).runtime('process')], [aNode('n1').withRuntimes('container'), aNode('n2')]);
  assert.equal(perNode(p), { n2: 2 });
});

Place("spread: 'nodes' puts one replica on each node and never doubles up", () => {
  const nodes = [aNode('n1'), aNode('n2'), aNode('n3')];
  assert.equal(perNode(plan([aService('shop/web').replicas(3).cpu(0.5).spread('none')], nodes)), { n1: 3 }, "bestfit packs with spread: 'none'");
  assert.equal(perNode(plan([aService('shop/web').replicas(3).cpu(0.5).spread('nodes')], nodes)), { n1: 1, n2: 1, n3: 1 });
  const four = plan([aService('shop/web').replicas(4).cpu(0.5).spread('nodes')], nodes);
  assert.equal(perNode(four), { n1: 1, n2: 1, n3: 1 });
  assert.is(four.unplaced.get('shop/web'), 1);
});

Place("policy 'spread' spreads every service", () => {
  const p = plan([aService('shop/web').replicas(3).cpu(0.5)], [aNode('n1'), aNode('n2'), aNode('n3')], {}, 'spread');
  assert.equal(perNode(p), { n1: 1, n2: 1, n3: 1 });
});

Place('firstfit takes the first node by name; bestfit the fullest', () => {
  // n1 is big and empty; n2 is small and half full with app/old. app/new fits on both.
  const services = [aService('app/old').cpu(1), aService('app/new').cpu(0.5)];
  const nodes = [aNode('n1').withCapacity(4, '4Gi'), aNode('n2').withCapacity(2, '4Gi')];
  const previous = { 'app/old#0': 'n2' };
  assert.is(plan(services, nodes, previous, 'firstfit').assignment.get('app/new#0'), 'n1');
  assert.is(plan(services, nodes, previous, 'bestfit').assignment.get('app/new#0'), 'n2');
});

Place('pending: nothing fits, and the reason names each node and why', () => {
  const p = plan([aService('shop/web').cpu(8)], [aNode('n1').withCapacity(4, '8Gi'), aNode('n2').offline(), aNode('n3').withRuntimes('process')]);
  assert.is(p.assignment.size, 0);
  assert.is(
    p.pending.get('shop/web'),
    'no node can take a replica: n1: needs cpu 8, memory 0Mi, cpu 4, memory 8192Mi free; n2: offline; n3: does not run container workloads',
  );
});

Place('pending: some replicas fit, the rest wait', () => {
  const p = plan([aService('shop/web').replicas(3).cpu(2)], [aNode('n1').withCapacity(4)]);
  assert.is(p.assignment.size, 2);
  assert.match(p.pending.get('shop/web') ?? '', /^no node can take a replica: n1: needs cpu 2, memory 0Mi, cpu 0, memory 8192Mi free$/);
});

Place('pending: with no nodes at all', () => {
  assert.is(plan([aService('shop/web')], []).pending.get('shop/web'), 'no node can take a replica: no nodes online');
});

Place('memory and gpu bind as well as cpu', () => {
  const p = plan([aService('ml/train').replicas(3).memory('3Gi').gpu(1)], [aNode('n1').withCapacity(16, '8Gi', 4), aNode('n2').withCapacity(16, '64Gi', 1)]);
  assert.equal(perNode(p), { n1: 2, n2: 1 });
});

Place('determinism: the same input, in any order, gives the same plan', () => {
  const services = [aService('shop/web').replicas(4).cpu(0.5), aService('shop/db').replicas(2).cpu(1).spread('nodes'), aService('ml/x').memory('2Gi')];
  const nodes = [aNode('n3'), aNode('n1').withCapacity(2), aNode('n2').withLabels({ a: 'b' })];
  const once = plan(services, nodes, { 'shop/web#1': 'n3' });
  assert.equal(plan(services, nodes, { 'shop/web#1': 'n3' }), once);
  assert.equal(plan([...services].reverse(), [...nodes].reverse(), { 'shop/web#1': 'n3' }), once);
});

// --- placeReplicas: properties over random clusters -------------------------------------------

function randomCluster(rng: Rng): { placement: Placement; nodes: NodeView[]; previous: Map<string, string> } {
  const nodes = Array.from({ length: rng.int(0, 6) }, (_, i) => {
    const n = aNode(`n${i}`)
      .withCapacity(rng.int(0, 16) / 2, rng.int(0, 16) * 512, rng.int(0, 2))
      .withArch(rng.pick(['amd64', 'arm64']))
      .withRuntimes(...rng.subset(['container', 'process'], 1))
      .withLabels({ zone: rng.pick(['a', 'b']) });
    if (rng.chance(0.2)) n.offline();
    const v = n.build();
    if (rng.chance(0.7)) v.location = { lat: MUNICH.lat + (rng.next() - 0.5) * 1.2, lon: MUNICH.lon + (rng.next() - 0.5) * 1.8 };
    if (rng.chance(0.4)) v.latency = { cams: rng.int(1, 30) };
    return v;
  });
  const p = aPlacement('munich');
  for (let i = 0; i < rng.int(0, 6); i++) {
    const s = aService(`app/svc-${i}`)
      .replicas(rng.int(0, 8))
      .cpu(rng.int(0, 8) / 4)
      .memory(rng.pick(['0Mi', '128Mi', '1Gi', '3Gi']));
    if (rng.chance(0.1)) s.gpu(1);
    if (rng.chance(0.3)) s.runtime('process');
    if (rng.chance(0.2)) s.arch(rng.pick(['amd64', 'arm64'] as const));
    if (rng.chance(0.2)) s.onNodesLabelled({ zone: rng.pick(['a', 'b']) });
    if (rng.chance(0.6)) s.spread(rng.pick(['nodes', 'none', 'clusters'] as const));
    if (rng.chance(0.3)) s.within(rng.pick([10, 30, 50]), MUNICH);
    p.with(s, rng.chance(0.8) ? undefined : rng.int(0, 8));
  }
  const placement = p.build();
  for (const a of Object.values(placement.services)) {
    if (rng.chance(0.3)) (a.spec.constraints ??= {}).latency = { to: rng.chance(0.6) ? { target: 'cams' } : PARIS, maxMs: rng.pick([3, 8, 12, 20]) };
  }
  const previous = new Map<string, string>();
  for (const [id, a] of Object.entries(placement.services)) {
    for (let i = 0; i < a.replicas + 2; i++) if (rng.chance(0.5)) previous.set(`${id}#${i}`, rng.pick([...nodes.map((n) => n.name), 'gone']));
  }
  return { placement, nodes, previous };
}

const TARGETS: Record<string, Target> = { cams: MUNICH };

Place('property: no node is over-committed or unqualified (geo, latency too), and plans are deterministic (400 random clusters)', () => {
  const rng = prng(424242);
  for (let n = 0; n < 400; n++) {
    const { placement, nodes, previous } = randomCluster(rng);
    const policy = rng.pick(['bestfit', 'firstfit', 'spread', 'ldp'] as const);
    const ctx = `case ${n}`;
    const where: NodeContext = { targets: TARGETS, ...(rng.chance(0.5) ? { location: MUNICH } : {}) };
    const p = placeReplicas(placement, nodes, previous, policy, where);
    assert.equal(placeReplicas(placement, rng.shuffle(nodes), previous, policy, where), p, `${ctx}: deterministic`);

    const used = new Map(nodes.map((x) => [x.name, { cpu: 0, memoryMi: 0, gpu: 0 }]));
    for (const [node, rs] of p.byNode) {
      const nv = nodes.find((x) => x.name === node)!;
      for (const r of rs) {
        assert.is(p.assignment.get(r.id), node, `${ctx}: ${r.id} listed on ${node} but assigned elsewhere`);
        assert.is(nodeExclusion(nv, r.spec, where), undefined, `${ctx}: ${r.id} on unqualified ${node}`);
        const q = request(r.spec),
          u = used.get(node)!;
        u.cpu += q.cpu;
        u.memoryMi += q.memoryMi;
        u.gpu += q.gpu;
      }
    }
    for (const nv of nodes) {
      const u = used.get(nv.name)!,
        eps = 1e-6;
      assert.ok(
        u.cpu <= nv.capacity.cpu + eps && u.memoryMi <= nv.capacity.memoryMi + eps && u.gpu <= nv.capacity.gpu + eps,
        `${ctx}: ${nv.name} over-committed: ${JSON.stringify(u)} of ${JSON.stringify(nv.capacity)}`,
      );
      const reported = p.used.get(nv.name)!;
      assert.ok(Math.abs(reported.cpu - u.cpu) < eps && Math.abs(reported.memoryMi - u.memoryMi) < eps, `${ctx}: used for ${nv.name}`);
    }
    for (const [id, a] of Object.entries(placement.services)) {
      const count = [...p.assignment.keys()].filter((r) => r.startsWith(`${id}#`)).length;
      assert.ok(count <= a.replicas, `${ctx}: ${id} has ${count} of ${a.replicas}`);
      if (count < a.replicas) assert.ok(p.pending.has(id), `${ctx}: ${id} is short without a pending reason`);
      else assert.not.ok(p.pending.has(id), `${ctx}: ${id} is complete but pending`);
      assert.is(p.unplaced.get(id) ?? 0, a.replicas - count, `${ctx}: ${id} unplaced count`);
    }
    // spread: nodes is hard: never two replicas of such a service on one node.
    for (const [id, a] of Object.entries(placement.services)) {
      if (a.spec.spread !== 'nodes') continue;
      const on = [...p.assignment].filter(([r]) => r.startsWith(`${id}#`)).map(([, n]) => n);
      assert.is(new Set(on).size, on.length, `${ctx}: ${id} (spread: nodes) shares a node: ${on.join(', ')}`);
    }
    // Sticky: a replica whose previous node still qualifies stays unless that node ran out (or,
    // with spread: nodes, already runs another replica of the service).
    for (const [r, node] of previous) {
      const now = p.assignment.get(r);
      if (now === undefined || now === node) continue;
      const nv = nodes.find((x) => x.name === node);
      const id = r.slice(0, r.lastIndexOf('#'));
      const spec = placement.services[id].spec;
      if (!nv || nodeExclusion(nv, spec, where)) continue;
      if (spec.spread === 'nodes' && [...p.assignment].some(([o, n]) => n === node && o.startsWith(`${id}#`))) continue;
      const q = request(spec),
        u = used.get(node)!;
      assert.ok(
        u.cpu + q.cpu > nv.capacity.cpu + 1e-9 || u.memoryMi + q.memoryMi > nv.capacity.memoryMi + 1e-9 || u.gpu + q.gpu > nv.capacity.gpu + 1e-9,
        `${ctx}: ${r} moved from ${node} to ${now} although ${node} had room`,
      );
    }
  }
});

// --- geo and latency at node level: exact positions, measured round trips --------------------

const Where = suite('geo and latency at node level');

const ROSENHEIM = { lat: 47.8571, lon: 12.1181 }; // 51.0 km from Munich
const FREISING = { lat: 48.4029, lon: 11.7488 }; // 32.2 km
const CAMS: Record<string, Target> = { cams: MUNICH };
const at = (n: NodeBuilder, p: { lat: number; lon: number }, latency?: Record<string, number>): NodeView => ({
  ...n.build(),
  location: p,
  ...(latency ? { latency } : {}),
});
const latencySpec = (to: { target: string } | { lat: number; lon: number }, maxMs: number, s = aService('cam/d')): ServiceSpec => {
  const spec = s.spec();
  (spec.constraints ??= {}).latency = { to, maxMs };
  return spec;
};

const whereCases: Array<[string, NodeView, ServiceSpec, NodeContext, string | undefined]> = [
  ['geo: a node 32 km away is within 50', at(aNode('n1'), FREISING), aService('s/x').within(50, MUNICH).spec(), {}, undefined],
  [
    'geo: a node 51 km away is not (its exact position, not a cell)',
    at(aNode('n1'), ROSENHEIM),
    aService('s/x').within(50, MUNICH).spec(),
    {},
    '51 km from (48.137, 11.575), limit 50 km',
  ],
  [
    "geo: a node without a position takes the cluster's",
    aNode('n1').build(),
    aService('s/x').within(50, MUNICH).spec(),
    { location: PARIS },
    '684 km from (48.137, 11.575), limit 50 km',
  ],
  ['geo: no position anywhere', aNode('n1').build(), aService('s/x').within(50, MUNICH).spec(), {}, 'position unknown, geo constraint cannot be checked'],
  ["latency: measured by the node's agent", at(aNode('n1'), PARIS, { cams: 4.5 }), latencySpec({ target: 'cams' }, 5), { targets: CAMS }, undefined],
  [
    'latency: a measurement over the limit',
    at(aNode('n1'), MUNICH, { cams: 21 }),
    latencySpec({ target: 'cams' }, 20),
    { targets: CAMS },
    '21 ms to target cams (measured), limit 20 ms',
  ],
  [
    "latency: estimated from the node's position when not measured",
    at(aNode('n1'), PARIS),
    latencySpec({ target: 'cams' }, 5),
    { targets: CAMS },
    'about 8.8 ms to target cams (estimated from 684 km), limit 5 ms',
  ],
  ['latency: to a point', at(aNode('n1'), PARIS), latencySpec(MUNICH, 10), {}, undefined],
  [
    'latency: no position and no measurement',
    aNode('n1').build(),
    latencySpec({ target: 'cams' }, 5),
    { targets: CAMS },
    'position unknown, latency constraint cannot be checked',
  ],
];
for (const [name, n, spec, ctx, want] of whereCases) Where(name, () => assert.is(nodeExclusion(n, spec, ctx), want));

const planAt = (
  specs: Array<[string, ServiceSpec, number]>,
  nodes: NodeView[],
  policy: ClusterPolicy,
  ctx: NodeContext,
  previous: Record<string, string> = {},
) => {
  const doc = aPlacement('munich').build();
  for (const [id, spec, replicas] of specs) doc.services[id] = { replicas, specHash: 'h', spec };
  return placeReplicas(doc, nodes, new Map(Object.entries(previous)), policy, ctx);
};

Where('ldp takes the node with the lowest measured round trip; bestfit the fullest', () => {
  const nodes = [at(aNode('n1'), MUNICH, { cams: 9 }), at(aNode('n2').withCapacity(8), MUNICH, { cams: 2 })];
  const spec = latencySpec({ target: 'cams' }, 10);
  assert.equal(assigned(planAt([['cam/d', spec, 1]], nodes, 'ldp', { targets: CAMS })), { 'cam/d#0': 'n2' });
  assert.equal(assigned(planAt([['cam/d', spec, 1]], nodes, 'bestfit', { targets: CAMS })), { 'cam/d#0': 'n1' });
});

Where('ldp: nearest the geo centre among the nodes within the radius', () => {
  const nodes = [at(aNode('far'), FREISING), at(aNode('near'), { lat: 48.14, lon: 11.58 }), at(aNode('out'), ROSENHEIM)];
  const p = planAt([['cam/d', aService('cam/d').within(50, MUNICH).spread('none').spec(), 2]], nodes, 'ldp', {});
  assert.equal(perNode(p), { near: 2 });
  // Spread by default: the second replica goes to the other node within the radius.
  const spread = planAt([['cam/d', aService('cam/d').within(50, MUNICH).spec(), 2]], nodes, 'ldp', {});
  assert.equal(perNode(spread), { far: 1, near: 1 });
});

Where('a replica leaves a node whose measured round trip rose over the limit', () => {
  const spec = latencySpec({ target: 'cams' }, 10);
  const p = planAt(
    [['cam/d', spec, 1]],
    [at(aNode('n1'), MUNICH, { cams: 40 }), at(aNode('n2'), MUNICH, { cams: 3 })],
    'bestfit',
    { targets: CAMS },
    { 'cam/d#0': 'n1' },
  );
  assert.equal(assigned(p), { 'cam/d#0': 'n2' });
});

Where('what no node meets is unplaced, counted, and the reason names each node', () => {
  const p = planAt([['cam/d', aService('cam/d').within(50, MUNICH).spec(), 2]], [at(aNode('n1'), ROSENHEIM), aNode('n2').offline().build()], 'ldp', {});
  assert.is(p.unplaced.get('cam/d'), 2);
  assert.is(p.pending.get('cam/d'), 'no node can take a replica: n1: 51 km from (48.137, 11.575), limit 50 km; n2: offline');
});

Exclusion.run();
Place.run();
Where.run();
