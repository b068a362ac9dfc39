// Start each part (root, cluster, agent) with its own MQTT identity. Used by the single-part
// commands, as they run on real sites, and by `canopy up`, which starts them all in one process.
import { parse as parseYaml } from 'yaml';
import { connectBus, type Bus } from '../reconciler/mqtt/bus.js';
import { topics } from '../reconciler/mqtt/topics.js';
import type { Logger } from '../reconciler/core/log.js';
import os from 'node:os';
import path from 'node:path';
import { openRepo, readFileAt, resolveRef, type Repo } from '../reconciler/git/repo.js';
import type { Remote } from '../reconciler/git/remote.js';
import type { GitSync } from '../reconciler/git/sync.js';
import { MAIN, NOTES_REF, placementRef, statusRef } from '../reconciler/core/refs.js';
import { fleetAtMain } from './fleet-repo.js';
import type { FleetDescriptor, ClusterDescriptor } from '../schemas/model.js';
import type { LatLon } from '../reconciler/core/geo.js';

export interface Running { stop(): Promise<void> }

/**
 * A remote repository (an http(s) URL) and the Git client code to mirror it, loaded only then:
 * a part on a local repository, and every agent, never loads an HTTP Git client.
 */
async function remoteRepo(repo: string) {
  if (!/^https?:\/\//.test(repo)) return undefined;
  const [remote, sync] = await Promise.all([import('../reconciler/git/remote.js'), import('../reconciler/git/sync.js')]);
  return { ...remote, remote: remote.parseRemote(repo) as Remote, gitSync: sync.gitSync };
}

export interface Timings { heartbeatMs: number; unreachableMs: number; statusRefreshMs: number }

export const keepalive = (heartbeatMs: number) => Math.max(1, Math.ceil(heartbeatMs / 1000));

export function timingsOf(fleet: FleetDescriptor | undefined): Timings {
  const t = fleet?.spec?.timings;
  return {
    heartbeatMs: 1000 * (t?.heartbeatSeconds ?? 2),
    unreachableMs: 1000 * (t?.unreachableAfterSeconds ?? 10),
    statusRefreshMs: 1000 * (t?.statusRefreshSeconds ?? 60),
  };
}

export interface RootPartOptions {
  /** A local repository, or a remote one (http(s) URL) mirrored into cacheDir. */
  repo: Repo | string;
  broker: string;
  log: Logger;
  cacheDir?: string;
  pollMs?: number;
  webhook?: { host: string; port: number; secret?: string };
}

export async function runRoot(o: RootPartOptions): Promise<Running & { webhookPort?: number }> {
  const stops: Array<() => Promise<void> | void> = [];
  let repo: Repo;
  let sync: GitSync | undefined;
  const r = typeof o.repo === 'string' ? await remoteRepo(o.repo) : undefined;
  const remote = r?.remote;
  if (r && remote) {
    const { openMirror, gitSync, lsRemote, fetchRef } = r;
    repo = await openMirror(o.cacheDir ?? defaultCache('root', remote.url), remote);
    sync = gitSync(repo, remote, o.log);
    o.log.info(`fleet repository ${remote.url}, mirrored in ${repo.gitdir}`);
    await sync.pull([MAIN]);
    // Our own refs: take the remote's only when this mirror has none (a new cache directory).
    for (const [ref] of await lsRemote(remote, 'refs/canopy/placements/')) if (!(await resolveRef(repo, ref))) await fetchRef(repo, remote, ref);
    if (!(await resolveRef(repo, NOTES_REF))) await fetchRef(repo, remote, NOTES_REF);
  } else {
    repo = typeof o.repo === 'string' ? await openRepo(o.repo) : o.repo;
  }
  const { fleet } = await fleetAtMain(repo);
  const name = fleet.metadata.name;
  // The MQTT keepalive is the heartbeat: the broker declares a silent client gone after 1.5 × it.
  const bus = await connectBus({ url: o.broker, clientId: `canopy-${name}-root`, log: o.log, onlineTopic: `${topics(name).root}/root/online`, keepaliveSeconds: keepalive(timingsOf(fleet).heartbeatMs) });
  const { startRoot } = await import('../reconciler/root/root.js');
  const root = await startRoot({ repo, bus, fleet: name, log: o.log, onWrite: sync ? (ref) => sync!.push(ref) : undefined });
  let webhookPort: number | undefined;
  if (sync) {
    // Learn of new commits: a cheap ls-remote poll, and at once on a webhook push.
    let pulling = false;
    let again = false;
    let failing = '';
    const pull = async () => {
      // A push announced while a fetch is running is fetched right after it, never dropped.
      if (pulling) { again = true; return; }
      pulling = true;
      try {
        do {
          again = false;
          await sync!.pull([MAIN]);
        } while (again);
        if (failing) { o.log.info(`reached ${remote!.url} again`); failing = ''; }
      } catch (e) {
        if ((e as Error).message !== failing) o.log.warn(`fetching main from ${remote!.url}: ${(e as Error).message}`);
        failing = (e as Error).message;
      } finally { pulling = false; }
    };
    const timer = setInterval(pull, o.pollMs ?? 10_000);
    stops.push(() => clearInterval(timer));
    if (o.webhook) {
      const { startWebhook } = await import('../reconciler/root/webhook.js');
      const hook = await startWebhook({ ...o.webhook, branch: 'main', onPush: () => void pull(), log: o.log });
      webhookPort = hook.port;
      stops.push(() => hook.close());
    }
  }
  return {
    webhookPort,
    async stop() {
      for (const s of stops) await s();
      await root.stop();
      if (sync) { await sync.flush(); sync.close(); }
      await bus.close();
    },
  };
}

function defaultCache(kind: string, url: string): string {
  return path.join(os.homedir(), '.cache', 'canopy', `${kind}-${url.replace(/^https?:\/\//, '').replace(/[^A-Za-z0-9._-]+/g, '_')}`);
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
  const r = o.repoDir ? await remoteRepo(o.repoDir) : undefined;
  const remote = r?.remote;
  let repo: Repo | undefined;
  let sync: GitSync | undefined;
  if (r && remote) {
    const { openMirror, gitSync, fetchRef } = r;
    repo = await openMirror(path.join(o.stateDir, 'repo'), remote);
    sync = gitSync(repo, remote, o.log);
    // Only what this cluster reads: main (for fleet.yaml and its cluster file) and its own refs.
    await sync.pull([MAIN, placementRef(o.name)], { depth: 1 });
    if (!(await resolveRef(repo, statusRef(o.name)))) await fetchRef(repo, remote, statusRef(o.name), { depth: 1 });
  } else if (o.repoDir) {
    repo = await openRepo(o.repoDir);
  }
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
  const bus = await connectBus({ url: o.broker, clientId: `canopy-${fleetName}-cluster-${o.name}`, log: o.log, onlineTopic: t.clusterOnline(o.name), keepaliveSeconds: keepalive(tm.heartbeatMs) });
  const nodeBus: Bus = o.nodeBroker && o.nodeBroker !== o.broker
    ? await connectBus({ url: o.nodeBroker, clientId: `canopy-${fleetName}-cluster-${o.name}-site`, log: o.log, keepaliveSeconds: keepalive(tm.heartbeatMs) })
    : bus;
  const { startCluster } = await import('../reconciler/cluster/cluster.js');
  const labels = { ...(file?.metadata.labels ?? {}), ...(o.labels ?? {}) };
  const cluster = await startCluster({
    name: o.name, fleet: fleetName, bus, nodeBus, stateDir: o.stateDir, repo,
    labels, operator: o.operator ?? file?.spec?.operator, location: o.location ?? file?.spec?.location,
    policy: fleet?.spec?.scheduler?.cluster as never, targets: fleet?.spec?.targets, heartbeatMs: tm.heartbeatMs, unreachableMs: tm.unreachableMs, statusRefreshMs: tm.statusRefreshMs, log: o.log,
    placementFromGit: repo ? placementReader(repo, o.name, sync, o.log) : undefined,
    onStatusCommit: sync ? () => sync!.push(statusRef(o.name)) : undefined,
  });
  return {
    async stop() {
      await cluster.stop();
      if (sync) { await sync.flush(); sync.close(); }
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
  /** Local address latency probes are sent from (--probe-from). */
  probeFrom?: string;
  /** How often latency targets are re-measured (default 30 s). */
  probeIntervalMs?: number;
  heartbeatMs?: number;
  log: Logger;
}

export async function runAgent(o: AgentPartOptions): Promise<Running> {
  const fleet = o.fleet ?? (await discoverFleet(o.broker, o.cluster, o.log));
  const t = topics(fleet);
  const bus = await connectBus({ url: o.broker, clientId: `canopy-${fleet}-${o.cluster}-${o.name}`, log: o.log, onlineTopic: t.nodeOnline(o.cluster, o.name), keepaliveSeconds: keepalive(o.heartbeatMs ?? 2000) });
  const { loadDrivers } = await import('../agents/runtimes/load.js');
  const drivers = await loadDrivers(o.runtime, { fleet, cluster: o.cluster, node: o.name, stateDir: o.stateDir });
  const { startAgent } = await import('../agents/agent.js');
  const agent = await startAgent({ fleet, cluster: o.cluster, node: o.name, bus, drivers, stateDir: o.stateDir, capacity: o.capacity, labels: o.labels, location: o.location,
    probe: { ...(o.probeFrom ? { localAddress: o.probeFrom } : {}), ...(o.probeIntervalMs ? { intervalMs: o.probeIntervalMs } : {}) }, heartbeatMs: o.heartbeatMs, log: o.log });
  return { async stop() { await agent.stop(); await bus.close(); } };
}

/** Read the cluster's placement ref, fetching it first (at most every 5 s) when the repo is remote. */
function placementReader(repo: Repo, cluster: string, sync: GitSync | undefined, log: Logger) {
  let last = 0;
  let failing = '';
  return async (have?: { commit: string; seq: number; epoch: number }) => {
    if (sync && Date.now() - last > 5000) {
      last = Date.now();
      try { await sync.pull([placementRef(cluster)], { depth: 1 }); failing = ''; } catch (e) {
        if ((e as Error).message !== failing) log.warn(`fetching ${placementRef(cluster)}: ${(e as Error).message}`);
        failing = (e as Error).message;
      }
    }
    const { placementInGit } = await import('../reconciler/cluster/placement-source.js');
    return placementInGit(repo, cluster, have);
  };
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
