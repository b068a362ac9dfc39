// Config files from the repository as a user sees them, with root, cluster and agent as separate
// processes over a real Mosquitto and real Docker: a container and a process each get
// config/web/app.conf (spec.files), read-only; a commit changing only that file rolls both
// replicas and they see the new content; a commit whose `from` is missing is rejected with
// file:line (note, canopy wait, validate, plan) and the workloads keep running.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { canopy, start, eventually, type Proc } from '../helpers/canopy.js';
import { git, tempDir, commitFiles, serviceYaml } from '../helpers/git.js';
import { templateFleet } from '../helpers/template-fleet.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { atExit } from '../helpers/cleanup.js';
import { ownFleet, removeFleet, requireDocker } from '../helpers/docker.js';

const test = suite('config files');
const fleet = ownFleet(`e2e-files-${process.pid}`);
const work = tempDir('canopy-files-');
const dir = path.join(work, 'fleet');
const state = path.join(work, 'state', 'n1');
const procs: Proc[] = [];
let broker: Mosquitto | undefined;
atExit(() => removeFleet(fleet));

const CONF = 'config/web/app.conf';
const web = `canopy_${fleet}_n1_shop_web_0`;
const webSees = () => execFileSync('docker', ['exec', web, 'cat', '/etc/web/app.conf'], { encoding: 'utf8' });
const webId = () => execFileSync('docker', ['inspect', '-f', '{{.Id}}', web], { encoding: 'utf8' }).trim();
const cfgDir = path.join(state, 'work', 'shop_cfg_0');
/** What the process replica read from conf/app.conf in its working directory when it started. */
const cfgSaw = () => (existsSync(path.join(cfgDir, 'seen')) ? readFileSync(path.join(cfgDir, 'seen'), 'utf8') : '');

function services(from = CONF): Record<string, string> {
  return {
    'services/shop/web.yaml': serviceYaml('shop', 'web', {
      runtime: 'container',
      image: 'canopy/busybox:1',
      command: ['sleep', '3600'],
      replicas: 1,
      files: [{ path: '/etc/web/app.conf', from }],
    }),
    'services/shop/cfg.yaml': serviceYaml('shop', 'cfg', {
      runtime: 'process',
      command: ['sh', '-c', 'cat conf/app.conf > seen.tmp && mv seen.tmp seen; exec sleep 3600'],
      replicas: 1,
      files: [{ path: 'conf/app.conf', from: CONF }],
    }),
  };
}

const outputs = () => procs.map((p, i) => `--- ${i}:\n${p.output().slice(-3000)}`).join('\n');

function converge(): void {
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '120']);
  assert.is(w.code, 0, `${w.stdout}${w.stderr}\n${outputs()}`);
}

test.before(async () => {
  requireDocker();
  broker = await startMosquitto();
  templateFleet(
    dir,
    fleet,
    {
      [CONF]: 'greeting = one\n',
      ...services(),
    },
    { message: 'two services with a config file, in munich' },
  );
  const cluster = start(['cluster', '--name', 'munich', '--broker', broker.url, '--repo', dir, '--state-dir', path.join(work, 'state', 'munich')]);
  procs.push(cluster);
  await cluster.waitFor(/running/);
  const agent = start(['agent', ...['--cluster', 'munich', '--name', 'n1', '--broker', broker.url, '--runtime', 'docker,process', '--state-dir', state]]);
  procs.push(agent);
  await agent.waitFor(/running/);
  procs.push(start(['root', '--repo', dir, '--broker', broker.url]));
  converge();
});

test.after(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  await broker?.stop();
});

test('a container and a process see the file from the repository, read-only', async () => {
  await eventually('both replicas see the file', () => cfgSaw() === 'greeting = one\n' && webSees() === 'greeting = one\n', 30_000, 250);
  const write = spawnSync('docker', ['exec', web, 'sh', '-c', 'echo x > /etc/web/app.conf'], { encoding: 'utf8' });
  assert.is.not(write.status, 0, 'the container cannot write its config file');
  assert.match(write.stderr, /Read-only file system/);
  assert.is(statSync(path.join(cfgDir, 'conf', 'app.conf')).mode & 0o777, 0o444);
});

test('a commit changing only the config file rolls both replicas, which see the new content', async () => {
  const before = webId();
  const c = commitFiles(dir, { [CONF]: 'greeting = two\n' }, 'only the config file');
  assert.equal(git(dir, 'diff', '--name-only', `${c}~1`, c), CONF);
  // The plan of that commit names both users, their files changed.
  const plan = canopy(['plan', '--repo', dir, '--base', `${c}~1`, '--head', c, '--format', 'json']);
  assert.is(plan.code, 0, plan.stderr);
  const changed = (JSON.parse(plan.stdout).services as Array<{ id: string; change: string; fields: string[] }>)
    .filter((x) => x.change === 'changed')
    .map((x) => `${x.id} ${x.fields.join(',')}`);
  assert.equal(changed.sort(), ['shop/cfg files', 'shop/web files']);
  converge();
  await eventually('both replicas see the new content', () => cfgSaw() === 'greeting = two\n' && webSees() === 'greeting = two\n', 30_000, 250);
  assert.is.not(webId(), before, 'a new container');
});

test('a commit whose from is missing is rejected at file:line; the workloads keep running', async () => {
  const before = webId();
  const c = commitFiles(dir, services('config/web/missing.conf'), 'a config file that is not there');
  const line = 'services/shop/web.yaml:9:';
  const why = 'spec.files[0].from: config/web/missing.conf is not a file of this commit';
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '60']);
  assert.is(w.code, 2, `${w.stdout}${w.stderr}`);
  assert.ok(w.stderr.includes(line) && w.stderr.includes(why), w.stderr);
  const note = git(dir, 'notes', '--ref', 'canopy', 'show', c);
  assert.match(note, /REJECTED/);
  assert.ok(note.includes(why) && note.includes(line), note);
  const v = canopy(['validate', dir]);
  assert.is(v.code, 1);
  assert.ok(v.stderr.includes(line) && v.stderr.includes(why), v.stderr);
  for (const full of [[], ['--full']]) {
    const p = canopy(['plan', '--repo', dir, '--base', 'HEAD~1', '--head', 'HEAD', ...full]);
    assert.is(p.code, 1, `plan ${full}: ${p.stdout}${p.stderr}`);
    assert.ok(`${p.stdout}${p.stderr}`.includes(why), `plan ${full}: ${p.stdout}${p.stderr}`);
  }
  assert.is(webId(), before, 'the container runs on');
  assert.is(webSees(), 'greeting = two\n');
  assert.is(cfgSaw(), 'greeting = two\n');
});

test.run();
