// In-cluster rolling against a real Mosquitto, a real cluster (in-process) and two real agents
// running process workloads with an exec probe. The placement hands the cluster a new spec whose
// probe fails: the nodes' statuses, sampled throughout, never show more than maxUnavailable
// slots (replicas 0..R-1) on the new spec not ready, more than maxSurge surge replicas (index R
// …, on the new spec), nor fewer than R - maxUnavailable replicas ready; the roll
// stops there, and a restarted cluster still holds what it held. Then the old spec comes back
// (a rollback): every slot runs it again, ready, the surge replica is gone, and the cluster
// reports `updated` as it goes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { startCluster, type Cluster } from '../../reconciler/cluster/cluster.js';
import { connectBus, type Bus } from '../../reconciler/mqtt/bus.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { createLogger } from '../../reconciler/core/log.js';
import { specHash } from '../../reconciler/core/ids.js';
import { startAgent, type Agent } from '../../agents/agent.js';
import { processDriver } from '../../agents/runtimes/process.js';
import type { ClusterStatus, NodeStatus, Placement, ServiceStatus } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/cleanup.js';
import { eventually } from '../helpers/canopy.js';
import { COMMIT } from '../helpers/builders.js';

const test = suite('cluster: rolling a service inside the cluster, then rolling it back');
const FLEET = 'rl';
const CLUSTER = 'edge';
const SVC = 'shop/web';
const R = 3;
const U = 1;
const S = 1;
const t = topics(FLEET);
const log = createLogger('cluster-rolling', 'error');

function spec(rev: string, probe: string): ServiceSpec {
  return {
    runtime: 'process',
    replicas: R,
    command: ['sleep', '3600'],
    env: { REV: rev },
    resources: { cpu: 0.1, memory: '16Mi' },
    health: { exec: { command: [probe] }, intervalSeconds: 1, failureThreshold: 1, startSeconds: 3600 },
    rollout: { maxUnavailable: U, maxSurge: S },
  };
}
const GOOD = spec('a', 'true');
const BAD = spec('b', 'false');
const placement = (seq: number, s: ServiceSpec): Placement => ({
  fleet: FLEET,
  cluster: CLUSTER,
  version: { commit: COMMIT, seq, epoch: 0 },
  services: { [SVC]: { replicas: R, specHash: specHash(s), spec: s } },
});

let mq: Mosquitto;
let rootBus: Bus;
let cluster: { bus: Bus; c: Cluster } | undefined;
const clusterDir = tempDir('canopy-rolling-cluster-');
const nodes: Array<{ name: string; dir: string; bus?: Bus; agent?: Agent }> = ['n1', 'n2'].map((name) => ({ name, dir: tempDir(`canopy-rolling-${name}-`) }));

/** The latest status of each node and of the cluster, and what the sampling found wrong. */
const latest = new Map<string, NodeStatus>();
const statuses: ServiceStatus[] = [];
const violations: string[] = [];
let samples = 0;
let sampling: { newHash: string } | undefined;

/** The replicas the nodes report now, by id. */
function replicasNow() {
  return [...latest.values()].flatMap((s) => s.replicas.filter((r) => r.service === SVC));
}
const ready = (r: NodeStatus['replicas'][number]) => r.state === 'running' && r.ready !== false;
const slot = (id: string) => Number(id.slice(id.indexOf('#') + 1)) < R;

function sample(): void {
  if (!sampling) return;
  samples++;
  const rs = replicasNow();
  const readyCount = rs.filter(ready).length;
  const unreadyNew = rs.filter((r) => slot(r.id) && r.specHash === sampling!.newHash && !ready(r)).length;
  const shown = () => JSON.stringify(rs.map((r) => [r.id, r.specHash.slice(0, 6), r.state, r.ready]));
  if (readyCount < R - U) violations.push(`${readyCount} ready (floor ${R - U}): ${shown()}`);
  if (unreadyNew > U) violations.push(`${unreadyNew} slots on the new spec not ready (maxUnavailable ${U}): ${shown()}`);
  const surge = rs.filter((r) => !slot(r.id) && r.state !== 'stopped').length;
  if (surge > S) violations.push(`${surge} surge replicas (maxSurge ${S}): ${shown()}`);
}

let runs = 0;
async function runCluster(): Promise<{ bus: Bus; c: Cluster }> {
  const bus = await connectBus({ url: mq.url, clientId: `test-cluster-${runs++}`, log });
  const c = await startCluster({ name: CLUSTER, fleet: FLEET, bus, nodeBus: bus, stateDir: clusterDir, log, heartbeatMs: 500, unreachableMs: 5000 });
  return { bus, c };
}
async function stopCluster(): Promise<void> {
  await cluster?.c.stop();
  await cluster?.bus.close();
  cluster = undefined;
}
/** Watch the nodes for a while: a negative (nothing more switches) has no event to wait for. */
const observe = (ms: number) => new Promise((r) => setTimeout(r, ms));

const svc = () => statuses.at(-1);

