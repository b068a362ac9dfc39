import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { aggregate, exposed, type AggregateInput } from '../../reconciler/cluster/aggregate.js';
import { exclusion, request, type ClusterView } from '../../reconciler/root/place.js';
import type { NodeView } from '../../reconciler/cluster/place.js';
import type { ReplicaState } from '../../schemas/messages.js';
import { checkValue } from '../../schemas/parse.js';
import { aNode, aService, aPlacement, aNodeStatus, replicaState, MUNICH, PARIS, COMMIT, type ServiceBuilder } from '../helpers/builders.js';

const web = aService('shop/web').replicas(4).cpu(0.5).memory('256Mi');
const placement = aPlacement('munich').with(web).seq(7).build();
const HASH = placement.services['shop/web'].specHash;

/**
 * A cluster of nodes; `online` defaults to the nodes built online, and each node reports the
 * replicas given for it in `reports`.
 */
function input(nodes: NodeView[], o: Partial<AggregateInput> & { reports?: Record<string, ReplicaState[]> } = {}): AggregateInput {
  const { reports = {}, ...rest } = o;
  return {
    cluster: 'munich',
    at: '2025-01-01T00:00:00Z',
    placement,
    nodes,
    statuses: new Map(nodes.map((n) => [n.name, aNodeStatus(n, reports[n.name] ?? [])])),
    online: new Set(nodes.filter((n) => n.online).map((n) => n.name)),
    assignment: new Map(),
    pending: new Map(),
    labels: {},
    ...rest,
  };
}

const assign = (pairs: Record<string, string>) => new Map(Object.entries(pairs));

const Aggregate = suite('aggregate');

Aggregate('totals, arch and runtimes come only from online nodes', () => {
  const nodes = [
    aNode('n1').withCapacity(4, '8Gi').withArch('amd64').withRuntimes('container').build(),
    aNode('n2').withCapacity(8, '16Gi', 2).withArch('arm64').withRuntimes('process').offline().build(),
    aNode('n3').withCapacity(2, '4Gi').withArch('amd64').withRuntimes('container').build(),
  ];
  const s = aggregate(input(nodes));
  assert.equal(s.capacity, { cpu: 6, memoryMi: 12288, gpu: 0 });
  assert.equal(s.free, { cpu: 6, memoryMi: 12288, gpu: 0 });
  assert.equal(s.nodes, { total: 3, online: 2 });
  assert.equal(s.arch, ['amd64']);
  assert.equal(s.runtimes, ['container']);
  assert.equal(s.maxNode, { cpu: 4, memoryMi: 8192, gpu: 0 });
});

Aggregate('online is what the cluster has heard, not what the node view says', () => {
  const nodes = [aNode('n1').withCapacity(4).build(), aNode('n2').withCapacity(2).build()];
  const s = aggregate(input(nodes, { online: new Set(['n2']) }));
  assert.is(s.capacity.cpu, 2);
  assert.equal(s.nodes, { total: 2, online: 1 });
});

Aggregate('free subtracts the requests of replicas assigned to online nodes', () => {
  const nodes = [aNode('n1').withCapacity(4, '8Gi').build(), aNode('n2').withCapacity(4, '8Gi').offline().build()];
  const s = aggregate(input(nodes, { assignment: assign({ 'shop/web#0': 'n1', 'shop/web#1': 'n1', 'shop/web#2': 'n2' }) }));
  assert.equal(s.free, { cpu: 3, memoryMi: 7680, gpu: 0 });
  assert.equal(s.maxNodeFree, { cpu: 3, memoryMi: 7680, gpu: 0 });
});

Aggregate('running counts only replicas of the current spec on their assigned node', () => {
  const nodes = [aNode('n1').build(), aNode('n2').build()];
  const s = aggregate(
    input(nodes, {
      assignment: assign({ 'shop/web#0': 'n1', 'shop/web#1': 'n1', 'shop/web#2': 'n2', 'shop/web#3': 'n1' }),
      reports: {
        n1: [
          replicaState('shop/web#0', HASH, 'running'), // counts
          replicaState('shop/web#1', 'an-old-hash', 'running'), // old spec: not yet replaced
          replicaState('shop/web#2', HASH, 'running'), // assigned to n2: a leftover here
          replicaState('shop/web#3', HASH, 'starting'), // not running yet
        ],
        n2: [replicaState('shop/web#2', HASH, 'running')], // counts
      },
    }),
  );
  assert.equal(s.services['shop/web'], { desired: 4, running: 2, ready: 2, updated: 2, failed: 0 });
});

