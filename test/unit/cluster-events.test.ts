// What the cluster's handlers do with what it hears (update the observed state, queue keys),
// which keys the resync adds, how a key runs its steps, and what the registry shows of the
// state: nodes by state, replicas, health.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { onNodeOnline, onNodeStatus, onNodesConnect, onRootConnect } from '../../reconciler/cluster/events.js';
import { reconcileKey, resyncKeys } from '../../reconciler/cluster/reconcile.js';
import { observeState } from '../../reconciler/cluster/metrics.js';
import { aNode, aNodeStatus, aPlacement, aService } from '../helpers/builders.js';
import { fakeCluster, heardNode, metric, T0 } from '../helpers/cluster-fakes.js';

const t = (node: string, leaf: string) => `canopy/v1/demo/clusters/munich/nodes/${node}/${leaf}`;
const payload = (m: unknown) => Buffer.from(JSON.stringify(m));
const n1 = aNodeStatus(aNode('n1').build());
const online = (on: boolean) => payload({ kind: 'online', online: on, at: '2025-01-01T00:00:00Z' });

// --- node status -------------------------------------------------------------------------------

const Status = suite('onNodeStatus');

Status('a new node: online, heard now, re-placed and reported', () => {
  const f = fakeCluster();
  f.clock.t = T0 + 7;
  onNodeStatus(f.s, f.p, t('n1', 'status'), payload(n1));
  const st = f.s.nodes.get('n1')!;
  assert.equal([st.online, st.connected, st.lastHeard], [true, true, T0 + 7]);
  assert.equal(f.queued, ['place', 'report']);
  assert.ok(f.logs.includes('info: node n1 online'));
});

const statuses: Array<[string, Parameters<typeof heardNode>[1], typeof n1, string[]]> = [
  ['the same figures again: reported only', {}, n1, ['report']],
  ['other replica states: reported only', {}, { ...n1, replicas: [] }, ['report']],
  ['another capacity: re-placed', {}, { ...n1, capacity: { cpu: 99, memoryMi: 1, gpu: 0 } }, ['place', 'report']],
  ['back from unreachable: re-placed', { online: false, connected: false, disconnectedAt: T0 }, n1, ['place', 'report']],
  ['not yet applying what it was sent: sent again', { sent: { seq: 5, key: 'k', at: T0 } }, { ...n1, appliedSeq: 4 }, ['node:n1', 'report']],
  ['applying what it was sent', { sent: { seq: 5, key: 'k', at: T0 } }, { ...n1, appliedSeq: 5 }, ['report']],
];
for (const [name, before, next, queued] of statuses) {
  Status(name, () => {
    const f = fakeCluster();
    f.s.nodes.set('n1', heardNode(n1, before));
    onNodeStatus(f.s, f.p, t('n1', 'status'), payload(next));
    assert.equal(f.queued, queued);
    assert.ok(f.s.nodes.get('n1')!.online && f.s.nodes.get('n1')!.connected);
  });
}

Status('a status that does not parse, or names another node, is dropped; an empty one ignored', () => {
  const f = fakeCluster();
  onNodeStatus(f.s, f.p, t('n1', 'status'), Buffer.from('{'));
  onNodeStatus(f.s, f.p, t('n2', 'status'), payload(n1));
  onNodeStatus(f.s, f.p, t('n1', 'status'), Buffer.alloc(0));
  assert.equal(
    f.nodeBus.dropped.map((d) => d.topic),
    [t('n1', 'status'), t('n2', 'status')],
  );
  assert.equal(f.s.nodes.size, 0);
  assert.equal(f.queued, []);
});

// --- node online -------------------------------------------------------------------------------

const Online = suite('onNodeOnline');

Online('a node that went keeps its replicas; a report at the end of the grace period checks it', () => {
  const f = fakeCluster();
  f.s.nodes.set('n1', heardNode(n1));
  f.clock.t = T0 + 3;
  onNodeOnline(f.s, f.p, t('n1', 'online'), online(false));
  const st = f.s.nodes.get('n1')!;
  assert.equal([st.online, st.connected, st.disconnectedAt], [true, false, T0 + 3]);
  assert.equal(f.later, [['report', f.p.cfg.unreachableMs + 50]]);
  // Said twice (the last will after a goodbye): the first time counts.
  f.clock.t = T0 + 9;
  onNodeOnline(f.s, f.p, t('n1', 'online'), online(false));
  assert.is(st.disconnectedAt, T0 + 3);
  assert.is(f.later.length, 1);
  onNodeOnline(f.s, f.p, t('n1', 'online'), online(true));
  assert.equal([st.connected, st.disconnectedAt], [true, undefined]);
});

