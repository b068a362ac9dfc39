// Host ports as a placement constraint inside a cluster: two replicas (of any services) that
// publish the same host port and protocol never share a node, and a replica that finds the port
// taken on every node that fits is refused with a reason that names the port.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { serviceVariable, hostPortsOf, portIssues } from '../../reconciler/core/service-names.js';
import { workloadHash } from '../../reconciler/core/ids.js';
import { formatProblem, validateFleet } from '../../reconciler/core/validate.js';
import { portEnv } from '../../agents/runtimes/process.js';
import { aNode, aService } from '../helpers/builders.js';
import { placeOnNodes, assignedOf } from '../helpers/builders.js';

const plan = placeOnNodes;
const assigned = assignedOf;

const Place = suite('placement: host ports');

Place('replicas of one service with a host port go to different nodes', () => {
  // spread: 'none' would pack them: the host port alone keeps them apart.
  const web = aService('shop/web').replicas(2).ports({ port: 80, hostPort: 8080 }).spread('none');
  const p = plan([web], [aNode('n1'), aNode('n2')]);
  assert.equal(assigned(p), { 'shop/web#0': 'n1', 'shop/web#1': 'n2' });
  assert.equal(p.pending.size, 0);
});

Place('without a host port they share a node as before', () => {
  const web = aService('shop/web').replicas(2).ports({ port: 80 }).spread('none');
  assert.equal(assigned(plan([web], [aNode('n1'), aNode('n2')])), { 'shop/web#0': 'n1', 'shop/web#1': 'n1' });
});

Place('two services wanting one host port never share a node', () => {
  const a = aService('shop/a').ports({ port: 80, hostPort: 8080 });
  const b = aService('shop/b').ports({ port: 9000, hostPort: 8080 });
  const p = plan([a, b], [aNode('n1'), aNode('n2')]);
  assert.is.not(p.assignment.get('shop/a#0'), p.assignment.get('shop/b#0'));
  assert.equal(p.pending.size, 0);
});

Place('the same number on another protocol is another port', () => {
  const a = aService('shop/a').ports({ port: 53, hostPort: 5353, protocol: 'udp' });
  const b = aService('shop/b').ports({ port: 53, hostPort: 5353 });
  assert.equal(assigned(plan([a, b], [aNode('n1'), aNode('n2')])), { 'shop/a#0': 'n1', 'shop/b#0': 'n1' });
});

Place('a replica with no node left is refused, naming the port', () => {
  const web = aService('shop/web').replicas(3).ports({ port: 80, hostPort: 8080 });
  const p = plan([web], [aNode('n1'), aNode('n2')]);
  assert.equal(Object.keys(assigned(p)).sort(), ['shop/web#0', 'shop/web#1']);
  assert.is(p.unplaced.get('shop/web'), 1);
  assert.is(p.pending.get('shop/web'), 'no node can take a replica: host port 8080/tcp is taken on every node that fits (n1, n2)');
});

Place('nodes that do not fit for other reasons are left out of "every node that fits"', () => {
  const web = aService('shop/web').replicas(2).cpu(1).ports({ port: 80, hostPort: 8080 });
  const p = plan([web], [aNode('n1').withCapacity(4), aNode('n2').withCapacity(0.5)]);
  assert.is(p.pending.get('shop/web'), 'no node can take a replica: host port 8080/tcp is taken on every node that fits (n1)');
});

Place('when no node fits at all, each node says why, as before', () => {
  const web = aService('shop/web').replicas(1).cpu(1).ports({ port: 80, hostPort: 8080 });
  const p = plan([web], [aNode('n1').withCapacity(0.5)]);
  assert.is(p.pending.get('shop/web'), 'no node can take a replica: n1: needs cpu 1, memory 0Mi, cpu 0.5, memory 8192Mi free');
});

Place('a running replica keeps its node; a newcomer wanting its port goes elsewhere', () => {
  const a = aService('shop/a').ports({ port: 80, hostPort: 8080 });
  const b = aService('shop/b').ports({ port: 80, hostPort: 8080 });
  const p = plan([a, b], [aNode('n1'), aNode('n2')], { 'shop/b#0': 'n1' });
  assert.equal(assigned(p), { 'shop/a#0': 'n2', 'shop/b#0': 'n1' });
});

Place('two replicas kept on one node that now want one port: the second moves', () => {
  const web = aService('shop/web').replicas(2).ports({ port: 80, hostPort: 8080 });
  const p = plan([web], [aNode('n1'), aNode('n2')], { 'shop/web#0': 'n1', 'shop/web#1': 'n1' });
  assert.equal(assigned(p), { 'shop/web#0': 'n1', 'shop/web#1': 'n2' });
});