test.before(async () => {
  mq = await startMosquitto();
  rootBus = await connectBus({ url: mq.url, clientId: 'test-root', log });
  await rootBus.subscribe(t.allNodeStatus(CLUSTER), (topic, payload) => {
    if (!payload.length) return;
    const s = JSON.parse(String(payload)) as NodeStatus;
    latest.set(s.node, s);
    sample();
  });
  await rootBus.subscribe(t.clusterStatus(CLUSTER), (_topic, payload) => {
    if (!payload.length) return;
    const s = (JSON.parse(String(payload)) as ClusterStatus).services[SVC];
    if (s) statuses.push(s);
  });
  cluster = await runCluster();
  for (const n of nodes) {
    n.bus = await connectBus({ url: mq.url, clientId: `test-${n.name}`, log, onlineTopic: t.nodeOnline(CLUSTER, n.name) });
    n.agent = await startAgent({
      fleet: FLEET,
      cluster: CLUSTER,
      node: n.name,
      bus: n.bus,
      drivers: { process: processDriver({ fleet: FLEET, cluster: CLUSTER, node: n.name, stateDir: n.dir }) },
      stateDir: n.dir,
      capacity: { cpu: 2, memoryMi: 2048, gpu: 0 },
      heartbeatMs: 500,
      noNetwork: true,
      log,
    });
  }
});

test.after(async () => {
  sampling = undefined;
  await stopCluster();
  for (const n of nodes) {
    await n.agent?.stop();
    await n.bus?.close();
    // The workloads are detached processes: stopped here, as the agent would.
    const d = processDriver({ fleet: FLEET, cluster: CLUSTER, node: n.name, stateDir: n.dir });
    for (const r of await d.list()) await d.stop(r.id);
    await d.close();
    rmSync(n.dir, { recursive: true, force: true });
  }
  await rootBus?.close();
  await mq?.stop();
  rmSync(clusterDir, { recursive: true, force: true });
});

test('the first spec: three replicas ready, all updated', async () => {
  await rootBus.publish(t.clusterDesired(CLUSTER), { kind: 'snapshot', placement: placement(1, GOOD) });
  await eventually('3 ready and updated', () => {
    const s = svc();
    return s && s.desired === R && s.running === R && s.ready === R && s.updated === R;
  });
  assert.is(svc()!.message, undefined);
  assert.equal(
    replicasNow()
      .map((r) => r.id)
      .sort(),
    ['shop/web#0', 'shop/web#1', 'shop/web#2'],
  );
});

test('a new spec whose probe fails: one slot and one surge replica try it, the others keep serving', async () => {
  sampling = { newHash: specHash(BAD) };
  await rootBus.publish(t.clusterDesired(CLUSTER), { kind: 'snapshot', placement: placement(2, BAD) });
  const failing = () => replicasNow().filter((r) => r.specHash === specHash(BAD) && r.state === 'running' && r.notReady === 'exec exited 1');
  await eventually('a slot and the surge replica on the new spec, failing their probe', () => failing().length === 2);
  // The cluster has seen them fail (its status says so); nothing more may switch.
  await eventually('the cluster reports them not ready', () => svc()?.message?.includes('2 not ready: exec exited 1'));
  await observe(3000);
  const rs = replicasNow();
  assert.equal(rs.filter((r) => r.specHash === specHash(BAD)).length, 2, JSON.stringify(rs));
  assert.equal(rs.filter((r) => r.specHash === specHash(GOOD) && ready(r)).length, R - U, JSON.stringify(rs));
  assert.ok(
    rs.some((r) => r.id === `${SVC}#${R}`),
    'the surge replica runs',
  );
  const s = await eventually('the cluster reports the roll', () => (svc()?.message?.startsWith('rolling:') ? svc() : undefined));
  assert.equal([s!.desired, s!.running, s!.ready, s!.updated], [R, R + 1, R - U, 0]);
  assert.match(s!.message!, /^rolling: 1\/3 on the new spec, 2 ready; 2 not ready: exec exited 1/);
  assert.equal(violations, []);
});

test('a restarted cluster holds what it held', async () => {
  await stopCluster();
  const before = statuses.length;
  cluster = await runCluster();
  // A cluster that forgot would hand every replica the new spec at its first placing pass.
  await eventually('the restarted cluster reports the roll', () => statuses.length > before && svc()?.message?.startsWith('rolling: 1/3'));
  await observe(3000);
  const rs = replicasNow();
  assert.equal(rs.filter((r) => r.specHash === specHash(GOOD) && ready(r)).length, R - U, JSON.stringify(rs));
  assert.equal(violations, []);
});

test('the old spec back (a rollback): every slot on it and ready, the surge gone, updated 3', async () => {
  sampling = { newHash: specHash(GOOD) };
  await rootBus.publish(t.clusterDesired(CLUSTER), { kind: 'snapshot', placement: placement(3, GOOD) });
  await eventually('every slot on the old spec, ready, and nothing else', () => {
    const rs = replicasNow();
    return rs.length === R && rs.every((r) => r.specHash === specHash(GOOD) && ready(r));
  });
  const s = await eventually('the cluster reports 3 updated', () => {
    const x = svc();
    return x && x.running === R && x.ready === R && x.updated === R && !x.message ? x : undefined;
  });
  assert.equal([s!.desired, s!.running, s!.ready, s!.updated], [R, R, R, R]);
  assert.equal(violations, []);
  assert.ok(samples > 5, `sampled ${samples} node statuses`);
});

test.run();
