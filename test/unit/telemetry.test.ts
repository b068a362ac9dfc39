import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTelemetry, mergeFamilies, renderPrometheus, timeInto } from '../../reconciler/core/telemetry.js';
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

Registry('the exposition escapes label values and help text as format 0.0.4 says', () => {
  const t = createTelemetry();
  t.counter('canopy_x_total', 'a help with \\ and\na new line "quoted"').inc({ reason: 'a "b" \\ c\nd' }, 2);
  const text = renderPrometheus(t.collect());
  assert.equal(text.split('\n'), [
    '# HELP canopy_x_total a help with \\\\ and\\na new line "quoted"',
    '# TYPE canopy_x_total counter',
    'canopy_x_total{reason="a \\"b\\" \\\\ c\\nd"} 2',
    '',
  ]);
});

Registry('a histogram renders cumulative _bucket{le} lines up to +Inf, then _sum and _count', () => {
  const t = createTelemetry();
  const h = t.histogram('canopy_step_seconds', 'steps', [0.5, 0.1, 2]);
  h.observe(0.05, { step: 'place' });
  h.observe(1, { step: 'place' });
  h.observe(7, { step: 'place' });
  t.histogram('canopy_idle_seconds', 'never observed', [1]);
  t.gaugeFn('canopy_nan', 'odd values', () => [
    [{ v: 'inf' }, Number.POSITIVE_INFINITY],
    [{ v: 'nan' }, Number.NaN],
  ]);
  assert.equal(renderPrometheus(t.collect()).split('\n'), [
    '# HELP canopy_step_seconds steps',
    '# TYPE canopy_step_seconds histogram',
    'canopy_step_seconds_bucket{step="place",le="0.1"} 1',
    'canopy_step_seconds_bucket{step="place",le="0.5"} 1',
    'canopy_step_seconds_bucket{step="place",le="2"} 2',
    'canopy_step_seconds_bucket{step="place",le="+Inf"} 3',
    'canopy_step_seconds_sum{step="place"} 8.05',
    'canopy_step_seconds_count{step="place"} 3',
    '# HELP canopy_idle_seconds never observed',
    '# TYPE canopy_idle_seconds histogram',
    '# HELP canopy_nan odd values',
    '# TYPE canopy_nan gauge',
    'canopy_nan{v="inf"} +Inf',
    'canopy_nan{v="nan"} NaN',
    '',
  ]);
});

Registry('a declared histogram series is there, at zero, before its first observation', () => {
  const t = createTelemetry();
  t.histogram('canopy_converge_seconds', 'c', [1]).declare();
  assert.equal(renderPrometheus(t.collect()).split('\n').slice(2), [
    'canopy_converge_seconds_bucket{le="1"} 0',
    'canopy_converge_seconds_bucket{le="+Inf"} 0',
    'canopy_converge_seconds_sum 0',
    'canopy_converge_seconds_count 0',
    '',
  ]);
});

Registry('registries merged: each series labelled with its part, no series twice, no family of two kinds', () => {
  const part = (n: number) => {
    const t = createTelemetry();
    t.counter('canopy_messages_received_total', 'received').inc(undefined, n);
    t.histogram('canopy_git_write_seconds', 'writes', [1]).observe(0.5, { what: 'status' });
    return t.collect();
  };
  const odd = createTelemetry();
  odd.gauge('canopy_messages_received_total', 'not a counter').set(9);
  odd.counter('canopy_only_here_total', 'own label wins').inc({ part: 'mine' });
  const merged = mergeFamilies([
    { labels: { part: 'cluster', cluster: 'munich' }, families: part(3) },
    { labels: { part: 'agent', cluster: 'munich', node: 'n1' }, families: part(4) },
    { labels: { part: 'agent', cluster: 'munich', node: 'n1' }, families: part(5) },
    { labels: { part: 'root' }, families: odd.collect() },
  ]);
  assert.equal(
    merged.map((f) => [f.name, f.kind, f.samples.length]),
    [
      ['canopy_messages_received_total', 'counter', 2],
      ['canopy_git_write_seconds', 'histogram', 2],
      ['canopy_only_here_total', 'counter', 1],
    ],
  );
  const text = renderPrometheus(merged);
  assert.ok(text.includes('canopy_messages_received_total{part="cluster",cluster="munich"} 3'), text);
  assert.ok(text.includes('canopy_messages_received_total{part="agent",cluster="munich",node="n1"} 4'), text);
  assert.ok(text.includes('canopy_git_write_seconds_bucket{part="agent",cluster="munich",node="n1",what="status",le="1"} 1'), text);
  assert.ok(text.includes('canopy_only_here_total{part="mine"} 1'), text);
  assert.is(text.match(/^# TYPE canopy_messages_received_total/gm)?.length, 1);
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
