// Routes down the hierarchy, root side, against a real Git repository and a real Mosquitto: two
// services of one app pinned to two clusters; each fake cluster applies what the root sends
// (snapshots and patches) and reports its endpoints. Each cluster's placement, in its placement
// ref and as the cluster received it, carries the other cluster's endpoints; when one cluster's
// status drops its endpoint, the other gets a new placement version without it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import jsonpatch from 'fast-json-patch';
import { startRoot, type Root } from '../../reconciler/root/root.js';
import { connectBus, type Bus } from '../../reconciler/mqtt/bus.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { openRepo, resolveRef, readCommit, type Repo } from '../../reconciler/git/repo.js';
import { placementRef, PLACEMENT_FILE } from '../../reconciler/core/refs.js';
import { readRecord } from '../../reconciler/git/records.js';
import { createLogger } from '../../reconciler/core/log.js';
import { parsePayload } from '../../schemas/parse.js';
import type { ClusterStatus, Placement, ServiceStatus } from '../../schemas/messages.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { tempDir, commitFiles, serviceYaml } from '../helpers/git.js';
import { eventually } from '../helpers/canopy.js';
import { aClusterStatus } from '../helpers/root-fakes.js';

const test = suite('root routes: endpoints down to the clusters that use them');
const FLEET =
  'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: rr}\nspec:\n  timings: {heartbeatSeconds: 1, unreachableAfterSeconds: 30, statusRefreshSeconds: 60}\n';
const t = topics('rr');
const pinned = (name: string, port: number, cluster: string) =>
  serviceYaml('shop', name, { runtime: 'process', command: ['sleep', '1'], replicas: 1, ports: [{ port }], constraints: { clusters: { names: [cluster] } } });
const AT = { munich: { lat: 48.137, lon: 11.575 }, paris: { lat: 48.857, lon: 2.352 } } as const;
type Name = keyof typeof AT;

let broker: Mosquitto, bus: Bus, root: Root, repo: Repo;

/** A cluster that applies what the root sends and reports what it applied and its endpoints. */
class FakeCluster {
  doc?: Placement;
  received: string[] = [];
  endpoints: Record<string, string[]> = {};
  constructor(readonly name: Name) {}
  async start(): Promise<void> {
    await bus.subscribe(t.clusterDesired(this.name), (topic, payload) => {
      const p = parsePayload('DesiredMessage', payload, topic);
      if (!p.ok) throw new Error(p.error);
      const m = p.value;
      this.received.push(m.kind);
      if (m.kind === 'snapshot') this.doc = m.placement;
      else if (m.kind === 'patch' && this.doc && this.doc.version.seq === m.base.seq)
        this.doc = jsonpatch.applyPatch(structuredClone(this.doc), m.ops as jsonpatch.Operation[], true, false).newDocument;
      void this.report();
    });
    await this.report();
  }
  async report(): Promise<void> {
    const services: Record<string, ServiceStatus> = {};
    for (const id of Object.keys(this.doc?.services ?? {}))
      services[id] = { desired: 1, running: 1, failed: 0, ...(this.endpoints[id] ? { endpoints: this.endpoints[id] } : {}) };
    const c = { cpu: 64, memoryMi: 65536, gpu: 0 };
    const status: ClusterStatus = aClusterStatus(this.name, {
      at: new Date().toISOString(),
      applied: this.doc?.version ?? null,
      ...{ capacity: c, free: c, maxNodeFree: c, maxNode: c },
      location: AT[this.name],
      services,
    });
    await bus.publish(t.clusterStatus(this.name), status, { retain: true });
  }
}

const clusters = { munich: new FakeCluster('munich'), paris: new FakeCluster('paris') };

/** The cluster's placement as its placement ref holds it, and the ref's head commit message. */
async function fromGit(c: Name): Promise<{ doc?: Placement; message?: string }> {
  const oid = await resolveRef(repo, placementRef(c));
  if (!oid) return {};
  return { doc: await readRecord(repo, oid, PLACEMENT_FILE, 'Placement'), message: (await readCommit(repo, oid)).message };
}

