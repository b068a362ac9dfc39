// The cluster's reporting steps on a fake state: a node gone past its grace period is marked
// unreachable; the status goes to the root on change only, with replicas refused once they have
// stayed unplaced for the refusal grace; the Git record runs beside the loop, one write at a
// time, the latest status waiting, a failure retried by a later report.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ClusterStatus } from '../../schemas/messages.js';
import { markUnreachable } from '../../reconciler/cluster/steps/unreachable.js';
import { aggregateInput, reportStatus } from '../../reconciler/cluster/steps/report.js';
import { recordStatus, recorded } from '../../reconciler/cluster/steps/record.js';
import { aNode, aNodeStatus, aPlacement, aService } from '../helpers/builders.js';
import { fakeCluster, fakeRecorder, heardNode, metric, T0 } from '../helpers/cluster-fakes.js';

const web = aService('shop/web').replicas(2).cpu(1);
const placement = aPlacement('munich').with(web).seq(3).build();
const n1 = aNodeStatus(aNode('n1').build());

// --- markUnreachable ---------------------------------------------------------------------------

const Unreachable = suite('markUnreachable');

const gone: Array<[string, { connected: boolean; disconnectedAt?: number; online?: boolean }, number, boolean]> = [
  ['connected: stays online', { connected: true }, 60_000, true],
  ['disconnected within the grace period: stays online', { connected: false, disconnectedAt: T0 }, 9_999, true],
  ['disconnected for the grace period: unreachable', { connected: false, disconnectedAt: T0 }, 10_000, false],
  ['already unreachable: stays so', { connected: false, disconnectedAt: T0, online: false }, 60_000, false],
];
for (const [name, node, after, online] of gone) {
  Unreachable(name, () => {
    const f = fakeCluster();
    f.s.nodes.set('n1', heardNode(n1, node));
    markUnreachable(f.s, f.p, T0 + after);
    assert.is(f.s.nodes.get('n1')!.online, online);
    const moved = (node.online ?? true) && !online;
    assert.equal(f.queued, moved ? ['place'] : []);
    assert.is(
      f.logs.some((l) => l.startsWith('warn: node n1 unreachable')),
      moved,
    );
  });
}

// --- reportStatus ------------------------------------------------------------------------------

const Report = suite('reportStatus');

Report('sends the aggregated status, retained, and again only when it changed', async () => {
  const f = fakeCluster({ placement });
  f.s.nodes.set('n1', heardNode(n1));
  const s = await reportStatus(f.s, f.p, T0);
  assert.equal([s.cluster, s.at, s.applied?.seq, s.nodes], ['munich', '2025-01-01T00:00:00.000Z', 3, { total: 1, online: 1 }]);
  assert.equal(
    f.bus.published.map((m) => [m.topic, m.retain]),
    [['canopy/v1/demo/clusters/munich/status', true]],
  );
  await reportStatus(f.s, f.p, T0 + 1000);
  assert.is(f.bus.published.length, 1, 'only the time moved');
  f.s.nodes.get('n1')!.online = false;
  await reportStatus(f.s, f.p, T0 + 2000);
  assert.is(f.bus.published.length, 2, 'a node went');
  assert.is(metric(f.telemetry, 'canopy_cluster_reports_total'), 2);
});

Report('while the root is away nothing is sent, and the first report after is', async () => {
  const f = fakeCluster({ placement });
  f.bus.connected = false;
  await reportStatus(f.s, f.p, T0);
  assert.equal(f.bus.published, []);
  f.bus.connected = true;
  await reportStatus(f.s, f.p, T0);
  assert.is(f.bus.published.length, 1);
});

Report('replicas unplaced are refused only after the refusal grace', () => {
  const f = fakeCluster({ placement });
  f.s.unplaced = new Map([['shop/web', 2]]);
  f.s.pending = new Map([['shop/web', 'no node can take a replica: none']]);
  f.s.unplacedSince = new Map([['shop/web', T0]]);
  const refuseAfter = f.p.cfg.refuseAfterMs;
  assert.equal([...aggregateInput(f.s, f.p, T0 + refuseAfter - 1).refused!], []);
  assert.equal([...aggregateInput(f.s, f.p, T0 + refuseAfter).refused!], [['shop/web', { count: 2, reason: 'no node can take a replica: none' }]]);
});

// --- recordStatus ------------------------------------------------------------------------------

const Record = suite('recordStatus');

const status = (n: number) => ({ cluster: 'munich', at: new Date(T0 + n).toISOString() }) as ClusterStatus;

Record('one write at a time: statuses that come meanwhile coalesce to the latest', async () => {
  const recorder = fakeRecorder('changed');
  let commits = 0;
  const f = fakeCluster({ recorder, onStatusCommit: () => commits++ });
  for (let i = 0; i < 5; i++) recordStatus(f.s, f.p, status(i));
  await recorded(f.s);
  assert.equal(
    recorder.recorded.map((s) => s.at),
    [status(0).at, status(4).at],
  );
  assert.is(commits, 2);
  assert.is(metric(f.telemetry, 'canopy_cluster_status_commits_total', { outcome: 'changed' }), 2);
  assert.is(metric(f.telemetry, 'canopy_cluster_reconcile_seconds', { step: 'record' }), 2);
});

Record('an unchanged record is not pushed', async () => {
  let commits = 0;
  const f = fakeCluster({ recorder: fakeRecorder('unchanged'), onStatusCommit: () => commits++ });
  recordStatus(f.s, f.p, status(0));
  await recorded(f.s);
  assert.is(commits, 0);
});

Record('a failed write is tried again by a report 2 s later, and counted until one succeeds', async () => {
  const f = fakeCluster({ recorder: fakeRecorder(new Error('disk full')) });
  recordStatus(f.s, f.p, status(0));
  await recorded(f.s);
  assert.equal(f.later, [['report', 2000]]);
  assert.is(f.s.record.failures, 1);
  assert.is(metric(f.telemetry, 'canopy_cluster_status_commits_total', { outcome: 'error' }), 1);
  assert.ok(f.logs.includes('warn: recording status in Git: disk full; trying again'));
});

Record('no repository: nothing to record', async () => {
  const f = fakeCluster();
  recordStatus(f.s, f.p, status(0));
  assert.is(f.s.record.running, undefined);
});

Unreachable.run();
Report.run();
Record.run();
