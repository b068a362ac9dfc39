// Endpoints down the hierarchy, the cluster's part, over a real Mosquitto: a real cluster, a
// placement with two services of one app (shop/web on node a, shop/api on node b, shop/web also
// in another cluster), and two fake nodes that run what they are told (they report each replica
// running at an address of their own, as an agent does). Each node's retained desired state
// carries routes with the right tiers; when b's instance stops, or b's session ends, a is sent a
// new desired state without b's endpoint; a node's interest the placement has no route for shows
// up in the cluster's status.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startCluster, type Cluster } from '../../reconciler/cluster/cluster.js';
import { connectBus, type Bus } from '../../reconciler/mqtt/bus.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { createLogger } from '../../reconciler/core/log.js';
import type { ClusterStatus, NodeDesired, NodeRoute, NodeStatus, Placement, ReplicaState } from '../../schemas/messages.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/git.js';
import { eventually } from '../helpers/canopy.js';
import { aNode, aNodeStatus, aPlacement, aService } from '../helpers/builders.js';

const test = suite('cluster routes: each node is told the endpoints of the services it may call, by tier');
const t = topics('demo');
const log = createLogger('cluster-routes', 'error');
const HEARTBEAT_MS = 500;
const PARIS_WEB = '10.9.0.1:30080';

/** A node that runs what it is told: every replica running, its address `<addr>:<port of its service>`. */
class FakeNode {
  desired: NodeDesired[] = [];
  stopped = new Set<string>();
  interest?: string[];
  private constructor(
    readonly name: string,
    readonly addr: string,
    private readonly role: string,
    private readonly bus: Bus,
  ) {}

  static async start(url: string, name: string, addr: string, role: string): Promise<FakeNode> {
    const bus = await connectBus({ url, clientId: `test-node-${name}`, log, onlineTopic: t.nodeOnline('edge', name) });
    const n = new FakeNode(name, addr, role, bus);
    await bus.subscribe(t.nodeDesired('edge', name), (_topic, payload) => {
      if (!payload.length) return;
      n.desired.push(JSON.parse(String(payload)));
      void n.report();
    });
    await n.report();
    return n;
  }

  /** Its routes as last told. */
  routes(): Record<string, NodeRoute> | undefined {
    return this.desired.at(-1)?.routes;
  }

  async report(): Promise<void> {
    const last = this.desired.at(-1);
    const port = (service: string) => (service === 'shop/web' ? 31080 : 31090);
    const replicas: ReplicaState[] = (last?.replicas ?? []).map((r) => {
      const stopped = this.stopped.has(r.id);
      return {
        id: r.id,
        service: r.service,
        specHash: r.specHash,
        state: stopped ? 'stopped' : 'running',
        since: new Date().toISOString(),
        ...(stopped ? {} : { endpoints: [`${this.addr}:${port(r.service)}`, `${this.addr}:${port(r.service) + 1}`] }),
      };
    });
    const status: NodeStatus = {
      ...aNodeStatus(aNode(this.name).withLabels({ role: this.role }).build(), replicas),
      at: new Date().toISOString(),
      appliedSeq: last?.seq ?? null,
      address: this.addr,
      ...(this.interest ? { interest: this.interest } : {}),
    };
    await this.bus.publish(t.nodeStatus('edge', this.name), status, { retain: true });
  }

  private closed?: Promise<void>;
  close(): Promise<void> {
    this.closed ??= this.bus.close();
    return this.closed;
  }
}

let mq: Mosquitto;
let root: Bus;
let clusterBus: Bus;
let cluster: Cluster;
let a: FakeNode;
let b: FakeNode;
const statuses: ClusterStatus[] = [];

function placement(): Placement {
  const web = aService('shop/web').replicas(1).ports({ port: 8080 }, { port: 8081 }).onNodesLabelled({ role: 'front' });
  const api = aService('shop/api').replicas(1).ports({ port: 9000 }).onNodesLabelled({ role: 'back' });
  const p = aPlacement('edge').with(web).with(api).seq(1).build();
  p.routes = {
    'shop/web': { port: 8080, clusters: [{ cluster: 'paris', rank: 0, endpoints: [PARIS_WEB] }] },
    'shop/api': { port: 9000, clusters: [] },
  };
  return p;
}

