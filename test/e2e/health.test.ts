// Health probes as a user meets them: root, one cluster and one Docker agent as separate
// processes over Mosquitto, busybox httpd in real containers probed over real HTTP. A service
// whose probe passes converges (`canopy wait` exit 0); one whose probe fails is shown not ready
// with the probe's message in `canopy status` and `--json`, and `canopy wait` does not call its
// commit converged (exit 1, naming the service and why); a replica that stops passing after it
// was ready turns unready with the probe's message.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { canopy, start, eventually, type Proc } from '../helpers/canopy.js';
import { tempDir, commitFiles, serviceYaml } from '../helpers/git.js';
import { templateFleet } from '../helpers/template-fleet.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { ownFleet, requireDocker } from '../helpers/docker.js';

const test = suite('health probes');
const fleet = ownFleet(`e2e-health-${process.pid}`);
const work = tempDir('canopy-health-');
const dir = path.join(work, 'fleet');
const procs: Proc[] = [];
let broker: Mosquitto | undefined;

const web = (name: string, probePath: string) =>
  serviceYaml('demo', name, {
    runtime: 'container',
    image: 'canopy/busybox:1',
    command: ['sh', '-c', 'mkdir -p /www && echo ok > /www/ok && exec httpd -f -p 8080 -h /www'],
    replicas: 1,
    resources: { cpu: 0.05, memory: '16Mi' },
    ports: [{ port: 8080 }],
    // A long grace: the replica is shown unready, not restarted, while the test looks.
    health: { http: { path: probePath, port: 8080 }, intervalSeconds: 1, failureThreshold: 2, startSeconds: 600 },
  });

const status = () => JSON.parse(canopy(['status', '--repo', dir, '--json']).stdout);

test.before(async () => {
  requireDocker();
  broker = await startMosquitto();
  templateFleet(
    dir,
    fleet,
    {
      'services/demo/good.yaml': web('good', '/ok'),
    },
    { message: 'a web server probed at /ok' },
  );
  const cluster = start(['cluster', '--name', 'munich', '--broker', broker.url, '--repo', dir, '--state-dir', path.join(work, 'state', 'munich')]);
  procs.push(cluster);
  await cluster.waitFor(/running/);
  const agent = start([
    'agent',
    '--cluster',
    'munich',
    '--name',
    'n1',
    '--broker',
    broker.url,
    '--runtime',
    'docker',
    '--state-dir',
    path.join(work, 'state', 'n1'),
  ]);
  procs.push(agent);
  await agent.waitFor(/running/);
  procs.push(start(['root', '--repo', dir, '--broker', broker.url]));
});

test.after(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  await broker?.stop();
});

test('a probe that passes: converged means ready', () => {
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '90']);
  assert.is(w.code, 0, w.stdout + w.stderr + procs.map((p) => p.output().slice(-1500)).join('\n---\n'));
  const s = status().services['demo/good'];
  assert.equal([s.desired, s.running, s.ready, s.state], [1, 1, 1, 'converged']);
});

test('a probe that fails: not ready with the probe’s message, and wait does not say converged', async () => {
  commitFiles(dir, { 'services/demo/bad.yaml': web('bad', '/missing') }, 'a web server probed where it serves nothing');
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '15']);
  assert.is(w.code, 1, w.stdout + w.stderr);
  assert.match(w.stderr, /demo\/bad: progressing, 0\/1 ready/);
  assert.match(w.stderr, /GET \/missing: 404/, w.stderr);
  const s = status().services['demo/bad'];
  assert.equal([s.running, s.ready, s.state], [1, 0, 'progressing']);
  assert.match(s.reason, /munich: 1 not ready: GET \/missing: 404/);
  assert.match(canopy(['status', '--repo', dir]).stdout, /demo\/bad .*GET \/missing: 404/);
});

test('a replica that stops passing turns unready, with why', async () => {
  const id = execFileSync('docker', ['ps', '-q', '--filter', `label=canopy.fleet=${fleet}`, '--filter', 'label=canopy.service=demo/good'], {
    encoding: 'utf8',
  }).trim();
  assert.ok(id, 'demo/good runs');
  execFileSync('docker', ['exec', id, 'rm', '/www/ok']);
  const s = await eventually(
    'demo/good unready',
    () => {
      const x = status().services['demo/good'];
      return x.ready === 0 ? x : undefined;
    },
    30_000,
    500,
  );
  assert.is(s.state, 'progressing');
  assert.match(s.reason, /GET \/ok: 404/);
});

test.run();
