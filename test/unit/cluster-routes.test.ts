// A node's routes, computed from the placement's routes, the node's replicas, the live addresses
// of the cluster's own instances and the node's interest (reconciler/cluster/routes.ts, pure):
// which services a node is told about (its replicas' apps, their `uses`, its interest), the tiers
// of their endpoints (0 here, 1 elsewhere in the cluster, 2 + rank in other clusters), what counts
// as a live instance, the cap, and routes for services the cluster knows but the root sent no
// route for. Also what the cluster asks the root for (clusterInterest).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_INTEREST, MAX_ROUTE_ENDPOINTS, type NodeStatus, type Placement, type ReplicaSpec, type ReplicaState } from '../../schemas/messages.js';
import { checkValue } from '../../schemas/parse.js';
import { addressesOf, clusterInterest, isServiceId, localEndpoints, nodeRoutes, routedServices, servicesByApp } from '../../reconciler/cluster/routes.js';
import { aNode, aNodeStatus, aPlacement, aReplica, aService, replicaState } from '../helpers/builders.js';

const web = aService('shop/web').replicas(2).ports({ port: 8080 });
const api = aService('shop/api').replicas(1).ports({ port: 9000, protocol: 'tcp' }, { port: 9001 });
const jobs = aService('shop/jobs').replicas(1); // no ports: no route
const smtp = aService('mail/smtp').replicas(1).ports({ port: 25 });

/** The placement of munich: shop's services, with routes for shop/web, shop/api and pay/card (used by shop/web). */
function placement(): Placement {
  const p = aPlacement('munich').with(web).with(api).with(jobs).seq(4).build();
  p.routes = {
    'shop/web': {
      port: 8080,
      clusters: [
        { cluster: 'rome', rank: 1, endpoints: ['10.2.0.1:30001'] },
        { cluster: 'paris', rank: 0, endpoints: ['10.1.0.2:30001', '10.1.0.1:30001'] },
      ],
    },
    'shop/api': { port: 9000, protocol: 'tcp', clusters: [] },
    'pay/card': { port: 443, clusters: [{ cluster: 'paris', rank: 0, endpoints: ['10.1.0.9:443'] }] },
    'mail/smtp': { port: 25, clusters: [{ cluster: 'rome', rank: 0, endpoints: ['10.2.0.5:25'] }] },
  };
  return p;
}

/** shop/web's replica, using pay/card. */
function webReplica(index = 0): ReplicaSpec {
  const r = aReplica(web, index);
  r.spec.uses = ['pay/card'];
  return r;
}

const running = (id: string, ...endpoints: string[]): ReplicaState => ({ ...replicaState(id, 'h', 'running'), endpoints });
const statusOf = (name: string, replicas: ReplicaState[], interest?: string[]): NodeStatus => ({
  ...aNodeStatus(aNode(name).build(), replicas),
  ...(interest ? { interest } : {}),
});

const Routes = suite('nodeRoutes');

Routes("tiers: this node's instances 0, the cluster's other nodes 1, other clusters 2 + rank, closest first", () => {
  const local = localEndpoints([
    { name: 'n1', reachable: true, status: statusOf('n1', [running('shop/web#0', '10.0.0.1:31000', '10.0.0.1:31001')]) },
    {
      name: 'n2',
      reachable: true,
      status: statusOf('n2', [running('shop/web#1', '10.0.0.2:31000'), running('shop/api#0', '10.0.0.2:32000', '10.0.0.2:32001')]),
    },
  ]);
  const routes = nodeRoutes({ node: 'n1', placement: placement(), replicas: [webReplica(0)], local });
  assert.equal(Object.keys(routes), ['pay/card', 'shop/api', 'shop/web'], 'its app (with ports) and its uses, in code-unit order');
  assert.equal(routes['shop/web'], {
    port: 8080,
    endpoints: [
      { addr: '10.0.0.1:31000', tier: 0 },
      { addr: '10.0.0.2:31000', tier: 1 },
      { addr: '10.1.0.2:30001', tier: 2 }, // within a cluster: in the placement's order
      { addr: '10.1.0.1:30001', tier: 2 },
      { addr: '10.2.0.1:30001', tier: 3 },
    ],
  });
  assert.equal(routes['shop/api'], { port: 9000, protocol: 'tcp', endpoints: [{ addr: '10.0.0.2:32000', tier: 1 }] }, 'the address only: the first port');
  assert.equal(routes['pay/card'], { port: 443, endpoints: [{ addr: '10.1.0.9:443', tier: 2 }] });
  // Seen from n2, its own instances are tier 0.
  const fromN2 = nodeRoutes({ node: 'n2', placement: placement(), replicas: [webReplica(1)], local });
  assert.equal(fromN2['shop/web'].endpoints.slice(0, 2), [
    { addr: '10.0.0.2:31000', tier: 0 },
    { addr: '10.0.0.1:31000', tier: 1 },
  ]);
  const r = checkValue('NodeDesired', { kind: 'node-desired', seq: 1, epoch: 0, replicas: [], routes }, 'desired');
  assert.ok(r.ok, r.ok ? '' : r.error);
});

