// The agent's report step: the status built from the state (observed replicas, failed starts,
// round trips, the node's facts) and sent only when it changed, when connected.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { endpointsOf, nodeStatus, reportStatus } from '../../agents/steps/report.js';
import { startFailed } from '../../agents/steps/apply.js';
import { reconnected } from '../../agents/events.js';
import { newAgentState } from '../../agents/state.js';
import { aReplica, aService, observed, SINCE } from '../helpers/builders.js';
import { anAssignment, FACTS, fakePorts } from '../helpers/agent-fakes.js';

const web0 = aReplica(aService('shop/web'), 0);
const web1 = aReplica(aService('shop/web'), 1);
const api0 = aReplica(aService('shop/api'), 0);
const T0 = Date.parse(SINCE);
const AT = '2025-01-01T00:01:00.000Z';

const Status = suite('nodeStatus');

Status('an agent with nothing: no applied seq, no replicas, the node facts', () => {
  assert.equal(nodeStatus(newAgentState(undefined, 2000), FACTS, AT), {
    kind: 'node-status',
    node: 'n1',
    at: AT,
    appliedSeq: null,
    capacity: FACTS.capacity,
    arch: 'amd64',
    runtimes: ['container', 'process'],
    labels: {},
    replicas: [],
  });
});

Status('replicas in id order; a failed start only when the runtime does not show the replica', () => {
  const s = newAgentState(anAssignment([web0, web1, api0], { seq: 4 }), 2000);
  s.observed = [observed(web1, 'failed', { message: 'exited with code 2' }), observed(web0)];
  startFailed(s, web1, 'boom', T0);
  startFailed(s, api0, 'image not found', T0);
  const st = nodeStatus(s, FACTS, AT);
  assert.is(st.appliedSeq, 4);
  assert.equal(
    st.replicas.map((r) => [r.id, r.state, r.message]),
    [
      [api0.id, 'failed', 'image not found'],
      [web0.id, 'running', undefined],
      [web1.id, 'failed', 'exited with code 2'],
    ],
  );
  assert.not.ok('message' in st.replicas[1], 'no message key when there is none');
});

Status('round trips and location only when there are any', () => {
  const s = newAgentState(undefined, 2000);
  assert.not.ok('latency' in nodeStatus(s, FACTS, AT));
  assert.not.ok('location' in nodeStatus(s, FACTS, AT));
  s.latency = { edge: 3.5, core: 12 };
  const st = nodeStatus(s, { ...FACTS, location: { lat: 48.1, lon: 11.6 } }, AT);
  assert.equal(st.latency, { edge: { ms: 3.5 }, core: { ms: 12 } });
  assert.equal(st.location, { lat: 48.1, lon: 11.6 });
});

const Report = suite('reportStatus');

Report('sent when it changed, not when only its time did; kept in the state either way', async () => {
  const s = newAgentState(anAssignment([web0]), 2000);
  const p = fakePorts();
  s.observed = [observed(web0)];
  assert.is(await reportStatus(s, FACTS, p, AT), true);
  assert.is(await reportStatus(s, FACTS, p, '2025-01-01T00:02:00.000Z'), false);
  assert.is(s.status?.at, '2025-01-01T00:02:00.000Z');
  s.observed = [observed(web0, 'failed')];
  assert.is(await reportStatus(s, FACTS, p, AT), true);
  assert.equal(
    p.published.map((st) => st.replicas[0].state),
    ['running', 'failed'],
  );
});

Report('not sent while disconnected; sent once connected', async () => {
  const s = newAgentState(undefined, 2000);
  const p = fakePorts();
  p.connected = false;
  assert.is(await reportStatus(s, FACTS, p, AT), false);
  p.connected = true;
  assert.is(await reportStatus(s, FACTS, p, AT), true);
  assert.is(p.published.length, 1);
});

Report('after a reconnect the same status goes out again', async () => {
  const s = newAgentState(undefined, 2000);
  const p = fakePorts();
  await reportStatus(s, FACTS, p, AT);
  reconnected(s, () => undefined);
  assert.is(await reportStatus(s, FACTS, p, AT), true);
  assert.is(p.published.length, 2);
});

Status('endpoints of running replicas: published ports, and a process port on the node itself', () => {
  const web = aReplica(aService('shop/web').ports({ port: 80, hostPort: 8080 }, { port: 9000 }), 0);
  const proc = aReplica(aService('shop/api').runtime('process').ports({ port: 7000 }, { port: 7001, hostPort: 17001, protocol: 'udp' }), 0);
  const hidden = aReplica(aService('shop/db').ports({ port: 5432 }), 0);
  const down = aReplica(aService('shop/q').ports({ port: 1, hostPort: 1883 }), 0);
  const s = newAgentState(anAssignment([web, proc, hidden, down]), 2000);
  s.observed = [observed(web), observed(proc), observed(hidden), observed(down, 'failed', { message: 'exited' })];
  const by = (facts: typeof FACTS) => Object.fromEntries(nodeStatus(s, facts, AT).replicas.map((r) => [r.service, r.endpoints]));
  assert.equal(by({ ...FACTS, address: '10.0.0.7' }), {
    'shop/api': ['10.0.0.7:7000', '10.0.0.7:17001'],
    'shop/db': undefined,
    'shop/q': undefined,
    'shop/web': ['10.0.0.7:8080'],
  });
  assert.not.ok('endpoints' in nodeStatus(s, { ...FACTS, address: '10.0.0.7' }, AT).replicas.find((r) => r.service === 'shop/db')!);
  assert.equal(by(FACTS), { 'shop/api': undefined, 'shop/db': undefined, 'shop/q': undefined, 'shop/web': undefined }, 'no address, no endpoints');
});

Status('endpoints: a replica of an older spec has none; IPv6 in brackets; at most 16, without duplicates', () => {
  const web = aReplica(aService('shop/web').ports({ port: 80, hostPort: 8080 }), 0);
  const s = newAgentState(anAssignment([web]), 2000);
  s.observed = [observed(web, 'running', { specHash: 'old' })];
  assert.not.ok('endpoints' in nodeStatus(s, { ...FACTS, address: '10.0.0.7' }, AT).replicas[0]);
  assert.equal(endpointsOf(web, 'fd00::7'), ['[fd00::7]:8080']);
  const many = Array.from({ length: 20 }, (_, i) => ({ port: 1000 + i }));
  const p = aReplica(
    aService('shop/p')
      .runtime('process')
      .ports(...many, { port: 1000 }),
    0,
  );
  const e = endpointsOf(p, '10.0.0.7');
  assert.is(e.length, 16);
  assert.is(new Set(e).size, 16);
  assert.is(e[0], '10.0.0.7:1000');
});

Status.run();
Report.run();
