import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTelemetry, renderPrometheus, timeInto } from '../../reconciler/core/telemetry.js';
import { agentIdentity, clientIdOf, clusterIdentity, rootIdentity } from '../../reconciler/core/identity.js';

const Registry = suite('createTelemetry');

Registry('counters add up per label set; a counter cannot go down', () => {
  const t = createTelemetry();
  const c = t.counter('canopy_commits_total', 'commits by outcome');
  c.inc({ outcome: 'accepted' });
  c.inc({ outcome: 'accepted' }, 2);
  c.inc({ outcome: 'rejected' });
  const [f] = t.collect();
  assert.equal(f.kind, 'counter');
  assert.equal(
    f.samples.map((s) => [s.labels.outcome, s.value]),
    [
      ['accepted', 3],
      ['rejected', 1],
    ],
  );
  assert.throws(() => c.inc({}, -1), /cannot go down/);
});

Registry('the same name twice is the same metric; another kind under it is an error', () => {
  const t = createTelemetry();
  t.counter('x_total', 'x').inc();
  t.counter('x_total', 'x').inc();
  assert.equal(t.collect()[0].samples[0].value, 2);
  assert.throws(() => t.gauge('x_total', 'x'), /already a counter/);
  assert.throws(() => t.counter('bad name', 'x'), /letters, digits/);
});

Registry('histograms count into cumulative buckets', () => {
  const t = createTelemetry();
  const h = t.histogram('canopy_step_seconds', 'step durations', [0.1, 1]);
  h.observe(0.05, { step: 'place' });
  h.observe(0.5, { step: 'place' });
  h.observe(3, { step: 'place' });
  const s = t.collect()[0].samples[0];
  assert.equal(s.buckets, [
    [0.1, 1],
    [1, 2],
  ]);
  assert.equal(s.count, 3);
  assert.equal(s.value, 3.55);
});

Registry('gauges computed when read; health is ok only when every check is', () => {
  const t = createTelemetry();
  let online = 2;
  t.gaugeFn('canopy_clusters', 'clusters by state', () => [[{ state: 'online' }, online]]);
  online = 3;
  assert.equal(t.collect()[0].samples, [{ labels: { state: 'online' }, value: 3 }]);
  t.health('mqtt', () => ({ ok: true }));
  assert.equal(t.checkHealth().ok, true);
  t.health('git', () => {
    throw new Error('no repo');
  });
  const h = t.checkHealth();
  assert.equal(h.ok, false);
  assert.match(h.checks.git.detail ?? '', /no repo/);
});

Registry('renders the Prometheus text format', () => {
  const t = createTelemetry();
  t.counter('canopy_messages_dropped_total', 'dropped "bad" messages').inc({ reason: 'invalid' });
  t.histogram('canopy_pass_seconds', 'passes', [1]).observe(0.5);
  const text = renderPrometheus(t.collect());
  assert.ok(text.includes('# TYPE canopy_messages_dropped_total counter'), text);
  assert.ok(text.includes('canopy_messages_dropped_total{reason="invalid"} 1'), text);
  assert.ok(text.includes('canopy_pass_seconds_bucket{le="1"} 1'), text);
  assert.ok(text.includes('canopy_pass_seconds_bucket{le="+Inf"} 1'), text);
  assert.ok(text.includes('canopy_pass_seconds_count 1'), text);
});

Registry('timeInto observes a run that returns and one that throws', async () => {
  const t = createTelemetry();
  const h = t.histogram('canopy_step_seconds', 'steps');
  assert.is(await timeInto(h, { step: 'ok' }, () => 7), 7);
  const err = await timeInto(h, { step: 'bad' }, () => Promise.reject(new Error('no'))).catch((e: Error) => e);
  assert.match((err as Error).message, /no/);
  assert.equal(
    t.collect()[0].samples.map((x) => [x.labels.step, x.count]),
    [
      ['ok', 1],
      ['bad', 1],
    ],
  );
});

Registry.run();

const Ids = suite('clientIdOf');

Ids('one stable MQTT client id per part', () => {
  assert.is(clientIdOf(rootIdentity('demo')), 'canopy-demo-root');
  assert.is(clientIdOf(clusterIdentity('demo', 'munich')), 'canopy-demo-cluster-munich');
  assert.is(clientIdOf(clusterIdentity('demo', 'munich'), 'site'), 'canopy-demo-cluster-munich-site');
  assert.is(clientIdOf(agentIdentity('demo', 'munich', 'n1')), 'canopy-demo-munich-n1');
});

Ids.run();
