// Readiness counted in a cluster: a running replica is ready unless its agent says it is not
// (an older agent says nothing: ready while running); the cluster says why the others are not,
// bounded; and a change of ready counts is a new record of its status ref.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { aggregate, notReadyMessage, type AggregateInput } from '../../reconciler/cluster/aggregate.js';
import { meaningfulChange, summary } from '../../reconciler/cluster/status-ref.js';
import type { NodeView } from '../../reconciler/cluster/place.js';
import type { ReplicaState } from '../../schemas/messages.js';
import { checkValue } from '../../schemas/parse.js';
import { aNode, aNodeStatus, aPlacement, aService, replicaState } from '../helpers/builders.js';
import { aClusterStatus } from '../helpers/root-fakes.js';

const web = aService('shop/web').replicas(4).cpu(0.5).memory('256Mi');
const placement = aPlacement('munich').with(web).seq(7).build();
const HASH = placement.services['shop/web'].specHash;
const nodes: NodeView[] = [aNode('n1').withCapacity(8, '16Gi').build(), aNode('n2').withCapacity(8, '16Gi').build()];

/** Replicas #0..#3 of shop/web, #0/#1 on n1 and #2/#3 on n2, each running with the readiness given. */
function cluster(ready: Array<Pick<ReplicaState, 'ready' | 'notReady'> | 'starting'>): AggregateInput {
  const reports: Record<string, ReplicaState[]> = { n1: [], n2: [] };
  const assignment = new Map<string, string>();
  ready.forEach((r, i) => {
    const id = `shop/web#${i}`;
    const node = i < 2 ? 'n1' : 'n2';
    assignment.set(id, node);
    reports[node].push(r === 'starting' ? replicaState(id, HASH, 'starting') : { ...replicaState(id, HASH, 'running'), ...r });
  });
  return {
    cluster: 'munich',
    at: '2025-01-01T00:00:00Z',
    placement,
    nodes,
    statuses: new Map(nodes.map((n) => [n.name, aNodeStatus(n, reports[n.name])])),
    online: new Set(['n1', 'n2']),
    assignment,
    pending: new Map(),
    labels: {},
  };
}

const Ready = suite('aggregate: ready replicas');

Ready('ready absent (an older agent) counts a running replica as ready', () => {
  const s = aggregate(cluster([{}, {}, {}, {}])).services['shop/web'];
  assert.equal(s, { desired: 4, running: 4, ready: 4, updated: 4, failed: 0 });
});

Ready('ready true counts, ready false does not, and the message says why', () => {
  const s = aggregate(cluster([{ ready: true }, { ready: false, notReady: 'GET /health: 503' }, { ready: false, notReady: 'GET /health: 503' }, 'starting']))
    .services['shop/web'];
  assert.equal([s.running, s.ready, s.failed], [3, 1, 0]);
  assert.is(s.message, '2 not ready: GET /health: 503');
  assert.ok(checkValue('ClusterStatus', aggregate(cluster([{ ready: false }])), 'status').ok, 'valid on the wire');
});

Ready('no ready replica: ready 0 is reported, not left out', () => {
  const s = aggregate(cluster(['starting', 'starting'])).services['shop/web'];
  assert.equal(s, { desired: 4, running: 0, ready: 0, updated: 0, failed: 0 });
});

Ready('a not-ready reason comes before a pending reason, and both stay within the schema', () => {
  const i = cluster([{ ready: false, notReady: 'connect ECONNREFUSED' }]);
  i.pending.set('shop/web', 'no node can take a replica: n1: full');
  const s = aggregate(i).services['shop/web'];
  assert.is(s.message, '1 not ready: connect ECONNREFUSED; no node can take a replica: n1: full');
});

const Message = suite('notReadyMessage: why replicas are not ready, bounded');

Message('one reason, with how many give it', () => {
  assert.is(notReadyMessage(['GET /health: 503', 'GET /health: 503']), '2 not ready: GET /health: 503');
});

Message('a replica that gives no reason', () => {
  assert.is(notReadyMessage([undefined]), '1 not ready: probe failing');
});

Message('distinct reasons, most frequent first, each counted; beyond three only counted', () => {
  assert.is(notReadyMessage(['b', 'a', 'a', 'c']), '4 not ready: a (2); b (1); c (1)');
  assert.is(notReadyMessage(['a', 'b', 'c', 'd', 'e']), '5 not ready: a (1); b (1); c (1); and 2 other reason(s)');
});

Message('long reasons are cut: the message stays short however many replicas fail', () => {
  const long = 'x'.repeat(5000);
  assert.ok(notReadyMessage([long]).length <= 600);
  const many = Array.from({ length: 1000 }, (_, i) => `${long}${i}`);
  const m = notReadyMessage(many);
  assert.ok(m.length <= 600, String(m.length));
  assert.ok(m.startsWith('1000 not ready: '));
});

Message('the cluster message stays within the schema’s 2000 characters with a long failure beside it', () => {
  const i = cluster([{ ready: false, notReady: 'y'.repeat(500) }]);
  i.pending.set('shop/web', 'z'.repeat(2000));
  const st = aggregate(i);
  assert.ok(st.services['shop/web'].message!.length <= 2000);
  assert.ok(checkValue('ClusterStatus', st, 'status').ok, 'valid on the wire');
});

const Record_ = suite('status ref: ready counts');

const withWeb = (x: { running: number; ready?: number }) => aClusterStatus('munich', { services: { 'shop/web': { desired: 3, failed: 0, ...x } } });

Record_('a change of ready counts is a meaningful change', () => {
  assert.is(meaningfulChange(withWeb({ running: 3, ready: 1 }), withWeb({ running: 3, ready: 3 })), 'service shop/web');
  assert.is(meaningfulChange(withWeb({ running: 3, ready: 3 }), withWeb({ running: 3, ready: 3 })), undefined);
});

Record_('an older record without ready reads as all running ready', () => {
  assert.is(meaningfulChange(withWeb({ running: 3 }), withWeb({ running: 3, ready: 3 })), undefined);
  assert.is(meaningfulChange(withWeb({ running: 3 }), withWeb({ running: 3, ready: 2 })), 'service shop/web');
});

Record_('the commit message lists a service whose ready count changed, with how many are not ready', () => {
  const text = summary(withWeb({ running: 3, ready: 1 }), withWeb({ running: 3, ready: 3 }));
  assert.match(text, /^shop\/web 3\/3, 2 not ready$/m);
  assert.match(summary(withWeb({ running: 3, ready: 3 }), withWeb({ running: 3, ready: 1 })), /^shop\/web 3\/3$/m);
});

Ready.run();
Message.run();
Record_.run();
