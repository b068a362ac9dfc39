// A whole pass of the node agent on fake ports: adopt → observe → plan → apply → report, the
// backoff's requeue, a runtime that cannot list, and the metrics the agent registers.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { syncPass } from '../../agents/pass.js';
import { newAgentState } from '../../agents/state.js';
import { agentMetrics, replicasByState } from '../../agents/metrics.js';
import { createTelemetry } from '../../reconciler/core/telemetry.js';
import { aReplica, aService, observed, SINCE } from '../helpers/builders.js';
import { anAssignment, fakeDriver, fakePorts } from '../helpers/agent-fakes.js';

const web0 = aReplica(aService('shop/web'), 0);
const web1 = aReplica(aService('shop/web'), 1);
const old0 = aReplica(aService('shop/old'), 0);
const T0 = Date.parse(SINCE);
const TOPIC = 'canopy/v1/demo/clusters/c1/nodes/n1/desired';

const Pass = suite('syncPass');

Pass('a received assignment is adopted, started and reported in one pass', async () => {
  const d = fakeDriver();
  d.replicas.set(old0.id, observed(old0));
  const p = fakePorts(d);
  const s = newAgentState(undefined, 2000);
  s.inbox.push({ topic: TOPIC, assignment: anAssignment([web0, web1], { seq: 3 }) });
  const res = await syncPass(s, p);
  assert.is(res, undefined, 'nothing to wait for');
  assert.equal(d.calls.sort(), [`start ${web0.id}`, `start ${web1.id}`, `stop ${old0.id}`]);
  assert.is(p.published.length, 1);
  const [st] = p.published;
  assert.is(st.appliedSeq, 3);
  assert.equal(
    st.replicas.map((r) => [r.id, r.state]),
    [
      [web0.id, 'running'],
      [web1.id, 'running'],
    ],
  );
  assert.is(st.at, new Date(T0).toISOString(), 'the status is stamped by the injected clock');
  assert.is(p.applySeconds.length, 1);
});

Pass('converged: nothing applied, and an unchanged status is not sent again', async () => {
  const d = fakeDriver();
  const p = fakePorts(d);
  const s = newAgentState(anAssignment([web0]), 2000);
  await syncPass(s, p);
  d.calls.length = 0;
  p.clock.ms += 2000;
  await syncPass(s, p);
  assert.equal(d.calls, []);
  assert.is(p.published.length, 1);
  assert.is(p.applySeconds.length, 1, 'only the pass that acted timed its actions');
});

Pass('a replica that keeps failing is restarted after its backoff, and the pass asks to be run then', async () => {
  const d = fakeDriver();
  const p = fakePorts(d);
  const s = newAgentState(anAssignment([web0]), 2000);
  d.replicas.set(web0.id, observed(web0, 'failed', { message: 'exited with code 1' }));
  s.restarts.set(web0.id, { count: 3, lastAt: T0 });
  p.clock.ms = T0 + 1000;
  assert.equal(await syncPass(s, p), { requeueAfterMs: 3000 });
  assert.equal(d.calls, []);
  assert.is(p.published[0].replicas[0].state, 'failed');
  p.clock.ms = T0 + 4000;
  assert.is(await syncPass(s, p), undefined);
  assert.equal(d.calls, [`start ${web0.id}`]);
  assert.equal(s.restarts.get(web0.id), { count: 4, lastAt: T0 + 4000 });
  assert.equal(p.restarts, ['container']);
});

Pass('a runtime that cannot list fails the pass (the loop retries) until it lists again', async () => {
  const d = fakeDriver();
  const p = fakePorts(d);
  const s = newAgentState(anAssignment([web0]), 2000);
  d.failList = 'connect ENOENT /var/run/docker.sock';
  const err = await syncPass(s, p).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.match(err?.message ?? '', /ENOENT/);
  assert.is(s.runtimeError, 'connect ENOENT /var/run/docker.sock');
  assert.equal([d.calls, p.published], [[], []]);
  d.failList = undefined;
  await syncPass(s, p);
  assert.is(s.runtimeError, undefined);
  assert.is(p.published.length, 1);
});

const Metrics = suite('agentMetrics');

Metrics('replicas by state as last reported, every state present', async () => {
  const d = fakeDriver();
  const p = fakePorts(d);
  const s = newAgentState(anAssignment([web0, web1]), 2000);
  assert.equal(replicasByState(s), [
    [{ state: 'starting' }, 0],
    [{ state: 'running' }, 0],
    [{ state: 'failed' }, 0],
    [{ state: 'stopped' }, 0],
  ]);
  d.failStart.set(web1.id, 'boom');
  await syncPass(s, p);
  assert.equal(
    replicasByState(s).map(([l, n]) => [l.state, n]),
    [
      ['starting', 0],
      ['running', 1],
      ['failed', 1],
      ['stopped', 0],
    ],
  );
});

Metrics('registered in the registry: replicas, refused replicas, restarts, apply time, runtime health', () => {
  const t = createTelemetry();
  const s = newAgentState(undefined, 2000);
  const m = agentMetrics(t, s);
  m.restarted('process');
  m.applied(0.02);
  const names = t.collect().map((f) => [f.name, f.kind]);
  assert.equal(names, [
    ['canopy_agent_replicas', 'gauge'],
    ['canopy_agent_replicas_refused', 'gauge'],
    ['canopy_agent_restarts_total', 'counter'],
    ['canopy_agent_apply_seconds', 'histogram'],
  ]);
  const restarts = t.collect().find((f) => f.name === 'canopy_agent_restarts_total')!;
  assert.equal(restarts.samples[0].labels, { runtime: 'process' });
  assert.is(t.checkHealth().ok, true);
  s.runtimeError = 'engine gone';
  const h = t.checkHealth();
  assert.is(h.ok, false);
  assert.match(h.checks.runtime.detail ?? '', /engine gone/);
});

Pass.run();
Metrics.run();
