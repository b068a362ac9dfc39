// Air-gapped clusters at the root over fake ports (reconciler/root/air-gapped.ts,
// awaiting-bundle.ts): a cluster declared `spec.connectivity: air-gapped` is placed on from its
// declaration alone, is never sent a message nor marked unreachable, and what comes back by bundle
// (its status ref moving) is taken; the note says when every connected cluster converged and
// which air-gapped ones await a bundle, then converges once their statuses come back; a rollout's
// wave never waits for one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FleetIndex } from '../../reconciler/core/fleet-index.js';
import { rootReconciler } from '../../reconciler/root/reconcile.js';
import { clusterOnlineIn, clusterStatusIn } from '../../reconciler/root/inputs.js';
import { assignmentHash } from '../../reconciler/root/placement-docs.js';
import { routeClusters } from '../../reconciler/root/steps/routes.js';
import type { DesiredState } from '../../reconciler/root/desired.js';
import type { ClusterStatus } from '../../schemas/messages.js';
import { aService, type ServiceBuilder } from '../helpers/builders.js';
import { aClusterStatus, desiredState, fakeCommits, fakeRoot, lastNote, loaded, oid, type FakeRoot } from '../helpers/root-fakes.js';

const [C1, C2] = ['c1', 'c2'].map(oid);
const SHIP = `apiVersion: canopy/v1
kind: Cluster
metadata: {name: ship, labels: {tier: sea}}
spec:
  connectivity: air-gapped
  location: {lat: 54.3, lon: 10.1}
  capacity: {cpu: 8, memory: 16Gi, nodes: 2, runtimes: [container, process]}
`;

/** A desired state whose index declares clusters/ship.yaml air-gapped. */
function withShip(commit: string, services: ServiceBuilder[]): DesiredState {
  const d = desiredState(commit, services);
  const index = new FleetIndex();
  index.apply([
    ['fleet.yaml', { path: 'fleet.yaml', text: 'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: demo}\n' }],
    ['clusters/ship.yaml', { path: 'clusters/ship.yaml', text: SHIP }],
  ]);
  assert.equal(index.problems(), [], 'the declaration is valid');
  d.index = index;
  return d;
}

/** The status ref of ship, as a test moves it (a bundle imported at the root). */
function shipRef(f: FakeRoot) {
  const ref: { tip?: string; status?: ClusterStatus; reads: number } = { reads: 0 };
  f.ports.statusRefs = {
    tip: async (c) => (c === 'ship' ? ref.tip : undefined),
    read: async (c, tip) => {
      ref.reads++;
      return c === 'ship' && tip === ref.tip ? ref.status : undefined;
    },
  };
  return ref;
}

/** What `c` runs of every service its placement gives it, at the placement's version, all ready. */
function converged(f: FakeRoot, c: string, o: Partial<ClusterStatus> = {}): ClusterStatus {
  const doc = f.book.get(c)!;
  const services: ClusterStatus['services'] = {};
  for (const [id, a] of Object.entries(doc.services))
    services[id] = { desired: a.replicas, running: a.replicas, ready: a.replicas, updated: a.replicas, failed: 0 };
  return aClusterStatus(c, { applied: doc.version, services, ...o });
}

const web = () => aService('shop/web').replicas(2).cpu(1).spread('clusters');

async function fleet(services: ServiceBuilder[] = [web()]) {
  const v1 = withShip(C1, services);
  const commits = fakeCommits({ head: C1, loads: { [C1]: loaded(v1) } });
  const f = fakeRoot({ commits });
  const ref = shipRef(f);
  clusterStatusIn(f.state, f.ports, 'a', aClusterStatus('a'));
  const reconcile = rootReconciler(f.state, f.ports);
  await reconcile('main');
  return { f, ref, reconcile, commits };
}

const Place = suite('root: an air-gapped cluster is known by its declaration');

