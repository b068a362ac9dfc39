// The node agent: takes its node's assignment from the cluster, makes the runtime match it, and
// reports what runs. Its assignment is kept in the state directory, so an agent restarted while
// its cluster is unreachable goes on running what it was given, and it adopts the workloads it
// finds (container labels, process records) instead of starting them twice.
import os from 'node:os';
import type { Bus } from '../reconciler/mqtt/bus.js';
import { topics as topicsFor } from '../reconciler/mqtt/topics.js';
import type { NodeDesired as NodeDesiredT, NodeStatus, ReplicaState, ReplicaSpec } from '../schemas/messages.js';
import { parsePayload } from '../schemas/parse.js';
import type { Logger } from '../reconciler/core/log.js';
import { startLoop } from '../reconciler/runtime/loop.js';
import { openJournal } from '../reconciler/core/journal.js';
import { canonicalJson } from '../reconciler/core/ids.js';
import type { RuntimeDriver, ObservedReplica } from './runtimes/driver.js';
import { planAgent, type RestartRecord } from './plan.js';
import type { LatLon } from '../reconciler/core/geo.js';
import { startProber, type ProberOptions } from './probe.js';

export interface AgentOptions {
  fleet: string;
  cluster: string;
  node: string;
  bus: Bus;
  drivers: { container?: RuntimeDriver; process?: RuntimeDriver };
  stateDir: string;
  capacity?: { cpu: number; memoryMi: number; gpu: number };
  labels?: Record<string, string>;
  location?: LatLon;
  /** How this node measures round trips to the fleet's latency targets (every 30 s by default). */
  probe?: Omit<ProberOptions, 'onChange' | 'log'>;
  heartbeatMs?: number;
  log: Logger;
}

export interface Agent {
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export function nodeArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', riscv64: 'riscv64' } as Record<string, string>)[process.arch] ?? process.arch;
}

