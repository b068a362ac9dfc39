// A root restarted beside a broker that lost its retained messages (restarted, or `canopy up`'s
// embedded one) hears its clusters again one by one. A cluster that held replicas and has not
// spoken yet is not gone: its replicas stay where they are (a service with a failover policy
// moves after its deadline), nothing is placed twice, and when the cluster reports, nothing moves.
// Found running `canopy up` a second time with a cluster added: the new one reported first and
// the root placed every service there as well, leaving the old placement in force (4/2 running).
// Real Mosquitto (restarted between the two roots), a real Git repository; the clusters are
// this test publishing their statuses.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startRoot, type Root } from '../../reconciler/root/root.js';
import { connectBus, type Bus } from '../../reconciler/mqtt/bus.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { openRepo, resolveRef, type Repo } from '../../reconciler/git/repo.js';
import { placementRef, PLACEMENT_FILE } from '../../reconciler/core/refs.js';
import { readRecord } from '../../reconciler/git/records.js';
import { StatusRecorder } from '../../reconciler/cluster/status-ref.js';
import { createLogger } from '../../reconciler/core/log.js';
import type { ClusterStatus, Placement } from '../../schemas/messages.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { tempDir, commitFiles, serviceYaml } from '../helpers/git.js';
import { eventually } from '../helpers/canopy.js';

const test = suite('a restarted root and clusters not heard yet');
const FLEET =
  'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: rr}\nspec:\n  timings: {heartbeatSeconds: 1, unreachableAfterSeconds: 30, statusRefreshSeconds: 60}\n';
const t = topics('rr');
let log = createLogger('root', (process.env.CANOPY_LOG as 'debug') ?? 'warn');
let broker: Mosquitto, bus: Bus, root: Root | undefined, repo: Repo, dir: string;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function statusOf(cluster: string, applied: ClusterStatus['applied'] = null, lat = 48.137, lon = 11.575): ClusterStatus {
  const cap = { cpu: 8, memoryMi: 8192, gpu: 0 };
  return {
    kind: 'cluster-status',
    cluster,
    at: new Date().toISOString(),
    applied,
    capacity: cap,
    free: cap,
    maxNodeFree: { cpu: 4, memoryMi: 4096, gpu: 0 },
    maxNode: { cpu: 4, memoryMi: 4096, gpu: 0 },
    arch: ['amd64'],
    runtimes: ['container', 'process'],
    labels: { operator: 'telco-a' },
    location: { lat, lon },
    nodes: { total: 2, online: 2 },
    services: {},
  };
}
const placement = async (cluster: string): Promise<Placement | undefined> => {
  const oid = await resolveRef(repo, placementRef(cluster));
  return oid ? readRecord(repo, oid, PLACEMENT_FILE, 'Placement') : undefined;
};
const replicas = async (cluster: string, id: string) => (await placement(cluster))?.services[id]?.replicas ?? 0;
const where = async (id: string) => ({ munich: await replicas('munich', id), paris: await replicas('paris', id), freising: await replicas('freising', id) });

