// Images from a real registry: Debian's docker-registry on loopback with htpasswd authentication
// (test/helpers/registry.ts), an agent on the real docker runtime and a real Mosquitto. The image
// is only in the registry (pushed, then removed locally); the agent pulls it with the credentials
// its driver is handed (registryAuth), runs it and reports its digest. A wrong password, a
// registry whose port is closed and one that never answers each fail their replica with a clear
// reason while the agent goes on serving the others.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { containers, ownFleet, removeFleet, requireDocker } from '../helpers/docker.js';
import { atExit, tempDir } from '../helpers/cleanup.js';
import { freePort, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { BASE_IMAGE, requireBaseImage, startRegistry, type Registry } from '../helpers/registry.js';
import { connectBus, type Bus } from '../../reconciler/mqtt/bus.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { createLogger } from '../../reconciler/core/log.js';
import { loadDrivers } from '../../agents/runtimes/load.js';
import { startAgent, type Agent } from '../../agents/agent.js';
import type { NodeDesired, NodeStatus, ReplicaSpec, ReplicaState } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';

const FLEET = ownFleet(`rp${Date.now().toString(36)}${process.pid}`);
const t = topics(FLEET);
const lines: string[] = [];
const log = createLogger('agent c1/n1', 'debug', (l) => lines.push(l));

let broker: Mosquitto;
let cluster: Bus;
let agentBus: Bus;
let agent: Agent;
let registry: Registry;
let hanging: net.Server;
const held: net.Socket[] = [];
let hangHost = '';
let closedHost = '';
let password = '';
let appDigest = '';
const statuses: NodeStatus[] = [];
let seq = 0;

async function until<T>(what: string, probe: () => T | undefined, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}\n${lines.slice(-20).join('\n')}\n${JSON.stringify(statuses.at(-1)?.replicas)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const replica = (service: string, image: string, extra: Partial<ServiceSpec> = {}): ReplicaSpec => ({
  id: `${service}#0`,
  service,
  index: 0,
  specHash: `h-${image}`,
  spec: { runtime: 'container', replicas: 1, image, command: ['sleep', '600'], ...extra },
});

async function assign(...replicas: ReplicaSpec[]): Promise<void> {
  const desired: NodeDesired = { kind: 'node-desired', seq: ++seq, epoch: 0, heartbeatSeconds: 2, replicas };
  await cluster.publish(t.nodeDesired('c1', 'n1'), desired, { retain: true });
}

const latest = (id: string): ReplicaState | undefined => statuses.at(-1)?.replicas.find((r) => r.id === id);
const runningNow = (id: string) => containers(FLEET).some((c) => c.replica === id && c.state === 'running');

test.before(async () => {
  requireDocker();
  requireBaseImage();
  registry = await startRegistry();
  password = registry.password;
  appDigest = registry.push('app:1', { randomMiB: 16 });
  registry.push('app:2');
  // A registry that takes connections and never answers, and a port nothing listens on.
  hanging = net.createServer((s) => void held.push(s));
  await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
  hangHost = `127.0.0.1:${(hanging.address() as net.AddressInfo).port}`;
  closedHost = `127.0.0.1:${await freePort()}`;
  broker = await startMosquitto();
  cluster = await connectBus({ url: broker.url, clientId: `test-cluster-${process.pid}`, log: createLogger('cluster', 'silent') });
  await cluster.subscribe(t.nodeStatus('c1', 'n1'), (_topic, payload) => {
    if (payload.length) statuses.push(JSON.parse(payload.toString()) as NodeStatus);
  });
  agentBus = await connectBus({ url: broker.url, clientId: `test-agent-${process.pid}`, log, onlineTopic: t.nodeOnline('c1', 'n1') });
  const drivers = await loadDrivers('docker', {
    fleet: FLEET,
    cluster: 'c1',
    node: 'n1',
    stateDir: tempDir('canopy-agent-state-'),
    registryAuth: (host) => (host === registry.host ? { username: registry.username, password } : undefined),
    pull: { stallMs: 3000 },
  });
  agent = await startAgent({
    fleet: FLEET,
    cluster: 'c1',
    node: 'n1',
    bus: agentBus,
    drivers,
    stateDir: tempDir('canopy-agent-'),
    heartbeatMs: 2000,
    noNetwork: true,
    log,
  });
});

test.after(async () => {
  await agent?.stop();
  await agentBus?.close();
  await cluster?.close();
  await broker?.stop();
  for (const s of held) s.destroy();
  hanging?.close();
  registry?.stop();
  removeFleet(FLEET);
});

test('an image only in the password-protected registry is pulled with its credentials, runs, and its digest is reported', async () => {
  const image = `${registry.host}/canopy/app:1`;
  // Alone, so the pass reports right after the pull began (no other start to wait for).
  await assign(replica('web/app', image));
  await until('a status of web/app', () => latest('web/app#0'));
  await assign(replica('web/local', BASE_IMAGE), replica('web/app', image));
  const st = await until('web/app running with its digest', () => {
    const r = latest('web/app#0');
    return r?.state === 'running' && r.image ? r : undefined;
  });
  assert.is(st.image, appDigest);
  assert.match(appDigest, new RegExp(`^${registry.host}/canopy/app@sha256:[0-9a-f]{64}$`));
  assert.ok(runningNow('web/app#0'));
  // While it was pulled, the status said so.
  assert.ok(
    statuses.some((s) => s.replicas.some((r) => r.id === 'web/app#0' && r.state === 'starting' && /^pulling \d+ %$/.test(r.message ?? ''))),
    JSON.stringify(statuses.map((s) => s.replicas)),
  );
  // The image loaded by hand (docker import: no repository digest) is reported by its ID.
  await until('web/local running', () => (latest('web/local#0')?.state === 'running' ? true : undefined));
  assert.match(latest('web/local#0')?.image ?? '', /^sha256:[0-9a-f]{64}$/);
});

test('a wrong password fails the replica with the reason, never the password, and the agent keeps serving the others', async () => {
  password = `wrong-${process.pid}-pw`;
  const image = `${registry.host}/canopy/app:2`;
  await assign(replica('web/local', BASE_IMAGE), replica('web/app', `${registry.host}/canopy/app:1`), replica('web/private', image));
  const failed = await until('web/private failed', () => {
    const r = latest('web/private#0');
    return r?.state === 'failed' ? r : undefined;
  });
  assert.match(failed.message ?? '', new RegExp(`^pull ${registry.host}/canopy/app:2: .*(unauthorized|authentication required|no basic auth)`));
  assert.ok(runningNow('web/local#0') && runningNow('web/app#0'), 'the others run on');
  assert.is(latest('web/local#0')?.state, 'running');
  const everything = JSON.stringify(statuses) + lines.join('\n');
  assert.not.ok(everything.includes(password), 'no password in a status or a log line');
  assert.not.ok(everything.includes(registry.password), 'nor the right one');
  // The right password again: the pull is retried (new credentials lift the image's backoff) and it runs.
  password = registry.password;
  await until('web/private running', () => (latest('web/private#0')?.state === 'running' ? true : undefined));
  assert.match(latest('web/private#0')?.image ?? '', /\/canopy\/app@sha256:/);
});

test('a registry whose port is closed, and one that never answers, do not hold up another replica', async () => {
  await assign(
    replica('web/closed', `${closedHost}/canopy/gone:1`),
    replica('web/hangs', `${hangHost}/canopy/never:1`),
    replica('web/other', BASE_IMAGE, { command: ['sleep', '601'] }),
  );
  await until('web/other running', () => (latest('web/other#0')?.state === 'running' ? true : undefined));
  const closed = await until('web/closed failed', () => {
    const r = latest('web/closed#0');
    return r?.state === 'failed' ? r : undefined;
  });
  assert.match(closed.message ?? '', new RegExp(`^pull ${closedHost}/canopy/gone:1: .*connection refused`));
  // The one that never answers waits (`starting`) and then fails at its deadline without progress.
  const hung = await until('web/hangs failed', () => {
    const r = latest('web/hangs#0');
    return r?.state === 'failed' ? r : undefined;
  });
  assert.match(hung.message ?? '', new RegExp(`^pull ${hangHost}/canopy/never:1: no progress for 3 s`));
  assert.ok(runningNow('web/other#0'));
  // Taken out of the assignment, the failed ones are forgotten: not reported any more.
  await assign(replica('web/other', BASE_IMAGE, { command: ['sleep', '601'] }));
  await until('only web/other reported', () =>
    statuses
      .at(-1)
      ?.replicas.map((r) => r.id)
      .join() === 'web/other#0'
      ? true
      : undefined,
  );
});

test('imagePullPolicy: Never with an image the node lacks keeps the old message; Always runs what the registry has, IfNotPresent what the node has', async () => {
  // The registry's app:4 is an image of its own; the node's app:4 is canopy/busybox:1 tagged so.
  const fresh = registry.push('app:4');
  const tag = `${registry.host}/canopy/app:4`;
  execFileSync('docker', ['tag', BASE_IMAGE, tag]);
  atExit(() => execFileSync('docker', ['rmi', '-f', tag], { stdio: 'ignore' }));
  const local = execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', BASE_IMAGE], { encoding: 'utf8' }).trim();
  // IfNotPresent first: it runs the node's app:4 before Always pulls the tag over to the registry's.
  await assign(replica('web/never', `${registry.host}/canopy/app:3`, { imagePullPolicy: 'Never' }), replica('web/present', tag));
  const present = await until('web/present running', () => (latest('web/present#0')?.state === 'running' ? latest('web/present#0') : undefined));
  assert.is(present.image, local, "the node's own image, by its ID (it has no repository digest)");
  await assign(
    replica('web/never', `${registry.host}/canopy/app:3`, { imagePullPolicy: 'Never' }),
    replica('web/present', tag),
    replica('web/always', tag, { imagePullPolicy: 'Always' }),
  );
  const never = await until('web/never failed', () => {
    const r = latest('web/never#0');
    return r?.state === 'failed' ? r : undefined;
  });
  assert.match(never.message ?? '', /not found on node n1: load it with `docker load`/);
  const always = await until('web/always running', () => (latest('web/always#0')?.state === 'running' ? latest('web/always#0') : undefined));
  assert.is(always.image, fresh, 'pulled although the node had the tag');
  assert.is(latest('web/present#0')?.image, local, 'the running one is left as it is');
});

test.run();
