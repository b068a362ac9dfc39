// Retiring a cluster (issue 19), with real parts: Mosquitto, `canopy root`, three `canopy cluster`
// processes with a sim agent each (test/helpers/fleet.ts), and `canopy retire C --repo DIR`
// writing the commit. A listener on the broker records every cluster status as it comes, so the
// order is checked as it happened: the replica's new cluster reports it ready before the retired
// cluster reports it stopped (drain first). Then the retired cluster's placement is empty, its
// status history is still in Git, and its cluster process, restarted, runs nothing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt from 'mqtt';
import { canopyAsync, eventually } from '../helpers/canopy.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { commitFiles, git, tempDir } from '../helpers/git.js';
import { startFleet, type TestFleet } from '../helpers/fleet.js';

const test = suite('retire: a cluster drains to the others, then runs nothing (separate processes, sim agents)');
const FLEET = `retire-${process.pid}`;
const SVC = 'shop/web';
let f: TestFleet;
let listener: mqtt.MqttClient;
/** Every status for SVC, in the order the broker delivered them. */
const seen: Array<{ cluster: string; at: string; running: number; ready: number; applied: number | null }> = [];
let retired = '';
let other = '';
let retireCommit = '';

test.before(async () => {
  try {
    f = await startFleet({
      name: FLEET,
      runtime: 'sim',
      clusters: { munich: { lat: 48.1, lon: 11.6, nodes: 1 }, paris: { lat: 48.9, lon: 2.35, nodes: 1 }, rome: { lat: 41.9, lon: 12.5, nodes: 1 } },
      services: { [SVC]: { replicas: 1 } },
      timings: { heartbeatSeconds: 0.5, unreachableAfterSeconds: 3, statusRefreshSeconds: 5 },
    });
    listener = await mqtt.connectAsync(f.broker.url, { clientId: `retire-test-${process.pid}`, protocolVersion: 4, reconnectPeriod: 0 });
    listener.on('message', (topic, payload) => {
      const cluster = /clusters\/([^/]+)\/status$/.exec(topic)?.[1];
      if (!cluster || !payload.length) return;
      const st = JSON.parse(payload.toString()) as {
        at: string;
        applied: { seq: number } | null;
        services: Record<string, { running: number; ready?: number }>;
      };
      const s = st.services[SVC];
      seen.push({ cluster, at: st.at, running: s?.running ?? 0, ready: s?.ready ?? s?.running ?? 0, applied: st.applied?.seq ?? null });
    });
    await listener.subscribeAsync(`canopy/v1/${FLEET}/clusters/+/status`, { qos: 1 });
  } catch (e) {
    process.stderr.write(`before: ${(e as Error).stack}\n`);
    await listener?.endAsync();
    await f?.stop();
    throw e;
  }
});

test.after(async () => {
  await listener?.endAsync();
  await f?.stop();
});

test('the fleet converges with the service on one cluster', async () => {
  const w = await f.wait('HEAD', 60);
  assert.is(w.code, 0, w.stderr + f.logs());
  const on = Object.entries((await f.status()).services[SVC].clusters).filter(([, n]) => n > 0);
  assert.is(on.length, 1, JSON.stringify(on));
  retired = on[0][0];
});