test.before(async () => {
  mq = await startMosquitto();
  root = await connectBus({ url: mq.url, clientId: 'test-root', log });
  await root.subscribe(t.clusterStatus('edge'), (_topic, payload) => {
    if (payload.length) statuses.push(JSON.parse(String(payload)));
  });
  a = await FakeNode.start(mq.url, 'a', '127.0.0.2', 'front');
  b = await FakeNode.start(mq.url, 'b', '127.0.0.3', 'back');
  clusterBus = await connectBus({ url: mq.url, clientId: 'test-cluster-edge', log });
  cluster = await startCluster({
    name: 'edge',
    fleet: 'demo',
    bus: clusterBus,
    nodeBus: clusterBus,
    stateDir: tempDir('canopy-routes-'),
    log,
    heartbeatMs: HEARTBEAT_MS,
  });
  await root.publish(t.clusterDesired('edge'), { kind: 'snapshot', placement: placement() }, { retain: true });
});

test.after(async () => {
  await cluster?.stop();
  await clusterBus?.close();
  await a?.close();
  await b?.close();
  await root?.close();
  await mq?.stop();
});

const apiOn = (n: FakeNode) => n.routes()?.['shop/api']?.endpoints;
const webOn = (n: FakeNode) => n.routes()?.['shop/web']?.endpoints;

test("each node's desired carries routes: its own instance tier 0, the other node's tier 1, the other cluster's tier 2", async () => {
  await eventually(
    'a runs shop/web and has both routes',
    () => a.desired.at(-1)?.replicas[0]?.service === 'shop/web' && apiOn(a)?.length && webOn(a)?.length === 2,
    10_000,
    20,
  );
  await eventually(
    'b runs shop/api and has both routes',
    () => b.desired.at(-1)?.replicas[0]?.service === 'shop/api' && apiOn(b)?.length && webOn(b)?.length === 2,
    10_000,
    20,
  );
  assert.equal(a.routes(), {
    'shop/api': { port: 9000, endpoints: [{ addr: '127.0.0.3:31090', tier: 1 }] },
    'shop/web': {
      port: 8080,
      endpoints: [
        { addr: '127.0.0.2:31080', tier: 0 },
        { addr: PARIS_WEB, tier: 2 },
      ],
    },
  });
  assert.equal(b.routes(), {
    'shop/api': { port: 9000, endpoints: [{ addr: '127.0.0.3:31090', tier: 0 }] },
    'shop/web': {
      port: 8080,
      endpoints: [
        { addr: '127.0.0.2:31080', tier: 1 },
        { addr: PARIS_WEB, tier: 2 },
      ],
    },
  });
  // What the cluster exposes: the address (first port) of each instance.
  const st = await eventually('the cluster exposes both addresses', () => {
    const s = statuses.at(-1);
    return s?.services['shop/web']?.endpoints && s.services['shop/api']?.endpoints ? s : undefined;
  });
  assert.equal(st!.services['shop/web'].endpoints, ['127.0.0.2:31080']);
  assert.equal(st!.services['shop/api'].endpoints, ['127.0.0.3:31090']);
});

test("b's instance stops: a is sent a new desired state without b's endpoint, with a higher seq", async () => {
  const seq = a.desired.at(-1)!.seq;
  b.stopped.add('shop/api#0');
  await b.report();
  await eventually('a is told shop/api has no endpoint', () => apiOn(a)?.length === 0, 10_000, 20);
  assert.ok(a.desired.at(-1)!.seq > seq);
  assert.equal(webOn(a), [
    { addr: '127.0.0.2:31080', tier: 0 },
    { addr: PARIS_WEB, tier: 2 },
  ]);
  b.stopped.clear();
  await b.report();
  await eventually("a is told b's endpoint again", () => apiOn(a)?.length === 1, 10_000, 20);
});

test("a node's interest the placement has no route for shows up in the cluster's status", async () => {
  a.interest = ['ext/thing', 'shop/api', 'Not An Id'];
  await a.report();
  const st = await eventually('the cluster asks for ext/thing', () => statuses.find((s) => s.interest), 10_000, 20);
  assert.equal(st!.interest, ['ext/thing']);
});

test("b's session ends: a is sent a new desired state without b's endpoint", async () => {
  await eventually("a has b's endpoint", () => apiOn(a)?.length === 1, 10_000, 20);
  const seq = a.desired.at(-1)!.seq;
  await b.close();
  await eventually('a is told shop/api has no endpoint', () => apiOn(a)?.length === 0, 10_000, 20);
  assert.ok(a.desired.at(-1)!.seq > seq);
  const st = await eventually('the cluster no longer exposes b', () => {
    const s = statuses.at(-1);
    return s && !s.services['shop/api']?.endpoints ? s : undefined;
  });
  assert.equal(st!.services['shop/web'].endpoints, ['127.0.0.2:31080']);
});

test.run();
