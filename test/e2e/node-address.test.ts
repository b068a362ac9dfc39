// Nodes have addresses, as a user sees them: `canopy up` gives every node of every cluster a
// loopback address of its own and prints it; a process workload reads its node's address in
// CANOPY_NODE_ADDRESS; a process service with a published port shows `<node address>:<hostPort>`
// in `canopy status --json` under the cluster that runs it. An agent started by hand over Mosquitto takes --address, reports it in its
// status, and hands it to its workloads; a bad --address is a usage error (exit 64).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { canopy, start, eventually, type Proc } from '../helpers/canopy.js';
import { git, tempDir, commitFiles, serviceYaml } from '../helpers/git.js';
import { fleetProcesses, killGroup } from '../helpers/process-group.js';
import { freePort, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';

const test = suite('node addresses');
const work = tempDir('canopy-addr-');
const upFleet = `e2e-addr-up-${process.pid}`;
const handFleet = `e2e-addr-hand-${process.pid}`;
const procs: Proc[] = [];
let broker: Mosquitto | undefined;

/** A fleet repository from the template: only a worker that writes its node's address to out/<node>, then sleeps. */
function fleetRepo(name: string, fleet: string, out: string, extra: Record<string, string | null> = {}): string {
  const dir = path.join(work, name);
  assert.is(canopy(['init', dir]).code, 0);
  const fy = git(dir, 'show', 'HEAD:fleet.yaml').replace(/name: demo/, `name: ${fleet}`);
  commitFiles(
    dir,
    {
      'fleet.yaml': fy + '\n',
      'services/shop/web.yaml': null,
      'services/traffic-cam/detector.yaml': null,
      'services/shop/worker.yaml': serviceYaml('shop', 'worker', {
        runtime: 'process',
        command: ['sh', '-c', `echo $CANOPY_NODE_ADDRESS > ${out}/$CANOPY_NODE; sleep 3600`],
        replicas: 2,
        resources: { cpu: 0.05, memory: '16Mi' },
      }),
      ...extra,
    },
    'a worker that says its node address',
  );
  return dir;
}

/** Each file in `out` by node name: what the workload on that node wrote. */
function written(out: string): Record<string, string> {
  if (!existsSync(out)) return {};
  return Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(path.join(out, f), 'utf8')]));
}

test.after(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  for (const pid of [...fleetProcesses(upFleet), ...fleetProcesses(handFleet)]) killGroup(pid);
  await broker?.stop();
});

test('canopy up: every node its own loopback address, printed; a workload reads its node’s', async () => {
  const out = path.join(work, 'up-out');
  const apiNode = path.join(work, 'up-api-node');
  const hostPort = await freePort();
  // A process service with a published port: its endpoint is its node's address and that port.
  const api = serviceYaml('shop', 'api', {
    runtime: 'process',
    command: ['sh', '-c', `echo $CANOPY_NODE > ${apiNode}; sleep 3600`],
    replicas: 1,
    resources: { cpu: 0.05, memory: '16Mi' },
    ports: [{ port: 8080, hostPort }],
  });
  const dir = fleetRepo('up', upFleet, out, { 'services/shop/api.yaml': api });
  mkdirSync(out);
  const up = start(['up', '--repo', dir, '--runtime', 'process']);
  procs.push(up);
  await up.waitFor(/Fleet .*: 2 cluster/, 60_000);
  const printed = new Map([...up.output().matchAll(/^node (\S+)\/(\S+) at (\S+)$/gm)].map((m) => [m[2], m[3]]));
  assert.equal([...printed.keys()].sort(), ['munich-n1', 'munich-n2', 'paris-n1', 'paris-n2'], up.output());
  for (const a of printed.values()) assert.match(a, /^127\.0\.0\.\d+$/);
  assert.is(new Set(printed.values()).size, printed.size, 'no two nodes share an address');
  assert.not.ok([...printed.values()].includes('127.0.0.1'), '127.0.0.1 stays the host’s');
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '90']);
  assert.is(w.code, 0, `${w.stderr}\n--- up:\n${up.output()}`);
  await eventually('the workers wrote their addresses', () => Object.keys(written(out)).length > 0);
  const files = written(out);
  for (const [node, text] of Object.entries(files)) assert.is(text.trim(), printed.get(node), `what the worker on ${node} read`);
  // canopy status --json: shop/api's endpoint, in the cluster that runs it, is its node's address.
  await eventually('shop/api wrote its node', () => existsSync(apiNode) && readFileSync(apiNode, 'utf8').trim());
  const node = readFileSync(apiNode, 'utf8').trim();
  const want = { [node.split('-')[0]]: [`${printed.get(node)}:${hostPort}`] };
  let seen: unknown;
  await eventually(
    `shop/api's endpoints in canopy status --json: want ${JSON.stringify(want)}`,
    () => {
      const st = canopy(['status', '--repo', dir, '--json']);
      seen = JSON.parse(st.stdout).services['shop/api']?.endpoints;
      return JSON.stringify(seen) === JSON.stringify(want);
    },
    60_000,
    500,
  ).catch((e: Error) => assert.unreachable(`${e.message}; seen ${JSON.stringify(seen)}\n--- up:\n${up.output()}`));
  assert.is(await up.kill('SIGINT'), 0, up.output());
  assert.equal(fleetProcesses(upFleet), [], 'up removed the workers');
});