test('canopy retire writes the commit on a branch for review; plan shows the service moving off; merged, it is on main', async () => {
  const before = git(f.dir, 'show', `HEAD:clusters/${retired}.yaml`);
  // A change not committed in the file: refused, nothing committed.
  const file = path.join(f.dir, 'clusters', `${retired}.yaml`);
  writeFileSync(file, `${before}# moved to rack 5\n`);
  const dirty = await canopyAsync(['retire', retired, '--repo', f.dir]);
  assert.is(dirty.code, 1);
  assert.match(dirty.stderr, new RegExp(`clusters/${retired}.yaml has changes not committed`));
  git(f.dir, 'checkout', '-q', '--', `clusters/${retired}.yaml`);

  git(f.dir, 'checkout', '-q', '-b', `retire-${retired}`);
  const r = await canopyAsync(['retire', retired, '--repo', f.dir]);
  assert.is(r.code, 0, r.stderr);
  retireCommit = git(f.dir, 'rev-parse', 'HEAD').trim();
  assert.match(r.stdout, new RegExp(`committed ${retireCommit.slice(0, 12)} on retire-${retired}: clusters/${retired}.yaml spec.retired: true`));
  assert.match(r.stdout, /merge it to main/);
  assert.match(r.stdout, /canopy wait --rev/);
  assert.match(git(f.dir, 'log', '-1', '--format=%s'), new RegExp(`^Retire cluster ${retired}$`));
  assert.equal(git(f.dir, 'show', '--name-only', '--format=', 'HEAD').trim(), `clusters/${retired}.yaml`);
  const after = git(f.dir, 'show', `HEAD:clusters/${retired}.yaml`);
  assert.match(after, /retired: true/);
  assert.match(after, /location/, `the other fields stay: ${before} → ${after}`);

  // The pull request's plan: the service leaves the retired cluster for another.
  const plan = await canopyAsync(['plan', '--repo', f.dir, '--base', 'main', '--head', retireCommit, '--format', 'json']);
  assert.is(plan.code, 0, plan.stderr);
  const svc = (JSON.parse(plan.stdout) as { services: Array<{ id: string; delta: Record<string, number>; reason: string }> }).services.find(
    (x) => x.id === SVC,
  );
  assert.ok(svc, plan.stdout);
  assert.is(svc!.delta[retired], -1, plan.stdout);
  assert.is(
    Object.values(svc!.delta).reduce((a, b) => a + b, 0),
    0,
    'placed on another cluster',
  );
  assert.match(svc!.reason, new RegExp(`cluster ${retired} retired`));

  git(f.dir, 'checkout', '-q', 'main');
  git(f.dir, 'merge', '-q', '--ff-only', `retire-${retired}`);
  const again = await canopyAsync(['retire', retired, '--repo', f.dir]);
  assert.is(again.code, 1);
  assert.match(again.stderr, /already says spec.retired: true/);
});

test('a cluster known only by its status ref gets a minimal file; an unknown one is refused', async () => {
  const dir = path.join(tempDir('canopy-retire-'), 'fleet');
  git(path.dirname(dir), 'init', '-q', '-b', 'main', dir);
  commitFiles(dir, { 'fleet.yaml': 'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: demo}\n' });
  git(dir, 'update-ref', 'refs/canopy/status/ghost', 'HEAD');
  const r = await canopyAsync(['retire', 'ghost', '--repo', dir]);
  assert.is(r.code, 0, r.stderr);
  assert.equal(git(dir, 'show', '--name-only', '--format=', 'HEAD').trim(), 'clusters/ghost.yaml');
  const v = await canopyAsync(['validate', dir]);
  assert.is(v.code, 0, v.stdout + v.stderr);
  assert.match(git(dir, 'show', 'HEAD:clusters/ghost.yaml'), /name: ghost\nspec:\n {2}retired: true/);
  const unknown = await canopyAsync(['retire', 'nobody', '--repo', dir]);
  assert.is(unknown.code, 64);
  assert.match(unknown.stderr, /nobody: unknown cluster/);
});

