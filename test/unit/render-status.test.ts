// `canopy status` at a glance: a small fleet in full; a large one as counts, the services and
// clusters that need a look first, and how to see the rest.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { renderStatus } from '../../reconciler/report/render.js';
import type { FleetReport, ServiceReport } from '../../reconciler/report/fleet-status.js';

const NOW = new Date('2026-11-29T12:00:00Z');

function report(n: number, odd: Record<string, ServiceReport['state']> = {}, clusters = 2): FleetReport {
  const services: FleetReport['services'] = {};
  for (let i = 0; i < n; i++) {
    const id = `app/svc-${String(i).padStart(5, '0')}`;
    const state = odd[id] ?? 'converged';
    services[id] = {
      desired: 1,
      running: state === 'converged' ? 1 : 0,
      ready: state === 'converged' ? 1 : 0,
      clusters: { c1: 1 },
      state,
      reason: state === 'converged' ? '1/1 running' : `0/1 running: ${state}`,
    };
  }
  const cl: FleetReport['clusters'] = {};
  for (let i = 0; i < clusters; i++)
    cl[`c${i}`] = {
      state: i === 1 ? 'unreachable' : 'online',
      lastHeartbeat: '2026-11-29T11:59:50Z',
      applied: { commit: 'a'.repeat(40), seq: 3, epoch: 0 },
      nodes: { total: 2, online: 2 },
    };
  return {
    fleet: 'demo',
    head: { commit: 'b'.repeat(40), outcome: 'accepted', convergedAt: '2026-11-29T11:00:00Z' },
    inForce: 'b'.repeat(40),
    services,
    clusters: cl,
  };
}

const test = suite('renderStatus');

test('a small fleet: every service and cluster, with the counts', () => {
  const text = renderStatus(report(3, { 'app/svc-00001': 'progressing' }), NOW);
  assert.match(text, /^3 service\(s\): 1 progressing, 2 converged; 2 cluster\(s\): 1 unreachable, 1 online$/m);
  for (const id of ['app/svc-00000', 'app/svc-00001', 'app/svc-00002']) assert.match(text, new RegExp(`^${id} `, 'm'));
  assert.match(text, /^c1\s+unreachable\s+2\/2\s+#3 aaaaaaaaaaaa\s+10s ago$/m);
  assert.not.match(text, /more/);
});

test('10,000 services: what needs a look first, the rest counted, and how to list them', () => {
  const odd = { 'app/svc-09000': 'degraded', 'app/svc-00500': 'unschedulable', 'app/svc-07777': 'progressing' } as const;
  const text = renderStatus(report(10_000, odd, 100), NOW);
  const rows = text.split('\n').filter((l) => /^app\//.test(l));
  assert.is(rows.length, 40);
  for (const id of Object.keys(odd))
    assert.ok(
      rows.some((r) => r.startsWith(id)),
      id,
    );
  assert.match(text, /^10000 service\(s\): 1 unschedulable, 1 degraded, 1 progressing, 9997 converged; 100 cluster\(s\): 1 unreachable, 99 online$/m);
  assert.match(text, /^… 9960 more, 9960 converged \(canopy status --all lists them, --json for tools\)$/m);
  assert.match(text, /^c1\s+unreachable/m);
  assert.match(text, /^… 60 more, 60 online \(canopy status --all lists them\)$/m);
});

test('--all lists every one', () => {
  const text = renderStatus(report(500), NOW, { all: true });
  assert.is(text.split('\n').filter((l) => /^app\//.test(l)).length, 500);
  assert.not.match(text, /more/);
});

test.run();
