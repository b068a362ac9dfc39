// What users read of air-gapped clusters: a service placed on one not seen running it is
// `awaiting-bundle` once every connected cluster runs its share (not converged, not failed: the
// reason says how to export a bundle); the cluster shows as air-gapped with the time of its last
// status by bundle; the note and `canopy wait`'s exit 5 name the clusters awaited.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { judge, type Counted, type FleetReport } from '../../reconciler/report/fleet-status.js';
import type { Awaiting } from '../../reconciler/report/air-gapped.js';
import { renderStatus } from '../../reconciler/report/render.js';
import { awaitingBundleMessage } from '../../reconciler/report/wait.js';
import { renderNote, parseNote, rolloutLines } from '../../reconciler/core/note.js';
import { connectivityIssues, declaredStatus } from '../../reconciler/core/air-gapped.js';

const ship = (o: Partial<Awaiting> = {}): Awaiting => ({ cluster: 'ship', seq: 7, replicas: 1, running: 0, ready: 0, behind: true, ...o });
const counted = (c: Partial<Counted>): Counted => ({
  want: 3,
  placed: 3,
  running: 2,
  ready: 2,
  failed: 0,
  stale: false,
  unreachable: [],
  messages: [],
  unready: [],
  awaiting: [ship()],
  ...c,
});

const Judge = suite('fleet status: awaiting-bundle');

