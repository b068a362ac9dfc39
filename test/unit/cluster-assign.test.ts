// The cluster's placing and assigning steps on a fake state: placeOnNodes waits for a
// restarted cluster's nodes, keeps the plan, journals what changed as a patch and queues each
// node's desired state and the report; assignNode tells a node its share only when that changed
// or went unapplied, with a seq that only rises.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { NodeDesired } from '../../schemas/messages.js';
import { placeOnNodes, mapPatch } from '../../reconciler/cluster/steps/place-nodes.js';
import { assignNode } from '../../reconciler/cluster/steps/assign.js';
import { aNode, aNodeStatus, aPlacement, aService } from '../helpers/builders.js';
import { fakeCluster, heardNode, metric, T0 } from '../helpers/cluster-fakes.js';

const web = aService('shop/web').replicas(2).cpu(1);
const big = aService('shop/big').replicas(1).cpu(64);
const placement = aPlacement('munich').with(web).seq(3).build();
const n1 = aNodeStatus(aNode('n1').build());
const n2 = aNodeStatus(aNode('n2').build());

// --- mapPatch ----------------------------------------------------------------------------------

const Patch = suite('mapPatch');

const patches: Array<[string, Record<string, string>, Record<string, string>, unknown[]]> = [
  ['nothing changed', { 'a#0': 'n1' }, { 'a#0': 'n1' }, []],
  ['a replica added', {}, { 'a#0': 'n1' }, [{ op: 'add', path: '/a#0', value: 'n1' }]],
  ['a replica moved', { 'a#0': 'n1' }, { 'a#0': 'n2' }, [{ op: 'replace', path: '/a#0', value: 'n2' }]],
  ['a replica gone', { 'a#0': 'n1' }, {}, [{ op: 'remove', path: '/a#0' }]],
  ['ids with / and ~ are escaped', {}, { 'shop/w~b#0': 'n1' }, [{ op: 'add', path: '/shop~1w~0b#0', value: 'n1' }]],
];
for (const [name, a, b, ops] of patches) {
  Patch(name, () => assert.equal(mapPatch(new Map(Object.entries(a)), new Map(Object.entries(b))), ops));
}

// --- placeOnNodes ------------------------------------------------------------------------------

const Place = suite('placeOnNodes');

Place('places the placement on the nodes heard, journals the assignment and queues each node and the report', async () => {
  const f = fakeCluster({ placement });
  f.s.nodes.set('n1', heardNode(n1));
  f.s.nodes.set('n2', heardNode(n2));
  await placeOnNodes(f.s, f.p);
  // Spread by default: one replica on each node.
  assert.equal(Object.fromEntries(f.s.assignment), { 'shop/web#0': 'n1', 'shop/web#1': 'n2' });
  assert.equal(
    [...f.s.byNode].map(([n, rs]) => [n, rs.length]),
    [
      ['n1', 1],
      ['n2', 1],
    ],
  );
  assert.equal(
    f.assignments.appends.map((a) => a.doc),
    [{ 'shop/web#0': 'n1', 'shop/web#1': 'n2' }],
  );
  assert.equal(f.queued, ['node:n1', 'node:n2', 'report']);
  assert.equal(f.later, []);
});

Place('an unchanged assignment is not journaled again', async () => {
  const f = fakeCluster({ placement, assignment: { 'shop/web#0': 'n1', 'shop/web#1': 'n1' } });
  f.s.nodes.set('n1', heardNode(n1));
  await placeOnNodes(f.s, f.p);
  assert.equal(f.assignments.appends, []);
});

Place('just restarted: waits for a node that held replicas, up to the grace period', async () => {
  const f = fakeCluster({ placement, assignment: { 'shop/web#0': 'n2', 'shop/web#1': 'n2' } });
  f.s.nodes.set('n1', heardNode(n1));
  await placeOnNodes(f.s, f.p);
  assert.equal(f.later, [['place', 250]]);
  assert.equal(Object.fromEntries(f.s.assignment), { 'shop/web#0': 'n2', 'shop/web#1': 'n2' }, 'nothing moved yet');
  f.clock.t = T0 + f.p.cfg.unreachableMs;
  await placeOnNodes(f.s, f.p);
  assert.equal(Object.fromEntries(f.s.assignment), { 'shop/web#0': 'n1', 'shop/web#1': 'n1' }, 'moved once the grace period is over');
});

