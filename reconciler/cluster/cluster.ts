// The cluster reconciler's composition root: placement in (MQTT from the root, Git when the
// broker is away, journal on disk), node choice (pure), node assignments out, node status in,
// aggregated status out (MQTT to the root, commits to refs/canopy/status/<cluster>). It keeps
// enforcing its last placement when the root is away: everything it needs is in its state
// directory. The state is state.ts's, the steps are their own files (reconcile.ts names them
// by key), the handlers are events.ts's; this file only wires ports to them.
import type { Bus } from '../mqtt/bus.js';
import { topics as topicsFor } from '../mqtt/topics.js';
import type { Placement, LatencyTarget } from '../../schemas/messages.js';
import type { Logger } from '../core/log.js';
import { startLoop, type Timers } from '../runtime/loop.js';
import { openJournal, type Journal } from '../core/journal.js';
import { openPatchJournal } from '../core/patch-journal.js';
import { canonicalJson } from '../core/ids.js';
import { createTelemetry, type Telemetry } from '../core/telemetry.js';
import type { Repo } from '../git/repo.js';
import type { CommitSigner } from '../core/sshsig.js';
import type { ClusterPolicy } from './place.js';
import { StatusRecorder } from './status-ref.js';
import { startMaintenance } from '../git/maintenance.js';
import type { LatLon } from '../core/geo.js';
import { createClusterState } from './state.js';
import type { ClusterConfig, ClusterPorts } from './ports.js';
import { KEYS } from './ports.js';
import { clusterMetrics, observeState } from './metrics.js';
import { reconcileKey, resyncKeys } from './reconcile.js';
import { onDesired, onNodeOnline, onNodeStatus, onNodesConnect, onRootConnect } from './events.js';
import { recorded } from './steps/record.js';
import { takePlacementTrust } from './steps/adopt.js';
import { refreshOnTrust, type TrustStore } from '../mqtt/trust.js';
import { clusterSealer } from './secrets.js';
import type { Roll } from './rolling.js';
import { loadRolls } from './steps/roll.js';
import { startClusterLogs } from './logs.js';

export interface ClusterOptions {
  name: string;
  fleet: string;
  /** Wide-area bus to the root. */
  bus: Bus;
  /** Site-local bus to the agents (may be the same). */
  nodeBus: Bus;
  stateDir: string;
  repo?: Repo;
  labels?: Record<string, string>;
  operator?: string;
  location?: LatLon;
  policy?: ClusterPolicy;
  /** fleet.yaml's latency targets: sent to the agents to probe, reported as the best round trip to each. */
  targets?: Record<string, LatencyTarget>;
  heartbeatMs?: number;
  unreachableMs?: number;
  statusRefreshMs?: number;
  /** The placement as committed to Git (refs/canopy/placements/<name>): the way in when the broker is not. */
  placementFromGit?: (have?: Placement['version']) => Promise<Placement | undefined>;
  /** What placementFromGit reads (default 'git'): 'bundle' for an air-gapped site (bundle-source.ts). */
  placementFrom?: 'git' | 'bundle';
  /** Told after each status commit (a remote sync pushes it). */
  onStatusCommit?: () => void;
  log: Logger;
  /** Where the cluster registers its metrics and health (default: a registry of its own). */
  telemetry?: Telemetry;
  /** The clock, in ms since the epoch (default Date.now). */
  now?: () => number;
  /** The loop's timers (default the real ones). */
  timers?: Timers;
  /** The keys the buses verify by (none: they do not verify). */
  trust?: TrustStore;
  /** Its age identity (AGE-SECRET-KEY-1…, from --identity): opens the secrets its placement carries. */
  ageIdentity?: string;
  /** Signs its status commits (core/sshsig.ts commitSigner of its identity's key): the root verifies them on import. */
  signStatus?: CommitSigner;
}

export interface Cluster {
  idle(): Promise<void>;
  stop(): Promise<void>;
  readonly stats: { dropped: number };
  readonly telemetry: Telemetry;
}

export function clusterConfig(o: ClusterOptions): ClusterConfig {
  const heartbeatMs = o.heartbeatMs ?? 2000;
  const statusRefreshMs = o.statusRefreshMs ?? 60_000;
  return {
    name: o.name,
    fleet: o.fleet,
    policy: o.policy ?? 'bestfit',
    labels: o.labels ?? {},
    operator: o.operator,
    location: o.location,
    targets: o.targets,
    targetsKey: canonicalJson(o.targets ?? null),
    heartbeatMs,
    unreachableMs: o.unreachableMs ?? 10_000,
    statusRefreshMs,
    refuseAfterMs: Math.max(2 * heartbeatMs, 1000),
    slowMs: Math.min(30_000, Math.max(heartbeatMs, statusRefreshMs / 2)),
    placementFrom: o.placementFrom ?? 'git',
  };
}

/** The root's keys, as the last signed placement named them. */
const ROOT_KEYS = 'root-keys.json';

