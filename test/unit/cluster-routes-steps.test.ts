// Routes in the cluster's steps, on a fake state: the route index (live addresses by service,
// which nodes' routes include a service), assignNode sending routes (and a new seq when they
// change), the triggers (a node's status with other endpoints, its interest, its session going
// and coming back, unreachable) queueing only the nodes whose routes include a changed service,
// and what the cluster reports: addresses of reachable nodes only, and its nodes' interest.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { NodeDesired, NodeStatus, Placement, ReplicaState } from '../../schemas/messages.js';
import { createRouteIndex, routesFor, setNodeAddresses, setRouted, usersOf } from '../../reconciler/cluster/route-index.js';
import { applyPatchShared } from '../../reconciler/core/patch.js';
import { assignNode } from '../../reconciler/cluster/steps/assign.js';
import { placeOnNodes } from '../../reconciler/cluster/steps/place-nodes.js';
import { onNodeOnline, onNodeStatus } from '../../reconciler/cluster/events.js';
import { markUnreachable } from '../../reconciler/cluster/steps/unreachable.js';
import { reportStatus } from '../../reconciler/cluster/steps/report.js';
import { aNode, aNodeStatus, aPlacement, aReplica, aService, replicaState } from '../helpers/builders.js';
import { fakeCluster, heardNode, T0 } from '../helpers/cluster-fakes.js';

const Index = suite('route index');

Index('setNodeAddresses: what a node contributes, and which services changed', () => {
  const idx = createRouteIndex();
  assert.equal(
    setNodeAddresses(
      idx,
      'n1',
      new Map([
        ['a/x', ['1:1']],
        ['a/y', ['1:2']],
      ]),
    ),
    ['a/x', 'a/y'],
  );
  assert.equal(setNodeAddresses(idx, 'n2', new Map([['a/x', ['2:1']]])), ['a/x']);
  assert.equal(
    setNodeAddresses(
      idx,
      'n1',
      new Map([
        ['a/x', ['1:1']],
        ['a/y', ['1:2']],
      ]),
    ),
    [],
    'the same again: nothing changed',
  );
  assert.equal(setNodeAddresses(idx, 'n1', new Map([['a/x', ['1:1', '1:3']]])), ['a/y', 'a/x']);
  assert.equal(
    [...idx.local.get('a/x')!],
    [
      ['n1', ['1:1', '1:3']],
      ['n2', ['2:1']],
    ],
  );
  assert.not.ok(idx.local.has('a/y'));
  assert.equal(setNodeAddresses(idx, 'n1', undefined), ['a/x'], 'unreachable: all of it goes');
  assert.equal([...idx.local.get('a/x')!.keys()], ['n2']);
  assert.not.ok(idx.byNode.has('n1'));
});

Index('setRouted and usersOf: the nodes whose routes include a service', () => {
  const idx = createRouteIndex();
  setRouted(idx, 'n1', ['a/x', 'a/y']);
  setRouted(idx, 'n2', ['a/y']);
  assert.equal([...usersOf(idx, ['a/y'])], ['n1', 'n2']);
  setRouted(idx, 'n1', ['a/x']);
  assert.equal([...usersOf(idx, ['a/y'])], ['n2']);
  setRouted(idx, 'n2', []);
  assert.equal([...usersOf(idx, ['a/y', 'a/x', 'b/z'])], ['n1']);
  assert.not.ok(idx.users.has('a/y'));
});

// --- a cluster with three nodes: web on n1, api on n2, n3 runs another app ------------------

const web = aService('shop/web').replicas(1).cpu(1).ports({ port: 8080 });
const api = aService('shop/api').replicas(1).cpu(1).ports({ port: 9000 });
const mail = aService('mail/smtp').replicas(1).cpu(1).ports({ port: 25 });

function placement(): Placement {
  const p = aPlacement('munich').with(web).with(api).with(mail).seq(3).build();
  p.routes = {
    'shop/web': { port: 8080, clusters: [{ cluster: 'paris', rank: 0, endpoints: ['10.1.0.1:30080'] }] },
    'shop/api': { port: 9000, clusters: [] },
    'mail/smtp': { port: 25, clusters: [] },
  };
  return p;
}

const t = (node: string, leaf: string) => `canopy/v1/demo/clusters/munich/nodes/${node}/${leaf}`;
const payload = (m: unknown) => Buffer.from(JSON.stringify(m));
const online = (on: boolean) => payload({ kind: 'online', online: on, at: '2025-01-01T00:00:00Z' });
const hashOf = (p: Placement, id: string) => p.services[id].specHash;

