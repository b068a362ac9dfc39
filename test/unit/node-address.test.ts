// Nodes have addresses: what --address accepts, the default an agent falls back to, the status
// field that carries it (validated as an IP), the cluster's node view that keeps it (and never
// the aggregate sent to the root), the environment workloads get, and the loopback addresses
// `canopy up` hands out.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { addressProblem, defaultNodeAddress } from '../../agents/node-address.js';
import { nodeStatus } from '../../agents/steps/report.js';
import { newAgentState } from '../../agents/state.js';
import { nodeEnv } from '../../agents/runtimes/driver.js';
import { checkValue } from '../../schemas/parse.js';
import { createClusterState, nodeViews } from '../../reconciler/cluster/state.js';
import { loopbackAddresses } from '../../cli/commands/up.js';
import { FACTS } from '../helpers/agent-fakes.js';

const AT = '2025-01-01T00:01:00.000Z';
const test = suite('node addresses');

test('--address takes IPv4 and IPv6 literals, nothing else', () => {
  for (const ok of ['127.0.0.9', '192.168.1.20', '::1', 'fd00::20', '::ffff:10.0.0.1', 'fe80::1%eth0']) assert.is(addressProblem(ok), undefined, ok);
  for (const bad of ['', 'localhost', 'node1.example.com', '256.0.0.1', '10.0.0', '10.0.0.1:80', '1.2.3.4/24', 'fd00::g'])
    assert.match(addressProblem(bad) ?? '', /expected an IPv4 or IPv6 address/, bad);
});

test('the default: the broker connection’s local address, an IPv4-mapped one as IPv4, else 127.0.0.1', () => {
  assert.is(defaultNodeAddress('10.1.2.3'), '10.1.2.3');
  assert.is(defaultNodeAddress('::ffff:10.1.2.3'), '10.1.2.3');
  assert.is(defaultNodeAddress('fd00::7'), 'fd00::7');
  assert.is(defaultNodeAddress(undefined), '127.0.0.1');
  assert.is(defaultNodeAddress(''), '127.0.0.1');
  assert.is(defaultNodeAddress('not-an-ip'), '127.0.0.1');
});

test('the node status carries the address when the node has one, and the schema checks it', () => {
  const s = newAgentState(undefined, 2000);
  const bare = nodeStatus(s, FACTS, AT);
  assert.not.ok('address' in bare);
  assert.ok(checkValue('NodeStatus', bare, 'status').ok, 'no address: still valid (old agents)');
  const st = nodeStatus(s, { ...FACTS, address: '127.0.0.5' }, AT);
  assert.is(st.address, '127.0.0.5');
  for (const a of ['127.0.0.5', 'fd00::20', '::ffff:10.0.0.1', 'fe80::1%eth0']) assert.ok(checkValue('NodeStatus', { ...st, address: a }, 'status').ok, a);
  for (const a of ['localhost', '300.1.1.1', '10.0.0', '', '1.2.3.4 ']) {
    const r = checkValue('NodeStatus', { ...st, address: a }, 'status');
    assert.not.ok(r.ok, a);
    if (!r.ok) assert.match(r.error, /address/, a);
  }
});

test('the cluster keeps each node’s address in its node view', () => {
  const s = createClusterState({ now: 0 });
  const st = nodeStatus(newAgentState(undefined, 2000), { ...FACTS, address: '127.0.0.3' }, AT);
  s.nodes.set('n1', { status: st, online: true, connected: true, lastHeard: 0 });
  s.nodes.set('n2', { status: { ...st, node: 'n2', address: undefined }, online: true, connected: true, lastHeard: 0 });
  const views = nodeViews(s);
  assert.is(views.find((v) => v.name === 'n1')?.address, '127.0.0.3');
  assert.not.ok('address' in views.find((v) => v.name === 'n2')!);
});

test('workloads get CANOPY_NODE_ADDRESS when the driver knows the address', () => {
  const base = { fleet: 'f', cluster: 'c', node: 'n1', stateDir: '/tmp/x' };
  assert.equal(nodeEnv({ ...base, nodeAddress: '127.0.0.4' }), { CANOPY_NODE_ADDRESS: '127.0.0.4' });
  assert.equal(nodeEnv(base), {});
});

test('up: node i of the fleet, across clusters, at 127.0.0.(i+2); none shared; refused past 127.0.0.254', () => {
  const a = loopbackAddresses([
    { name: 'munich', nodes: 2 },
    { name: 'paris', nodes: 3 },
  ]);
  assert.equal(
    [...a],
    [
      ['munich/munich-n1', '127.0.0.2'],
      ['munich/munich-n2', '127.0.0.3'],
      ['paris/paris-n1', '127.0.0.4'],
      ['paris/paris-n2', '127.0.0.5'],
      ['paris/paris-n3', '127.0.0.6'],
    ],
  );
  const most = loopbackAddresses([
    { name: 'a', nodes: 200 },
    { name: 'b', nodes: 53 },
  ]);
  assert.is(most.size, 253);
  assert.is(new Set(most.values()).size, 253);
  assert.is(most.get('b/b-n53'), '127.0.0.254');
  assert.throws(
    () => loopbackAddresses([{ name: 'a', nodes: 254 }]),
    (e: Error) => /254 nodes do not fit on loopback.*127\.0\.0\.2 to 127\.0\.0\.254/.test(e.message),
  );
});

test.run();
