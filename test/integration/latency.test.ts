// Latency and geo placement through the real pipeline: a Git fleet repo, the embedded broker,
// the root, three clusters and their agents (sim runtime) in this process. A delay proxy gives
// the link to the latency target real delay, different per node (each agent probes from its own
// loopback address); the agents measure it, the clusters report their best, the root places by
// it, and moves the service when the delays change. A cluster admitted by its coarse footprint
// refuses what its node cannot meet, and the root tries the next candidate and says why.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { runRoot, runCluster, runAgent, type Running } from '../../cli/parts.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../reconciler/mqtt/broker.js';
import { connectBus, type Bus } from '../../reconciler/mqtt/bus.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { openRepo, resolveRef, type Repo } from '../../reconciler/git/repo.js';
import { placementRef, PLACEMENT_FILE } from '../../reconciler/core/refs.js';
import { readRecord } from '../../reconciler/git/records.js';
import { createLogger } from '../../reconciler/core/log.js';
import type { ClusterStatus, Placement } from '../../schemas/messages.js';
import { startDelayProxy, type DelayProxy } from '../helpers/delay-proxy.js';
import { tempDir, commitFiles, serviceYaml } from '../helpers/git.js';
import { eventually } from '../helpers/canopy.js';
import { MUNICH } from '../helpers/builders.js';

const test = suite('latency and geo placement through the real pipeline');
const ROSENHEIM = { lat: 47.8571, lon: 12.1181 }; // 51 km from Munich; its geohash cell comes within 46 km
// Each node probes from its own loopback address; the proxy holds each chunk this long, each way.
const FROM = { 'a-rosenheim': '127.0.0.4', 'b-far': '127.0.0.3', 'c-near': '127.0.0.2' } as const;
const work = tempDir('canopy-latency-');
const dir = path.join(work, 'fleet');
const parts: Running[] = [];
let broker: EmbeddedBroker, proxy: DelayProxy, web: http.Server, repo: Repo, watch: Bus;
/** The clusters' latest status as the root hears it (MQTT): Git records only meaningful changes. */
const statuses = new Map<string, ClusterStatus>();

async function placement(cluster: string): Promise<Placement | undefined> {
  const oid = await resolveRef(repo, placementRef(cluster));
  return oid ? readRecord(repo, oid, PLACEMENT_FILE, 'Placement') : undefined;
}
async function status(cluster: string): Promise<ClusterStatus | undefined> {
  return statuses.get(cluster);
}
/** cluster → replicas of a service, and the root's reason, from the placement refs. */
async function where(id: string): Promise<{ at: Record<string, number>; reason: string }> {
  const at: Record<string, number> = {};
  let reason = '';
  for (const c of Object.keys(FROM)) {
    const a = (await placement(c))?.services[id];
    if (a?.replicas) {
      at[c] = a.replicas;
      reason = a.reason ?? '';
    }
  }
  return { at, reason };
}
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
/** Poll `where(id)` until `ok` holds; then return it. */
async function until(id: string, what: string, ok: (x: { at: Record<string, number>; reason: string }) => boolean) {
  let last = { at: {}, reason: '' };
  await eventually(
    what,
    async () => {
      last = await where(id);
      return ok(last);
    },
    20_000,
    200,
  ).catch(async (e: Error) => {
    throw new Error(
      `${e.message}; placed ${JSON.stringify(last)}; statuses ${JSON.stringify([...statuses.values()].map((s) => [s.cluster, s.applied?.seq, s.services]))}; placements ${JSON.stringify(await Promise.all(Object.keys(FROM).map(async (c) => [c, (await placement(c))?.version.seq])))}`,
    );
  });
  return last as { at: Record<string, number>; reason: string };
}