// The placement, the replica → node assignment and the rolls under way are journaled as a
// snapshot plus a log of patches: a one-service change writes what changed, not the whole cluster.
async function openState(journal: Journal, dir: string, now: number) {
  const placements = openPatchJournal<Placement>(journal, dir, 'placement.json');
  const assignments = openPatchJournal<Record<string, string>>(journal, dir, 'assignments.json');
  const rolls = openPatchJournal<Record<string, Roll>>(journal, dir, 'rolls.json');
  const placement = await placements.read();
  const s = createClusterState({ placement, assignment: await assignments.read(), rolls: loadRolls(placement, await rolls.read()), now });
  return { s, placements, assignments, rolls };
}

/** The root's keys as last learned from a signed placement; else the identity file's, recorded (`canopy bundle import` at an air-gapped site checks a bundle by them). */
async function loadRootKeys(trust: TrustStore, journal: Journal): Promise<void> {
  const rootKeys = await journal.read<string[]>(ROOT_KEYS);
  if (Array.isArray(rootKeys) && rootKeys.length) trust.set('root', rootKeys);
  else if (trust.get('root').length)
    await journal.write(
      ROOT_KEYS,
      trust.get('root').map((k) => k.text),
    );
}

/** Its status history in Git (refs/canopy/status/<name>), each commit signed when it has a key. */
const statusRecorder = (o: ClusterOptions) =>
  o.repo ? new StatusRecorder(o.repo, o.name, { name: `canopy cluster ${o.name}`, email: `${o.name}@canopy.invalid` }, { sign: o.signStatus }) : undefined;

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const cfg = clusterConfig(o);
  const now = o.now ?? Date.now;
  const t = topicsFor(o.fleet);
  const telemetry = o.telemetry ?? createTelemetry();
  const journal = openJournal(o.stateDir);
  const { s, placements, assignments, rolls } = await openState(journal, o.stateDir, now());
  observeState(telemetry, s, () => o.nodeBus.isConnected());
  // The keys of the placement in force, before its nodes' retained statuses arrive; the root's
  // as last learned from a signed placement (else the identity file's).
  if (o.trust && s.placement) takePlacementTrust(o.trust, s.placement, false);
  if (o.trust) await loadRootKeys(o.trust, journal);
  const p: ClusterPorts = {
    cfg,
    bus: o.bus,
    nodeBus: o.nodeBus,
    topics: t,
    placements,
    assignments,
    rolls,
    recorder: statusRecorder(o),
    placementFromGit: o.placementFromGit,
    onStatusCommit: o.onStatusCommit,
    // The loop is made below, with these ports: steps only reach it once it runs.
    work: { enqueue: (k) => loop.enqueue(k), enqueueAfter: (k, ms) => loop.enqueueAfter(k, ms) },
    now,
    log: o.log,
    metrics: clusterMetrics(telemetry),
    trust: o.trust,
    keepRootKeys: (keys) => journal.write(ROOT_KEYS, keys),
    sealer: clusterSealer(o.ageIdentity, o.log),
  };
  const loop = startLoop({
    name: `cluster ${o.name}`,
    log: o.log,
    resyncMs: cfg.heartbeatMs,
    resyncKeys: () => resyncKeys(s, p),
    reconcile: (key) => reconcileKey(s, p, key),
    timers: o.timers,
  });

  await o.bus.subscribe(t.clusterDesired(o.name), (topic, payload) => {
    onDesired(s, p, topic, payload).catch((e) => o.log.error(`applying ${topic}: ${(e as Error).message}`));
  });
  await o.nodeBus.subscribe(t.allNodeStatus(o.name), (topic, payload) => onNodeStatus(s, p, topic, payload));
  await o.nodeBus.subscribe(t.allNodeOnline(o.name), (topic, payload) => onNodeOnline(s, p, topic, payload));
  // Node keys arrive with a placement: what the nodes said before is asked for again.
  if (o.trust) refreshOnTrust(o.trust, o.nodeBus, (w) => (w.startsWith('node:') ? [t.allNodeStatus(o.name), t.allNodeOnline(o.name)] : []), o.log);
  // Logs on demand: operators' requests relayed to the nodes that run the replicas (logs.ts).
  const logs = await startClusterLogs({ name: o.name, bus: o.bus, nodeBus: o.nodeBus, topics: t, assignment: () => s.assignment, log: o.log, now });
  o.bus.onConnect(() => onRootConnect(s, p));
  o.nodeBus.onConnect(() => onNodesConnect(s, p));
  // Its status history is written as loose objects: packed as they pile up, as native git would.
  const maintenance = o.repo ? startMaintenance(o.repo, o.log) : undefined;
  // Nodes' retained statuses arrive right after subscribing: place once they are in, so a
  // restarted cluster keeps its replicas where they run instead of placing onto no nodes.
  loop.enqueueAfter(KEYS.place, 500);

  return {
    telemetry,
    stats: {
      get dropped() {
        return o.bus.stats.dropped + (o.nodeBus === o.bus ? 0 : o.nodeBus.stats.dropped);
      },
    },
    idle: async () => {
      await loop.idle();
      await recorded(s);
    },
    async stop() {
      logs.stop();
      maintenance?.stop();
      await loop.stop();
      await s.adoption;
      await recorded(s);
    },
  };
}