Judge('connected clusters run their share ready: awaiting-bundle, saying how to export a bundle', () => {
  const j = judge(counted({}));
  assert.is(j.state, 'awaiting-bundle');
  assert.match(j.reason, /^2\/2 ready on connected clusters; air-gapped ship awaits placement #7 \(0\/1 ready there by its last status\)/);
  assert.match(j.reason, /export a bundle: canopy bundle export --repo DIR --cluster ship --out FILE/);
});

Judge('an older placement running there in full is still awaiting the new one, never converged', () => {
  assert.is(judge(counted({ running: 3, ready: 3, awaiting: [ship({ running: 1, ready: 1 })] })).state, 'awaiting-bundle');
});

Judge('connected clusters not there yet: progressing; a failure: degraded; too few placed: unschedulable', () => {
  assert.is(judge(counted({ running: 1, ready: 1 })).state, 'progressing');
  assert.is(judge(counted({ stale: true })).state, 'progressing');
  assert.is(judge(counted({ failed: 1, messages: ['munich: crash'] })).state, 'degraded');
  assert.is(judge(counted({ placed: 2 })).state, 'unschedulable');
  assert.is(judge(counted({ awaiting: [], running: 3, ready: 3 })).state, 'converged');
});

const Render = suite('canopy status and wait: air-gapped clusters');

const report: FleetReport = {
  fleet: 'demo',
  head: { commit: 'b'.repeat(40), outcome: 'accepted', awaitingBundle: ['ship'], connectedConvergedAt: '2026-11-29T11:00:00Z' },
  inForce: 'b'.repeat(40),
  services: { 'shop/web': { desired: 2, running: 1, ready: 1, clusters: { munich: 1, ship: 0 }, state: 'awaiting-bundle', reason: 'r' } },
  clusters: {
    munich: { state: 'online', lastHeartbeat: '2026-11-29T11:59:50Z', applied: null, nodes: { total: 1, online: 1 } },
    ship: { state: 'air-gapped', lastHeartbeat: '2026-11-26T12:00:00Z', applied: null, nodes: { total: 2, online: 2 } },
    boat: { state: 'air-gapped', lastHeartbeat: null, applied: null, nodes: { total: 0, online: 0 } },
  },
};

Render('the head line names the clusters awaited; air-gapped clusters show the time of their last status by bundle', () => {
  const text = renderStatus(report, new Date('2026-11-29T12:00:00Z'));
  assert.match(text, /every connected cluster converged at 2026-11-29T11:00:00Z; awaiting a bundle from air-gapped ship/);
  assert.match(text, /shop\/web\s+1\/2\s+awaiting-bundle/);
  assert.match(text, /ship\s+air-gapped\s+2\/2\s+-\s+3d ago \(by bundle\)/);
  assert.match(text, /boat\s+air-gapped\s+0\/0\s+-\s+no bundle yet/);
});

Render('wait 5: the clusters awaited and how to bring them their placement', () => {
  const m = awaitingBundleMessage('c'.repeat(40), ['boat', 'ship'], '2026-11-29T11:00:00Z');
  assert.match(m, /^cccccccccccc: every connected cluster converged at 2026-11-29T11:00:00Z; awaiting a bundle from air-gapped boat, ship:/);
  assert.match(m, /\n {2}ship: export a bundle: canopy bundle export --repo DIR --cluster ship --out FILE/);
});

Render('the note tells it in words and in its JSON; a wave lists its air-gapped clusters', () => {
  const text = renderNote({
    outcome: 'accepted',
    commit: 'c'.repeat(40),
    at: '2026-11-29T10:00:00Z',
    connectedConvergedAt: '2026-11-29T11:00:00Z',
    awaitingBundle: ['ship'],
  });
  assert.match(text, /Every connected cluster converged at 2026-11-29T11:00:00Z; awaiting a bundle from air-gapped ship\./);
  assert.equal(parseNote(text)?.awaitingBundle, ['ship']);
  const lines = rolloutLines('shop/web', {
    state: 'done',
    commit: 'c'.repeat(40),
    from: { commit: 'd'.repeat(40), specHash: 'h' },
    to: 'h2',
    startedAt: '2026-11-29T10:00:00Z',
    waves: [{ clusters: ['ship'], startedAt: '2026-11-29T10:00:00Z', bakedAt: '2026-11-29T10:00:00Z', airGapped: ['ship'] }],
  });
  assert.match(lines[1], /not waited for \(air-gapped, by bundle\): ship/);
});

const Declared = suite('core: an air-gapped cluster’s declaration');

Declared('its capacity is required, and only it declares one', () => {
  assert.match(connectivityIssues({ connectivity: 'air-gapped' })[0].message, /^spec\.capacity: required for an air-gapped cluster/);
  assert.match(connectivityIssues({ capacity: { cpu: 1, memory: '1Gi' } })[0].message, /only for an air-gapped cluster/);
  assert.equal(connectivityIssues({ connectivity: 'air-gapped', capacity: { cpu: 1, memory: '1Gi' } }), []);
  assert.equal(connectivityIssues({}), []);
});

Declared('the declared status: capacity split over equal nodes, defaults; the last status that came back overlays it', () => {
  const d = {
    apiVersion: 'canopy/v1' as const,
    kind: 'Cluster' as const,
    metadata: { name: 'ship', labels: { site: 'sea' } },
    spec: { connectivity: 'air-gapped' as const, operator: 'navy', location: { lat: 1, lon: 2 }, capacity: { cpu: 6, memory: '3Gi', nodes: 3 } },
  };
  const s = declaredStatus(d, undefined, '2026-01-01T00:00:00Z');
  assert.equal(
    [s.capacity, s.maxNode, s.runtimes, s.arch, s.applied],
    [{ cpu: 6, memoryMi: 3072, gpu: 0 }, { cpu: 2, memoryMi: 1024, gpu: 0 }, ['container'], ['amd64'], null],
  );
  const back = { ...s, applied: { commit: 'a'.repeat(40), seq: 3, epoch: 0 }, labels: { zone: 'n' }, operator: undefined, location: undefined };
  const o = declaredStatus(d, back, 'x');
  assert.equal(o.applied?.seq, 3);
  assert.equal(o.labels, { site: 'sea', zone: 'n' });
  assert.is(o.operator, 'navy');
  assert.equal(o.location, { lat: 1, lon: 2 });
});

Judge.run();
Render.run();
Declared.run();