Aggregate('replicas reported by offline nodes do not count', () => {
  const nodes = [aNode('n1').offline().build()];
  const s = aggregate(
    input(nodes, {
      assignment: assign({ 'shop/web#0': 'n1' }),
      reports: { n1: [replicaState('shop/web#0', HASH, 'running')] },
    }),
  );
  assert.equal(s.services['shop/web'], { desired: 4, running: 0, ready: 0, updated: 0, failed: 0 });
});

Aggregate('a removed service reports desired 0 with the replicas still running', () => {
  const nodes = [aNode('n1').build()];
  const s = aggregate(
    input(nodes, {
      reports: { n1: [replicaState('old/gone#0', 'h1', 'running'), replicaState('old/gone#1', 'h1', 'running'), replicaState('old/gone#2', 'h1', 'stopped')] },
    }),
  );
  assert.equal(s.services['old/gone'], { desired: 0, running: 2, ready: 2, updated: 0, failed: 0 });
});

Aggregate('failed replicas are counted, and the first message is kept with its replica', () => {
  const nodes = [aNode('n1').build(), aNode('n2').build()];
  const s = aggregate(
    input(nodes, {
      assignment: assign({ 'shop/web#0': 'n1', 'shop/web#1': 'n2' }),
      reports: {
        n1: [replicaState('shop/web#0', HASH, 'failed', 'exited with code 1')],
        n2: [replicaState('shop/web#1', HASH, 'failed', 'image not found')],
      },
    }),
  );
  assert.equal(s.services['shop/web'], { desired: 4, running: 0, ready: 0, updated: 0, failed: 2, message: 'shop/web#0: exited with code 1' });
});

Aggregate('a pending reason is the service message, ahead of failures', () => {
  const nodes = [aNode('n1').build()];
  const s = aggregate(
    input(nodes, {
      pending: new Map([['shop/web', 'no node can take a replica: n1: offline']]),
      reports: { n1: [replicaState('shop/web#0', HASH, 'failed', 'exited with code 1')] },
    }),
  );
  assert.is(s.services['shop/web'].message, 'no node can take a replica: n1: offline');
  assert.is(s.services['shop/web'].failed, 1);
});

Aggregate('every placed service is reported, even with nothing running', () => {
  const db: ServiceBuilder = aService('shop/db').replicas(2);
  const doc = aPlacement('munich').with(web).with(db).build();
  const s = aggregate(input([aNode('n1').build()], { placement: doc }));
  assert.equal(Object.keys(s.services).sort(), ['shop/db', 'shop/web']);
  assert.equal(s.services['shop/db'], { desired: 2, running: 0, ready: 0, updated: 0, failed: 0 });
});

Aggregate('maxNode is the largest node; maxNodeFree the most room left on one node', () => {
  const nodes = [aNode('big').withCapacity(8, '16Gi').build(), aNode('small').withCapacity(2, '2Gi').build()];
  const heavy = aService('ml/train').replicas(3).cpu(2).memory('1Gi');
  const s = aggregate(
    input(nodes, {
      placement: aPlacement('munich').with(heavy).build(),
      assignment: assign({ 'ml/train#0': 'big', 'ml/train#1': 'big', 'ml/train#2': 'big' }),
    }),
  );
  assert.equal(s.maxNode, { cpu: 8, memoryMi: 16384, gpu: 0 });
  assert.equal(s.maxNodeFree, { cpu: 2, memoryMi: 13312, gpu: 0 });
  assert.equal(s.free, { cpu: 4, memoryMi: 15360, gpu: 0 });
});

Aggregate("maxNode is one node's capacity: the root never sends a replica no node could hold", () => {
  // One node has the cpu, the other the memory; no node has both.
  const nodes = [aNode('cpu-rich').withCapacity(8, '2Gi').build(), aNode('mem-rich').withCapacity(2, '16Gi').build()];
  const s = aggregate(input(nodes));
  const view: ClusterView = {
    name: 'munich',
    online: true,
    capacity: s.capacity,
    maxNode: s.maxNode,
    shapes: s.shapes,
    arch: s.arch,
    runtimes: s.runtimes,
    labels: s.labels,
  };
  const spec = aService('ml/train').cpu(6).memory('12Gi').spec();
  const r = request(spec);
  const someNodeHoldsIt = nodes.some((n) => n.capacity.cpu >= r.cpu && n.capacity.memoryMi >= r.memoryMi && n.capacity.gpu >= r.gpu);
  assert.is(someNodeHoldsIt, false, 'the case is built so that no node holds it');
  assert.is(typeof exclusion(view, spec), 'string', `the root would send it: maxNode ${JSON.stringify(s.maxNode)}`);
});

