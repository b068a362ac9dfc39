// As a user would: run a fleet (process runtime, no Docker needed), deploy a few commits, stop
// it, then read the history and plan from a fresh clone with no broker and no fleet running.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { canopy, start, type Proc } from '../helpers/canopy.js';
import { git, tempDir, commitFiles, serviceYaml } from '../helpers/git.js';

const test = suite('canopy history and plan from a clone');
const fleet = `e2e-hist-${process.pid}`;
const work = tempDir();
const dir = path.join(work, 'fleet');
const clone = path.join(work, 'clone');
const commits: Record<string, string> = {};
let up: Proc | undefined;

// Processes that end on their own, should a failed run leave one behind.
const sleeper = { runtime: 'process', command: ['sleep', '600'] };
const web = (replicas: unknown) => serviceYaml('shop', 'web', { ...sleeper, replicas, resources: { cpu: 0.1, memory: '32Mi' } });
const wait = (timeout = 60) => canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', String(timeout)]);
const stamps = (text: string) =>
  text
    .split('\n')
    .map((l) => /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) /.exec(l)?.[1])
    .filter((s): s is string => !!s);

test.before(() => {
  assert.is(canopy(['init', dir]).code, 0);
  const fy = git(dir, 'show', 'HEAD:fleet.yaml').replace(/name: demo/, `name: ${fleet}`);
  commits.first = commitFiles(
    dir,
    {
      'fleet.yaml': fy + '\n',
      'services/shop/web.yaml': web(2),
      'services/shop/worker.yaml': serviceYaml('shop', 'worker', { ...sleeper, replicas: 1 }),
      'services/traffic-cam/detector.yaml': serviceYaml('traffic-cam', 'detector', {
        ...sleeper,
        replicas: 1,
        constraints: { geo: { lat: 48.137, lon: 11.575, withinKm: 50 } },
      }),
    },
    'process runtime, own fleet name',
  );
  up = start(['up', '--repo', dir, '--runtime', 'process']);
});

test.after(async () => {
  await up?.kill('SIGINT'); // graceful: stops the workloads too
});