Place.run();

const Names = suite('service names and port rules');

Names('serviceVariable: upper case, - as _', () => {
  assert.is(serviceVariable('web', 'api'), 'CANOPY_ADDR_WEB_API');
  assert.is(serviceVariable('a-b', 'c'), 'CANOPY_ADDR_A_B_C');
  assert.is(serviceVariable('a', 'b-c'), 'CANOPY_ADDR_A_B_C');
  assert.is(serviceVariable('shop', 'web-2', 'closest'), 'CANOPY_CLOSEST_SHOP_WEB_2');
});

Names('hostPortsOf: only published ports, tcp by default', () => {
  assert.equal(hostPortsOf({ ports: [{ port: 80 }, { port: 81, hostPort: 8081 }, { port: 53, hostPort: 53, protocol: 'udp' }] }), ['8081/tcp', '53/udp']);
  assert.equal(hostPortsOf({}), []);
  assert.equal(
    hostPortsOf({ runtime: 'process', ports: [{ port: 80 }, { port: 81, hostPort: 8081 }] }),
    ['80/tcp', '8081/tcp'],
    'a process listens on the node itself',
  );
});

Names('portIssues: a port twice per protocol', () => {
  assert.equal(portIssues({ ports: [{ port: 80 }, { port: 80, protocol: 'udp' }] }), []);
  assert.equal(
    portIssues({ ports: [{ port: 80 }, { port: 80, protocol: 'tcp' }] }).map((i) => i.message),
    ['spec.ports[1].port: 80/tcp is listed twice (also spec.ports[0])'],
  );
});

Names('workloadHash changes when a port is published, so the replica gets a new container', () => {
  const base = { runtime: 'container', image: 'x:1', replicas: 1 };
  const a = workloadHash({ ...base, ports: [{ port: 80 }] });
  const b = workloadHash({ ...base, ports: [{ port: 80, hostPort: 8080 }] });
  const c = workloadHash({ ...base, ports: [{ port: 80, hostPort: 8081 }] });
  assert.is.not(a, b);
  assert.is.not(b, c);
  assert.is(workloadHash({ ...base, replicas: 3, ports: [{ port: 80, hostPort: 8080 }] }), b);
});

Names('portEnv: CANOPY_PORT is the first port (its hostPort when given), CANOPY_PORT_<i> each', () => {
  assert.equal(portEnv({ runtime: 'process', replicas: 1, ports: [{ port: 80, hostPort: 8080 }, { port: 90 }] }), {
    CANOPY_PORT: '8080',
    CANOPY_PORT_0: '8080',
    CANOPY_PORT_1: '90',
  });
  assert.equal(portEnv({ runtime: 'process', replicas: 1 }), {});
});

const fleetYaml = 'apiVersion: canopy/v1\nkind: Fleet\nmetadata:\n  name: demo\n';
const service = (app: string, name: string, extra = '') =>
  `apiVersion: canopy/v1\nkind: Service\nmetadata:\n  name: ${name}\n  app: ${app}\nspec:\n  runtime: container\n  image: x:1\n  replicas: 1\n${extra}`;

Names("uses: another app's service, or one of its own app (redundant), is accepted", () => {
  const v = validateFleet([
    { path: 'fleet.yaml', text: fleetYaml },
    { path: 'services/shop/web.yaml', text: service('shop', 'web', '  uses: [shop/db, pay/api]\n') },
    { path: 'services/shop/db.yaml', text: service('shop', 'db') },
    { path: 'services/pay/api.yaml', text: service('pay', 'api') },
  ]);
  assert.ok(v.ok, v.ok ? '' : v.problems.map(formatProblem).join('\n'));
});

Names('a service used by another is refused while it is missing, accepted once it is added', () => {
  const files = [
    { path: 'fleet.yaml', text: fleetYaml },
    { path: 'services/shop/web.yaml', text: service('shop', 'web', '  uses: [pay/api]\n') },
  ];
  const v = validateFleet(files);
  assert.equal(v.ok ? [] : v.problems.map(formatProblem), [
    'services/shop/web.yaml:10:10: spec.uses[0]: "pay/api" is not a service of this commit (no services/pay/api.yaml)',
  ]);
  assert.ok(validateFleet([...files, { path: 'services/pay/api.yaml', text: service('pay', 'api') }]).ok);
});

Names.run();