Aggregate('applied is the placement version, or null before the first placement', () => {
  const n = [aNode('n1').build()];
  assert.equal(aggregate(input(n)).applied, { commit: COMMIT, seq: 7, epoch: 0 });
  const none = aggregate(input(n, { placement: undefined }));
  assert.is(none.applied, null);
  assert.equal(none.services, {});
});

Aggregate('identity: cluster, time, labels, operator and location pass through; absent ones are left out', () => {
  const n = [aNode('n1').build()];
  const s = aggregate(input(n, { labels: { tier: 'edge' }, operator: 'telekom', location: MUNICH }));
  assert.is(s.kind, 'cluster-status');
  assert.is(s.cluster, 'munich');
  assert.is(s.at, '2025-01-01T00:00:00Z');
  assert.equal(s.labels, { tier: 'edge' });
  assert.is(s.operator, 'telekom');
  assert.equal(s.location, MUNICH);
  const bare = aggregate(input(n));
  assert.not.ok('operator' in bare);
  assert.not.ok('location' in bare);
});

Aggregate('no nodes online: all zeros', () => {
  const s = aggregate(input([aNode('n1').offline().build()]));
  for (const k of ['capacity', 'free', 'maxNode', 'maxNodeFree'] as const) assert.equal(s[k], { cpu: 0, memoryMi: 0, gpu: 0 }, k);
  assert.equal(s.arch, []);
  assert.equal(s.runtimes, []);
});

Aggregate('what it produces passes the ClusterStatus schema the root parses with', () => {
  const nodes = [aNode('n1').build(), aNode('n2').offline().build()];
  const s = aggregate(
    input(nodes, {
      labels: { tier: 'edge' },
      operator: 'telekom',
      location: MUNICH,
      assignment: assign({ 'shop/web#0': 'n1' }),
      pending: new Map([['shop/web', 'no node can take a replica: n2: offline']]),
      reports: { n1: [replicaState('shop/web#0', HASH, 'running'), replicaState('old/gone#0', 'h', 'failed', 'exited')] },
    }),
  );
  const r = checkValue('ClusterStatus', JSON.parse(JSON.stringify(s)), 'status');
  assert.ok(r.ok, r.ok ? '' : r.error);
});

const at = (r: ReplicaState, ...endpoints: string[]): ReplicaState => ({ ...r, endpoints });

Aggregate('endpoints: the address (first endpoint) of the running replicas that count, sorted, without duplicates, no node names', () => {
  const nodes = [aNode('n1').build(), aNode('n2').build(), aNode('n3').offline().build()];
  const s = aggregate(
    input(nodes, {
      assignment: assign({ 'shop/web#0': 'n1', 'shop/web#1': 'n1', 'shop/web#2': 'n2', 'shop/web#3': 'n3', 'shop/web#4': 'n2' }),
      reports: {
        n1: [
          at(replicaState('shop/web#0', HASH, 'running'), '10.0.0.1:8080', '10.0.0.1:9090'), // the second port is not the address
          at(replicaState('shop/web#1', 'an-old-hash', 'running'), '10.0.0.1:9999'), // old spec: not exposed
        ],
        n2: [
          at(replicaState('shop/web#2', HASH, 'running'), '10.0.0.2:8080'),
          at(replicaState('shop/web#4', HASH, 'running'), '10.0.0.2:8080'), // the same address twice: once
          at(replicaState('old/gone#0', 'h', 'running'), '10.0.0.2:7000'),
        ],
        n3: [at(replicaState('shop/web#3', HASH, 'running'), '10.0.0.3:8080')], // offline node
      },
    }),
  );
  assert.equal(s.services['shop/web'], { desired: 4, running: 3, ready: 3, updated: 3, failed: 0, endpoints: ['10.0.0.1:8080', '10.0.0.2:8080'] });
  assert.equal(s.services['old/gone'].endpoints, ['10.0.0.2:7000'], 'a removed service still running is still reachable');
  assert.not.match(JSON.stringify(s.services), /n1|n2|n3/);
  const r = checkValue('ClusterStatus', JSON.parse(JSON.stringify(s)), 'status');
  assert.ok(r.ok, r.ok ? '' : r.error);
});