test('deploy: start, scale, an invalid commit, a deletion', async () => {
  let w = wait(90);
  assert.is(w.code, 0, `${w.stderr}\n--- up:\n${up!.output()}`);
  // up declared its parts' keys in a commit of its own on top: that commit carries the first one.
  assert.match(git(dir, 'log', '-1', '--format=%s'), /^Declare the keys of the fleet's parts \(canopy up\)$/);
  assert.is(git(dir, 'rev-parse', 'HEAD~1'), commits.first);
  commits.first = git(dir, 'rev-parse', 'HEAD');
  commits.scale = commitFiles(dir, { 'services/shop/web.yaml': web(3) }, 'web: 3 replicas');
  w = wait();
  assert.is(w.code, 0, w.stderr);
  commits.bad = commitFiles(dir, { 'services/shop/web.yaml': web('many') }, 'web: many replicas');
  assert.is(wait(30).code, 2);
  commits.drop = commitFiles(dir, { 'services/shop/web.yaml': web(3), 'services/traffic-cam/detector.yaml': null }, 'fix web, drop detector');
  w = wait();
  assert.is(w.code, 0, w.stderr);
  assert.is(await up!.kill('SIGINT'), 0, up!.output());
  up = undefined;
});

test('a fresh clone with the canopy refs fetched has the history, offline', () => {
  git(work, 'clone', '-q', dir, clone);
  git(clone, 'fetch', '-q', 'origin', 'refs/canopy/*:refs/canopy/*', 'refs/notes/*:refs/notes/*');
  const t0 = Date.now();
  const h = canopy(['history', 'shop/web', '--repo', clone]);
  const ms = Date.now() - t0;
  assert.is(h.code, 0, h.stderr);
  const out = h.stdout;
  assert.match(out, /^history of shop\/web, from Git alone \(times UTC\)\n/);
  assert.match(
    out,
    new RegExp(
      `accepted ${commits.first.slice(0, 12)} "Declare the keys of the fleet's parts \\(canopy up\\)" \\(canopy up\\): 2/2 placed: placed on (munich|paris)×2`,
    ),
  );
  assert.match(out, new RegExp(`accepted ${commits.scale.slice(0, 12)} "web: 3 replicas" \\(Test\\): 3/3 placed`));
  assert.match(out, new RegExp(`rejected ${commits.bad.slice(0, 12)} "web: many replicas".*\\n\\s+services/shop/web\\.yaml:\\d+:\\d+: spec\\.replicas`));
  assert.match(out, new RegExp(`placed on (munich|paris)×2 \\(commit ${commits.first.slice(0, 12)}, #\\d+\\): placed on`));
  assert.match(out, new RegExp(`placed on (munich|paris)×3 \\(was ×2\\) \\(commit ${commits.scale.slice(0, 12)}, #\\d+\\)`));
  assert.match(out, /observed on (munich|paris): 2\/2 running/);
  assert.match(out, /observed on (munich|paris): 3\/3 running/);
  assert.match(out, new RegExp(`converged ${commits.scale.slice(0, 12)}`));
  assert.not.match(out, /detector/);
  const times = stamps(out);
  assert.ok(times.length >= 8, out);
  assert.equal(times, [...times].sort(), `not in time order:\n${out}`);
  // Events come in the order they happened: accepted, placed, observed, converged.
  const at = (re: RegExp) => out.search(re);
  const order = [at(/accepted [0-9a-f]+ "web: 3/), at(/×3 \(was ×2\)/), at(/3\/3 running/), out.indexOf(`converged ${commits.scale.slice(0, 12)}`)];
  assert.equal(
    order,
    [...order].sort((a, b) => a - b),
    out,
  );
  console.log(`  history from the clone: ${ms} ms`);
});

test('--json parses and is sorted; the fleet history names the deletion', () => {
  const h = canopy(['history', 'shop/web', '--repo', clone, '--json']);
  assert.is(h.code, 0, h.stderr);
  const j = JSON.parse(h.stdout) as {
    service: string;
    events: Array<{ kind: string; at: string; commit?: string; services?: Record<string, { replicas: number }> }>;
    truncated: string[];
  };
  assert.is(j.service, 'shop/web');
  assert.equal(j.truncated, []);
  const secs = j.events.map((e) => Math.floor(Date.parse(e.at) / 1000));
  assert.equal(
    secs,
    [...secs].sort((a, b) => a - b),
  );
  assert.equal([...new Set(j.events.map((e) => e.kind))].sort(), ['commit', 'converged', 'observed', 'placement']);
  assert.ok(j.events.some((e) => e.kind === 'placement' && e.commit === commits.scale && Object.values(e.services!)[0].replicas === 3));
  const all = canopy(['history', '--repo', clone]);
  assert.is(all.code, 0, all.stderr);
  assert.match(all.stdout, new RegExp(`accepted ${commits.drop.slice(0, 12)} "fix web, drop detector" \\(Test\\): traffic-cam/detector removed`));
  assert.match(all.stdout, /placement munich .*traffic-cam\/detector removed \(was ×1\)/);
  assert.is(canopy(['history', 'web', '--repo', clone]).stdout, canopy(['history', 'shop/web', '--repo', clone]).stdout);
  const since = canopy(['history', 'shop/web', '--repo', clone, '--since', '2000-01-01']);
  assert.is(since.stdout.split('\n').length, canopy(['history', 'shop/web', '--repo', clone]).stdout.split('\n').length);
  assert.match(canopy(['history', 'shop/web', '--repo', clone, '--since', '2999-01-01']).stdout, /no events in that time/);
  assert.is(canopy(['history', '--repo', clone, '--since', 'last tuesday']).code, 64);
});

test('an unknown service: exit 1, naming the known ones', () => {
  const r = canopy(['history', 'shop/nope', '--repo', clone]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /no service shop\/nope in the history; known: shop\/web, shop\/worker, traffic-cam\/detector/);
});

test('plan in the clone: base HEAD~1 (rejected) through what was in force, to HEAD', () => {
  const p = canopy(['plan', '--repo', clone, '--base', 'HEAD~1', '--head', 'HEAD', '--format', 'markdown']);
  assert.is(p.code, 0, p.stderr);
  assert.match(p.stdout, /### canopy plan: ✅ would be accepted: 1 removed, 2 unchanged/);
  assert.match(p.stdout, new RegExp(`compared against ${commits.scale.slice(0, 12)}`));
  assert.match(p.stdout, /\| `traffic-cam\/detector` \| removed \| munich×1 \| - \| munich −1 \|/);
  assert.match(p.stdout, /\*\*munich\*\*: last status/);
});

test.run();
