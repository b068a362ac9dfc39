// Health probes of a node agent on the docker runtime, against the real Docker Engine and a real
// Mosquitto: busybox httpd serving /www, probed by http (GET /ok) at the port Docker published
// and by exec (`test -f /www/ok`, docker exec) in the container. Ready while /www/ok exists, not
// ready with the probe's message once it is removed (docker exec rm), ready again when it is
// back; a replica that never passes is restarted past startSeconds, and the status says why.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { ownFleet, removeFleet, requireDocker } from '../helpers/docker.js';
import { tempDir } from '../helpers/cleanup.js';
import { connectBus, type Bus } from '../../reconciler/mqtt/bus.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { createLogger } from '../../reconciler/core/log.js';
import { loadDrivers } from '../../agents/runtimes/load.js';
import { containerName } from '../../agents/runtimes/docker.js';
import { startAgent, type Agent } from '../../agents/agent.js';
import type { NodeDesired, NodeStatus, ReplicaSpec, ReplicaState } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';

const IMAGE = 'canopy/busybox:1';
const BUILD_SCRIPT = fileURLToPath(new URL('../../../scripts/build-test-image.sh', import.meta.url));
const FLEET = ownFleet(`ah${Date.now().toString(36)}${process.pid}`);
const t = topics(FLEET);
const lines: string[] = [];
const log = createLogger('agent c1/n1', 'debug', (l) => lines.push(l));
const DRIVER = { fleet: FLEET, cluster: 'c1', node: 'n1', stateDir: '' };

let broker: Mosquitto;
let cluster: Bus;
let agentBus: Bus;
let agent: Agent;
let lastStatus: NodeStatus | undefined;
const seen: ReplicaState[] = []; // every replica line of every status published