Place('replicas no node can take: pending, unplaced since now, and a report after the refusal grace', async () => {
  const f = fakeCluster({ placement: aPlacement('munich').with(web).with(big).build() });
  f.s.nodes.set('n1', heardNode(n1));
  f.clock.t = T0 + 5000;
  await placeOnNodes(f.s, f.p);
  assert.equal([...f.s.unplaced], [['shop/big', 1]]);
  assert.match(f.s.pending.get('shop/big')!, /^no node can take a replica: n1: needs/);
  assert.equal([...f.s.unplacedSince], [['shop/big', T0 + 5000]]);
  assert.equal(f.later, [['report', f.p.cfg.refuseAfterMs + 50]]);
  // Still unplaced later: the first time counts. Placed at last: forgotten.
  f.clock.t = T0 + 9000;
  await placeOnNodes(f.s, f.p);
  assert.equal([...f.s.unplacedSince], [['shop/big', T0 + 5000]]);
  f.s.nodes.set('n2', heardNode({ ...n2, capacity: { cpu: 128, memoryMi: 1 << 20, gpu: 0 } }));
  await placeOnNodes(f.s, f.p);
  assert.equal([...f.s.unplacedSince], []);
});

// --- assignNode --------------------------------------------------------------------------------

const Assign = suite('assignNode');

const placed = async () => {
  const f = fakeCluster({ placement, cfg: { targets: { eu: { lat: 1, lon: 2 } } } });
  f.s.nodes.set('n1', heardNode(n1));
  await placeOnNodes(f.s, f.p);
  return f;
};

Assign("tells an online node its replicas, the targets and the heartbeat, retained, under the placement's epoch", async () => {
  const f = await placed();
  await assignNode(f.s, f.p, 'n1');
  assert.is(f.nodeBus.published.length, 1);
  const { topic, message, retain } = f.nodeBus.published[0];
  const m = message as NodeDesired;
  assert.is(topic, 'canopy/v1/demo/clusters/munich/nodes/n1/desired');
  assert.ok(retain);
  assert.equal(
    m.replicas.map((r) => r.id),
    ['shop/web#0', 'shop/web#1'],
  );
  assert.equal([m.seq, m.epoch, m.heartbeatSeconds, m.targets], [T0 + 1, 0, 2, { eu: { lat: 1, lon: 2 } }]);
  assert.is(metric(f.telemetry, 'canopy_cluster_assignments_sent_total'), 1);
});

Assign('an offline or unknown node is told nothing', async () => {
  const f = await placed();
  f.s.nodes.get('n1')!.online = false;
  await assignNode(f.s, f.p, 'n1');
  await assignNode(f.s, f.p, 'n9');
  assert.equal(f.nodeBus.published, []);
});

Assign('the same share again: not resent once applied, resent with the same seq when unapplied after a second', async () => {
  const f = await placed();
  await assignNode(f.s, f.p, 'n1');
  const seq = (f.nodeBus.published[0].message as NodeDesired).seq;
  await assignNode(f.s, f.p, 'n1');
  assert.is(f.nodeBus.published.length, 1, 'within a second: not resent');
  f.clock.t += 1000;
  await assignNode(f.s, f.p, 'n1');
  assert.is(f.nodeBus.published.length, 2, 'unapplied after a second: resent');
  assert.is((f.nodeBus.published[1].message as NodeDesired).seq, seq);
  f.s.nodes.get('n1')!.status = { ...n1, appliedSeq: seq };
  f.clock.t += 5000;
  await assignNode(f.s, f.p, 'n1');
  assert.is(f.nodeBus.published.length, 2, 'applied: not resent');
});

Assign('a changed share gets a higher seq', async () => {
  const f = await placed();
  await assignNode(f.s, f.p, 'n1');
  const first = (f.nodeBus.published[0].message as NodeDesired).seq;
  f.s.byNode.set('n1', f.s.byNode.get('n1')!.slice(1));
  await assignNode(f.s, f.p, 'n1');
  const second = f.nodeBus.published[1].message as NodeDesired;
  assert.ok(second.seq > first);
  assert.equal(
    second.replicas.map((r) => r.id),
    ['shop/web#1'],
  );
});

Patch.run();
Place.run();
Assign.run();
