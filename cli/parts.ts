// Start each part (root, cluster, agent) with its own MQTT identity. Used by the single-part
// commands, as they run on real sites, and by `canopy up`, which starts them all in one process.
import { parse as parseYaml } from 'yaml';
import { connectBus, type Bus } from '../reconciler/mqtt/bus.js';
import { topics } from '../reconciler/mqtt/topics.js';
import type { Logger } from '../reconciler/core/log.js';
import { openRepo, readFileAt, type Repo } from '../reconciler/git/repo.js';
import { fleetAtMain } from './fleet-repo.js';
import type { FleetDescriptor, ClusterDescriptor } from '../schemas/model.js';
import type { LatLon } from '../reconciler/core/geo.js';

export interface Running { stop(): Promise<void> }

export interface Timings { heartbeatMs: number; unreachableMs: number; statusRefreshMs: number }

export function timingsOf(fleet: FleetDescriptor | undefined): Timings {
  const t = fleet?.spec?.timings;
  return {
    heartbeatMs: 1000 * (t?.heartbeatSeconds ?? 2),
    unreachableMs: 1000 * (t?.unreachableAfterSeconds ?? 10),
    statusRefreshMs: 1000 * (t?.statusRefreshSeconds ?? 60),
  };
}

export async function runRoot(o: { repo: Repo; broker: string; log: Logger }): Promise<Running> {
  const { fleet } = await fleetAtMain(o.repo);
  const name = fleet.metadata.name;
  const bus = await connectBus({ url: o.broker, clientId: `canopy-${name}-root`, log: o.log, onlineTopic: `${topics(name).root}/root/online` });
  const { startRoot } = await import('../reconciler/root/root.js');
  const root = await startRoot({ repo: o.repo, bus, fleet: name, log: o.log });
  return { async stop() { await root.stop(); await bus.close(); } };
}

export interface ClusterPartOptions {
  name: string;
  broker: string;
  nodeBroker?: string;
  repoDir?: string;
  fleet?: string;
  stateDir: string;
  labels?: Record<string, string>;
  operator?: string;
  location?: LatLon;
  log: Logger;
}

/** Cluster settings from clusters/<name>.yaml on main, when the repository has one. */
export async function clusterFileAtMain(repo: Repo, commit: string, name: string): Promise<ClusterDescriptor | undefined> {
  const text = await readFileAt(repo, commit, `clusters/${name}.yaml`);
  if (!text) return undefined;
  try { return parseYaml(text) as ClusterDescriptor; } catch { return undefined; }
}

export async function runCluster(o: ClusterPartOptions): Promise<Running> {
  const repo = o.repoDir ? await openRepo(o.repoDir) : undefined;
  let fleet: FleetDescriptor | undefined;
  let file: ClusterDescriptor | undefined;
  if (repo) {
    const m = await fleetAtMain(repo);
    fleet = m.fleet;
    file = await clusterFileAtMain(repo, m.commit, o.name);
  }
  const fleetName = o.fleet ?? fleet?.metadata.name;
  if (!fleetName) throw new Error('cluster: give --repo (to read fleet.yaml) or --fleet NAME');
  const t = topics(fleetName);
  const tm = timingsOf(fleet);
  const bus = await connectBus({ url: o.broker, clientId: `canopy-${fleetName}-cluster-${o.name}`, log: o.log, onlineTopic: t.clusterOnline(o.name), keepaliveSeconds: Math.max(2, Math.ceil(tm.unreachableMs / 2000)) });
  const nodeBus: Bus = o.nodeBroker && o.nodeBroker !== o.broker
    ? await connectBus({ url: o.nodeBroker, clientId: `canopy-${fleetName}-cluster-${o.name}-site`, log: o.log })
    : bus;
  const { startCluster } = await import('../reconciler/cluster/cluster.js');
  const labels = { ...(file?.metadata.labels ?? {}), ...(o.labels ?? {}) };
  const cluster = await startCluster({
    name: o.name, fleet: fleetName, bus, nodeBus, stateDir: o.stateDir, repo,
    labels, operator: o.operator ?? file?.spec?.operator, location: o.location ?? file?.spec?.location,
    policy: fleet?.spec?.scheduler?.cluster as never, heartbeatMs: tm.heartbeatMs, unreachableMs: tm.unreachableMs, statusRefreshMs: tm.statusRefreshMs, log: o.log,
  });
  return {
    async stop() {
      await cluster.stop();
      if (nodeBus !== bus) await nodeBus.close();
      await bus.close();
    },
  };
}

export interface AgentPartOptions {
  cluster: string;
  name: string;
  broker: string;
  fleet?: string;
  runtime: 'docker' | 'process' | 'sim';
  stateDir: string;
  capacity?: { cpu: number; memoryMi: number; gpu: number };
  labels?: Record<string, string>;
  location?: LatLon;
  heartbeatMs?: number;
  log: Logger;
}

export async function runAgent(o: AgentPartOptions): Promise<Running> {
  const fleet = o.fleet ?? (await discoverFleet(o.broker, o.cluster, o.log));
  const t = topics(fleet);
  const bus = await connectBus({ url: o.broker, clientId: `canopy-${fleet}-${o.cluster}-${o.name}`, log: o.log, onlineTopic: t.nodeOnline(o.cluster, o.name) });
  const { loadDrivers } = await import('../agents/runtimes/load.js');
  const drivers = await loadDrivers(o.runtime, { fleet, cluster: o.cluster, node: o.name, stateDir: o.stateDir });
  const { startAgent } = await import('../agents/agent.js');
  const agent = await startAgent({ fleet, cluster: o.cluster, node: o.name, bus, drivers, stateDir: o.stateDir, capacity: o.capacity, labels: o.labels, location: o.location, heartbeatMs: o.heartbeatMs, log: o.log });
  return { async stop() { await agent.stop(); await bus.close(); } };
}

/** An agent told only its cluster learns the fleet from the cluster's retained online message. */
async function discoverFleet(broker: string, cluster: string, log: Logger): Promise<string> {
  const bus = await connectBus({ url: broker, clientId: `canopy-discover-${cluster}-${process.pid}`, log });
  try {
    const found = new Set<string>();
    let announced = false;
    await bus.subscribe(`canopy/v1/+/clusters/${cluster}/online`, (topic, payload) => {
      if (payload.length) found.add(topic.split('/')[2]);
    });
    for (let i = 0; ; i++) {
      await new Promise((r) => setTimeout(r, 200));
      if (found.size > 1) throw new Error(`cluster ${cluster} exists in several fleets (${[...found].join(', ')}): pass --fleet`);
      if (found.size === 1) return [...found][0];
      if (!announced && i >= 5) { log.info(`waiting for cluster ${cluster} to come online to learn its fleet (or pass --fleet)`); announced = true; }
    }
  } finally {
    await bus.close();
  }
}