test('canopy agent --address: a bad one is a usage error naming the option', () => {
  const r = canopy([
    'agent',
    '--cluster',
    'munich',
    '--name',
    'n1',
    '--broker',
    'mqtt://127.0.0.1:1',
    '--runtime',
    'process',
    '--state-dir',
    work,
    '--address',
    'node-1.local',
  ]);
  assert.is(r.code, 64, r.stderr);
  assert.match(r.stderr, /--address.*expected an IPv4 or IPv6 address/);
});

test('canopy agent --address 127.0.0.9 over Mosquitto: its status and its workload carry it', async () => {
  broker = await startMosquitto();
  const out = path.join(work, 'hand-out');
  mkdirSync(out);
  const dir = fleetRepo('hand', handFleet, out, { 'clusters/paris.yaml': null });
  const cluster = start(['cluster', '--name', 'munich', '--broker', broker.url, '--repo', dir, '--state-dir', path.join(work, 'state', 'munich')]);
  procs.push(cluster);
  await cluster.waitFor(/running/);
  const agent = start([
    'agent',
    ...['--cluster', 'munich', '--name', 'n1', '--broker', broker.url, '--runtime', 'process'],
    ...['--state-dir', path.join(work, 'state', 'n1'), '--address', '127.0.0.9'],
  ]);
  procs.push(agent);
  await agent.waitFor(/node address 127\.0\.0\.9/);
  procs.push(start(['root', '--repo', dir, '--broker', broker.url]));
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '90']);
  assert.is(w.code, 0, `${w.stderr}\n--- agent:\n${agent.output()}\n--- cluster:\n${cluster.output()}`);
  await eventually('the worker wrote its address', () => written(out).n1);
  assert.equal(written(out), { n1: '127.0.0.9\n' });
  // The node's status (retained, unsigned here) says it to its cluster.
  const c = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: `test-addr-${process.pid}` });
  try {
    const status = new Promise<{ address?: string }>((resolve) => c.on('message', (_t, p) => resolve(JSON.parse(p.toString()))));
    await c.subscribeAsync(`canopy/v1/${handFleet}/clusters/munich/nodes/n1/status`);
    assert.is((await status).address, '127.0.0.9');
  } finally {
    await c.endAsync();
  }
});

test('canopy agent without --address: its broker connection’s local address', async () => {
  // A broker reached at ::1, so the connection's local end (::1) is told apart from the fallback
  // (127.0.0.1; to any 127.x the kernel connects from 127.0.0.1). The node is one of a cluster that
  // does not run, so nothing is placed on it: it only says what it took.
  const [p1, p6] = [await freePort(), await freePort()];
  const other = await startMosquitto(p1, { conf: [`listener ${p1} 127.0.0.1`, `listener ${p6} ::1`, 'allow_anonymous true'], quiet: true });
  try {
    const agent = start([
      'agent',
      ...['--cluster', 'elsewhere', '--name', 'n2', '--fleet', handFleet, '--broker', `mqtt://[::1]:${p6}`],
      ...['--runtime', 'process', '--state-dir', path.join(work, 'state', 'n2')],
    ]);
    procs.push(agent);
    await agent.waitFor(/node address ::1 \(its connection to the broker; --address to choose\)/);
    await agent.kill('SIGTERM');
  } finally {
    await other.stop();
  }
});

test.run();
