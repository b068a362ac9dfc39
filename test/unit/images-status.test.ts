// What ran, up the hierarchy: the agent's replica digests, the cluster's distinct images per
// service (bounded), and the root's note of the images its changed services run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { aggregate } from '../../reconciler/cluster/aggregate.js';
import { noteImages } from '../../reconciler/root/failing.js';
import { renderNote, type CommitNote } from '../../reconciler/core/note.js';
import type { RootState } from '../../reconciler/root/state.js';
import { MAX_SERVICE_IMAGES, type ClusterStatus, type ReplicaState } from '../../schemas/messages.js';
import { checkValue } from '../../schemas/parse.js';
import { aNode, aNodeStatus, aPlacement, aService, replicaState } from '../helpers/builders.js';

const web = aService('shop/web').replicas(3);
const placement = aPlacement('munich').with(web).seq(1).build();
const HASH = placement.services['shop/web'].specHash;
const digest = (c: string) => `reg.example:5000/shop/web@sha256:${c.repeat(64)}`;
const id = (c: string) => `sha256:${c.repeat(64)}`;
const ran = (r: ReplicaState, image: string): ReplicaState => ({ ...r, image });

test('a cluster reports the distinct images its running replicas run, sorted; none for a service running none', () => {
  const nodes = [aNode('n1').build(), aNode('n2').build()];
  const reports: Record<string, ReplicaState[]> = {
    n1: [ran(replicaState('shop/web#0', HASH, 'running'), digest('b')), ran(replicaState('shop/web#1', HASH, 'running'), digest('b'))],
    n2: [ran(replicaState('shop/web#2', HASH, 'running'), id('a')), ran(replicaState('shop/db#0', 'x', 'failed', 'exited'), digest('c'))],
  };
  const s = aggregate({
    cluster: 'munich',
    at: '2025-01-01T00:00:00Z',
    placement,
    nodes,
    statuses: new Map(nodes.map((n) => [n.name, aNodeStatus(n, reports[n.name])])),
    online: new Set(['n1', 'n2']),
    assignment: new Map([
      ['shop/web#0', 'n1'],
      ['shop/web#1', 'n1'],
      ['shop/web#2', 'n2'],
    ]),
    pending: new Map(),
    labels: {},
  });
  assert.equal(s.services['shop/web'].images, [digest('b'), id('a')].sort());
  assert.is(s.services['shop/db'].images, undefined, 'a failed replica runs nothing');
  const r = checkValue('ClusterStatus', JSON.parse(JSON.stringify(s)), 'status');
  assert.ok(r.ok, r.ok ? '' : r.error);
});

test('the schema bounds images and takes only digests', () => {
  const one = (images: string[]) =>
    checkValue(
      'ClusterStatus',
      {
        kind: 'cluster-status',
        cluster: 'c',
        at: '2025-01-01T00:00:00Z',
        applied: null,
        capacity: { cpu: 1, memoryMi: 1, gpu: 0 },
        free: { cpu: 1, memoryMi: 1, gpu: 0 },
        maxNodeFree: { cpu: 1, memoryMi: 1, gpu: 0 },
        maxNode: { cpu: 1, memoryMi: 1, gpu: 0 },
        shapes: [],
        arch: [],
        runtimes: [],
        labels: {},
        nodes: { total: 0, online: 0 },
        services: { 'a/b': { desired: 1, running: 1, failed: 0, images } },
      },
      'status',
    ).ok;
  assert.ok(one([digest('1'), id('2')]));
  assert.not.ok(one(['nginx:1.25']), 'a tag is not what ran');
  assert.not.ok(one(Array.from({ length: MAX_SERVICE_IMAGES + 1 }, (_, i) => id(i.toString(16)))));
});

function pending(): CommitNote {
  return {
    outcome: 'accepted',
    commit: 'c'.repeat(40),
    at: '2025-01-01T00:00:00Z',
    changed: { 'shop/web': { desired: 3, placed: 3, clusters: { munich: 3 }, reason: 'fits' } },
  } as CommitNote;
}

const status = (services: ClusterStatus['services']) => ({ services }) as ClusterStatus;

test("the note records a changed service's images once a cluster runs it in full, and says them", () => {
  const state = { pending: pending(), failingUnwritten: false } as RootState;
  noteImages(state, status({ 'shop/web': { desired: 3, running: 2, ready: 2, updated: 2, failed: 0, images: [digest('b')] } }));
  assert.is(state.pending!.images, undefined, 'not all of it runs yet');
  noteImages(state, status({ 'other/svc': { desired: 1, running: 1, failed: 0, images: [digest('d')] } }));
  assert.is(state.pending!.images, undefined, 'a service the commit did not change');
  noteImages(state, status({ 'shop/web': { desired: 3, running: 3, ready: 3, updated: 3, failed: 0, images: [digest('b')] } }));
  assert.equal(state.pending!.images, { 'shop/web': [digest('b')] });
  assert.ok(state.failingUnwritten, 'the note is written again');
  state.failingUnwritten = false;
  noteImages(state, status({ 'shop/web': { desired: 3, running: 3, ready: 3, updated: 3, failed: 0, images: [digest('b')] } }));
  assert.not.ok(state.failingUnwritten, 'nothing new: not written again');
  assert.match(renderNote(state.pending!), `Images, as the clusters report them:\n  shop/web: ${digest('b')}`);
});

test.run();
