// Workload admission on the node, as an operator runs it: root, cluster and agents as separate
// processes over a real Mosquitto, containers on the real Docker Engine. One agent runs only
// allowed images (--allow-image), one only allowed commands (--allow-command, process runtime).
// A refused replica is never started (no container, no file the command would write), it is
// reported with the reason up to `canopy status` and the commit's note, and it runs once the
// agent's rules allow it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Dockerode from 'dockerode';
import { canopy, start, eventually, type Proc } from '../helpers/canopy.js';
import { git, tempDir, commitFiles, serviceYaml } from '../helpers/git.js';
import { ownFleet, requireDocker } from '../helpers/docker.js';
import { atExit } from '../helpers/cleanup.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';

const test = suite('workload admission on the node');
const IMAGE = 'canopy/busybox:1';
const BUILD_SCRIPT = fileURLToPath(new URL('../../../scripts/build-test-image.sh', import.meta.url));
// An image present on this host that the rules do not allow: were it admitted, it would run.
const EVIL = `canopy-admission-${process.pid}:evil`;
atExit(() => {
  try {
    execFileSync('docker', ['image', 'rm', EVIL], { stdio: 'ignore' }); // only the tag: the image is canopy/busybox's
  } catch {
    /* never tagged */
  }
});
const fleet = ownFleet(`e2e-adm-${process.pid}`);
const work = tempDir();
const dir = path.join(work, 'fleet');
const pwned = path.join(work, 'pwned');
const docker = new Dockerode();
const procs = new Map<string, Proc>();
let broker: Mosquitto;

const small = { replicas: 1, resources: { cpu: 0.1, memory: '16Mi' } };
const ALLOW_IMAGE = 'canopy/busybox:*';
const ALLOW_COMMAND = '/usr/bin/sleep,/bin/sleep';

function agent(node: string, args: string[]): Proc {
  const p = start(['agent', '--cluster', 'munich', '--name', node, '--broker', broker.url, '--state-dir', path.join(work, 'state', node), ...args]);
  procs.set(node, p);
  return p;
}
const dockerAgent = (allow: string) => agent('munich-d', ['--runtime', 'docker', '--allow-image', allow]);
const processAgent = (allow: string) => agent('munich-p', ['--runtime', 'process', '--allow-command', allow]);

/** The fleet's containers of one service, as the Docker Engine lists them. */
const containersOf = (service: string) => docker.listContainers({ all: true, filters: { label: [`canopy.fleet=${fleet}`, `canopy.service=${service}`] } });