export async function startAgent(o: AgentOptions): Promise<Agent> {
  const t = topicsFor(o.fleet);
  const journal = openJournal(o.stateDir);
  let heartbeatMs = o.heartbeatMs ?? 2000;
  const capacity = o.capacity ?? { cpu: os.cpus().length, memoryMi: Math.floor(os.totalmem() / 1024 ** 2), gpu: 0 };
  let desired: NodeDesiredT | undefined = await journal.read<NodeDesiredT>('desired.json');
  const restarts = new Map<string, RestartRecord>();
  const startErrors = new Map<string, ReplicaState>();
  let lastStatus = '';
  const runtimes = Object.keys(o.drivers).filter((k) => o.drivers[k as 'container']);
  const drivers = [...new Set(Object.values(o.drivers).filter(Boolean))] as RuntimeDriver[];

  const loop = startLoop({ name: `agent ${o.node}`, log: o.log, reconcile: async () => sync() });
  // Round trips to the latency targets the cluster sends with the assignment; reported with the status.
  const prober = startProber({ ...o.probe, onChange: () => loop.enqueue('sync'), log: o.log });
  prober.update(desired?.targets);
  // The resync is also the heartbeat; its period follows the cluster's (sent with the assignment).
  let beat: NodeJS.Timeout | undefined;
  const schedule = () => {
    clearTimeout(beat);
    beat = setTimeout(() => {
      loop.enqueue('sync');
      schedule();
    }, heartbeatMs);
  };
  schedule();

  async function observe(): Promise<ObservedReplica[]> {
    return (await Promise.all(drivers.map((d) => d.list()))).flat();
  }

  async function sync(): Promise<{ requeueAfterMs?: number } | void> {
    const want = desired?.replicas ?? [];
    let observed = await observe();
    const now = Date.now();
    const { actions, nextCheckMs } = planAgent(want, observed, restarts, now);
    if (actions.length) {
      await Promise.all(
        actions.map(async (a) => {
          if (a.kind === 'stop') {
            o.log.info(`stop ${a.id}: ${a.why}`);
            for (const drv of drivers) await drv.stop(a.id); // stop of an unknown id is a no-op
            startErrors.delete(a.id);
            restarts.delete(a.id);
            return;
          }
          const drv = o.drivers[a.replica.spec.runtime as 'container' | 'process'];
          const rec = restarts.get(a.replica.id);
          if (a.why.startsWith('restart')) restarts.set(a.replica.id, { count: (rec?.count ?? 0) + 1, lastAt: now });
          if (!drv) return fail(a.replica, `this node cannot run ${a.replica.spec.runtime} workloads`);
          o.log.info(`start ${a.replica.id}: ${a.why}`);
          try {
            await drv.start({ id: a.replica.id, service: a.replica.service, index: a.replica.index, specHash: a.replica.specHash, spec: a.replica.spec });
            startErrors.delete(a.replica.id);
          } catch (e) {
            o.log.warn(`start ${a.replica.id} failed: ${(e as Error).message}`);
            restarts.set(a.replica.id, { count: (rec?.count ?? 0) + 1, lastAt: now });
            fail(a.replica, (e as Error).message);
          }
        }),
      );
      observed = await observe();
    }
    for (const r of observed) {
      if (r.state === 'running' && now - Date.parse(r.since) > 10_000) restarts.delete(r.id);
    }
    await report(observed);
    return nextCheckMs !== undefined ? { requeueAfterMs: nextCheckMs } : undefined;
  }

  function fail(r: ReplicaSpec, message: string): void {
    const prev = startErrors.get(r.id);
    startErrors.set(r.id, {
      id: r.id,
      service: r.service,
      specHash: r.specHash,
      state: 'failed',
      message,
      since: prev?.message === message ? prev.since : new Date().toISOString(),
    });
  }

  async function report(observed: ObservedReplica[]): Promise<void> {
    const seen = new Set(observed.map((r) => r.id));
    const replicas: ReplicaState[] = observed.map((r) => ({
      id: r.id,
      service: r.service,
      specHash: r.specHash,
      state: r.state,
      ...(r.message ? { message: r.message } : {}),
      since: r.since,
    }));
    for (const [id, e] of startErrors) if (!seen.has(id)) replicas.push(e);
    // Code-unit order, not localeCompare: ids are ASCII and any fixed order will do, while the
    // ICU collator maps 2.7 MB of the node binary's collation data into an agent's RSS.
    replicas.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const status: NodeStatus = {
      kind: 'node-status',
      node: o.node,
      at: new Date().toISOString(),
      appliedSeq: desired?.seq ?? null,
      capacity,
      arch: nodeArch(),
      runtimes,
      labels: o.labels ?? {},
      ...(o.location ? { location: o.location } : {}),
      ...(Object.keys(prober.latency).length ? { latency: Object.fromEntries(Object.entries(prober.latency).map(([k, ms]) => [k, { ms }])) } : {}),
      replicas,
    };
    const key = canonicalJson({ ...status, at: undefined });
    // On change only (and after every reconnect): the MQTT session is the node's heartbeat.
    if (key === lastStatus) return;
    if (!o.bus.isConnected()) return;
    lastStatus = key;
    await o.bus.publish(t.nodeStatus(o.cluster, o.node), status, { retain: true });
  }

  await o.bus.subscribe(t.nodeDesired(o.cluster, o.node), (topic, payload) => {
    if (!payload.length) return;
    const p = parsePayload('NodeDesired', payload, topic);
    if (!p.ok) return o.bus.drop(topic, p.error);
    if (desired && p.value.epoch < desired.epoch) return o.bus.drop(topic, `${topic}: epoch ${p.value.epoch} is older than ${desired.epoch}`);
    desired = p.value;
    if (p.value.heartbeatSeconds && p.value.heartbeatSeconds * 1000 !== heartbeatMs) {
      heartbeatMs = p.value.heartbeatSeconds * 1000;
      schedule();
    }
    prober.update(desired.targets);
    journal.write('desired.json', desired).catch((e) => o.log.error(`saving assignment: ${(e as Error).message}`));
    loop.enqueue('sync');
  });
  o.bus.onConnect(() => {
    lastStatus = '';
    loop.enqueue('sync');
  });
  loop.enqueue('sync');

  return {
    idle: () => loop.idle(),
    async stop() {
      clearTimeout(beat);
      prober.stop();
      await loop.stop();
      for (const d of drivers) await d.close();
    },
  };
}