test('drain first: the replica is ready on another cluster before the retired cluster stops its own', async () => {
  await eventually(
    'the service on another cluster only',
    async () => {
      const s = (await f.status()).services[SVC];
      const on = Object.entries(s.clusters).filter(([, n]) => n > 0);
      return on.length === 1 && on[0][0] !== retired && s.state === 'converged' && on[0][0];
    },
    60_000,
  );
  other = Object.entries((await f.status()).services[SVC].clusters).find(([c, n]) => n > 0 && c !== retired)![0];
  // As delivered by the broker: the first status of the retired cluster running none of it comes
  // after a status of the other cluster with it ready.
  const ran = seen.findIndex((e) => e.cluster === retired && e.running === 1);
  const stopped = seen.findIndex((e, i) => i > ran && e.cluster === retired && e.running === 0);
  const ready = seen.findIndex((e) => e.cluster === other && e.ready >= 1);
  assert.ok(ran >= 0 && stopped > ran && ready >= 0, JSON.stringify(seen));
  assert.ok(ready < stopped, `ready on ${other} (#${ready}) before ${retired} stopped (#${stopped}): ${JSON.stringify(seen)}`);
  assert.ok(
    seen.slice(0, stopped).some((e) => e.cluster === retired && e.running === 1),
    'the retired cluster ran it until then',
  );
  const w = await f.wait(retireCommit, 60);
  assert.is(w.code, 0, w.stderr + f.logs());
});

test('the note says what moved off and why; the placement is empty; the status history stays', async () => {
  const note = git(f.dir, 'notes', '--ref', 'canopy', 'show', retireCommit);
  assert.match(note, new RegExp(`${SVC}: 1/1 replicas placed — moved off ${retired} \\(cluster ${retired} retired\\)`));
  const ref = `refs/canopy/placements/${retired}`;
  await eventually('an empty placement', () => git(f.dir, 'ls-tree', '-r', '--name-only', ref, 'services').trim() === '', 15_000);
  assert.match(git(f.dir, 'log', '-1', '--format=%B', ref), /./);
  const history = git(f.dir, 'log', '-p', '--format=commit %H', `refs/canopy/status/${retired}`, '--', 'services/shop/web.json');
  assert.match(history, /\+.*"running":\s*1/, 'the commits of when it ran the service are there');
  assert.ok(history.split('\ncommit ').length >= 2, 'it ran the service, then stopped it: both in its history');
  assert.ok(git(f.dir, 'rev-list', '--count', `refs/canopy/status/${retired}`).trim() !== '0');
  const st = await f.status();
  assert.is((st.clusters[retired] as { retired?: string }).retired, 'retired');
  const text = await canopyAsync(['status', '--repo', f.dir]);
  assert.match(text.stdout, new RegExp(`${retired}\\s+online, retired`));
});

test('a later change is planned without the retired cluster (incremental and full agree)', async () => {
  git(f.dir, 'checkout', '-q', '-b', 'more');
  const head = commitFiles(f.dir, f.service('shop/api', { replicas: 3, spread: 'clusters' }), 'shop/api');
  git(f.dir, 'checkout', '-q', 'main');
  const after = async (full: boolean) => {
    const r = await canopyAsync(['plan', '--repo', f.dir, '--base', 'main', '--head', head, '--format', 'json', ...(full ? ['--full'] : [])]);
    assert.is(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { services: Array<{ id: string; after: Record<string, number> }> }).services.find((x) => x.id === 'shop/api')!.after;
  };
  const inc = await after(false);
  assert.equal(inc, await after(true));
  assert.is(inc[retired] ?? 0, 0, JSON.stringify(inc));
  assert.is(
    Object.values(inc).reduce((a, b) => a + b, 0),
    3,
  );
});

test('restarted, the retired cluster runs nothing: its placement has no services', async () => {
  await f.procs.get(retired)!.kill('SIGTERM');
  const mark = seen.length;
  f.startCluster(retired);
  await f.procs.get(retired)!.waitFor(/running/);
  await eventually('a status from the restarted cluster', () => seen.slice(mark).some((e) => e.cluster === retired), 30_000);
  assert.ok(
    seen.slice(mark).every((e) => e.cluster !== retired || e.running === 0),
    JSON.stringify(seen.slice(mark)),
  );
  const st = await f.status();
  assert.is(st.services[SVC].clusters[retired] ?? 0, 0);
  assert.is(st.services[SVC].clusters[other], 1);
  assert.is(st.services[SVC].state, 'converged');
});

test.run();