function status(): { services: Record<string, { running: number; desired: number; state: string; reason: string }> } {
  const r = canopy(['status', '--repo', dir, '--json']);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const logs = () => [...procs].map(([n, p]) => `--- ${n}\n${p.output().slice(-3000)}`).join('\n');
/** Fails with the parts' recent output, to see why. */
const withLogs = (e: Error): never => {
  throw new Error(`${e.message}\n${logs()}`);
};
const literally = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test.before(async () => {
  requireDocker();
  try {
    execFileSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' });
  } catch {
    execFileSync(BUILD_SCRIPT, { stdio: 'inherit' });
  }
  execFileSync('docker', ['tag', IMAGE, EVIL]);
  broker = await startMosquitto();
  assert.is(canopy(['init', dir]).code, 0);
  const fy = git(dir, 'show', 'HEAD:fleet.yaml').replace(/name: demo/, `name: ${fleet}`);
  commitFiles(
    dir,
    {
      'fleet.yaml': fy,
      'clusters/munich.yaml': null,
      'clusters/paris.yaml': null,
      'services/shop/web.yaml': null,
      'services/shop/worker.yaml': null,
      'services/traffic-cam/detector.yaml': null,
      'services/shop/ok.yaml': serviceYaml('shop', 'ok', { runtime: 'container', image: IMAGE, command: ['sleep', '600'], ...small }),
      'services/shop/evil.yaml': serviceYaml('shop', 'evil', { runtime: 'container', image: EVIL, command: ['sleep', '600'], ...small }),
      'services/shop/sleeper.yaml': serviceYaml('shop', 'sleeper', { runtime: 'process', command: ['sleep', '600'], ...small }),
      'services/shop/pwn.yaml': serviceYaml('shop', 'pwn', { runtime: 'process', command: ['sh', '-c', `id > ${pwned}`], ...small }),
    },
    'two allowed workloads, two that the nodes refuse',
  );
  procs.set('munich', start(['cluster', '--name', 'munich', '--broker', broker.url, '--repo', dir, '--state-dir', path.join(work, 'state', 'munich')]));
  await procs.get('munich')!.waitFor(/running/);
  await dockerAgent(ALLOW_IMAGE).waitFor(/running/);
  await processAgent(ALLOW_COMMAND).waitFor(/running/);
  procs.set('root', start(['root', '--repo', dir, '--broker', broker.url]));
});

test.after(async () => {
  for (const p of procs.values()) await p.kill('SIGKILL');
  await broker?.stop();
});

test('each agent says at start what it runs and which rules are in force', () => {
  const d = procs.get('munich-d')!.output();
  assert.match(d, /workloads: containers on \(docker\), processes off/);
  assert.match(d, /admission: container workloads only if they match canopy\/busybox:\* \(--allow-image\)/);
  const p = procs.get('munich-p')!.output();
  assert.match(p, /workloads: containers off, processes on \(process\)/);
  assert.match(p, /admission: process workloads only if they match \/usr\/bin\/sleep, \/bin\/sleep \(--allow-command\)/);
});

test('the refused replicas are reported with the reason up to canopy status; the allowed ones run', async () => {
  const st = await eventually(
    'ok and sleeper running, evil and pwn refused, in canopy status',
    () => {
      const s = status().services;
      return s['shop/ok']?.running === 1 && s['shop/sleeper']?.running === 1 && /refused/.test(s['shop/evil']?.reason) && /refused/.test(s['shop/pwn']?.reason)
        ? s
        : undefined;
    },
    90_000,
  ).catch(withLogs);
  if (!st) return assert.unreachable();
  assert.equal([st['shop/evil'].state, st['shop/evil'].running], ['degraded', 0]);
  assert.match(st['shop/evil'].reason, `munich: shop/evil#0: refused by node policy: image ${EVIL} is not in the allowed images (${ALLOW_IMAGE})`);
  assert.equal([st['shop/pwn'].state, st['shop/pwn'].running], ['degraded', 0]);
  assert.match(
    st['shop/pwn'].reason,
    new RegExp(
      `^munich: shop/pwn#0: refused by node policy: command "(/usr)?/bin/sh -c id > ${literally(pwned)}" is not in the allowed commands \\(/usr/bin/sleep, /bin/sleep\\)$`,
    ),
  );
  assert.equal(
    (await containersOf('shop/ok')).map((c) => c.State),
    ['running'],
  );
});

test('the commit’s note says what holds it up: the refusals', async () => {
  const note = await eventually(
    'both refusals in the note on HEAD',
    () => {
      const text = git(dir, 'notes', '--ref', 'canopy', 'show', 'HEAD');
      return /shop\/evil: munich: shop\/evil#0: refused by node policy/.test(text) && /shop\/pwn: munich: shop\/pwn#0: refused by node policy/.test(text)
        ? text
        : undefined;
    },
    30_000,
  ).catch(withLogs);
  assert.match(note ?? '', /Not converged yet\./);
  assert.match(note ?? '', `shop/evil: munich: shop/evil#0: refused by node policy: image ${EVIL} is not in the allowed images (${ALLOW_IMAGE})`);
});

test('a refused replica is never started, nor retried: no container, no file, one refusal logged per replica', async () => {
  // By now the agents have run a pass every heartbeat (2 s) since they were assigned the replicas.
  assert.equal(await containersOf('shop/evil'), [], 'no container was created for the refused image');
  assert.not.ok(existsSync(pwned), 'the refused command never ran');
  const d = procs.get('munich-d')!.output();
  const p = procs.get('munich-p')!.output();
  assert.not.match(d, /start shop\/evil/);
  assert.not.match(p, /start shop\/pwn/);
  assert.is(d.match(/shop\/evil#0: refused by node policy/g)?.length, 1, d);
  assert.is(p.match(/shop\/pwn#0: refused by node policy/g)?.length, 1, p);
});

test('rules that allow them: after a restart of each agent, the image runs and the command writes its file', async () => {
  await procs.get('munich-d')!.kill('SIGTERM');
  await dockerAgent(`${ALLOW_IMAGE},canopy-admission-*`).waitFor(/running/);
  await eventually('the evil container running', async () => (await containersOf('shop/evil')).some((c) => c.State === 'running'), 60_000).catch(withLogs);
  await procs.get('munich-p')!.kill('SIGTERM');
  await processAgent(`${ALLOW_COMMAND},/usr/bin/sh,/bin/sh`).waitFor(/running/);
  await eventually('the command’s file', () => existsSync(pwned), 60_000).catch(withLogs);
  const evil = await eventually(
    'evil running in canopy status',
    () => {
      const s = status().services['shop/evil'];
      return s.running === 1 ? s : undefined;
    },
    60_000,
  ).catch(withLogs);
  assert.is(evil?.state, 'converged', evil?.reason);
});

test.run();
