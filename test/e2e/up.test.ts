// As a new user would: canopy init, canopy up (embedded broker, Docker), then deploy by commit.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { canopy, canopyAsync, start, eventually, type Proc } from '../helpers/canopy.js';
import { git, tempDir, commitFiles } from '../helpers/git.js';
import { running, containers, ownFleet, removeFleet, requireDocker } from '../helpers/docker.js';
import { readFileSync } from 'node:fs';

const test = suite('canopy up (docker, embedded broker)');
const fleet = ownFleet(`e2e-up-${process.pid}`);
const dir = path.join(tempDir(), 'fleet');
let up: Proc;

test.before(async () => {
  requireDocker();
  const init = canopy(['init', dir]);
  assert.is(init.code, 0, init.stderr);
  // A fleet name of its own, so this test's containers are told apart from any other's.
  const fy = readFileSync(path.join(dir, 'fleet.yaml'), 'utf8').replace(/name: demo/, `name: ${fleet}`);
  commitFiles(dir, { 'fleet.yaml': fy }, 'name the fleet');
  up = start(['up', '--repo', dir, '--runtime', 'docker', '--log-format', 'json']);
});

test.after(async () => {
  await up?.kill('SIGKILL');
  removeFleet(fleet);
});

test('converges the template and wait --rev HEAD exits 0', async () => {
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '90']);
  assert.is(w.code, 0, `${w.stderr}\n--- up:\n${up.output()}`);
  assert.is(running(fleet, 'shop/web'), 2);
  assert.is(running(fleet, 'traffic-cam/detector'), 1);
  const labels = containers(fleet)
    .filter((c) => c.service === 'shop/web')
    .map((c) => c.replica)
    .sort();
  assert.equal(labels, ['shop/web#0', 'shop/web#1']);
  await up.waitFor(/converged/);
});

test('canopy logs --repo DIR reads a workload’s output from the running up, as its operator, with no other flag', async () => {
  // shop/worker (a process) prints the date every 5 s.
  const r = await eventually('canopy logs shop/worker --repo DIR to show a date line', async () => {
    const l = await canopyAsync(['logs', 'shop/worker', '--repo', dir, '--tail', '3'], { timeoutMs: 30_000 });
    return l.code === 0 && /\d\d:\d\d:\d\d/.test(l.stdout) ? l : undefined;
  });
  assert.not.match(r!.stderr, /dropped|did not answer/);
});

test('a commit changing replicas makes the labelled containers follow it', async () => {
  const file = path.join(dir, 'services/shop/web.yaml');
  commitFiles(dir, { 'services/shop/web.yaml': readFileSync(file, 'utf8').replace(/replicas: 2/, 'replicas: 3') }, 'web: 3 replicas');
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '60']);
  assert.is(w.code, 0, w.stderr);
  assert.is(running(fleet, 'shop/web'), 3);
  commitFiles(dir, { 'services/shop/web.yaml': readFileSync(file, 'utf8').replace(/replicas: 3/, 'replicas: 1') }, 'web: 1 replica');
  assert.is(canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '60']).code, 0);
  await eventually('web down to 1 container', () => containers(fleet).filter((c) => c.service === 'shop/web').length === 1);
});

test('an invalid commit is rejected whole: wait exits 2, nothing running changes, the note says why', async () => {
  const before = containers(fleet)
    .map((c) => c.name)
    .sort();
  const bad = readFileSync(path.join(dir, 'services/shop/web.yaml'), 'utf8').replace(/replicas: 1/, 'replicas: many');
  commitFiles(
    dir,
    {
      'services/shop/web.yaml': bad,
      'services/shop/extra.yaml':
        'apiVersion: canopy/v1\nkind: Service\nmetadata: {name: extra, app: shop}\nspec: {runtime: container, image: canopy/busybox:1, replicas: 1}\n',
    },
    'bad replicas and a new service',
  );
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '30']);
  assert.is(w.code, 2, w.stderr);
  assert.match(w.stderr, /services\/shop\/web\.yaml:\d+:\d+: spec\.replicas/);
  const note = git(dir, 'notes', '--ref', 'canopy', 'show', 'HEAD');
  assert.match(note, /REJECTED/);
  assert.match(note, /services\/shop\/web\.yaml:\d+:\d+/);
  // The valid new service in the same commit was not applied either.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(
    containers(fleet)
      .map((c) => c.name)
      .sort(),
    before,
  );
  const st = JSON.parse(canopy(['status', '--repo', dir, '--json']).stdout);
  assert.is(st.services['shop/web'].state, 'rejected');
  assert.is(st.services['shop/extra'], undefined);
});

test('deleting a service removes its workloads; notes and status history read with native git', async () => {
  git(dir, 'checkout', '-q', 'HEAD~1', '--', 'services/shop/web.yaml');
  git(dir, 'rm', '-q', 'services/shop/extra.yaml');
  commitFiles(dir, { 'services/traffic-cam/detector.yaml': null }, 'fix web, drop detector');
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '60']);
  assert.is(w.code, 0, w.stderr);
  await eventually('detector containers gone', () => containers(fleet).filter((c) => c.service === 'traffic-cam/detector').length === 0);
  const note = git(dir, 'notes', '--ref', 'canopy', 'show', 'HEAD');
  assert.match(note, /accepted/);
  assert.match(note, /Converged at/);
  assert.match(note, /traffic-cam\/detector: removed/);
  const log = git(dir, 'log', '--format=%s', 'refs/canopy/status/munich');
  assert.ok(log.split('\n').length >= 2, log);
  assert.match(log, /munich: \d+\/\d+ nodes/);
  const st = JSON.parse(canopy(['status', '--repo', dir, '--json']).stdout);
  assert.is(st.services['shop/web'].state, 'converged');
  assert.is(st.clusters.munich.state, 'online');
});

test('Ctrl-C stops cleanly and removes the workloads; its log file is JSON, a line each', async () => {
  const code = await up.kill('SIGINT');
  assert.is(code, 0, up.output());
  assert.is(containers(fleet).length, 0);
  const lines = readFileSync(path.join(dir, '.git', 'canopy-up', 'canopy.log'), 'utf8')
    .split('\n')
    .filter(Boolean);
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, string>);
  assert.ok(parsed.length > 10, `${parsed.length} lines`);
  assert.ok(
    parsed.every((l) => l.time && l.level && l.part && l.msg !== undefined),
    lines.find((l) => !/"part"/.test(l)),
  );
  for (const part of ['root', 'cluster', 'agent'])
    assert.ok(
      parsed.some((l) => l.part === part && l.fleet === fleet),
      `a line of a ${part}`,
    );
});

test.run();
