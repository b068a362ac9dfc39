// Converged means ready, against a real root, real Git and a real Mosquitto: two fake clusters
// apply what the root sends and publish statuses (and record them in their status refs, as a
// cluster does) in which every replica asked for runs; munich's are not ready (their probe
// fails). The commit does not converge, its note says which service is not ready and why,
// `canopy status --json` says progressing with the probe's message, and `canopy wait` times out
// naming it. Once munich reports them ready, the note has convergedAt and wait exits 0.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import jsonpatch from 'fast-json-patch';
import { startRoot, type Root } from '../../reconciler/root/root.js';
import { connectBus, type Bus } from '../../reconciler/mqtt/bus.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { openRepo, resolveRef, type Repo } from '../../reconciler/git/repo.js';
import { readNote } from '../../reconciler/git/notes.js';
import { parseNote, type CommitNote } from '../../reconciler/core/note.js';
import { StatusRecorder } from '../../reconciler/cluster/status-ref.js';
import { createLogger } from '../../reconciler/core/log.js';
import { parsePayload } from '../../schemas/parse.js';
import type { ClusterStatus, Placement, ServiceStatus } from '../../schemas/messages.js';
import type { FleetReport } from '../../reconciler/report/fleet-status.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { tempDir, commitFiles, serviceYaml } from '../helpers/git.js';
import { canopyAsync, eventually } from '../helpers/canopy.js';
import { aClusterStatus } from '../helpers/root-fakes.js';

const test = suite('converged means ready: a real root, fake clusters');
const FLEET =
  'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: rd}\nspec:\n  timings: {heartbeatSeconds: 1, unreachableAfterSeconds: 30, statusRefreshSeconds: 60}\n';
const t = topics('rd');
const pinned = (name: string, replicas: number, cluster: string) =>
  serviceYaml('shop', name, { runtime: 'process', command: ['sleep', '1'], replicas, constraints: { clusters: { names: [cluster] } } });
const PROBE = 'GET /health: 503';

let broker: Mosquitto, bus: Bus, root: Root, repo: Repo, dir: string, head: string;

/** A cluster that applies what the root sends and reports every replica running, `unready` of each service not ready. */
class FakeCluster {
  doc?: Placement;
  unready: Record<string, number> = {};
  private recorder: StatusRecorder;
  constructor(readonly name: string) {
    this.recorder = new StatusRecorder(repo, name, { name: `canopy cluster ${name}`, email: `${name}@canopy.invalid` });
  }
  async start(): Promise<void> {
    await bus.subscribe(t.clusterDesired(this.name), (topic, payload) => {
      const p = parsePayload('DesiredMessage', payload, topic);
      if (!p.ok) throw new Error(p.error);
      const m = p.value;
      if (m.kind === 'snapshot') this.doc = m.placement;
      else if (m.kind === 'patch' && this.doc && this.doc.version.seq === m.base.seq)
        this.doc = jsonpatch.applyPatch(structuredClone(this.doc), m.ops as jsonpatch.Operation[], true, false).newDocument;
      void this.report();
    });
    await this.report();
  }
  async report(): Promise<void> {
    const services: Record<string, ServiceStatus> = {};
    for (const [id, a] of Object.entries(this.doc?.services ?? {})) {
      const no = Math.min(this.unready[id] ?? 0, a.replicas);
      services[id] = { desired: a.replicas, running: a.replicas, ready: a.replicas - no, failed: 0, ...(no ? { message: `${no} not ready: ${PROBE}` } : {}) };
    }
    const status: ClusterStatus = aClusterStatus(this.name, { at: new Date().toISOString(), applied: this.doc?.version ?? null, services });
    await this.recorder.record(status, 60_000);
    await bus.publish(t.clusterStatus(this.name), status, { retain: true });
  }
}

let clusters: Record<'munich' | 'paris', FakeCluster>;

async function note(): Promise<CommitNote | undefined> {
  const text = await readNote(repo, head);
  return text ? parseNote(text) : undefined;
}

async function status(): Promise<FleetReport> {
  const r = await canopyAsync(['status', '--repo', dir, '--json']);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as FleetReport;
}

test.before(async () => {
  broker = await startMosquitto();
  dir = path.join(tempDir('canopy-ready-'), 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  head = commitFiles(
    dir,
    { 'fleet.yaml': FLEET, 'services/shop/web.yaml': pinned('web', 2, 'munich'), 'services/shop/db.yaml': pinned('db', 1, 'paris') },
    'fleet',
  );
  repo = await openRepo(dir);
  clusters = { munich: new FakeCluster('munich'), paris: new FakeCluster('paris') };
  clusters.munich.unready = { 'shop/web': 2 };
  bus = await connectBus({ url: broker.url, clientId: 'ready-test', log: createLogger('bus', 'warn') });
  for (const c of Object.values(clusters)) await c.start();
  root = await startRoot({ repo, bus, fleet: 'rd', log: createLogger('root', 'warn') });
});

test.after(async () => {
  await root?.stop();
  await bus?.close();
  await broker?.stop();
});

test('every replica running, two not ready: not converged; the note says which and why', async () => {
  const n = await eventually('the note names shop/web not ready', async () => ((await note())?.notReady?.['shop/web'] ? note() : undefined), 20_000, 50);
  assert.is(n!.outcome, 'accepted');
  assert.is(n!.convergedAt, undefined, 'running == desired is not converged while replicas are not ready');
  assert.is(n!.notReady!['shop/web'], `munich: 0/2 ready, 2 running: 2 not ready: ${PROBE}`);
  assert.is(n!.notReady!['shop/db'], undefined);
  assert.ok(await resolveRef(repo, 'refs/canopy/status/munich'), 'munich recorded its status');
});

test('status says progressing, ready beside desired and running, with the probe’s message', async () => {
  const s: FleetReport = await eventually('both clusters applied', async () => {
    const r = await status();
    return r.services['shop/db']?.state === 'converged' && r.services['shop/web']?.reason !== 'waiting for clusters to apply the latest placement'
      ? r
      : undefined;
  }).then((r) => r!);
  const web = s.services['shop/web'];
  assert.equal([web.desired, web.running, web.ready, web.state], [2, 2, 0, 'progressing']);
  assert.is(web.reason, `munich: 2 not ready: ${PROBE}`);
  assert.equal([s.services['shop/db'].ready, s.services['shop/db'].reason], [1, '1/1 ready']);
  const text = await canopyAsync(['status', '--repo', dir]);
  assert.match(text.stdout, /^shop\/web +0\/2 +2 +progressing/m);
});

test('wait times out (exit 1), saying which service is not ready and why', async () => {
  const r = await canopyAsync(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '1s', '--quiet']);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /has not converged; not ready, as canopy status reads it:/);
  assert.match(r.stderr, /^ {2}shop\/web: progressing, 0\/2 ready, 2 running: munich: 2 not ready: GET \/health: 503$/m);
  assert.not.match(r.stderr, /shop\/db/);
});

test('once every replica asked for is ready: converged, the note has convergedAt, wait exits 0', async () => {
  clusters.munich.unready = {};
  await clusters.munich.report();
  const n = await eventually('converged', async () => ((await note())?.convergedAt ? note() : undefined), 20_000, 50);
  assert.is(n!.notReady, undefined, 'the note drops what held it up');
  const r = await canopyAsync(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '5s']);
  assert.is(r.code, 0, r.stderr);
  const s = await status();
  assert.equal([s.services['shop/web'].ready, s.services['shop/web'].state], [2, 'converged']);
  assert.is(s.head?.convergedAt, n!.convergedAt);
});

test.run();
