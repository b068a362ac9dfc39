// An air-gapped cluster at the root (issue 19, "the root knows an air-gapped cluster by its
// declaration"), with real parts: a real Mosquitto, a real `canopy root` process on a real fleet
// repository, one connected cluster (munich) with a sim agent as real processes, and
// clusters/ship.yaml declaring `spec.connectivity: air-gapped`, with no process at all. The root
// places on ship from its declaration, never marks it unreachable, `canopy status` shows the
// service `awaiting-bundle` and `canopy wait` exits 5 naming ship; then the status that would come
// back by bundle is written into refs/canopy/status/ship (StatusRecorder) while the root runs: the
// root takes it, the commit converges, wait exits 0. A rollout with a wave over ship and one over
// munich completes without waiting for ship.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { canopyAsync, eventually } from '../helpers/canopy.js';
import { git } from '../helpers/git.js';
import { startFleet, type TestFleet } from '../helpers/fleet.js';
import { openRepo, resolveRef, type Repo } from '../../reconciler/git/repo.js';
import { readRecord } from '../../reconciler/git/records.js';
import { StatusRecorder } from '../../reconciler/cluster/status-ref.js';
import { parseNote } from '../../reconciler/core/note.js';
import { placementRef } from '../../reconciler/core/refs.js';
import type { ClusterStatus, Placement } from '../../schemas/messages.js';

const test = suite('air-gapped cluster: placed from its declaration, awaiting-bundle, wait 5, converged by its status ref');
let f: TestFleet;
let repo: Repo;
let v1 = '';

const SHIP = [
  'apiVersion: canopy/v1',
  'kind: Cluster',
  'metadata: {name: ship, labels: {site: sea}}',
  'spec:',
  '  connectivity: air-gapped',
  '  location: {lat: 54.3, lon: 10.1}',
  '  capacity: {cpu: 8, memory: 8Gi, nodes: 2, runtimes: [process]}',
  '',
].join('\n');
const ROLLOUT = { waves: [{ names: ['ship'] }, { names: ['munich'] }], bakeSeconds: 0, progressDeadlineSeconds: 120 };
const web = (v: string) => f.service('shop/web', { replicas: 2, spread: 'clusters', env: { V: v }, rollout: ROLLOUT });

async function placement(cluster: string): Promise<Placement | undefined> {
  const oid = await resolveRef(repo, placementRef(cluster));
  return oid ? readRecord(repo, oid, 'placement.json', 'Placement') : undefined;
}
const note = (commit: string) => parseNote(git(f.dir, 'notes', '--ref', 'canopy', 'show', commit));
const statusJson = async () => JSON.parse((await canopyAsync(['status', '--repo', f.dir, '--json'])).stdout);

/** What the site would record and send back by bundle: its placement applied, every replica ready. */
async function statusComesBack(): Promise<void> {
  const p = (await placement('ship'))!;
  const services: ClusterStatus['services'] = {};
  for (const [id, a] of Object.entries(p.services))
    services[id] = { desired: a.replicas, running: a.replicas, ready: a.replicas, updated: a.replicas, failed: 0 };
  const cap = { cpu: 8, memoryMi: 8192, gpu: 0 };
  const node = { cpu: 4, memoryMi: 4096, gpu: 0 };
  const status: ClusterStatus = {
    kind: 'cluster-status',
    cluster: 'ship',
    at: new Date().toISOString(),
    applied: p.version,
    capacity: cap,
    free: cap,
    maxNodeFree: node,
    maxNode: node,
    arch: ['amd64'],
    runtimes: ['process'],
    labels: { site: 'sea' },
    nodes: { total: 2, online: 2 },
    services,
  };
  const rec = new StatusRecorder(repo, 'ship', { name: 'canopy cluster ship', email: 'ship@canopy.invalid' });
  assert.is(await rec.record(status, 60_000), 'changed');
}

test.before(async () => {
  try {
    f = await startFleet({
      name: `airgap-${process.pid}`,
      runtime: 'sim',
      clusters: { munich: { lat: 48.1, lon: 11.6, nodes: 1 } },
      services: {},
      timings: { heartbeatSeconds: 0.5, unreachableAfterSeconds: 2, statusRefreshSeconds: 5 },
    });
    repo = await openRepo(f.dir);
    v1 = await f.commit({ 'clusters/ship.yaml': SHIP, ...web('1') }, 'ship, air-gapped; shop/web on both');
  } catch (e) {
    process.stderr.write(`before: ${(e as Error).stack}\n`);
    await f?.stop();
    throw e;
  }
});

