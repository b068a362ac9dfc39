// The same pipeline with root, clusters and agents as separate processes over a real Mosquitto,
// as they run on real sites; then bad MQTT payloads and a kill -9 of an agent.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { canopy, start, eventually, type Proc } from '../helpers/canopy.js';
import { tempDir, commitFiles } from '../helpers/git.js';
import { running, containers, ownFleet, removeFleet, requireDocker } from '../helpers/docker.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';

const test = suite('separate processes over Mosquitto');
const fleet = ownFleet(`e2e-proc-${process.pid}`);
const work = tempDir();
const dir = path.join(work, 'fleet');
let broker: Mosquitto;
const procs = new Map<string, Proc>();

function agent(cluster: string, node: string): Proc {
  const p = start([
    'agent',
    '--cluster',
    cluster,
    '--name',
    node,
    '--broker',
    broker.url,
    '--runtime',
    'docker,process', // the template's worker is a process
    '--state-dir',
    path.join(work, 'state', node),
    '--cpu',
    '2',
    '--memory',
    '2Gi',
  ]);
  procs.set(node, p);
  return p;
}

test.before(async () => {
  requireDocker();
  broker = await startMosquitto();
  assert.is(canopy(['init', dir]).code, 0);
  const fy = readFileSync(path.join(dir, 'fleet.yaml'), 'utf8').replace(/name: demo/, `name: ${fleet}`);
  commitFiles(dir, { 'fleet.yaml': fy }, 'name the fleet');
  for (const c of ['munich', 'paris']) {
    procs.set(c, start(['cluster', '--name', c, '--broker', broker.url, '--repo', dir, '--state-dir', path.join(work, 'state', c)]));
    await procs.get(c)!.waitFor(/running/);
    agent(c, `${c}-a`);
    agent(c, `${c}-b`);
  }
  procs.set('root', start(['root', '--repo', dir, '--broker', broker.url]));
});

test.after(async () => {
  for (const p of procs.values()) await p.kill('SIGKILL');
  await broker?.stop();
  removeFleet(fleet);
});

test('converges the template', async () => {
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '90']);
  assert.is(w.code, 0, `${w.stderr}\n${[...procs].map(([n, p]) => `--- ${n}\n${p.output()}`).join('\n')}`);
  assert.is(running(fleet, 'shop/web'), 2);
});

test('malformed MQTT payloads are dropped and logged; nothing crashes, nothing changes', async () => {
  const before = containers(fleet)
    .map((c) => c.name)
    .sort();
  const c = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: 'intruder' });
  const base = `canopy/v1/${fleet}/clusters/munich`;
  await c.publishAsync(`${base}/desired`, 'not json{', { qos: 1 });
  await c.publishAsync(`${base}/desired`, JSON.stringify({ kind: 'snapshot', placement: { fleet, cluster: 'munich' } }), { qos: 1 });
  await c.publishAsync(`${base}/status`, JSON.stringify({ kind: 'cluster-status', cluster: 'munich', at: 'yesterday' }), { qos: 1 });
  await c.publishAsync(`${base}/nodes/munich-a/status`, JSON.stringify({ kind: 'node-status', node: 'munich-a', replicas: 'all' }), { qos: 1 });
  await c.publishAsync(`${base}/nodes/munich-a/desired`, JSON.stringify({ kind: 'node-desired', seq: -1 }), { qos: 1 });
  await c.endAsync();
  await eventually(
    'drops logged by the cluster, the root and the agent',
    () =>
      /dropped bad message: .*clusters\/munich\/desired/.test(procs.get('munich')!.output()) &&
      /dropped bad message: .*clusters\/munich\/status/.test(procs.get('root')!.output()) &&
      /dropped bad message: .*nodes\/munich-a\/desired/.test(procs.get('munich-a')!.output()),
    10_000,
  );
  for (const [name, p] of procs) assert.is(p.child.exitCode, null, `${name} exited:\n${p.output()}`);
  assert.equal(
    containers(fleet)
      .map((x) => x.name)
      .sort(),
    before,
  );
  // Still converging on new commits.
  const file = path.join(dir, 'services/shop/web.yaml');
  commitFiles(dir, { 'services/shop/web.yaml': readFileSync(file, 'utf8').replace(/replicas: 2/, 'replicas: 3') }, 'web: 3');
  assert.is(canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '60']).code, 0);
  assert.is(running(fleet, 'shop/web'), 3);
});

test('kill -9 of an agent and a restart: its containers are adopted, not duplicated', async () => {
  const holder = containers(fleet).find((c) => c.service === 'shop/web')!.name;
  const node = /-(munich-[ab]|paris-[ab])-/.exec(holder)?.[1] ?? /_(munich-[ab]|paris-[ab])_/.exec(holder)![1];
  const cluster = node.split('-')[0];
  const ids = containers(fleet)
    .map((c) => c.name)
    .sort();
  await procs.get(node)!.kill('SIGKILL');
  const p = agent(cluster, node);
  await p.waitFor(/running/);
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(
    containers(fleet)
      .map((c) => c.name)
      .sort(),
    ids,
    'same containers after the restart',
  );
  assert.is(running(fleet, 'shop/web'), 3);
  const st = JSON.parse(canopy(['status', '--repo', dir, '--json']).stdout);
  assert.is(st.services['shop/web'].running, 3);
});

test('a cluster killed with -9 and restarted keeps its replicas where they run', async () => {
  const ids = containers(fleet)
    .map((c) => c.name)
    .sort();
  await procs.get('munich')!.kill('SIGKILL');
  procs.set('munich', start(['cluster', '--name', 'munich', '--broker', broker.url, '--repo', dir, '--state-dir', path.join(work, 'state', 'munich')]));
  await procs.get('munich')!.waitFor(/running/);
  const file = path.join(dir, 'services/shop/worker.yaml');
  commitFiles(dir, { 'services/shop/worker.yaml': readFileSync(file, 'utf8').replace(/replicas: 1/, 'replicas: 2') }, 'worker: 2');
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '60']);
  assert.is(w.code, 0, w.stderr + procs.get('munich')!.output());
  assert.equal(
    containers(fleet)
      .map((c) => c.name)
      .sort(),
    ids,
  );
});

test.run();
