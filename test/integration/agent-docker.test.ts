// A node agent on the docker runtime, against the real Docker Engine and a real Mosquitto: the
// assignment comes as the cluster sends it (a retained node-desired message), the status goes
// back the same way, and what the agent does is checked through the docker CLI.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { containers, ownFleet, removeFleet, requireDocker } from '../helpers/docker.js';
import { tempDir } from '../helpers/cleanup.js';
import { connectBus, type Bus } from '../../reconciler/mqtt/bus.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { createLogger } from '../../reconciler/core/log.js';
import { loadDrivers } from '../../agents/runtimes/load.js';
import { startAgent, type Agent } from '../../agents/agent.js';
import type { NodeDesired, NodeStatus } from '../../schemas/messages.js';

const IMAGE = 'canopy/busybox:1';
const BUILD_SCRIPT = fileURLToPath(new URL('../../../scripts/build-test-image.sh', import.meta.url));
const FLEET = ownFleet(`ad${Date.now().toString(36)}${process.pid}`);
const t = topics(FLEET);
const lines: string[] = [];
const log = createLogger('agent c1/n1', 'debug', (l) => lines.push(l));

let broker: Mosquitto;
let cluster: Bus; // plays the cluster: sends the assignment, reads the status
let agentBus: Bus;
let agent: Agent;
let stateDir = '';
let lastStatus: NodeStatus | undefined;

async function until<T>(what: string, probe: () => T | undefined, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}\n${lines.slice(-20).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const running = () => containers(FLEET).filter((c) => c.state === 'running');

test.before(async () => {
  requireDocker();
  try {
    execFileSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' });
  } catch {
    execFileSync(BUILD_SCRIPT, { stdio: 'inherit' });
  }
  broker = await startMosquitto();
  stateDir = tempDir('canopy-agent-docker-');
  cluster = await connectBus({ url: broker.url, clientId: `test-cluster-${process.pid}`, log: createLogger('cluster', 'silent') });
  await cluster.subscribe(t.nodeStatus('c1', 'n1'), (_topic, payload) => {
    if (payload.length) lastStatus = JSON.parse(payload.toString()) as NodeStatus;
  });
  agentBus = await connectBus({ url: broker.url, clientId: `test-agent-${process.pid}`, log, onlineTopic: t.nodeOnline('c1', 'n1'), keepaliveSeconds: 2 });
  const drivers = await loadDrivers('docker', { fleet: FLEET, cluster: 'c1', node: 'n1', stateDir });
  agent = await startAgent({
    fleet: FLEET,
    cluster: 'c1',
    node: 'n1',
    bus: agentBus,
    drivers,
    stateDir,
    capacity: { cpu: 2, memoryMi: 2048, gpu: 0 },
    heartbeatMs: 2000,
    log,
  });
});

test.after(async () => {
  await agent?.stop();
  await agentBus?.close();
  await cluster?.close();
  await broker?.stop();
  removeFleet(FLEET);
  rmSync(stateDir, { recursive: true, force: true });
});

test('the assignment starts its container, and the status says it runs', async () => {
  const desired: NodeDesired = {
    kind: 'node-desired',
    seq: 1,
    epoch: 0,
    heartbeatSeconds: 2,
    replicas: [
      { id: 'web/api#0', service: 'web/api', index: 0, specHash: 'h1', spec: { runtime: 'container', replicas: 1, image: IMAGE, command: ['sleep', '600'] } },
    ],
  };
  await cluster.publish(t.nodeDesired('c1', 'n1'), desired, { retain: true });
  await until('one running container', () => running().length === 1);
  const st = await until('a status with the replica running', () => lastStatus?.replicas.find((r) => r.id === 'web/api#0' && r.state === 'running'));
  assert.is(st.specHash, 'h1');
  assert.is(lastStatus!.appliedSeq, 1);
});

test('a container killed behind its back is replaced by one, not two', async () => {
  const [before] = running();
  execFileSync('docker', ['kill', before.name], { stdio: 'ignore' });
  // The replacement has the same name: wait for a running container that is not the killed one.
  const id = () =>
    execFileSync('docker', ['ps', '-q', '--no-trunc', '--filter', `label=canopy.fleet=${FLEET}`, '--filter', 'status=running'], { encoding: 'utf8' }).trim();
  const killedId = execFileSync('docker', ['inspect', '-f', '{{.Id}}', before.name], { encoding: 'utf8' }).trim();
  await until('a new running container', () => {
    const now = id();
    return now && now !== killedId ? now : undefined;
  });
  assert.ok(
    lines.some((l) => /start web\/api#0: restart after: (exited with code 137|killed)/.test(l)),
    lines.join('\n'),
  );
  assert.is(containers(FLEET).length, 1, 'replaced, not added');
});

test('a malformed assignment is dropped with a log line; what runs stays', async () => {
  const [before] = running();
  await cluster.publish(t.nodeDesired('c1', 'n1'), '{"kind": "node-desired", "seq": ', { retain: true });
  await cluster.publish(t.nodeDesired('c1', 'n1'), { kind: 'node-desired', seq: -1, epoch: 0, replicas: 'all of them' }, { retain: true });
  await until('two dropped messages', () => agentBus.stats.dropped >= 2);
  assert.ok(
    lines.some((l) => /dropped bad message: .*not JSON/.test(l)),
    lines.join('\n'),
  );
  await agent.idle();
  assert.equal(
    running().map((c) => c.name),
    [before.name],
  );
});

test.run();