test.after(async () => {
  await f?.stop();
});

test('placed on from its declaration; wait exits 5 naming it; status says awaiting-bundle and air-gapped', async () => {
  const w = await f.wait(v1, 60);
  assert.is(w.code, 5, `${w.stderr}\n${f.logs()}`);
  assert.is(w.stdout.trim(), 'ship');
  assert.match(w.stderr, /every connected cluster converged/);
  assert.match(w.stderr, /canopy bundle export --repo DIR --cluster ship --out FILE/);
  const p = await placement('ship');
  assert.is(p?.services['shop/web']?.replicas, 1, 'one of two replicas placed on ship from its declaration');
  assert.is((await placement('munich'))?.services['shop/web']?.replicas, 1);
  const s = await statusJson();
  assert.is(s.services['shop/web'].state, 'awaiting-bundle', JSON.stringify(s.services['shop/web']));
  assert.match(s.services['shop/web'].reason, /export a bundle: canopy bundle export --repo DIR --cluster ship --out FILE/);
  assert.is(s.clusters.ship.state, 'air-gapped');
  assert.is(s.clusters.ship.lastHeartbeat, null, 'no status came back yet');
  assert.is(s.clusters.munich.state, 'online');
  assert.equal(s.head.awaitingBundle, ['ship']);
  const text = (await canopyAsync(['status', '--repo', f.dir])).stdout;
  assert.match(text, /awaiting a bundle from air-gapped ship/);
  assert.match(text, /ship\s+air-gapped\s.*no bundle yet/);
});

test('the status that comes back by bundle is taken while the root runs: converged, wait exits 0', async () => {
  await statusComesBack();
  // The root reads the ref on its next look (every 5 s); until then the note still says 5.
  await eventually('the root took ship’s status: v1 converged', () => !!note(v1)?.convergedAt, 30_000);
  const w = await f.wait(v1, 60);
  assert.is(w.code, 0, `${w.stderr}\n${f.logs()}`);
  assert.ok(note(v1)?.convergedAt);
  assert.ok(note(v1)?.connectedConvergedAt, 'the note keeps when the connected clusters converged');
  const s = await statusJson();
  assert.is(s.services['shop/web'].state, 'converged', JSON.stringify(s.services['shop/web']));
  assert.is(s.services['shop/web'].ready, 2);
  assert.is(s.clusters.ship.state, 'air-gapped');
  assert.ok(s.clusters.ship.lastHeartbeat, 'the time of its last status by bundle');
});

test('a rollout over ship and munich completes without waiting for ship; wait exits 5 again until its status comes back', async () => {
  const v2 = await f.commit(web('2'), 'shop/web v2: rolled out in waves');
  const w = await f.wait(v2, 60);
  assert.is(w.code, 5, `${w.stderr}\n${f.logs()}`);
  const r = note(v2)?.rollouts?.['shop/web'];
  assert.is(r?.state, 'done', JSON.stringify(r));
  assert.equal(r?.waves[0].airGapped, ['ship'], 'recorded as not waited for');
  assert.ok(r?.waves[1].readyAt, 'munich’s wave ready');
  const rollout = (await placement('ship'))!.services['shop/web'].specHash;
  assert.is(rollout, (await placement('munich'))!.services['shop/web'].specHash, 'ship gets the outcome when the rollout ends');
  const h = await canopyAsync(['history', 'shop/web', '--repo', f.dir]);
  assert.match(h.stdout, /not waited for \(air-gapped, by bundle\): ship/);
  await statusComesBack();
  await eventually('v2 converged once ship’s status came back', () => !!note(v2)?.convergedAt, 30_000);
  assert.is((await f.wait(v2, 60)).code, 0);
});

test('never marked unreachable for its silence, in the whole run', async () => {
  await eventually('munich heard by the root', async () => (await statusJson()).clusters.munich.state === 'online');
  const log = git(f.dir, 'log', '--format=%s', placementRef('ship'));
  assert.not.match(log, /unreachable/);
  assert.not.match(f.procs.get('root')!.output(), /cluster ship offline|failover/);
});

test.run();
