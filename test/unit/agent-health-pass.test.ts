// Health probes in the node agent: the scheduler probing a real local http server off the pass
// (ready at the first pass, unready and a restart asked for after failures, records dropped with
// their replica), and the pass acting on it: a replica failing its probe is stopped, reported
// failed with `health probe failed: …` and restarted with the backoff, which holds while the
// replica stays unready; the status says ready / notReady of each running replica.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { probeAddress, probeOnce, startHealthProbes } from '../../agents/health/scheduler.js';
import { newHealthRecord, WAITING } from '../../agents/health/readiness.js';
import { syncPass } from '../../agents/pass.js';
import { newAgentState } from '../../agents/state.js';
import { agentDrivers } from '../../agents/steps/apply.js';
import type { ReplicaSpec } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { observed, SINCE } from '../helpers/builders.js';
import { anAssignment, fakeDriver, fakePorts, memoryLog } from '../helpers/agent-fakes.js';

function replica(id: string, spec: Partial<ServiceSpec>, specHash = 'h1'): ReplicaSpec {
  const service = id.slice(0, id.indexOf('#'));
  return { id, service, index: 0, specHash, spec: { runtime: 'process', command: ['sleep', '60'], replicas: 1, ...spec } };
}

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const Scheduler = suite('health probes off the pass, against a real http server');

