// Volumes as a user sees them, with root, cluster and agent as separate processes over a real
// Mosquitto and real Docker: a container's named volume and a process's directory keep what
// their replica wrote through a new version of it (a changed env) and a kill -9 of the agent
// (restarted on its state directory: it adopts its replicas, which find their data); deleting the
// services removes their volumes, except the one marked retain. The workloads append a line per
// start to a file on their volume; Docker and the file system are read directly.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { canopy, start, eventually, type Proc } from '../helpers/canopy.js';
import { tempDir, commitFiles, serviceYaml } from '../helpers/git.js';
import { templateFleet } from '../helpers/template-fleet.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { atExit } from '../helpers/cleanup.js';
import { ownFleet, removeFleet, requireDocker } from '../helpers/docker.js';

const test = suite('volumes');
const fleet = ownFleet(`e2e-vol-${process.pid}`);
const work = tempDir('canopy-volumes-');
const dir = path.join(work, 'fleet');
const state = path.join(work, 'state', 'n1');
const procs: Proc[] = [];
let agent: Proc | undefined;
let broker: Mosquitto | undefined;

/** This fleet's Docker volumes: name → labels (the docker CLI, not the code under test). */
function volumes(): Record<string, Record<string, string>> {
  const names = execFileSync('docker', ['volume', 'ls', '-q', '--filter', `label=canopy.fleet=${fleet}`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  if (!names.length) return {};
  const inspected = JSON.parse(execFileSync('docker', ['volume', 'inspect', ...names], { encoding: 'utf8' })) as Array<{
    Name: string;
    Labels: Record<string, string>;
  }>;
  return Object.fromEntries(inspected.map((v) => [v.Name, v.Labels]));
}
// Containers first (a volume in use cannot go), then the volumes, whatever happened before.
atExit(() => {
  removeFleet(fleet);
  const left = Object.keys(volumes());
  if (left.length) execFileSync('docker', ['volume', 'rm', '-f', ...left], { stdio: 'ignore' });
});

const container = (svc: string) => `canopy_${fleet}_n1_shop_${svc}_0`;
const dbLog = () =>
  execFileSync('docker', ['exec', container('db'), 'cat', '/data/log'], { encoding: 'utf8' })
    .trim()
    .split('\n');
const cacheDir = path.join(state, 'volumes', 'shop_cache_0_data');
const cacheLog = () => readFileSync(path.join(cacheDir, 'log'), 'utf8').trim().split('\n');
const containerId = (svc: string) => execFileSync('docker', ['inspect', '-f', '{{.Id}}', container(svc)], { encoding: 'utf8' }).trim();

function services(version: string): Record<string, string> {
  const env = { VERSION: version };
  return {
    'services/shop/db.yaml': serviceYaml('shop', 'db', {
      runtime: 'container',
      image: 'canopy/busybox:1',
      command: ['sh', '-c', 'echo start-$VERSION >> /data/log; exec sleep 3600'],
      replicas: 1,
      env,
      volumes: [{ name: 'data', path: '/data' }],
    }),
    'services/shop/cache.yaml': serviceYaml('shop', 'cache', {
      runtime: 'process',
      command: ['sh', '-c', 'echo start-$VERSION >> "$CANOPY_VOLUME_DATA/log"; exec sleep 3600'],
      replicas: 1,
      env,
      volumes: [{ name: 'data', path: 'data' }],
    }),
    'services/shop/keep.yaml': serviceYaml('shop', 'keep', {
      runtime: 'container',
      image: 'canopy/busybox:1',
      command: ['sh', '-c', 'echo kept > /data/x; exec sleep 3600'],
      replicas: 1,
      volumes: [{ name: 'data', path: '/data', retain: true }],
    }),
  };
}

const outputs = () => procs.map((p, i) => `--- ${i}:\n${p.output().slice(-3000)}`).join('\n');

function converge(): void {
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '120']);
  assert.is(w.code, 0, `${w.stdout}${w.stderr}\n${outputs()}`);
}

function startAgent(): Proc {
  agent = start(['agent', ...['--cluster', 'munich', '--name', 'n1', '--broker', broker!.url, '--runtime', 'docker,process', '--state-dir', state]]);
  procs.push(agent);
  return agent;
}

test.before(async () => {
  requireDocker();
  broker = await startMosquitto();
  templateFleet(
    dir,
    fleet,
    {
      ...services('1'),
    },
    { message: 'three services with volumes, in munich' },
  );
  const cluster = start(['cluster', '--name', 'munich', '--broker', broker.url, '--repo', dir, '--state-dir', path.join(work, 'state', 'munich')]);
  procs.push(cluster);
  await cluster.waitFor(/running/);
  await startAgent().waitFor(/running/);
  procs.push(start(['root', '--repo', dir, '--broker', broker.url]));
  converge();
});

test.after(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  await broker?.stop();
});

test('each replica gets its own labelled volume, mounted where the spec says', async () => {
  await eventually('both logs written', () => dbLog().length === 1 && existsSync(path.join(cacheDir, 'log')), 30_000, 250);
  assert.equal(dbLog(), ['start-1']);
  assert.equal(cacheLog(), ['start-1']);
  const vols = volumes();
  const db = vols[`${container('db')}_data`];
  assert.ok(db, `the db volume, among ${Object.keys(vols).join(', ')}`);
  assert.equal(
    [db['canopy.service'], db['canopy.replica'], db['canopy.volume'], db['canopy.node'], db['canopy.retain']],
    ['shop/db', 'shop/db#0', 'data', 'n1', 'false'],
  );
  assert.is(vols[`${container('keep')}_data`]?.['canopy.retain'], 'true');
});

test('a new version of the replica finds what the old one wrote', async () => {
  const before = containerId('db');
  commitFiles(dir, services('2'), 'version 2');
  converge();
  await eventually('both replicas restarted on version 2', () => dbLog().length === 2 && cacheLog().length === 2, 30_000, 250);
  assert.is.not(containerId('db'), before, 'a new container');
  assert.equal(dbLog(), ['start-1', 'start-2']);
  assert.equal(cacheLog(), ['start-1', 'start-2']);
});

test('kill -9 of the agent: restarted, it adopts its replicas and their data is still there', async () => {
  const before = containerId('db');
  await agent!.kill('SIGKILL');
  await startAgent().waitFor(/running/);
  // A new version after the restart: started by the new agent, on the same volumes.
  commitFiles(dir, services('3'), 'version 3');
  converge();
  await eventually('both replicas restarted on version 3', () => dbLog().length >= 3 && cacheLog().length >= 3, 30_000, 250);
  assert.is.not(containerId('db'), before);
  assert.equal(dbLog(), ['start-1', 'start-2', 'start-3'], 'adopted, not started again, then replaced once');
  assert.equal(cacheLog(), ['start-1', 'start-2', 'start-3']);
});

test('deleting the services removes their volumes, except the retained one', async () => {
  commitFiles(dir, { 'services/shop/db.yaml': null, 'services/shop/cache.yaml': null, 'services/shop/keep.yaml': null }, 'delete them');
  converge();
  await eventually(
    'only the retained volume left',
    () => {
      const names = Object.keys(volumes());
      return names.length === 1 && names[0] === `${container('keep')}_data` && !existsSync(cacheDir);
    },
    60_000,
    250,
  ).catch((e: Error) => assert.unreachable(`${e.message}: ${Object.keys(volumes()).join(', ')}; cache dir there: ${existsSync(cacheDir)}\n${outputs()}`));
});

test.run();
