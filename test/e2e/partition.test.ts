// Links really cut (a TCP proxy), processes really killed (SIGKILL), the broker really
// restarted. After each fault: desired replicas run, none above desired once healed, and the
// status history has no hole.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { eventually } from '../helpers/canopy.js';
import { git } from '../helpers/git.js';
import { startFleet, type TestFleet } from '../helpers/fleet.js';

const test = suite('partitions and crashes');
let f: TestFleet;

test.before(async () => {
  f = await startFleet({
    name: `part-${process.pid}`,
    clusters: { munich: { lat: 48.137, lon: 11.575, nodes: 2 }, paris: { lat: 48.857, lon: 2.352, nodes: 2 } },
    services: {
      'shop/a': { replicas: 2, constraints: { clusters: { names: ['munich'] } } },
      'shop/b': { replicas: 1, constraints: { clusters: { names: ['paris'] } } },
    },
  });
});

test.after(async () => {
  await f?.stop();
});

test('the fleet converges', async () => {
  // (Not in before(): uvu does not report a failing hook.)
  const w = await f.wait('HEAD', 60);
  assert.is(w.code, 0, w.stderr + f.logs());
});

test('root↔cluster cut during 100 commits: the site keeps running, shows unreachable, then catches up', async () => {
  const before = f.count('shop/a');
  assert.is(before, 2);
  f.links.get('munich')!.cut('reset');
  await eventually('munich unreachable in canopy status', async () => (await f.status()).clusters.munich?.state === 'unreachable', 15_000);
  let head = '';
  for (let i = 1; i <= 100; i++) {
    head = await f.commit(
      f.service('shop/a', { replicas: 2 + (i % 2), env: { ROUND: String(i) }, constraints: { clusters: { names: ['munich'] } } }),
      `round ${i}`,
    );
  }
  // Cut off from the broker, munich goes on running (it still reads its placement from Git,
  // so it may already be following the new commits: 2 or 3 replicas, never none).
  assert.ok(f.count('shop/a') >= 2);
  f.links.get('munich')!.resetCounters();
  f.links.get('munich')!.restore();
  const w = await f.wait(head, 60);
  assert.is(w.code, 0, w.stderr + f.logs());
  // Round 100 asks for 2 replicas with ROUND=100.
  await eventually('2 replicas of shop/a', () => f.count('shop/a') === 2, 15_000);
  const st = await f.status();
  assert.is(st.services['shop/a'].running, 2);
  assert.is(st.clusters.munich.state, 'online');
  const bytes = f.links.get('munich')!.bytes;
  assert.ok(bytes.down < 50_000, `catch-up sent ${bytes.down} bytes to munich`);
  // The cluster's history has records from while it was away (it commits locally).
  const log = git(f.dir, 'log', '--format=%ct %s', 'refs/canopy/status/munich');
  assert.ok(log.split('\n').length >= 3, log);
});

test("cluster↔agent cut: the cluster re-places the node's replicas, and when it heals no more than desired run", async () => {
  const node = 'munich-1';
  f.links.get(node)!.cut('blackhole');
  await eventually(
    'shop/a back to 2 replicas on the other node',
    async () => {
      const s = (await f.status()).services['shop/a'];
      return s.running === 2 && s.state === 'converged';
    },
    30_000,
  );
  f.links.get(node)!.restore();
  await eventually('the healed node stops what moved away', () => f.count('shop/a') === 2, 30_000);
  await new Promise((r) => setTimeout(r, 2000));
  assert.is(f.count('shop/a'), 2);
});

test('kill -9 of the root, repeatedly, mid-reconcile: it recovers from Git and converges', async () => {
  let head = '';
  for (let i = 0; i < 4; i++) {
    head = await f.commit(f.service('shop/b', { replicas: 1 + (i % 2), env: { K: String(i) }, constraints: { clusters: { names: ['paris'] } } }), `b ${i}`);
    await new Promise((r) => setTimeout(r, 30 + 60 * i));
    await f.procs.get('root')!.kill('SIGKILL');
    f.startRoot();
  }
  const w = await f.wait(head, 60);
  assert.is(w.code, 0, w.stderr + f.logs());
  await eventually('shop/b has 2 processes', () => f.count('shop/b') === 2, 15_000);
  // Every commit of main has an outcome recorded.
  for (const c of git(f.dir, 'rev-list', '--first-parent', 'main', '-n', '6').split('\n')) {
    assert.match(git(f.dir, 'notes', '--ref', 'canopy', 'show', c), /canopy: (accepted|superseded|REJECTED)/);
  }
});

test('kill -9 of a cluster and of an agent: no duplicates, nothing lost', async () => {
  await f.procs.get('paris')!.kill('SIGKILL');
  await f.procs.get('paris-1')!.kill('SIGKILL');
  await f.procs.get('paris-2')!.kill('SIGKILL');
  f.startCluster('paris');
  f.startAgent('paris', 'paris-1');
  f.startAgent('paris', 'paris-2');
  await new Promise((r) => setTimeout(r, 3000));
  assert.is(f.count('shop/b'), 2);
  const head = await f.commit(f.service('shop/b', { replicas: 1, constraints: { clusters: { names: ['paris'] } } }), 'b: 1');
  assert.is((await f.wait(head, 60)).code, 0, f.logs());
  await eventually('shop/b down to 1', () => f.count('shop/b') === 1, 15_000);
});

test('broker restart under load: every process reconnects and converges', async () => {
  let head = '';
  for (let i = 0; i < 5; i++)
    head = await f.commit(f.service('shop/a', { replicas: 2, env: { R: `restart-${i}` }, constraints: { clusters: { names: ['munich'] } } }), `a r${i}`);
  await f.broker.restart();
  const w = await f.wait(head, 90);
  assert.is(w.code, 0, w.stderr + f.logs());
  assert.is(f.count('shop/a'), 2);
  for (const [n, p] of f.procs) assert.is(p.child.exitCode, null, `${n} exited`);
});

test('failover: a service with failover.afterSeconds moves when its cluster is cut, and the old copy stops on heal', async () => {
  const head = await f.commit(f.service('shop/c', { replicas: 1, failover: { afterSeconds: 2 } }), 'c with failover');
  assert.is((await f.wait(head, 60)).code, 0, f.logs());
  const first = Object.entries((await f.status()).services['shop/c'].clusters).find(([, n]) => n > 0)![0];
  const other = first === 'munich' ? 'paris' : 'munich';
  f.links.get(first)!.cut('reset');
  await eventually(
    `shop/c running on ${other}`,
    async () => {
      const s = await f.status();
      return (s.services['shop/c'].clusters[other] ?? 0) === 1;
    },
    30_000,
  );
  // Cut from the broker only, the site still reads Git: it sees the newer epoch there and stops
  // its copy without waiting for the link (site-partition.test.ts cuts Git too).
  f.links.get(first)!.restore();
  await eventually('the fenced copy stops: one shop/c in all', () => f.count('shop/c') === 1, 30_000);
  const placements = git(f.dir, 'log', '--format=%s', `refs/canopy/placements/${first}`);
  assert.match(placements, /unreachable/);
});

test.run();