test.before(async () => {
  web = http.createServer((_, res) => {
    res.writeHead(204);
    res.end();
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
  proxy = await startDelayProxy((web.address() as net.AddressInfo).port, {
    byClient: { [FROM['c-near']]: 2, [FROM['b-far']]: 60, [FROM['a-rosenheim']]: 100 },
  });
  broker = await startEmbeddedBroker();
  watch = await connectBus({ url: broker.url, clientId: 'latency-test-watch', log: createLogger('watch', 'warn') });
  await watch.subscribe(topics('lat').allClusterStatus, (topic, payload) => {
    if (payload.length) {
      const s = JSON.parse(payload.toString()) as ClusterStatus;
      statuses.set(s.cluster, s);
    }
  });

  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  const cluster = (name: string, location?: { lat: number; lon: number }) =>
    `apiVersion: canopy/v1\nkind: Cluster\nmetadata: {name: ${name}}\n${location ? `spec: {location: {lat: ${location.lat}, lon: ${location.lon}}}\n` : ''}`;
  const process = { runtime: 'process', command: ['sleep', '3600'], replicas: 1, resources: { cpu: 1 } };
  commitFiles(
    dir,
    {
      'fleet.yaml':
        [
          'apiVersion: canopy/v1',
          'kind: Fleet',
          'metadata: {name: lat}',
          'spec:',
          '  scheduler: {root: spread, cluster: ldp}',
          '  timings: {heartbeatSeconds: 0.3, unreachableAfterSeconds: 3, statusRefreshSeconds: 5}',
          `  targets: {cams: {lat: ${MUNICH.lat}, lon: ${MUNICH.lon}, probe: "${proxy.address('http', '/')}"}}`,
        ].join('\n') + '\n',
      // b-far and c-near are both in Munich: by distance alone they are equally near the target.
      'clusters/b-far.yaml': cluster('b-far', MUNICH),
      'clusters/c-near.yaml': cluster('c-near', MUNICH),
      // a-rosenheim declares no location: the root knows it only by its node's geohash cell.
      'clusters/a-rosenheim.yaml': cluster('a-rosenheim'),
      'services/cam/detector.yaml': serviceYaml('cam', 'detector', { ...process, constraints: { latency: { to: { target: 'cams' }, maxMs: 50 } } }),
      'services/cam/nearby.yaml': serviceYaml('cam', 'nearby', { ...process, constraints: { geo: { ...MUNICH, withinKm: 50 } } }),
    },
    'a fleet with a latency target',
  );
  repo = await openRepo(dir);

  const log = (name: string) => createLogger(name, 'warn');
  for (const c of Object.keys(FROM) as Array<keyof typeof FROM>) {
    parts.push(await runCluster({ name: c, broker: broker.url, repoDir: dir, stateDir: path.join(work, c), log: log(`cluster ${c}`) }));
    parts.push(
      await runAgent({
        cluster: c,
        name: `${c}-1`,
        broker: broker.url,
        fleet: 'lat',
        runtime: 'sim',
        stateDir: path.join(work, c, 'n1'),
        capacity: { cpu: 4, memoryMi: 4096, gpu: 0 },
        location: c === 'a-rosenheim' ? ROSENHEIM : { lat: MUNICH.lat + 0.01, lon: MUNICH.lon + 0.01 },
        probeFrom: FROM[c],
        probeIntervalMs: 500,
        heartbeatMs: 300,
        log: log(`agent ${c}`),
      }),
    );
  }
  // The root starts once every cluster reports its node, its footprint and its measurements.
  await eventually(
    'every cluster reports a measured latency',
    async () => {
      const all = await Promise.all(Object.keys(FROM).map(status));
      return all.every((s) => s?.nodes.online === 1 && s.latency?.cams?.source === 'measured');
    },
    30_000,
    200,
  );
  parts.push(await runRoot({ repo, broker: broker.url, log: log('root') }));
});

test.after(async () => {
  for (const p of parts.reverse()) await p.stop().catch(() => undefined);
  await watch?.close();
  await broker?.close();
  await proxy?.close();
  web?.closeAllConnections();
  await new Promise((r) => web?.close(r));
});

test('the agents measure the delayed links; the clusters report only their best round trip and coarse cells', async () => {
  const near = (await status('c-near'))!,
    far = (await status('b-far'))!,
    ros = (await status('a-rosenheim'))!;
  // The undelayed link: well under the delayed ones (a loaded machine adds tens of ms to any round trip).
  assert.ok(near.latency!.cams.ms < 50 && near.latency!.cams.ms < far.latency!.cams.ms - 60, JSON.stringify([near.latency, far.latency]));
  assert.ok(far.latency!.cams.ms >= 118 && far.latency!.cams.ms < 250, JSON.stringify(far.latency));
  assert.ok(ros.latency!.cams.ms >= 198, JSON.stringify(ros.latency));
  assert.equal(ros.footprint, ['u2887']);
  assert.not.ok('location' in ros);
  assert.not.ok(JSON.stringify(ros).includes('47.8571'), "the node's position stays inside the cluster");
});

test('a service with a 50 ms budget to the target lands where the measured link is fast, and says why not elsewhere', async () => {
  const w = await until('cam/detector', 'detector placed on c-near', (x) => same(x.at, { 'c-near': 1 }));
  assert.match(w.reason, /^placed on c-near×1 \([\d.]+ ms to target cams \(measured\), within 50 ms\)/);
  assert.match(w.reason, /a-rosenheim: [\d.]+ ms to target cams \(measured\), limit 50 ms/);
  assert.match(w.reason, /b-far: 1\d\d(\.\d)? ms to target cams \(measured\), limit 50 ms/);
});

test('a cluster admitted by its footprint refuses what its node cannot meet; the root tries the next and says so', async () => {
  const w = await until(
    'cam/nearby',
    'nearby moved off a-rosenheim',
    (x) => Object.keys(x.at).length === 1 && !x.at['a-rosenheim'] && /refused/.test(x.reason),
  );
  assert.equal(w.at, { 'b-far': 1 }, 'spread: the emptier of the two Munich clusters');
  assert.match(
    w.reason,
    /passed over a-rosenheim: refused 1 replica \(no node can take a replica: a-rosenheim-1: 51 km from \(48\.137, 11\.575\), limit 50 km\), so it is treated as full for this service at 0/,
  );
  // And nothing is left waiting on a-rosenheim.
  await eventually('a-rosenheim no longer holds it', async () => !(await status('a-rosenheim'))?.services['cam/nearby']?.desired, 10_000, 200);
});

test('when the links change, the agents measure it and the service follows', async () => {
  proxy.setDelay(60, FROM['c-near']);
  proxy.setDelay(2, FROM['b-far']);
  const w = await until('cam/detector', 'detector moved to b-far', (x) => same(x.at, { 'b-far': 1 }));
  assert.match(w.reason, /c-near: 1\d\d(\.\d)? ms to target cams \(measured\), limit 50 ms/);
});

test.run();
