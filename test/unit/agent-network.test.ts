// The node's side of service names (agents/network): the service range and its allocator, the
// listeners opened per route and policy, and what a replica is told (variables, host names).
// The proxy here is a recorder: the real one is tested in proxy*.test.ts, and end to end in
// test/e2e/networking.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { agentNetwork, serviceHost, type Policy, type ProxyPort } from '../../agents/network/network.js';
import { parseRange, rangeProblem, serviceAddresses } from '../../agents/network/service-addresses.js';
import { endpointsOf } from '../../agents/steps/report.js';
import type { NodeRoute, ReplicaSpec } from '../../schemas/messages.js';
import { createLogger } from '../../reconciler/core/log.js';
import { tempDir } from '../helpers/cleanup.js';

const test = suite('agent network: service names');
const log = createLogger('test', 'error');
const tmp = () => tempDir('canopy-net-');

function recorder(taken: Set<string> = new Set()) {
  const listening = new Map<string, { host: string; port: number }>();
  const routes = new Map<string, NodeRoute | undefined>();
  let next = 40000;
  const proxy: ProxyPort = {
    async listen(service: string, policy: Policy, host: string, port: number) {
      if (taken.has(`${host}:${port}`)) throw Object.assign(new Error(`listen EADDRINUSE ${host}:${port}`), { code: 'EADDRINUSE' });
      const at = { host, port: port || next++ };
      listening.set(`${service}|${policy}`, at);
      return at;
    },
    async unlisten(service: string) {
      for (const k of [...listening.keys()]) if (k.startsWith(`${service}|`)) listening.delete(k);
    },
    setRoute(service: string, route: NodeRoute | undefined) {
      routes.set(service, route);
    },
  };
  return { proxy, listening, routes };
}

const route = (port: number, addrs: string[] = []): NodeRoute => ({ port, endpoints: addrs.map((addr, i) => ({ addr, tier: i })) });
const replica = (service: string, uses?: string[]): Pick<ReplicaSpec, 'service' | 'spec'> => ({
  service,
  spec: { runtime: 'container', image: 'x', replicas: 1, ...(uses ? { uses } : {}) },
});

test('service range: parsed and checked', () => {
  assert.equal(parseRange('198.18.0.0/15'), { base: (198 * 256 + 18) * 65536, size: 131072, text: '198.18.0.0/15' });
  assert.ok(rangeProblem('198.18.0.0'));
  assert.ok(rangeProblem('10.0.0.0/28'));
  assert.ok(rangeProblem('300.1.1.1/16'));
  assert.is(rangeProblem('10.99.0.0/16'), undefined);
});

test('addresses: in the range, never .0 or .255, kept across a restart, different per node', async () => {
  const range = parseRange('10.99.0.0/16');
  const dir = tmp();
  const a = await serviceAddresses(range, 'n1', dir);
  const ip = a.addressFor('shop/web|round-robin');
  assert.match(ip, /^10\.99\.\d+\.\d+$/);
  assert.not.match(ip, /\.(0|255)$/);
  assert.is(a.addressFor('shop/web|round-robin'), ip, 'the same key keeps its address');
  assert.is.not(a.addressFor('shop/web|round-robin', 1), ip, 'a later attempt moves past a taken one');
  const moved = a.addressFor('shop/web|round-robin');
  await a.save();
  const again = await serviceAddresses(range, 'n1', dir);
  assert.is(again.addressFor('shop/web|round-robin'), moved, 'a restarted agent listens where its containers were told');
  const other = await serviceAddresses(range, 'n2', tmp());
  assert.is.not(other.addressFor('shop/web|round-robin'), ip);
});