Aggregate('endpoints: no key without any; at most 64, with a count of the rest', () => {
  const nodes = [aNode('n1').build()];
  const s = aggregate(input(nodes, { assignment: assign({ 'shop/web#0': 'n1' }), reports: { n1: [replicaState('shop/web#0', HASH, 'running')] } }));
  assert.not.ok('endpoints' in s.services['shop/web']);
  const many = Array.from({ length: 70 }, (_, i) => `10.0.${i}.1:80`);
  const e = exposed([...many, ...many]);
  assert.is(e.endpoints?.length, 64);
  assert.is(e.endpointsOmitted, 6);
  assert.is(e.endpoints?.[0], '10.0.0.1:80');
  assert.equal(exposed([]), {});
});

// --- where it is, how far its targets are, what it refuses ---------------------------------------

const Where = suite('aggregate: footprint, latency, refusals');
const FREISING = { lat: 48.4029, lon: 11.7488 };
const placed = (name: string, p?: { lat: number; lon: number }, latency?: Record<string, number>, online = true): NodeView => {
  const n = aNode(name);
  if (!online) n.offline();
  return { ...n.build(), ...(p ? { location: p } : {}), ...(latency ? { latency } : {}) };
};
const TARGETS = { cams: { ...MUNICH, probe: 'http://cams:80/' }, louvre: PARIS };

Where('the footprint is the geohash cells of the online nodes, no node names or positions', () => {
  const s = aggregate(
    input([placed('n1', MUNICH), placed('n2', { lat: 48.138, lon: 11.576 }), placed('n3', FREISING), placed('n4', PARIS, undefined, false), placed('n5')]),
  );
  assert.equal(s.footprint, ['u281z', 'u2877']);
  const text = JSON.stringify(s);
  for (const secret of ['n1', 'n3', '48.4029', '11.7488']) assert.not.ok(text.includes(secret), `status reveals ${secret}`);
});

Where('a cluster spread wide reports a few coarse cells', () => {
  const nodes = Array.from({ length: 60 }, (_, i) => placed(`n${i}`, { lat: 40 + (i % 10), lon: i * 0.5 }));
  const s = aggregate(input(nodes));
  assert.ok(s.footprint!.length <= 32 && s.footprint!.length > 0, JSON.stringify(s.footprint));
  assert.ok(
    s.footprint!.every((c) => c.length < 5),
    'coarser than 5 characters',
  );
});

Where('no positions: no footprint', () => {
  assert.not.ok('footprint' in aggregate(input([placed('n1')])));
});

Where('per target, the best round trip any online node measured', () => {
  const s = aggregate(
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: a measured round trip that happens to read like π
    input([placed('n1', PARIS, { cams: 14.2 }), placed('n2', PARIS, { cams: 3.14159 }), placed('n3', MUNICH, { cams: 0.5 }, false)], { targets: TARGETS }),
  );
  assert.equal(s.latency?.cams, { ms: 3.1, source: 'measured' });
});

Where("nothing measured: estimated from the nearest node, else from the cluster's location", () => {
  const s = aggregate(input([placed('n1', PARIS), placed('n2', FREISING)], { targets: TARGETS }));
  assert.equal(s.latency?.cams, { ms: 2.3, source: 'estimated' }, 'Freising is 32 km from the Munich target');
  assert.equal(s.latency?.louvre, { ms: 2, source: 'estimated' });
  const bare = aggregate(input([placed('n1')], { targets: TARGETS, location: PARIS }));
  assert.equal(bare.latency?.cams, { ms: 8.8, source: 'estimated' });
  assert.not.ok('latency' in aggregate(input([placed('n1')], { targets: TARGETS })), 'no position anywhere: nothing to say');
});

Where('refusals go out per service, never more than it was given', () => {
  const s = aggregate(
    input([placed('n1')], {
      pending: new Map([['shop/web', 'no node can take a replica: n1: 51 km from (48.137, 11.575), limit 50 km']]),
      refused: new Map([
        ['shop/web', { count: 9, reason: 'no node can take a replica: n1: 51 km from (48.137, 11.575), limit 50 km' }],
        ['not/given', { count: 1, reason: 'x' }],
      ]),
    }),
  );
  assert.equal(s.services['shop/web'].refused, { count: 4, reason: 'no node can take a replica: n1: 51 km from (48.137, 11.575), limit 50 km' });
  assert.is(s.services['not/given'], undefined);
  const r = checkValue('ClusterStatus', JSON.parse(JSON.stringify({ ...s, latency: { cams: { ms: 3, source: 'measured' } } })), 'status');
  assert.ok(r.ok, r.ok ? '' : r.error);
});

Aggregate.run();
Where.run();