/** A cluster that placed web on n1, api on n2, mail on n3, and heard each running with an address. */
async function cluster() {
  const p = placement();
  const f = fakeCluster({ placement: p, assignment: { 'shop/web#0': 'n1', 'shop/api#0': 'n2', 'mail/smtp#0': 'n3' } });
  const run = (node: string, id: string, addr: string): ReplicaState => ({
    ...replicaState(id, hashOf(p, id.slice(0, id.indexOf('#'))), 'running'),
    endpoints: [addr],
  });
  const statuses: Record<string, NodeStatus> = {
    n1: aNodeStatus(aNode('n1').build(), [run('n1', 'shop/web#0', '10.0.0.1:31000')]),
    n2: aNodeStatus(aNode('n2').build(), [run('n2', 'shop/api#0', '10.0.0.2:32000')]),
    n3: aNodeStatus(aNode('n3').build(), [run('n3', 'mail/smtp#0', '10.0.0.3:25')]),
  };
  for (const [n, st] of Object.entries(statuses)) onNodeStatus(f.s, f.p, t(n, 'status'), payload(st));
  await placeOnNodes(f.s, f.p);
  for (const n of ['n1', 'n2', 'n3']) await assignNode(f.s, f.p, n);
  const sent = (node: string) => f.nodeBus.published.filter((m) => m.topic === t(node, 'desired')).map((m) => m.message as NodeDesired);
  const applyAll = () => {
    for (const n of ['n1', 'n2', 'n3']) {
      const st = f.s.nodes.get(n)!;
      st.status = { ...st.status!, appliedSeq: st.sent!.seq };
    }
  };
  applyAll();
  f.queued.length = 0;
  return { f, p, run, statuses, sent, applyAll };
}

Index("routesFor: a node's routes are rebuilt only when their routes, specs, live addresses or services changed", () => {
  const idx = createRouteIndex();
  const p = placement();
  const replicas = [aReplica(web, 0)];
  const first = routesFor(idx, 'n1', p, replicas, undefined);
  assert.equal(Object.keys(first.routes), ['shop/api', 'shop/web']);
  assert.is(first.json, JSON.stringify(first.routes));
  assert.is(routesFor(idx, 'n1', p, replicas, undefined).routes, first.routes, 'nothing changed: the same table');
  // A patch that touches another service keeps shop's routes (copy on write): still the same.
  const other = applyPatchShared(p, [{ op: 'replace', path: '/routes/mail~1smtp/port', value: 26 }]);
  assert.is(routesFor(idx, 'n1', other, replicas, undefined).routes, first.routes);
  // One of its routes changed: rebuilt.
  const moved = applyPatchShared(other, [{ op: 'replace', path: '/routes/shop~1api/port', value: 9009 }]);
  const second = routesFor(idx, 'n1', moved, replicas, undefined);
  assert.is(second.routes['shop/api'].port, 9009);
  // A live address of one of them changed: rebuilt; of a service it does not route: not.
  setNodeAddresses(idx, 'n9', new Map([['mail/smtp', ['9:25']]]));
  assert.is(routesFor(idx, 'n1', moved, replicas, undefined).routes, second.routes);
  setNodeAddresses(idx, 'n9', new Map([['shop/web', ['9:80']]]));
  const third = routesFor(idx, 'n1', moved, replicas, undefined);
  assert.equal(third.routes['shop/web'].endpoints[0], { addr: '9:80', tier: 1 });
  // Its interest adds a service: rebuilt.
  assert.equal(Object.keys(routesFor(idx, 'n1', moved, replicas, ['mail/smtp']).routes), ['mail/smtp', 'shop/api', 'shop/web']);
  // An empty table: no JSON.
  assert.equal(routesFor(idx, 'n2', moved, [], undefined), { sig: '', routes: {}, json: '' });
});

const Steps = suite('routes in the steps');

Steps("assignNode: each node's desired carries its routes; a node whose routes are empty gets none", async () => {
  const { sent, f } = await cluster();
  assert.equal(sent('n1')[0].routes, {
    'shop/api': { port: 9000, endpoints: [{ addr: '10.0.0.2:32000', tier: 1 }] },
    'shop/web': {
      port: 8080,
      endpoints: [
        { addr: '10.0.0.1:31000', tier: 0 },
        { addr: '10.1.0.1:30080', tier: 2 },
      ],
    },
  });
  assert.equal(Object.keys(sent('n2')[0].routes!), ['shop/api', 'shop/web']);
  assert.equal(Object.keys(sent('n3')[0].routes!), ['mail/smtp']);
  assert.equal([...usersOf(f.s.routes, ['shop/api'])], ['n1', 'n2']);
  // A node with nothing to route: no routes key.
  f.s.nodes.set('n4', heardNode(aNodeStatus(aNode('n4').build())));
  await assignNode(f.s, f.p, 'n4');
  assert.not.ok('routes' in sent('n4')[0]);
});