Online('an unknown node, an empty or bad payload: nothing', () => {
  const f = fakeCluster();
  onNodeOnline(f.s, f.p, t('n9', 'online'), online(false));
  onNodeOnline(f.s, f.p, t('n9', 'online'), Buffer.alloc(0));
  onNodeOnline(f.s, f.p, t('n9', 'online'), Buffer.from('x'));
  assert.equal([f.s.nodes.size, f.later.length, f.nodeBus.dropped.length], [0, 0, 1]);
});

// --- reconnects --------------------------------------------------------------------------------

const Connect = suite('reconnects');

Connect('the root bus: report afresh; the node bus: re-place and tell every node again', () => {
  const f = fakeCluster();
  f.s.lastReport = 'x';
  f.s.nodes.set('n1', heardNode(n1, { sent: { seq: 1, key: 'k', at: T0 } }));
  onRootConnect(f.s, f.p);
  assert.is(f.s.lastReport, '');
  onNodesConnect(f.s, f.p);
  assert.is(f.s.nodes.get('n1')!.sent, undefined);
  assert.equal(f.queued, ['report', 'place']);
});

// --- resync and the pass by key ----------------------------------------------------------------

const Resync = suite('resyncKeys');

const resyncs: Array<[string, { git: boolean; connected: boolean; placed: boolean; after: number }, string[]]> = [
  ['no Git: nothing until the slow period', { git: false, connected: false, placed: false, after: 0 }, []],
  ['Git, nothing placed yet: read Git', { git: true, connected: true, placed: false, after: 0 }, ['git']],
  ['Git, placed, the broker up: its patches come there', { git: true, connected: true, placed: true, after: 0 }, []],
  ['Git, placed, the broker away: read Git', { git: true, connected: false, placed: true, after: 0 }, ['git']],
  ['the slow period: a full report and re-place', { git: false, connected: true, placed: true, after: 30_000 }, ['report', 'place']],
];
for (const [name, c, keys] of resyncs) {
  Resync(name, () => {
    const f = fakeCluster({
      placement: c.placed ? aPlacement('munich').build() : undefined,
      placementFromGit: c.git ? async () => undefined : undefined,
    });
    f.bus.connected = c.connected;
    f.clock.t = T0 + c.after;
    assert.equal(resyncKeys(f.s, f.p), keys);
    if (c.after) assert.equal(resyncKeys(f.s, f.p), [], 'not again until the next period');
  });
}

const Pass = suite('reconcileKey');

Pass("each key runs its step (place, node:<n>, report, git), and every step's duration is observed", async () => {
  const placement = aPlacement('munich').with(aService('shop/web')).build();
  const f = fakeCluster({ placement });
  f.s.nodes.set('n1', heardNode(n1));
  for (const key of ['place', 'node:n1', 'report', 'git']) await reconcileKey(f.s, f.p, key);
  assert.is(f.nodeBus.published.length, 1);
  assert.is(f.bus.published.length, 1);
  for (const step of ['place', 'assign', 'report', 'adopt-git']) assert.is(metric(f.telemetry, 'canopy_cluster_reconcile_seconds', { step }), 1, step);
});

// --- what the registry shows -------------------------------------------------------------------

const Gauges = suite('observeState');

Gauges('nodes by state, replicas assigned and unplaced, the placement in force, health by the node bus', () => {
  const f = fakeCluster({ placement: aPlacement('munich').seq(4).build(), assignment: { 'a#0': 'n1', 'a#1': 'n2' } });
  let reaches = true;
  observeState(f.telemetry, f.s, () => reaches);
  f.s.nodes.set('n1', heardNode(n1));
  f.s.nodes.set('n2', heardNode(n1, { connected: false, disconnectedAt: T0 }));
  f.s.nodes.set('n3', heardNode(n1, { online: false, connected: false }));
  f.s.unplaced = new Map([['b', 3]]);
  const m = (name: string, labels?: Record<string, string>) => metric(f.telemetry, name, labels);
  assert.equal(
    ['online', 'disconnected', 'unreachable'].map((state) => m('canopy_cluster_nodes', { state })),
    [1, 1, 1],
  );
  assert.equal([m('canopy_cluster_replicas', { state: 'assigned' }), m('canopy_cluster_replicas', { state: 'unplaced' })], [2, 3]);
  assert.is(m('canopy_cluster_placement_seq'), 4);
  assert.equal(f.telemetry.checkHealth(), { ok: true, checks: { cluster: { ok: true, detail: 'placement #4, 2/3 nodes online' } } });
  reaches = false;
  f.s.record.failures = 2;
  const h = f.telemetry.checkHealth();
  assert.is(h.ok, false);
  assert.is(h.checks.cluster.detail, 'the node bus is not connected; placement #4, 2/3 nodes online; status record failing (2 in a row)');
});

Status.run();
Online.run();
Connect.run();
Resync.run();
Pass.run();
Gauges.run();