test('each route: one listener per policy at an address of its own on the service port; variables and host names', async () => {
  const { proxy, listening, routes } = recorder();
  const addresses = await serviceAddresses(parseRange('10.99.0.0/16'), 'n1', tmp());
  const net = agentNetwork({ proxy, addresses, nodeAddress: '127.0.0.2', log });
  await net.sync({ 'shop/web': route(8080, ['127.0.0.3:31000']), 'shop/db': route(5432), 'ops/dash': route(9000) });
  const rr = listening.get('shop/web|round-robin')!;
  const closest = listening.get('shop/web|closest')!;
  assert.is(rr.port, 8080);
  assert.is(closest.port, 8080);
  assert.is.not(rr.host, closest.host, 'round-robin and closest names differ');
  assert.equal(routes.get('shop/web'), route(8080, ['127.0.0.3:31000']));
  const { env, hosts } = net.workloadEnv(replica('shop/worker'));
  assert.is(env.CANOPY_ADDR_SHOP_WEB, `${rr.host}:8080`);
  assert.is(env.CANOPY_CLOSEST_SHOP_WEB, `${closest.host}:8080`);
  assert.ok(env.CANOPY_ADDR_SHOP_DB);
  assert.is(env.CANOPY_ADDR_OPS_DASH, undefined, 'another app without uses: no variable');
  assert.is(hosts['web.shop.canopy'], rr.host);
  assert.is(hosts['closest.web.shop.canopy'], closest.host);
  assert.is(hosts['dash.ops.canopy'], listening.get('ops/dash|round-robin')!.host, 'host names for every route of the node');
  assert.ok(net.workloadEnv(replica('shop/worker', ['ops/dash'])).env.CANOPY_CLOSEST_OPS_DASH, 'uses gives the variable');
});

test('a taken address is skipped; a route gone closes its listeners; a new port opens them again', async () => {
  const addresses = await serviceAddresses(parseRange('10.99.0.0/16'), 'n1', tmp());
  const first = addresses.addressFor('shop/web|round-robin');
  const { proxy, listening, routes } = recorder(new Set([`${first}:8080`]));
  const net = agentNetwork({ proxy, addresses, nodeAddress: '127.0.0.2', log });
  await net.sync({ 'shop/web': route(8080) });
  assert.is.not(listening.get('shop/web|round-robin')!.host, first);
  await net.sync({ 'shop/web': route(8081) });
  assert.is(listening.get('shop/web|closest')!.port, 8081);
  await net.sync({});
  assert.is(listening.size, 0);
  assert.is(routes.get('shop/web'), undefined);
  assert.equal(net.workloadEnv(replica('shop/worker')), { env: {}, hosts: {} });
});

test('without a service range: the node address at a free port, variables only', async () => {
  const { proxy } = recorder();
  const net = agentNetwork({ proxy, nodeAddress: '127.0.0.2', log });
  await net.sync({ 'shop/web': route(8080) });
  const { env, hosts } = net.workloadEnv(replica('shop/worker'));
  assert.match(env.CANOPY_ADDR_SHOP_WEB, /^127\.0\.0\.2:4000\d$/);
  assert.equal(hosts, {});
});

test('serviceHost names round-robin and closest', () => {
  assert.is(serviceHost('shop/web', 'round-robin'), 'web.shop.canopy');
  assert.is(serviceHost('shop/web', 'closest'), 'closest.web.shop.canopy');
});

test('endpoints: the first port first; a container port Docker published counts; no first port, none', () => {
  const r = (ports: Array<{ port: number; hostPort?: number }>, runtime: 'container' | 'process' = 'container'): ReplicaSpec => ({
    id: 'shop/web#0',
    service: 'shop/web',
    index: 0,
    specHash: 'h',
    spec: { runtime, image: 'x', replicas: 1, ports },
  });
  assert.equal(endpointsOf(r([{ port: 80 }, { port: 81, hostPort: 8081 }]), '127.0.0.2', { '80/tcp': 32768 }), ['127.0.0.2:32768', '127.0.0.2:8081']);
  assert.equal(endpointsOf(r([{ port: 80 }, { port: 81, hostPort: 8081 }]), '127.0.0.2'), [], 'the first port unknown: none');
  assert.equal(endpointsOf(r([{ port: 80 }], 'process'), 'fd00::2'), ['[fd00::2]:80']);
});

test.run();