Steps('a replica stops: only the nodes whose routes include its service are queued, and get a new seq without it', async () => {
  const { f, statuses, sent } = await cluster();
  const before = sent('n1')[0].seq;
  onNodeStatus(
    f.s,
    f.p,
    t('n2', 'status'),
    payload({ ...statuses.n2, appliedSeq: f.s.nodes.get('n2')!.sent!.seq, replicas: [{ ...statuses.n2.replicas[0], state: 'stopped' }] }),
  );
  assert.equal(f.queued, ['node:n1', 'node:n2', 'report'], 'n3 does not route shop/api: not queued');
  await assignNode(f.s, f.p, 'n1');
  await assignNode(f.s, f.p, 'n3');
  const next = sent('n1')[1];
  assert.ok(next.seq > before);
  assert.equal(next.routes!['shop/api'], { port: 9000, endpoints: [] });
  assert.is(sent('n3').length, 1, 'n3 was not told anything new');
});

Steps('the same endpoints again: nothing queued beyond the report', async () => {
  const { f, statuses } = await cluster();
  onNodeStatus(f.s, f.p, t('n2', 'status'), payload({ ...statuses.n2, appliedSeq: f.s.nodes.get('n2')!.sent!.seq, at: '2025-01-01T00:00:09Z' }));
  assert.equal(f.queued, ['report']);
});

Steps("a node's interest: the node is queued, its routes gain the service, the cluster reports nothing more when routed", async () => {
  const { f, statuses, sent } = await cluster();
  onNodeStatus(f.s, f.p, t('n3', 'status'), payload({ ...statuses.n3, appliedSeq: f.s.nodes.get('n3')!.sent!.seq, interest: ['shop/web', 'ext/thing'] }));
  assert.equal(f.queued, ['node:n3', 'report']);
  await assignNode(f.s, f.p, 'n3');
  assert.equal(Object.keys(sent('n3')[1].routes!), ['mail/smtp', 'shop/web']);
  assert.ok(usersOf(f.s.routes, ['shop/web']).has('n3'));
  const status = await reportStatus(f.s, f.p, T0 + 10);
  assert.equal(status.interest, ['ext/thing'], 'only what the placement has no route for');
});

Steps("a node's session goes: its instances leave the routes at once (users queued, reported), and come back with it", async () => {
  const { f, sent } = await cluster();
  onNodeOnline(f.s, f.p, t('n2', 'online'), online(false));
  assert.equal(f.queued, ['node:n1', 'node:n2', 'report']);
  await assignNode(f.s, f.p, 'n1');
  assert.equal(sent('n1')[1].routes!['shop/api'].endpoints, []);
  const status = await reportStatus(f.s, f.p, T0 + 10);
  assert.not.ok('endpoints' in status.services['shop/api'], 'not exposed while its node is disconnected');
  assert.is(status.services['shop/api'].running, 1, 'still counted: its replicas stay for the grace period');
  f.queued.length = 0;
  onNodeOnline(f.s, f.p, t('n2', 'online'), online(true));
  assert.equal(f.queued, ['node:n1', 'node:n2', 'report']);
  await assignNode(f.s, f.p, 'n1');
  assert.equal(sent('n1')[2].routes!['shop/api'].endpoints, [{ addr: '10.0.0.2:32000', tier: 1 }]);
});

Steps('unreachable after the grace period: nothing of it in the index; an offline node is told nothing and routes nothing', async () => {
  const { f } = await cluster();
  const st = f.s.nodes.get('n2')!;
  Object.assign(st, { connected: false, disconnectedAt: T0 });
  f.clock.t = T0 + f.p.cfg.unreachableMs;
  markUnreachable(f.s, f.p, f.clock.t);
  assert.not.ok(f.s.routes.byNode.has('n2'));
  assert.not.ok(f.s.routes.local.has('shop/api'));
  await assignNode(f.s, f.p, 'n2');
  assert.not.ok(usersOf(f.s.routes, ['shop/api']).has('n2'));
});

Index.run();
Steps.run();