async function until<T>(what: string, probe: () => T | undefined, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}\n${JSON.stringify(lastStatus?.replicas)}\n${lines.slice(-20).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const replicaNow = (id: string): ReplicaState | undefined => lastStatus?.replicas.find((r) => r.id === id);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
const name = (id: string) => containerName(DRIVER, id);
const containerId = (id: string) => docker('inspect', '-f', '{{.Id}}', name(id));

function replica(id: string, health: ServiceSpec['health']): ReplicaSpec {
  const service = id.slice(0, id.indexOf('#'));
  return {
    id,
    service,
    index: 0,
    specHash: `h-${service}`,
    spec: {
      runtime: 'container',
      replicas: 1,
      image: IMAGE,
      command: ['sh', '-c', 'echo ok > /www/ok && exec httpd -f -p 8080 -h /www'],
      ports: [{ port: 8080 }],
      health,
    },
  };
}

const WEB = replica('shop/web#0', { http: { path: '/ok', port: 8080 }, intervalSeconds: 1, failureThreshold: 2, startSeconds: 3600 });
const EXE = replica('shop/exe#0', { exec: { command: ['test', '-f', '/www/ok'] }, intervalSeconds: 1, failureThreshold: 2, startSeconds: 3600 });
const BAD = replica('shop/bad#0', { http: { path: '/missing', port: 8080 }, intervalSeconds: 1, failureThreshold: 1, startSeconds: 2 });

test.before(async () => {
  requireDocker();
  try {
    execFileSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' });
  } catch {
    execFileSync(BUILD_SCRIPT, { stdio: 'inherit' });
  }
  broker = await startMosquitto();
  DRIVER.stateDir = tempDir('canopy-agent-health-');
  cluster = await connectBus({ url: broker.url, clientId: `test-cluster-${process.pid}`, log: createLogger('cluster', 'silent') });
  await cluster.subscribe(t.nodeStatus('c1', 'n1'), (_topic, payload) => {
    if (!payload.length) return;
    lastStatus = JSON.parse(payload.toString()) as NodeStatus;
    seen.push(...lastStatus.replicas);
  });
  agentBus = await connectBus({ url: broker.url, clientId: `test-agent-${process.pid}`, log, onlineTopic: t.nodeOnline('c1', 'n1') });
  const drivers = await loadDrivers('docker', DRIVER);
  // A long heartbeat: every status seen here was published because readiness changed.
  agent = await startAgent({ ...DRIVER, bus: agentBus, drivers, capacity: { cpu: 2, memoryMi: 2048, gpu: 0 }, heartbeatMs: 600_000, log, noNetwork: true });
  const desired: NodeDesired = { kind: 'node-desired', seq: 1, epoch: 0, replicas: [WEB, EXE, BAD] };
  await cluster.publish(t.nodeDesired('c1', 'n1'), desired, { retain: true });
});

test.after(async () => {
  await agent?.stop();
  await agentBus?.close();
  await cluster?.close();
  await broker?.stop();
  removeFleet(FLEET);
  rmSync(DRIVER.stateDir, { recursive: true, force: true });
});

test('an http probe at the published port and an exec probe in the container: ready while /www/ok exists', async () => {
  await until('web ready', () => replicaNow(WEB.id)?.ready === true);
  await until('exe ready', () => replicaNow(EXE.id)?.ready === true);
  assert.is(replicaNow(WEB.id)?.notReady, undefined);
  assert.is(replicaNow(WEB.id)?.state, 'running');
});

test('/www/ok removed: not ready, with GET /ok: 404 and exec exited 1; back: ready again', async () => {
  const webId = containerId(WEB.id);
  docker('exec', name(WEB.id), 'rm', '/www/ok');
  docker('exec', name(EXE.id), 'rm', '/www/ok');
  const web = await until('web not ready', () => (replicaNow(WEB.id)?.ready === false ? replicaNow(WEB.id) : undefined));
  assert.is(web.notReady, 'GET /ok: 404');
  assert.is(web.state, 'running', 'within startSeconds: not restarted');
  const exe = await until('exe not ready', () => (replicaNow(EXE.id)?.ready === false ? replicaNow(EXE.id) : undefined));
  assert.is(exe.notReady, 'exec exited 1');
  docker('exec', name(WEB.id), 'sh', '-c', 'echo ok > /www/ok');
  await until('web ready again', () => replicaNow(WEB.id)?.ready === true);
  assert.is(containerId(WEB.id), webId, 'the same container throughout');
});

test('a replica that never passes is restarted past startSeconds, shown failed with why, and keeps restarting with backoff', async () => {
  // It may be between a stop and its next start at this moment (a loaded machine): wait for one.
  const first = await until('the bad replica’s container', () => {
    try {
      return containerId(BAD.id);
    } catch {
      return undefined;
    }
  });
  const bad = replicaNow(BAD.id);
  assert.is(bad?.ready, false);
  await until('a restart', () => {
    try {
      return containerId(BAD.id) !== first;
    } catch {
      return false; // between stop and start
    }
  });
  assert.ok(
    lines.some((l) => l.includes(`stop ${BAD.id}: health probe failed: GET /missing: 404`)),
    lines.join('\n'),
  );
  assert.ok(lines.some((l) => l.includes(`start ${BAD.id}: restart after: health probe failed: GET /missing: 404`)));
  // Each round takes about 3 s (the grace, then a probe); the backoff doubles with each restart
  // (1, 2, 4 s): by the third it outlasts a round, and the replica waits it out stopped, shown failed.
  const held = await until(
    'a status showing the replica failed while its backoff runs',
    () => seen.find((r) => r.id === BAD.id && r.state === 'failed'),
    90_000,
  );
  assert.is(held.message, 'health probe failed: GET /missing: 404');
  assert.ok(lines.filter((l) => l.includes(`start ${BAD.id}: restart after: health probe failed`)).length >= 3, 'restarted at least three times first');
  assert.is(replicaNow(WEB.id)?.ready, true, 'the others are untouched');
});

test.run();