Routes('own app vs uses vs interest: another app only when used or asked for; bad or unknown interest ignored', () => {
  const p = placement();
  const plain = aReplica(api, 0); // no uses
  assert.equal(Object.keys(nodeRoutes({ node: 'n1', placement: p, replicas: [plain], local: new Map() })), ['shop/api', 'shop/web']);
  const asked = nodeRoutes({
    node: 'n1',
    placement: p,
    replicas: [plain],
    local: new Map(),
    interest: ['mail/smtp', 'Not/An-Id', 'nope', 'ghost/svc', 'shop/jobs'],
  });
  assert.equal(Object.keys(asked), ['mail/smtp', 'shop/api', 'shop/web'], 'interest with a route; no route and no ports: none');
  assert.equal(asked['mail/smtp'].endpoints, [{ addr: '10.2.0.5:25', tier: 2 }]);
  // A node with no replicas: only its interest.
  assert.equal(Object.keys(nodeRoutes({ node: 'n3', placement: p, replicas: [], local: new Map(), interest: ['pay/card'] })), ['pay/card']);
  assert.equal(nodeRoutes({ node: 'n3', placement: p, replicas: [], local: new Map() }), {});
  assert.equal(routedServices([webReplica()], servicesByApp(p), ['mail/smtp']), ['mail/smtp', 'pay/card', 'shop/api', 'shop/web']);
  assert.ok(isServiceId('a-b/c1') && !isServiceId('a/b/c') && !isServiceId('A/b') && !isServiceId('/b') && !isServiceId('a/-b'));
});

Routes('live instances: running, with an address, on a reachable node; the address is the first endpoint', () => {
  const local = localEndpoints([
    {
      name: 'n1',
      reachable: true,
      status: statusOf('n1', [
        running('shop/web#0', '10.0.0.1:31000', '10.0.0.1:31001'),
        { ...replicaState('shop/web#1', 'h', 'starting'), endpoints: ['10.0.0.1:31002'] },
        { ...replicaState('shop/web#2', 'h', 'stopped'), endpoints: ['10.0.0.1:31003'] },
        { ...replicaState('shop/web#3', 'h', 'failed'), endpoints: ['10.0.0.1:31004'] },
        replicaState('shop/web#4', 'h', 'running'), // no endpoints (no address, or an older spec)
      ]),
    },
    { name: 'n2', reachable: false, status: statusOf('n2', [running('shop/web#5', '10.0.0.2:31000')]) }, // offline
    { name: 'n3', reachable: true }, // never reported
  ]);
  assert.equal([...local], [['shop/web', new Map([['n1', ['10.0.0.1:31000']]])]]);
  const routes = nodeRoutes({ node: 'n3', placement: placement(), replicas: [], local, interest: ['shop/web'] });
  assert.equal(routes['shop/web'].endpoints.slice(0, 1), [{ addr: '10.0.0.1:31000', tier: 1 }]);
  assert.equal(addressesOf(undefined), new Map());
});

Routes(`at most ${MAX_ROUTE_ENDPOINTS} endpoints, the closest tiers kept; an address listed twice is kept once, at its closest tier`, () => {
  const many = (node: string, octet: number, n: number) =>
    statusOf(
      node,
      Array.from({ length: n }, (_, i) => running(`shop/web#${octet * 1000 + i}`, `10.0.${octet}.${i % 250}:${31000 + i}`)),
    );
  const local = localEndpoints([
    { name: 'n1', reachable: true, status: many('n1', 1, 100) },
    { name: 'n2', reachable: true, status: many('n2', 2, 200) },
  ]);
  const p = placement();
  p.routes!['shop/web'].clusters[0].endpoints = ['10.0.1.0:31000']; // rome lists n1's first instance too
  const e = nodeRoutes({ node: 'n1', placement: p, replicas: [webReplica()], local })['shop/web'].endpoints;
  assert.is(e.length, MAX_ROUTE_ENDPOINTS);
  assert.is(e.filter((x) => x.tier === 0).length, 100);
  assert.is(e.filter((x) => x.tier === 1).length, MAX_ROUTE_ENDPOINTS - 100);
  assert.not.ok(
    e.some((x) => x.tier >= 2),
    'other clusters dropped first',
  );
  assert.is(new Set(e.map((x) => x.addr)).size, e.length);
  const small = localEndpoints([{ name: 'n1', reachable: true, status: statusOf('n1', [running('shop/web#0', '10.0.1.0:31000')]) }]);
  const dup = nodeRoutes({ node: 'n1', placement: p, replicas: [webReplica()], local: small })['shop/web'].endpoints;
  assert.equal(
    dup.filter((x) => x.addr === '10.0.1.0:31000'),
    [{ addr: '10.0.1.0:31000', tier: 0 }],
  );
});