Scheduler('ready at the first pass, unready with the status, a restart asked for, the record dropped with the replica', async () => {
  const answer = { status: 200 };
  const server = http.createServer((_req, res) => res.writeHead(answer.status).end('ok\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const r = replica('shop/web#0', { ports: [{ port }], health: { http: { path: '/h', port }, intervalSeconds: 1, failureThreshold: 1 } });
  const plain = replica('shop/plain#0', {});
  const s = newAgentState(anAssignment([r, plain]), 2000);
  s.observed = [{ ...observed(r), since: new Date().toISOString() }, observed(plain)];
  let changes = 0;
  const d = fakeDriver('process');
  const probes = startHealthProbes(s, {
    drivers: agentDrivers({ process: d }),
    address: '127.0.0.1',
    onChange: () => changes++,
    now: Date.now,
    log: memoryLog(),
  });
  try {
    probes.sync();
    assert.equal([...s.health.keys()], [r.id], 'only the replica with a probe has a record');
    assert.is(s.health.get(r.id)?.ready, false, 'not ready before its first probe');
    await until('ready', () => s.health.get(r.id)?.ready === true);
    assert.ok(changes >= 1, 'the change enqueued a pass');
    answer.status = 503;
    await until('unready', () => s.health.get(r.id)?.ready === false);
    assert.is(s.health.get(r.id)?.notReady, 'GET /h: 503');
    await until('a restart asked for', () => s.health.get(r.id)?.failed !== undefined);
    assert.is(s.health.get(r.id)?.failed, 'health probe failed: GET /h: 503');
    s.observed = [observed(plain)];
    probes.sync();
    assert.is(s.health.size, 0, 'the record goes with its replica');
  } finally {
    probes.stop();
    server.closeAllConnections();
    await new Promise((res) => server.close(res));
  }
});

Scheduler('a sim replica runs nothing to probe: ready while it runs', () => {
  const r = replica('shop/web#0', { ports: [{ port: 80 }], health: { tcp: { port: 80 } } });
  const s = newAgentState(anAssignment([r]), 2000);
  s.observed = [observed(r)];
  const probes = startHealthProbes(s, { drivers: agentDrivers({ process: fakeDriver('sim') }), onChange: () => {}, now: Date.now, log: memoryLog() });
  probes.sync();
  probes.stop();
  assert.is(s.health.get(r.id)?.ready, true);
});

Scheduler('where a probe connects: the hostPort, a process its own port, a container the port Docker published', () => {
  const container = (ports: NonNullable<ServiceSpec['ports']>) => replica('shop/web#0', { runtime: 'container', image: 'x', ports });
  const o = (r: ReplicaSpec, published?: Record<string, number>) => ({ ...observed(r), ...(published ? { published } : {}) });
  const pub = container([{ port: 8080 }]);
  assert.equal(probeAddress(pub, o(pub, { '8080/tcp': 32768 }), 8080, '127.0.0.2'), { host: '127.0.0.2', port: 32768 });
  assert.is(probeAddress(pub, o(pub), 8080, '127.0.0.2'), 'port 8080/tcp is not published');
  const fixed = container([{ port: 8080, hostPort: 9000 }]);
  assert.equal(probeAddress(fixed, o(fixed, { '8080/tcp': 9000 }), 8080, undefined), { host: '127.0.0.1', port: 9000 });
  const proc = replica('shop/api#0', { ports: [{ port: 7000 }] });
  assert.equal(probeAddress(proc, o(proc), 7000, '10.1.2.3'), { host: '10.1.2.3', port: 7000 }, 'a process listens on the node address');
  assert.equal(probeAddress(proc, o(proc), 7000, '0.0.0.0'), { host: '127.0.0.1', port: 7000 });
});

Scheduler("a process's exec probe runs on the host with the workload's environment", async () => {
  const argv = ['sh', '-c', 'test "$CANOPY_REPLICA" = shop/api#0 && test "$MODE" = on && test "$CANOPY_NODE_ADDRESS" = 127.0.0.3'];
  const r = replica('shop/api#0', { env: { MODE: 'on' }, health: { exec: { command: argv } } });
  const ports = { drivers: agentDrivers({ process: fakeDriver('process') }), address: '127.0.0.3', onChange: () => {}, now: Date.now, log: memoryLog() };
  assert.is(await probeOnce(r, observed(r), 5000, ports), undefined);
  const off = replica('shop/api#0', { env: { MODE: 'off' }, health: { exec: { command: argv } } });
  assert.is(await probeOnce(off, observed(off), 5000, ports), 'exec exited 1');
  const box = replica('shop/box#0', { runtime: 'container', image: 'x', health: { exec: { command: ['true'] } } });
  const sim = { ...ports, drivers: agentDrivers({ container: fakeDriver('sim') }) };
  assert.is(await probeOnce(box, observed(box), 5000, sim), 'exec: the sim runtime cannot run a command in a workload');
});

Scheduler.run();

const Pass = suite('a pass with health');
const T0 = Date.parse(SINCE);
const HEALTH = { ports: [{ port: 80 }], health: { http: { path: '/', port: 80 } } };

Pass('the status carries ready on each running replica, and why not', async () => {
  const probed = replica('shop/web#0', HEALTH);
  const waiting = replica('shop/api#0', HEALTH);
  const plain = replica('shop/db#0', {});
  const d = fakeDriver('process');
  for (const r of [probed, waiting, plain]) d.replicas.set(r.id, observed(r));
  const p = fakePorts(d, T0 + 5000);
  const s = newAgentState(anAssignment([probed, waiting, plain]), 2000);
  s.health.set(probed.id, { ...newHealthRecord(probed.specHash, SINCE), ready: false, notReady: 'GET /: 404' });
  await syncPass(s, p);
  const byId = Object.fromEntries(p.published[0].replicas.map((x) => [x.id, x]));
  assert.equal([byId[probed.id].ready, byId[probed.id].notReady], [false, 'GET /: 404']);
  assert.equal([byId[waiting.id].ready, byId[waiting.id].notReady], [false, WAITING]);
  assert.equal([byId[plain.id].ready, byId[plain.id].notReady], [true, undefined], 'no probe: ready while it runs');
  s.health.set(probed.id, { ...newHealthRecord(probed.specHash, SINCE), ready: true });
  await syncPass(s, p);
  assert.is(p.published.length, 2, 'a readiness change is a new status');
  assert.equal(p.published[1].replicas.find((x) => x.id === probed.id)?.ready, true);
});

Pass('a replica failing its probe is stopped, reported failed, and restarted with the backoff, which holds while it stays unready', async () => {
  const r = replica('shop/web#0', HEALTH);
  const d = fakeDriver('process');
  d.replicas.set(r.id, observed(r));
  const p = fakePorts(d, T0 + 60_000);
  const s = newAgentState(anAssignment([r]), 2000);
  const fail = (message: string) => s.health.set(r.id, { ...newHealthRecord(r.specHash, SINCE), failed: `health probe failed: ${message}` });

  fail('GET /: 503');
  await syncPass(s, p);
  assert.equal(d.calls, [`stop ${r.id}`, `start ${r.id}`], 'the first restart: no backoff yet');
  assert.ok(p.log.lines.includes(`warn: stop ${r.id}: health probe failed: GET /: 503`));
  assert.ok(p.log.lines.includes(`info: start ${r.id}: restart after: health probe failed: GET /: 503`));
  assert.is(s.restarts.get(r.id)?.count, 1);

  // Unready for a long time: the restart record is not forgotten as a settled replica's would be.
  p.clock.ms += 30_000;
  s.health.set(r.id, newHealthRecord(r.specHash, SINCE));
  await syncPass(s, p);
  assert.is(s.restarts.get(r.id)?.count, 1, 'kept while unready');

  // Fails again within its backoff (2 s after the second restart): stopped, shown failed, started later.
  d.calls.length = 0;
  s.restarts.set(r.id, { count: 2, lastAt: p.clock.ms });
  p.clock.ms += 500;
  fail('GET /: 500');
  const res = await syncPass(s, p);
  assert.equal(d.calls, [`stop ${r.id}`], 'stopped, not started within the backoff');
  assert.equal(res, { requeueAfterMs: 1500 });
  const shown = p.published.at(-1)?.replicas.find((x) => x.id === r.id);
  assert.equal([shown?.state, shown?.message], ['failed', 'health probe failed: GET /: 500']);
  p.clock.ms += 1500;
  await syncPass(s, p);
  assert.equal(d.calls, [`stop ${r.id}`, `start ${r.id}`]);
  assert.is(s.restarts.get(r.id)?.count, 3);
  assert.is(s.healthStopped.size, 0, 'running again: no longer reported failed');

  // Ready for longer than the settling time: the record is forgotten.
  s.health.set(r.id, { ...newHealthRecord(r.specHash, SINCE), ready: true, readySince: p.clock.ms });
  p.clock.ms += 5000;
  await syncPass(s, p);
  assert.is(s.restarts.get(r.id)?.count, 3, 'ready, but not for long');
  p.clock.ms += 6000;
  await syncPass(s, p);
  assert.is(s.restarts.get(r.id), undefined, 'ready for a while: forgotten');
});

Pass('a replica stopped for its probe and then unassigned is forgotten', async () => {
  const r = replica('shop/web#0', HEALTH);
  const d = fakeDriver('process');
  d.replicas.set(r.id, observed(r));
  const p = fakePorts(d, T0 + 60_000);
  const s = newAgentState(anAssignment([r]), 2000);
  s.restarts.set(r.id, { count: 5, lastAt: p.clock.ms });
  s.health.set(r.id, { ...newHealthRecord(r.specHash, SINCE), failed: 'health probe failed: exec exited 1' });
  await syncPass(s, p);
  assert.is(s.healthStopped.size, 1);
  s.assignment = anAssignment([], { seq: 2 });
  await syncPass(s, p);
  assert.is(s.healthStopped.size, 0);
  assert.equal(p.published.at(-1)?.replicas, []);
});

Pass.run();
