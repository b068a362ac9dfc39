// What users see of readiness: a service's state and reason in `canopy status` (converged only
// when every replica asked for is ready), the READY column, what `canopy wait` says on timeout,
// and the counts in `canopy history`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { judge, type Counted, type FleetReport, type ServiceReport } from '../../reconciler/report/fleet-status.js';
import { renderStatus } from '../../reconciler/report/render.js';
import { renderHistory } from '../../reconciler/report/render-history.js';
import { notConvergedLines, timeoutMessage } from '../../reconciler/report/wait.js';
import type { Observation } from '../../reconciler/report/history.js';

const counted = (c: Partial<Counted>): Counted => ({
  want: 3,
  placed: 3,
  running: 3,
  ready: 3,
  failed: 0,
  stale: false,
  unreachable: [],
  messages: [],
  unready: [],
  ...c,
});

const Judge = suite('fleet status: a service’s state, judged on ready');

const cases: Array<[string, Partial<Counted>, ServiceReport['state'], string]> = [
  ['every replica asked for ready', {}, 'converged', '3/3 ready'],
  ['scaled to 0', { want: 0, placed: 0, running: 0, ready: 0 }, 'converged', 'scaled to 0'],
  [
    'running but not all ready: progressing, with the clusters and the probe’s message',
    { ready: 1, unready: ['munich: 2 not ready: GET /health: 503'] },
    'progressing',
    'munich: 2 not ready: GET /health: 503',
  ],
  ['not all running yet', { running: 2, ready: 2 }, 'progressing', '2/3 ready, 2 running'],
  ['ready, but a cluster has not applied its placement', { stale: true }, 'progressing', 'waiting for clusters to apply the latest placement'],
  ['an old replica still runs beside the ready ones', { running: 4, ready: 3 }, 'progressing', '3/3 ready, 4 running'],
  ['a replica failed', { running: 2, ready: 2, failed: 1, messages: ['munich: shop/web#2: exited'] }, 'degraded', 'munich: shop/web#2: exited'],
  ['a cluster unreachable', { unreachable: ['paris'] }, 'degraded', 'cluster paris unreachable'],
  ['not all placed', { placed: 2 }, 'unschedulable', '2 of 3 replicas placed'],
];
for (const [name, c, state, reason] of cases) {
  Judge(name, () => {
    assert.equal(judge(counted(c)), { state, reason });
  });
}

Judge('the reason stays within 2000 characters however many clusters are not ready', () => {
  const unready = Array.from({ length: 100 }, (_, i) => `c${i}: 1 not ready: ${'x'.repeat(100)}`);
  assert.ok(judge(counted({ ready: 0, unready })).reason.length <= 2000);
});

function report(services: Record<string, Partial<ServiceReport>>): FleetReport {
  const full = (s: Partial<ServiceReport>): ServiceReport => ({
    desired: 3,
    running: 3,
    ready: 3,
    clusters: { munich: 3 },
    state: 'converged',
    reason: '3/3 ready',
    ...s,
  });
  return {
    fleet: 'demo',
    head: { commit: 'b'.repeat(40), outcome: 'accepted' },
    inForce: 'b'.repeat(40),
    services: Object.fromEntries(Object.entries(services).map(([id, s]) => [id, full(s)])),
    clusters: {},
  };
}
const slow = { ready: 1, state: 'progressing' as const, reason: 'munich: 2 not ready: GET /health: 503' };

const Render = suite('status table: READY is ready/desired');

Render('READY shows ready/desired; RUNNING appears when a service runs replicas that are not ready', () => {
  const text = renderStatus(report({ 'shop/db': {}, 'shop/web': slow }));
  assert.match(text, /^SERVICE +READY +RUNNING +STATE/m);
  assert.match(text, /^shop\/web +1\/3 +3 +progressing +munich:3 +munich: 2 not ready: GET \/health: 503$/m);
  assert.match(text, /^shop\/db +3\/3 +3 +converged/m);
});

Render('every running replica ready: no RUNNING column', () => {
  const text = renderStatus(report({ 'shop/db': {}, 'shop/web': { running: 2, ready: 2, state: 'progressing', reason: '2/3 ready, 2 running' } }));
  assert.match(text, /^SERVICE +READY +STATE/m);
  assert.match(text, /^shop\/web +2\/3 +progressing/m);
});

const Wait = suite('wait: what it says on timeout');

Wait('names each service not converged, its counts and why', () => {
  assert.equal(notConvergedLines(report({ 'shop/db': {}, 'shop/web': slow })), [
    '  shop/web: progressing, 1/3 ready, 3 running: munich: 2 not ready: GET /health: 503',
  ]);
  assert.equal(notConvergedLines(report({ 'shop/web': { running: 2, ready: 2, state: 'progressing', reason: '2/3 ready, 2 running' } })), [
    '  shop/web: progressing, 2/3 ready, 2 running',
  ]);
  const text = timeoutMessage('b'.repeat(40), 5, '.', report({ 'shop/web': slow }));
  assert.match(text, /^timed out after 5 s: bbbbbbbbbbbb has not converged; not ready, as canopy status reads it:\n {2}shop\/web: progressing/);
});

Wait('many services: the first ones named, the rest counted', () => {
  const many = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`app/s${String(i).padStart(2, '0')}`, slow]));
  const lines = notConvergedLines(report(many));
  assert.is(lines.length, 21);
  assert.is(lines[20], '  … and 5 more (canopy status --all lists them)');
});

Wait('a target behind main says so; nothing known points to status', () => {
  assert.match(timeoutMessage('a'.repeat(40), 5, '.', report({ 'shop/web': slow })), /as canopy status reads it \(main is at bbbbbbbbbbbb\):/);
  assert.is(timeoutMessage('a'.repeat(40), 5, 'repo', undefined), 'timed out after 5 s: aaaaaaaaaaaa has not converged (see canopy status --repo repo)\n');
  assert.is(
    timeoutMessage('b'.repeat(40), 5, 'repo', report({ 'shop/web': {} })),
    'timed out after 5 s: bbbbbbbbbbbb has not converged (see canopy status --repo repo)\n',
  );
});

const History = suite('history: ready beside running');

const observed = (o: Observation) =>
  renderHistory({
    service: 'shop/web',
    since: null,
    truncated: [],
    known: [],
    events: [{ kind: 'observed', at: '2026-01-01T00:00:00Z', cluster: 'munich', nodes: { total: 2, online: 2 }, services: { 'shop/web': o } }],
  });

History('some running replicas not ready: ready/desired beside running/desired, and the message', () => {
  assert.match(
    observed({ desired: 3, running: 3, ready: 1, failed: 0, message: '2 not ready: GET /health: 503' }),
    /observed on munich: 3\/3 running, 1\/3 ready \(2 not ready: GET \/health: 503\)/,
  );
});

History('all running ready; and an older record without ready', () => {
  assert.match(observed({ desired: 3, running: 3, ready: 3, failed: 0 }), /observed on munich: 3\/3 running and ready$/m);
  assert.match(observed({ desired: 3, running: 3, failed: 0 }), /observed on munich: 3\/3 running$/m);
});

Judge.run();
Render.run();
Wait.run();
History.run();