Routes('a service the placement has no route for (an older root): its first port, its instances here only', () => {
  const p = aPlacement('munich').with(web).with(api).with(jobs).with(smtp).build(); // no routes at all
  const local = localEndpoints([{ name: 'n2', reachable: true, status: statusOf('n2', [running('shop/api#0', '10.0.0.2:32000')]) }]);
  const routes = nodeRoutes({ node: 'n1', placement: p, replicas: [webReplica()], local });
  assert.equal(routes, {
    'shop/api': { port: 9000, protocol: 'tcp', endpoints: [{ addr: '10.0.0.2:32000', tier: 1 }] },
    'shop/web': { port: 8080, endpoints: [] },
  });
  assert.not.ok('pay/card' in routes, 'a used service neither routed nor here: no route');
  assert.not.ok('shop/jobs' in routes, 'no ports: no route');
  assert.equal(Object.keys(nodeRoutes({ node: 'n1', placement: p, replicas: [], local, interest: ['mail/smtp'] })), ['mail/smtp']);
  assert.equal(nodeRoutes({ node: 'n1', placement: undefined, replicas: [webReplica()], local }), {}, 'no placement: nothing known');
});

Routes('deterministic: the same routes whatever order the inputs come in', () => {
  const a = [
    { name: 'n2', reachable: true, status: statusOf('n2', [running('shop/web#1', '10.0.0.2:31000'), running('shop/web#2', '10.0.0.2:30999')]) },
    { name: 'n3', reachable: true, status: statusOf('n3', [running('shop/web#3', '10.0.0.3:31000')]) },
  ];
  const b = [a[1], { ...a[0], status: { ...a[0].status, replicas: [...a[0].status.replicas].reverse() } }];
  const one = nodeRoutes({
    node: 'n1',
    placement: placement(),
    replicas: [webReplica(0), aReplica(api, 0)],
    local: localEndpoints(a),
    interest: ['mail/smtp'],
  });
  const two = nodeRoutes({
    node: 'n1',
    placement: placement(),
    replicas: [aReplica(api, 0), webReplica(0)],
    local: localEndpoints(b),
    interest: ['mail/smtp'],
  });
  assert.is(JSON.stringify(one), JSON.stringify(two));
  assert.equal(
    one['shop/web'].endpoints.slice(0, 3).map((e) => e.addr),
    ['10.0.0.2:30999', '10.0.0.2:31000', '10.0.0.3:31000'],
  );
});

Routes('servicesByApp: routed services and services here with ports, by app', () => {
  const p = placement();
  assert.equal(
    [...servicesByApp(p)],
    [
      ['shop', ['shop/api', 'shop/web']],
      ['pay', ['pay/card']],
      ['mail', ['mail/smtp']],
    ],
  );
  assert.equal(servicesByApp(undefined), new Map());
});

const Interest = suite('clusterInterest');

Interest('what online nodes asked for that the placement has no route for: valid ids, sorted, without duplicates', () => {
  const p = placement();
  assert.equal(clusterInterest(p, [['shop/web', 'zz/top', 'bad id'], undefined, ['aa/b', 'zz/top', 'mail/smtp']]), ['aa/b', 'zz/top']);
  assert.equal(clusterInterest(p, []), []);
  assert.equal(clusterInterest(undefined, [['shop/web']]), ['shop/web'], 'no placement: everything asked for');
});

Interest(`at most ${MAX_INTEREST}`, () => {
  const ids = Array.from({ length: MAX_INTEREST + 10 }, (_, i) => `app/s${String(i).padStart(4, '0')}`);
  const got = clusterInterest(placement(), [ids.slice(0, 200), ids.slice(150)]);
  assert.is(got.length, MAX_INTEREST);
  assert.is(got[0], 'app/s0000');
});

Routes.run();
Interest.run();
