// Placement.deleted: a service that main deleted is named in the placement version that removes
// it from a cluster, so the cluster's nodes drop its volumes; one that merely moved to another
// cluster is not (its data stays where it was).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rootReconciler } from '../../reconciler/root/reconcile.js';
import { aService } from '../helpers/builders.js';
import { aClusterStatus, desiredState, fakeCommits, fakeRoot, loaded, oid } from '../helpers/root-fakes.js';

const [C1, C2, C3] = ['c1', 'c2', 'c3'].map(oid);
const test = suite('root: services deleted from main');

test('deleted from main: named in the removing version only; moved to another cluster: not named', async () => {
  const web = aService('shop/web').inClusters('munich');
  const db = aService('shop/db').inClusters('munich');
  const v1 = desiredState(C1, [web, db]);
  const v2 = desiredState(C2, [aService('shop/web').inClusters('paris'), db]);
  const v3 = desiredState(C3, [aService('shop/web').inClusters('paris')]);
  const commits = fakeCommits({
    head: C1,
    loads: { [C1]: loaded(v1), [C2]: loaded(v2, ['shop/web']), [C3]: loaded(v3, [], ['shop/db']) },
  });
  const f = fakeRoot({ commits });
  for (const c of ['munich', 'paris']) f.state.clusters.set(c, { status: aClusterStatus(c), online: true, lastHeard: 0 });
  const reconcile = rootReconciler(f.state, f.ports);
  await reconcile('main');
  commits.branchHead = C2;
  await reconcile('main');
  const moved = f.book.commits.filter((c) => c.doc.cluster === 'munich').at(-1)!.doc;
  assert.not.ok('shop/web' in moved.services, 'web left munich');
  assert.is(moved.deleted, undefined, 'moved, not deleted');
  commits.branchHead = C3;
  await reconcile('main');
  const removed = f.book.commits.filter((c) => c.doc.cluster === 'munich').at(-1)!.doc;
  assert.equal(removed.deleted, ['shop/db']);
  assert.equal(Object.keys(removed.services), []);
});

test.run();