Place('placed on from its declaration (capacity, node size, labels, location); never sent a message', async () => {
  const { f } = await fleet();
  const ship = f.state.clusters.get('ship')!;
  assert.ok(ship.airGapped, 'kept as air-gapped');
  assert.ok(ship.online, 'never unreachable to placement');
  assert.equal(ship.status!.capacity, { cpu: 8, memoryMi: 16384, gpu: 0 });
  assert.equal(ship.status!.maxNode, { cpu: 4, memoryMi: 8192, gpu: 0 }, 'two nodes of equal size');
  assert.equal(ship.status!.labels, { tier: 'sea' });
  assert.equal(ship.status!.location, { lat: 54.3, lon: 10.1 });
  assert.is(f.book.get('ship')?.services['shop/web']?.replicas, 1, 'one replica of two on the air-gapped cluster');
  assert.is(f.book.get('a')?.services['shop/web']?.replicas, 1);
  assert.is(routeClusters(f.state).get('ship')?.online, false, 'never routed to: no network path reaches it');
  assert.is(routeClusters(f.state).get('a')?.online, true);
  await rootReconciler(f.state, f.ports)('send:ship');
  assert.equal(
    f.sent.map((s) => s.cluster),
    f.sent.filter((s) => s.cluster !== 'ship').map((s) => s.cluster),
    'nothing published for ship',
  );
});

Place('never marked unreachable: its silence, a stray online flag or status over MQTT change nothing', async () => {
  const { f, reconcile } = await fleet();
  f.clock.ms += 3_600_000;
  clusterOnlineIn(f.state, f.ports, 'ship', false);
  clusterStatusIn(f.state, f.ports, 'ship', aClusterStatus('ship', { capacity: { cpu: 1, memoryMi: 1, gpu: 0 } }));
  await reconcile('live:ship');
  await reconcile('place');
  assert.ok(f.state.clusters.get('ship')!.online);
  assert.is(f.state.clusters.get('ship')!.status!.capacity.cpu, 8, 'the MQTT status was ignored');
  assert.not.ok(
    f.book.liveness.some(([c, l]) => c === 'ship' && l.state === 'unreachable'),
    'no unreachable liveness',
  );
  assert.is(f.book.get('ship')?.services['shop/web']?.replicas, 1, 'no failover away from it');
});

Place('a declaration that does not fit the service passes it over, saying why', async () => {
  const { f } = await fleet([aService('shop/big').replicas(1).cpu(6)]);
  assert.is(f.book.get('ship')?.services['shop/big'], undefined, 'no node of ship holds 6 CPUs');
  assert.is(f.book.get('a')?.services['shop/big']?.replicas, 1);
});

Place('a restarted root that seeded it as unheard (placed by an earlier root) takes it as air-gapped: online, nothing to record unreachable', async () => {
  const { f, reconcile } = await fleet();
  const placed = f.book.get('ship')!;
  // What seed-unheard.ts leaves for a cluster an earlier root placed work on.
  f.state.clusters.set('ship', { status: aClusterStatus('ship'), online: false, lastHeard: 0, offlineSince: f.clock.ms, unheard: 'last status from Git' });
  await reconcile('air-gapped');
  const st = f.state.clusters.get('ship')!;
  assert.ok(st.online && st.airGapped && !st.unheard);
  await reconcile('live:ship');
  assert.not.ok(f.book.liveness.some(([c, l]) => c === 'ship' && l.state === 'unreachable'));
  assert.equal(f.book.get('ship')!.services, placed.services, 'it keeps what it was given');
});

const Converge = suite('root: convergence with an air-gapped cluster');

