// A root restarted in the middle of a rollout picks it up from Git alone (the pending note's
// record, the placement refs) and carries it on: the wave under way keeps its start time, the
// next wave starts only after it bakes, and a rollback after the restart gives every cluster the
// spec it rolled from (read from the placement ref of a cluster that still holds it, or from the
// commit it came from when none does). Real Mosquitto and a real Git repository; the clusters are
// this test publishing their statuses as a cluster does (applied version, ready on the new spec).
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
import { readNote } from '../../reconciler/git/notes.js';
import { parseNote, type NoteRollout } from '../../reconciler/core/note.js';
import { createLogger } from '../../reconciler/core/log.js';
import type { ClusterStatus, Placement } from '../../schemas/messages.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { tempDir, commitFiles, serviceYaml } from '../helpers/git.js';
import { eventually } from '../helpers/canopy.js';

const test = suite('a root restarted during a rollout');
const FLEET = 'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: ro}\nspec:\n  timings: {heartbeatSeconds: 1, unreachableAfterSeconds: 30}\n';
const t = topics('ro');
const log = createLogger('root', (process.env.CANOPY_LOG as 'debug') ?? 'warn');
let broker: Mosquitto, bus: Bus, root: Root | undefined, repo: Repo, dir: string;
const CLUSTERS = ['a', 'b'];

const web = (v: string, autoRollback = true) =>
  serviceYaml('shop', 'web', {
    runtime: 'process',
    command: ['sleep', '100'],
    env: { V: v },
    replicas: 2,
    spread: 'clusters',
    resources: { cpu: 0.5 },
    rollout: { waves: [{ names: ['a'] }], bakeSeconds: 1, progressDeadlineSeconds: 10, autoRollback },
  });

function statusOf(cluster: string, p: Placement | undefined, updated?: number): ClusterStatus {
  const cap = { cpu: 8, memoryMi: 8192, gpu: 0 };
  const a = p?.services['shop/web'];
  const n = a?.replicas ?? 0;
  return {
    kind: 'cluster-status',
    cluster,
    at: new Date().toISOString(),
    applied: p?.version ?? null,
    capacity: cap,
    free: cap,
    maxNodeFree: cap,
    maxNode: cap,
    arch: ['amd64'],
    runtimes: ['process'],
    labels: {},
    nodes: { total: 1, online: 1 },
    services: a ? { 'shop/web': { desired: n, running: n, ready: n, updated: updated ?? n, failed: 0 } } : {},
  };
}
const placement = async (c: string): Promise<Placement | undefined> => {
  const oid = await resolveRef(repo, placementRef(c));
  return oid ? readRecord(repo, oid, PLACEMENT_FILE, 'Placement') : undefined;
};
const env = async (c: string) => (await placement(c))?.services['shop/web']?.spec.env?.V;
/** How many replicas each cluster has ready on its spec (absent: all of them). */
const ready = new Map<string, number>();
/** Each cluster reports its placement applied, with `ready` of its replicas ready on its spec. */
async function report(c: string, updated?: number): Promise<void> {
  if (updated === undefined) ready.delete(c);
  else ready.set(c, updated);
  await bus.publish(t.clusterStatus(c), statusOf(c, await placement(c), ready.get(c)), { retain: true });
}
/** As clusters do: a status again and again (a heartbeat), with what they hold now. */
let beating: NodeJS.Timeout | undefined;
function heartbeat(): void {
  beating = setInterval(() => {
    for (const c of CLUSTERS) void placement(c).then((p) => bus.publish(t.clusterStatus(c), statusOf(c, p, ready.get(c)), { retain: true }));
  }, 250);
}
const head = () => execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
async function rolloutOn(commit: string): Promise<NoteRollout | undefined> {
  const text = await readNote(repo, commit);
  return text ? parseNote(text)?.rollouts?.['shop/web'] : undefined;
}
const start = async () => {
  root = await startRoot({ repo, bus, fleet: 'ro', log });
};
const stop = async () => {
  await root?.stop();
  root = undefined;
};

test.before(async () => {
  broker = await startMosquitto();
  dir = path.join(tempDir('canopy-rollout-restart-'), 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  commitFiles(dir, { 'fleet.yaml': FLEET, 'services/shop/web.yaml': web('1') }, 'v1');
  repo = await openRepo(dir);
  bus = await connectBus({ url: broker.url, clientId: 'ro-clusters', log });
  for (const c of CLUSTERS) await report(c);
  heartbeat();
});

test.after(async () => {
  clearInterval(beating);
  await stop();
  await bus?.close();
  await broker?.stop();
});

test('v1 runs on both clusters; v2 starts on the first wave; the root stops mid-wave', async () => {
  await start();
  await eventually('v1 placed on a and b', async () => (await env('a')) === '1' && (await env('b')) === '1', 20_000, 50);
  for (const c of CLUSTERS) await report(c);
  // a is not ready on v2 until the root has restarted.
  await report('a', 0);
  commitFiles(dir, { 'services/shop/web.yaml': web('2') }, 'v2');
  await eventually('wave 1 started: a on v2, b on v1', async () => (await env('a')) === '2' && (await env('b')) === '1', 20_000, 50);
  await eventually('the note tells it', async () => (await rolloutOn(head()))?.waves[0].startedAt !== undefined, 20_000, 50);
  const r = await rolloutOn(head());
  assert.is(r?.state, 'progressing');
  assert.equal(
    r?.waves.map((w) => w.clusters),
    [['a'], ['b']],
  );
  await stop();
});

test.after.each(stop);

test('restarted: it carries the rollout on from the note; the wave keeps its start; b gets v2 only after a baked', async () => {
  const before = (await rolloutOn(head()))!.waves[0].startedAt;
  await start();
  await report('a');
  // The placement ref moves before the note that records the wave's start: wait for both.
  await eventually(
    'wave 2 started after wave 1 baked',
    async () => (await env('b')) === '2' && (await rolloutOn(head()))?.waves[1]?.startedAt !== undefined,
    20_000,
    50,
  );
  let r = (await rolloutOn(head()))!;
  assert.is(r.waves[0].startedAt, before, 'the wave kept its start');
  assert.ok(Date.parse(r.waves[1].startedAt!) >= Date.parse(r.waves[0].readyAt!) + 1000, `started after the bake: ${JSON.stringify(r.waves)}`);
  await report('b');
  await eventually('done', async () => (await rolloutOn(head()))?.state === 'done', 20_000, 50);
  r = (await rolloutOn(head()))!;
  assert.ok(r.endedAt);
});

test('restarted during a rollout that then fails: every cluster goes back to the spec it rolled from, read from Git', async () => {
  await start();
  await report('a', 0);
  commitFiles(dir, { 'services/shop/web.yaml': web('3') }, 'v3');
  await eventually('wave 1 of v3 started', async () => (await env('a')) === '3', 20_000, 50);
  await stop();
  await start();
  await eventually('rolled back after the deadline', async () => (await rolloutOn(head()))?.state === 'rolled-back', 20_000, 100);
  await eventually('every cluster back on v2', async () => (await env('a')) === '2' && (await env('b')) === '2', 20_000, 50);
  const r = (await rolloutOn(head()))!;
  assert.match(r.reason!, /wave 1 \(a\) not ready after .* \(progressDeadlineSeconds 10\): a: 0\/1 ready on the new spec/);
  const text = (await readNote(repo, head()))!;
  assert.match(text, /Rollout of shop\/web \(from [0-9a-f]{12}\): ROLLED BACK at/);
  assert.not.match(text, /Converged at/);
});

test.run();