/** Wait until both Git and the fake cluster hold a placement of `c` satisfying `ok`; returns Git's. */
type Read = { doc: Placement; message: string };
async function both(what: string, c: Name, ok: (p: Placement | undefined) => boolean): Promise<Read> {
  const got = await eventually(
    `${c}: ${what}`,
    async () => {
      const g = await fromGit(c);
      return ok(g.doc) && ok(clusters[c].doc) && g.doc!.version.seq === clusters[c].doc!.version.seq ? (g as Read) : undefined;
    },
    20_000,
    50,
  );
  return got as Read;
}
const routeTo = (p: Placement | undefined, id: string) => p?.routes?.[id]?.clusters;

test.before(async () => {
  broker = await startMosquitto();
  const dir = path.join(tempDir('canopy-root-routes-'), 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  commitFiles(
    dir,
    { 'fleet.yaml': FLEET, 'services/shop/web.yaml': pinned('web', 80, 'munich'), 'services/shop/db.yaml': pinned('db', 5432, 'paris') },
    'fleet',
  );
  repo = await openRepo(dir);
  bus = await connectBus({ url: broker.url, clientId: 'root-routes-test', log: createLogger('bus', 'warn') });
  for (const c of Object.values(clusters)) await c.start();
  root = await startRoot({ repo, bus, fleet: 'rr', log: createLogger('root', 'warn') });
});

test.after(async () => {
  await root?.stop();
  await bus?.close();
  await broker?.stop();
});

test('each cluster gets a route for every service of the app, with no other cluster before any endpoint', async () => {
  const m = await both('web placed, routes with no cluster', 'munich', (p) => !!p?.services['shop/web'] && routeTo(p, 'shop/db')?.length === 0);
  assert.equal(m.doc.routes, { 'shop/db': { port: 5432, clusters: [] }, 'shop/web': { port: 80, clusters: [] } });
  const p = await both('db placed, routes with no cluster', 'paris', (p) => !!p?.services['shop/db'] && routeTo(p, 'shop/web')?.length === 0);
  assert.equal(Object.keys(p.doc.routes!), ['shop/db', 'shop/web']);
});

test("each cluster's placement carries the other cluster's endpoints, never its own", async () => {
  clusters.munich.endpoints = { 'shop/web': ['10.0.0.1:31080', '10.0.0.2:31080'] };
  clusters.paris.endpoints = { 'shop/db': ['10.1.0.1:31432'] };
  await clusters.munich.report();
  await clusters.paris.report();
  const p = await both('web at munich', 'paris', (p) => routeTo(p, 'shop/web')?.length === 1);
  assert.equal(p.doc.routes!['shop/web'], { port: 80, clusters: [{ cluster: 'munich', rank: 0, endpoints: ['10.0.0.1:31080', '10.0.0.2:31080'] }] });
  assert.equal(routeTo(p.doc, 'shop/db'), [], 'paris is never routed to itself');
  assert.match(p.message, /routes: shop\/web \(1 cluster\)/);
  const m = await both('db at paris', 'munich', (p) => routeTo(p, 'shop/db')?.length === 1);
  assert.equal(m.doc.routes!['shop/db'], { port: 5432, clusters: [{ cluster: 'paris', rank: 0, endpoints: ['10.1.0.1:31432'] }] });
  assert.equal(routeTo(m.doc, 'shop/web'), []);
});

test('an endpoint dropped at munich: paris gets a new placement version without it, by patch', async () => {
  const before = (await fromGit('paris')).doc!;
  const patches = clusters.paris.received.filter((k) => k === 'patch').length;
  clusters.munich.endpoints = { 'shop/web': ['10.0.0.2:31080'] };
  await clusters.munich.report();
  const p = await both('one web endpoint', 'paris', (p) => routeTo(p, 'shop/web')?.[0]?.endpoints.length === 1);
  assert.equal(routeTo(p.doc, 'shop/web'), [{ cluster: 'munich', rank: 0, endpoints: ['10.0.0.2:31080'] }]);
  assert.ok(p.doc.version.seq > before.version.seq, 'a new version');
  assert.equal(p.doc.services, before.services, 'its services did not change');
  assert.ok(clusters.paris.received.filter((k) => k === 'patch').length > patches, 'sent as a patch');

  clusters.munich.endpoints = {};
  await clusters.munich.report();
  const q = await both('no web endpoint', 'paris', (p) => routeTo(p, 'shop/web')?.length === 0);
  assert.ok(q.doc.version.seq > p.doc.version.seq);
  assert.equal(q.doc.routes!['shop/web'], { port: 80, clusters: [] });
  assert.equal(clusters.paris.doc, q.doc, 'what the cluster applied is what Git holds');
});

test.run();
