// The agent's apply step: the plan's starts and stops on fake drivers, the restart records
// behind the backoff, failed starts remembered for the status, and settled replicas forgotten.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { applyActions, forgetSettled, startFailed, SETTLED_MS } from '../../agents/steps/apply.js';
import { agentDrivers } from '../../agents/steps/apply.js';
import { newAgentState } from '../../agents/state.js';
import type { AgentAction } from '../../agents/plan.js';
import { aReplica, aService, observed, SINCE } from '../helpers/builders.js';
import { fakeDriver, fakePorts } from '../helpers/agent-fakes.js';

const web0 = aReplica(aService('shop/web'), 0);
const job0 = aReplica(aService('shop/job').runtime('process'), 0);
const T0 = Date.parse(SINCE);
const start = (replica = web0, why = 'missing'): AgentAction => ({ kind: 'start', replica, why });
const stop = (id = web0.id): AgentAction => ({ kind: 'stop', id, why: 'no longer assigned to this node' });

const Apply = suite('applyActions');

Apply('starts a replica on the driver of its runtime and logs why', async () => {
  const d = fakeDriver();
  const p = fakePorts(d);
  const s = newAgentState(undefined, 2000);
  await applyActions(s, p, [start()], T0);
  assert.equal(d.calls, [`start ${web0.id}`]);
  assert.ok(p.log.lines.includes(`info: start ${web0.id}: missing`));
  assert.equal([...s.restarts], [], 'a first start is no restart');
  assert.equal(p.restarts, []);
});

Apply('a restart counts towards the backoff from the time of the plan, and is counted by runtime', async () => {
  const p = fakePorts();
  const s = newAgentState(undefined, 2000);
  s.restarts.set(web0.id, { count: 2, lastAt: T0 - 60_000 });
  await applyActions(s, p, [start(web0, 'restart after: exited with code 1')], T0);
  assert.equal(s.restarts.get(web0.id), { count: 3, lastAt: T0 });
  assert.equal(p.restarts, ['container']);
});

Apply('a start that fails counts once towards the backoff, restart or not, and is kept for the status', async () => {
  for (const why of ['missing', 'restart after: failed']) {
    const d = fakeDriver();
    d.failStart.set(web0.id, 'image canopy/app:1 not found');
    const p = fakePorts(d);
    p.clock.ms = T0 + 1500; // the failure's time, later than the plan's
    const s = newAgentState(undefined, 2000);
    s.restarts.set(web0.id, { count: 1, lastAt: T0 - 10 });
    await applyActions(s, p, [start(web0, why)], T0);
    assert.equal(s.restarts.get(web0.id), { count: 2, lastAt: T0 }, why);
    assert.equal(s.startErrors.get(web0.id), {
      id: web0.id,
      service: web0.service,
      specHash: web0.specHash,
      state: 'failed',
      message: 'image canopy/app:1 not found',
      since: new Date(T0 + 1500).toISOString(),
    });
    assert.ok(p.log.lines.includes(`warn: start ${web0.id} failed: image canopy/app:1 not found`));
  }
});

Apply('a start that succeeds clears the failure it had', async () => {
  const p = fakePorts();
  const s = newAgentState(undefined, 2000);
  startFailed(s, web0, 'boom', T0);
  await applyActions(s, p, [start()], T0);
  assert.is(s.startErrors.size, 0);
});

Apply('a node without a driver for the runtime reports the replica failed without trying', async () => {
  const d = fakeDriver();
  const p = { ...fakePorts(d), drivers: agentDrivers({ container: d }) };
  const s = newAgentState(undefined, 2000);
  await applyActions(s, p, [start(job0)], T0);
  assert.equal(d.calls, []);
  assert.is(s.startErrors.get(job0.id)?.message, 'this node cannot run process workloads');
});

Apply('a stop goes to every driver once and forgets the replica', async () => {
  const a = fakeDriver('docker');
  const b = fakeDriver('process');
  const p = { ...fakePorts(a), drivers: agentDrivers({ container: a, process: b }) };
  const s = newAgentState(undefined, 2000);
  s.restarts.set(web0.id, { count: 4, lastAt: T0 });
  startFailed(s, web0, 'boom', T0);
  await applyActions(s, p, [stop()], T0);
  assert.equal([a.calls, b.calls], [[`stop ${web0.id}`], [`stop ${web0.id}`]]);
  assert.equal([s.restarts.size, s.startErrors.size], [0, 0]);
  assert.ok(p.log.lines.includes(`info: stop ${web0.id}: no longer assigned to this node`));
});

Apply('one driver serving both kinds is one driver', () => {
  const d = fakeDriver();
  assert.is(agentDrivers({ container: d, process: d }).all.length, 1);
  assert.is(agentDrivers({ process: d }).all.length, 1);
});

const Failed = suite('startFailed');

Failed('the same failure again keeps its first time; another message starts a new one', () => {
  const s = newAgentState(undefined, 2000);
  startFailed(s, web0, 'boom', T0);
  startFailed(s, web0, 'boom', T0 + 5000);
  assert.is(s.startErrors.get(web0.id)?.since, new Date(T0).toISOString());
  startFailed(s, web0, 'bang', T0 + 9000);
  assert.is(s.startErrors.get(web0.id)?.since, new Date(T0 + 9000).toISOString());
});

const Settled = suite('forgetSettled');

// name, observed state, running for (ms), forgotten?
const settled: Array<[string, 'running' | 'failed' | 'starting', number, boolean]> = [
  ['running longer than the settle time', 'running', SETTLED_MS + 1, true],
  ['running exactly the settle time', 'running', SETTLED_MS, false],
  ['running briefly', 'running', 500, false],
  ['failed long ago', 'failed', 10 * SETTLED_MS, false],
  ['starting long ago', 'starting', 10 * SETTLED_MS, false],
];
for (const [name, state, forMs, forgotten] of settled) {
  Settled(`${name}: record ${forgotten ? 'forgotten' : 'kept'}`, () => {
    const s = newAgentState(undefined, 2000);
    s.restarts.set(web0.id, { count: 3, lastAt: T0 });
    s.observed = [observed(web0, state)];
    forgetSettled(s, T0 + forMs);
    assert.is(s.restarts.has(web0.id), !forgotten);
  });
}

Apply.run();
Failed.run();
Settled.run();