test.before(async () => {
  broker = await startMosquitto();
  dir = path.join(tempDir('canopy-root-restart-'), 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  const near = { geo: { lat: 48.137, lon: 11.575, withinKm: 50 } };
  commitFiles(
    dir,
    {
      'fleet.yaml': FLEET,
      'services/shop/web.yaml': serviceYaml('shop', 'web', {
        runtime: 'process',
        command: ['sleep', '1'],
        replicas: 2,
        resources: { cpu: 0.5 },
        constraints: near,
      }),
      'services/shop/api.yaml': serviceYaml('shop', 'api', {
        runtime: 'process',
        command: ['sleep', '1'],
        replicas: 1,
        resources: { cpu: 0.5 },
        constraints: near,
        failover: { afterSeconds: 2 },
      }),
    },
    'fleet',
  );
  repo = await openRepo(dir);
  bus = await connectBus({ url: broker.url, clientId: 'rr-clusters', log });
});

test.after(async () => {
  await root?.stop();
  await bus?.close();
  await broker?.stop();
});

test('first life: both services on munich, which commits its status to Git', async () => {
  await bus.publish(t.clusterStatus('munich'), statusOf('munich'), { retain: true });
  await bus.publish(t.clusterStatus('paris'), statusOf('paris', null, 48.857, 2.352), { retain: true });
  root = await startRoot({ repo, bus, fleet: 'rr', log });
  await eventually('placed on munich', async () => (await replicas('munich', 'shop/web')) === 2 && (await replicas('munich', 'shop/api')) === 1, 20_000, 50);
  // As a cluster does: its status record in Git (what a restarted root knows it by).
  await new StatusRecorder(repo, 'munich', { name: 'munich', email: 'munich@canopy.invalid' }).record(
    statusOf('munich', (await placement('munich'))!.version),
    60_000,
  );
  await root.stop();
  root = undefined;
});

/**
 * Restart the broker (its retained statuses are gone), publish `first` as the only clusters
 * heard, start a new root and give it a moment; then `body`, with the bus the clusters speak on.
 */
async function restarted(first: () => Promise<ClusterStatus[]>, body: (clusters: Bus) => Promise<void>): Promise<void> {
  await broker.restart();
  const clusters = await connectBus({ url: broker.url, clientId: `rr-clusters-${++restarts}`, log });
  try {
    for (const s of await first()) await clusters.publish(t.clusterStatus(s.cluster), s, { retain: true });
    root = await startRoot({ repo, bus: clusters, fleet: 'rr', log });
    await root.idle();
    await sleep(1200);
    await body(clusters);
  } finally {
    await root?.stop();
    root = undefined;
    await clusters.close();
  }
}
let restarts = 0;

test('restarted with an empty broker: a new cluster reports first; munich keeps its replicas until heard or failed over', async () => {
  const before = (await placement('munich'))!.version;
  // Freising (33 km from Munich, so it qualifies) reports; munich and paris do not, yet.
  await restarted(
    async () => [statusOf('freising', null, 48.403, 11.749)],
    async (clusters) => {
      assert.equal(await where('shop/web'), { munich: 2, paris: 0, freising: 0 }, 'no failover policy: web stays on munich, and is not placed twice');
      // api asks for failover after 2 s: counted from the root's start, it moves to freising (once).
      await eventually('api failed over to freising', async () => (await replicas('freising', 'shop/api')) === 1, 10_000, 50);
      assert.equal(await where('shop/api'), { munich: 0, paris: 0, freising: 1 }, 'moved, not copied');
      assert.is((await placement('munich'))!.services['shop/web']?.reason !== undefined, true);
      // Munich reports: web stays; nothing is moved back or duplicated.
      await clusters.publish(t.clusterStatus('munich'), statusOf('munich', before), { retain: true });
      await sleep(1500);
      assert.equal(await where('shop/web'), { munich: 2, paris: 0, freising: 0 });
      assert.equal(await where('shop/api'), { munich: 0, paris: 0, freising: 1 });
    },
  );
});

test('restarted again, munich with no status in Git either (a mirror that never fetched it): its replicas still stay', async () => {
  execFileSync('git', ['-C', dir, 'update-ref', '-d', 'refs/canopy/status/munich']);
  await restarted(
    async () => [statusOf('freising', (await placement('freising'))!.version, 48.403, 11.749)],
    async () => {
      assert.equal(await where('shop/web'), { munich: 2, paris: 0, freising: 0 });
      assert.equal(await where('shop/api'), { munich: 0, paris: 0, freising: 1 });
    },
  );
});

test('restarted with a status record in Git that does not validate: named in a warning, ignored; munich keeps its replicas', async () => {
  const blob = execFileSync('git', ['-C', dir, 'hash-object', '-w', '--stdin'], {
    input: '{"kind":"cluster-status","cluster":"munich","capacity":"lots"}\n',
    encoding: 'utf8',
  }).trim();
  const tree = execFileSync('git', ['-C', dir, 'mktree'], { input: `100644 blob ${blob}\tstatus.json\n`, encoding: 'utf8' }).trim();
  const commit = execFileSync('git', ['-C', dir, 'commit-tree', tree, '-m', 'a damaged status record'], { encoding: 'utf8' }).trim();
  execFileSync('git', ['-C', dir, 'update-ref', 'refs/canopy/status/munich', commit]);
  const lines: string[] = [];
  log = createLogger('root', 'warn', (l) => lines.push(l));
  try {
    await restarted(
      async () => [statusOf('freising', (await placement('freising'))!.version, 48.403, 11.749)],
      async () => {
        assert.equal(await where('shop/web'), { munich: 2, paris: 0, freising: 0 });
        assert.ok(
          lines.some((l) => /refs\/canopy\/status\/munich:status\.json.*ignored; munich is kept as it was placed/.test(l)),
          lines.join('\n'),
        );
      },
    );
  } finally {
    log = createLogger('root', 'warn');
  }
});

test.run();
