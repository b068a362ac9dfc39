// A whole site cut off (broker and Git), as when its uplink fails: the repository is served
// over smart HTTP and the site reaches both through links the test cuts. What an operator sees:
// the site unreachable in `canopy status`, its workloads still running, a failover under a new
// epoch elsewhere, and on heal the fenced copy stopped and the site's history from while it
// was away in Git with its original times.
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { eventually, canopyAsync } from '../helpers/canopy.js';
import { git } from '../helpers/git.js';
import { startFleet, type TestFleet } from '../helpers/fleet.js';

const test = suite('a whole site cut off');
let f: TestFleet;
const munichOnly = { clusters: { names: ['munich'] } };

test.before(async () => {
  f = await startFleet({
    name: `site-${process.pid}`,
    git: 'remote',
    clusters: { munich: { lat: 48.137, lon: 11.575, nodes: 2 }, paris: { lat: 48.857, lon: 2.352, nodes: 1 } },
    services: {
      'shop/pinned': { replicas: 2, constraints: munichOnly },
      'shop/mobile': { replicas: 1, failover: { afterSeconds: 2 }, constraints: munichOnly },
    },
  });
});

test.after(async () => {
  await f?.stop();
});

test('the fleet converges over smart HTTP', async () => {
  assert.is((await f.wait('HEAD', 90)).code, 0, f.logs());
  // Now mobile may also run in paris; it stays where it runs (placement is sticky).
  const head = await f.commit(
    f.service('shop/mobile', { replicas: 1, failover: { afterSeconds: 2 }, constraints: { clusters: { names: ['munich', 'paris'] } } }),
    'mobile: munich or paris',
  );
  const w = await f.wait(head, 60);
  assert.is(w.code, 0, w.stderr + f.logs());
  // Clusters push their status a moment after the root records convergence.
  await eventually(
    'status pushed',
    async () => {
      const s = (await f.status()).services;
      return s['shop/pinned'].running === 2 && s['shop/mobile'].clusters.munich === 1;
    },
    20_000,
  );
  const st = await f.status();
  assert.is(st.services['shop/mobile'].clusters.munich, 1, JSON.stringify(st.services));
  assert.is(f.count('shop/pinned'), 2);
  assert.is(f.count('shop/mobile'), 1);
});

test('cut: unreachable in status, workloads keep running, failover elsewhere under a new epoch', async () => {
  const before = git(f.recordDir, 'rev-parse', 'refs/canopy/status/munich');
  f.cutSite('munich');
  await eventually('munich unreachable', async () => (await f.status()).clusters.munich?.state === 'unreachable', 20_000);
  assert.is(f.count('shop/pinned'), 2, 'the site goes on running its placement\n' + f.logs());
  await eventually('shop/mobile failed over to paris', async () => ((await f.status()).services['shop/mobile'].clusters.paris ?? 0) === 1, 30_000);
  // Both copies run while the site is away: it cannot know yet.
  assert.is(f.count('shop/mobile'), 2);
  // A commit while away: pinned scales to 3, which only munich may run.
  const head = await f.commit(f.service('shop/pinned', { replicas: 3, constraints: munichOnly }), 'pinned: 3');
  await new Promise((r) => setTimeout(r, 2000));
  assert.is(f.count('shop/pinned'), 2, 'nothing reaches the cut-off site');
  assert.is(git(f.recordDir, 'rev-parse', 'refs/canopy/status/munich'), before, 'its status could not be pushed');
  const placements = git(f.recordDir, 'log', '--format=%s', 'refs/canopy/placements/munich');
  assert.match(placements, /munich unreachable/);

  // The site goes on recording its status locally (at least its periodic refresh): wait until a
  // record from while away exists, a second before the heal, so its time can be told apart.
  const local = path.join(f.stateDir('munich'), 'repo');
  await eventually(
    'a status record made while away',
    () => {
      const head = git(local, 'rev-parse', 'refs/canopy/status/munich');
      return head !== before && Date.now() / 1000 >= Number(git(local, 'log', '-1', '--format=%ct', head)) + 1.1;
    },
    30_000,
  );

  // Heal: the fenced copy stops, the new commit converges, the history has the time away.
  const cutEnd = Math.floor(Date.now() / 1000);
  f.healSite('munich');
  const w = await f.wait(head, 60);
  assert.is(w.code, 0, w.stderr + f.logs());
  await eventually('one shop/mobile in all', () => f.count('shop/mobile') === 1, 30_000);
  assert.is(f.count('shop/pinned'), 3);
  const times = git(f.recordDir, 'log', '--format=%ct', `${before}..refs/canopy/status/munich`).split('\n').map(Number);
  assert.ok(
    times.some((t) => t < cutEnd),
    `status records from while away: ${times.join(' ')} (healed at ${cutEnd})`,
  );
  const h = await canopyAsync(['history', 'shop/mobile', '--repo', f.recordDir]);
  assert.is(h.code, 0, h.stderr);
  assert.match(h.stdout, /paris/);
  assert.match(h.stdout, /unreachable/);
});

test.run();
