// Replicas of one service over a cluster's nodes (the descriptor's `spread`): absent or
// `clusters` spread softly (fewest replicas of the service first, sharing a node only when no
// other fits); `none` leaves it to the policy (bestfit packs); `nodes` never puts two on a node
// and refuses, with a reason, a replica every fitting node already runs one of. Replicas already
// running stay where they are: only new or re-placed replicas spread.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { NodePlan } from '../../reconciler/cluster/place.js';
import { aNode, aService } from '../helpers/builders.js';
import { placeOnNodes as plan, assignedOf as assigned } from '../helpers/builders.js';

/** node → how many replicas, for nodes that have any. */
const perNode = (p: NodePlan) => Object.fromEntries([...p.byNode].filter(([, rs]) => rs.length).map(([n, rs]) => [n, rs.length]));
const web = (replicas: number) => aService('shop/web').replicas(replicas).cpu(0.1).memory('32Mi');
const two = () => [aNode('n1'), aNode('n2')];

const Soft = suite('spread absent or clusters: soft, over nodes');

Soft('three replicas on a two-node cluster land on both nodes (2+1)', () => {
  const p = plan([web(3)], two());
  assert.equal(perNode(p), { n1: 2, n2: 1 });
  assert.is(p.pending.size, 0);
});

Soft("spread: 'clusters' spreads over the nodes inside the cluster the same way", () => {
  assert.equal(perNode(plan([web(3).spread('clusters')], two())), { n1: 2, n2: 1 });
});

Soft('every policy spreads first, then scores: firstfit, bestfit and ldp alike', () => {
  for (const policy of ['bestfit', 'firstfit', 'spread', 'ldp'] as const) {
    assert.equal(perNode(plan([web(4)], [aNode('n1'), aNode('n2'), aNode('n3')], {}, policy)), { n1: 2, n2: 1, n3: 1 }, policy);
  }
});

Soft("fewest replicas of the service beat the policy's score", () => {
  // bestfit alone would pack both on the small node (left fullest); spread puts one on each.
  const nodes = [aNode('big').withCapacity(16), aNode('small').withCapacity(1)];
  assert.equal(perNode(plan([web(2).spread('none')], nodes)), { small: 2 });
  assert.equal(perNode(plan([web(2)], nodes)), { big: 1, small: 1 });
});

Soft('two replicas share a node when no other node fits (room, labels, offline), and none is refused', () => {
  const full = plan([web(3).cpu(1)], [aNode('n1').withCapacity(4), aNode('n2').withCapacity(0.5)]);
  assert.equal(perNode(full), { n1: 3 });
  assert.is(full.pending.size, 0);
  const labelled = plan([web(3).onNodesLabelled({ zone: 'a' })], [aNode('n1').withLabels({ zone: 'a' }), aNode('n2')]);
  assert.equal(perNode(labelled), { n1: 3 });
  assert.equal(perNode(plan([web(3)], [aNode('n1'), aNode('n2').offline()])), { n1: 3 });
});

Soft('other services on a node do not count: only replicas of this one', () => {
  // shop/db packs on n1 (bestfit, spread none); shop/web still starts on n1, the fuller node.
  const p = plan([aService('shop/db').replicas(2).cpu(0.1).spread('none'), web(2)], two());
  assert.equal(assigned(p), { 'shop/db#0': 'n1', 'shop/db#1': 'n1', 'shop/web#0': 'n1', 'shop/web#1': 'n2' });
});

const None = suite("spread: 'none' packs");

None('three replicas on a two-node cluster with bestfit: all on one node', () => {
  assert.equal(perNode(plan([web(3).spread('none')], two(), {}, 'bestfit')), { n1: 3 });
});

None("the 'spread' policy still evens out load, as its score says", () => {
  assert.equal(perNode(plan([web(3).spread('none')], two(), {}, 'spread')), { n1: 2, n2: 1 });
});

const Hard = suite("spread: 'nodes': hard");

Hard('three replicas, two nodes: two placed, one refused with a reason', () => {
  const p = plan([web(3).spread('nodes')], two());
  assert.equal(perNode(p), { n1: 1, n2: 1 });
  assert.equal(Object.keys(assigned(p)).sort(), ['shop/web#0', 'shop/web#1']);
  assert.is(p.unplaced.get('shop/web'), 1);
  assert.is(
    p.pending.get('shop/web'),
    'no node can take a replica: spread: nodes allows one replica per node, and every node that fits already runs one (n1, n2)',
  );
});

Hard('nodes that do not fit are left out of "every node that fits"; host ports are named first', () => {
  const p = plan([web(2).cpu(1).spread('nodes')], [aNode('n1').withCapacity(4), aNode('n2').withCapacity(0.5)]);
  assert.equal(perNode(p), { n1: 1 });
  assert.is(p.pending.get('shop/web'), 'no node can take a replica: spread: nodes allows one replica per node, and every node that fits already runs one (n1)');
  // With host ports as well, the ports are named: the service's own replica took them on n1.
  const ported = plan([web(2).spread('nodes').ports({ port: 80, hostPort: 8080 })], [aNode('n1')]);
  assert.is(ported.pending.get('shop/web'), 'no node can take a replica: host port 8080/tcp is taken on every node that fits (n1)');
});

Hard('two replicas kept on one node: the second moves to a node of its own', () => {
  const p = plan([web(2).spread('nodes')], two(), { 'shop/web#0': 'n1', 'shop/web#1': 'n1' });
  assert.equal(assigned(p), { 'shop/web#0': 'n1', 'shop/web#1': 'n2' });
});

Hard('the refused replica is placed once a node joins', () => {
  const p = plan([web(3).spread('nodes')], [aNode('n1'), aNode('n2'), aNode('n3')], { 'shop/web#0': 'n2', 'shop/web#1': 'n1' });
  assert.equal(assigned(p), { 'shop/web#0': 'n2', 'shop/web#1': 'n1', 'shop/web#2': 'n3' });
  assert.is(p.pending.size, 0);
});

const Sticky = suite('stickiness: running replicas stay, new ones spread');

Sticky('scale 2 → 3 keeps the first two where they were', () => {
  const before = plan([web(2)], two());
  assert.equal(assigned(before), { 'shop/web#0': 'n1', 'shop/web#1': 'n2' });
  const after = plan([web(3)], two(), assigned(before));
  assert.is(after.assignment.get('shop/web#0'), 'n1');
  assert.is(after.assignment.get('shop/web#1'), 'n2');
  assert.equal(perNode(after), { n1: 2, n2: 1 });
});

Sticky('replicas packed before (spread none, or an older canopy) are not moved just to spread; the new one goes to the empty node', () => {
  const p = plan([web(3)], two(), { 'shop/web#0': 'n1', 'shop/web#1': 'n1' });
  assert.equal(assigned(p), { 'shop/web#0': 'n1', 'shop/web#1': 'n1', 'shop/web#2': 'n2' });
});

Sticky('a node dies: its replica joins the other node; when it returns nothing moves back', () => {
  const died = plan([web(2)], [aNode('n1'), aNode('n2').offline()], { 'shop/web#0': 'n1', 'shop/web#1': 'n2' });
  assert.equal(assigned(died), { 'shop/web#0': 'n1', 'shop/web#1': 'n1' });
  const back = plan([web(2)], two(), assigned(died));
  assert.equal(assigned(back), { 'shop/web#0': 'n1', 'shop/web#1': 'n1' });
});

Soft.run();
None.run();
Hard.run();
Sticky.run();