Converge('every connected cluster converged: the note names the air-gapped ones awaiting a bundle; their status coming back converges it', async () => {
  const { f, ref, reconcile } = await fleet();
  clusterStatusIn(f.state, f.ports, 'a', converged(f, 'a'));
  await reconcile('converge');
  let n = lastNote(f, C1);
  assert.equal(n.awaitingBundle, ['ship']);
  assert.ok(n.connectedConvergedAt);
  assert.not.ok(n.convergedAt);
  // Unchanged: the resync reads the ref and writes nothing.
  const writes = f.notes.length;
  await reconcile('air-gapped');
  await reconcile('converge');
  assert.is(f.notes.length, writes, 'nothing new to write');
  assert.is(ref.reads, 0, 'no status came back: nothing read');
  // The site's status comes back by bundle: the root takes it on its next look at the ref.
  ref.tip = oid('s1');
  ref.status = converged(f, 'ship', { cluster: 'ship', capacity: { cpu: 8, memoryMi: 16384, gpu: 0 } });
  await reconcile('air-gapped');
  assert.is(f.state.clusters.get('ship')!.airGapped!.tip, oid('s1'));
  await reconcile('converge');
  n = lastNote(f, C1);
  assert.ok(n.convergedAt, 'converged');
  assert.is(n.awaitingBundle, undefined);
  assert.ok(n.connectedConvergedAt, 'when the connected clusters converged stays');
});

Converge('a connected cluster not converged: nothing awaits a bundle yet', async () => {
  const { f, reconcile } = await fleet();
  clusterStatusIn(f.state, f.ports, 'a', converged(f, 'a', { services: {} }));
  await reconcile('converge');
  const n = f.notes.length ? lastNote(f, C1) : undefined;
  assert.is(n?.awaitingBundle, undefined);
});

const Waves = suite('root: rollout waves do not wait for air-gapped clusters');

Waves('a wave over the air-gapped cluster is recorded as such and not waited for; it takes the outcome when the rollout ends', async () => {
  const rollout = { waves: [{ names: ['ship'] }, { names: ['a'] }], bakeSeconds: 0, progressDeadlineSeconds: 600 };
  const svc = (image: string) => aService('shop/web').image(image).replicas(2).cpu(1).spread('clusters').rollout(rollout);
  const v1 = withShip(C1, [svc('canopy/app:1')]);
  const v2 = withShip(C2, [svc('canopy/app:2')]);
  const commits = fakeCommits({ head: C1, loads: { [C1]: loaded(v1), [C2]: loaded(v2) } });
  const f = fakeRoot({ commits });
  const ref = shipRef(f);
  clusterStatusIn(f.state, f.ports, 'a', aClusterStatus('a'));
  const reconcile = rootReconciler(f.state, f.ports);
  await reconcile('main');
  clusterStatusIn(f.state, f.ports, 'a', converged(f, 'a'));
  ref.tip = oid('s1');
  ref.status = converged(f, 'ship', { cluster: 'ship' });
  await reconcile('air-gapped');
  await reconcile('converge');
  assert.ok(lastNote(f, C1).convergedAt, 'v1 converged everywhere');
  commits.branchHead = C2;
  await reconcile('main');
  const h2 = assignmentHash(v2.services.get('shop/web')!);
  let r = lastNote(f, C2).rollouts!['shop/web'];
  assert.equal(r.waves[0].airGapped, ['ship'], 'recorded as air-gapped, not waited for');
  assert.ok(r.waves[1].startedAt, 'the next wave started at once');
  assert.is(f.book.get('a')!.services['shop/web'].specHash, h2);
  assert.not.equal(f.book.get('ship')!.services['shop/web'].specHash, h2, 'it keeps the last ready spec while the rollout runs');
  clusterStatusIn(f.state, f.ports, 'a', converged(f, 'a'));
  await reconcile('rollout');
  r = lastNote(f, C2).rollouts!['shop/web'];
  assert.is(r.state, 'done');
  assert.is(f.book.get('ship')!.services['shop/web'].specHash, h2, 'it gets the outcome');
  await reconcile('converge');
  assert.equal(lastNote(f, C2).awaitingBundle, ['ship']);
});

Place.run();
Converge.run();
Waves.run();
