// What the cluster's steps are given besides its state: its settings (fixed for its life) and
// its ports — the two buses, the journals in the state directory, the Git status recorder and
// placement source, the loop's queue, the clock, the log and its metrics. The composition root
// (cluster.ts) builds them; unit tests hand steps fakes.
import type { ClusterStatus, LatencyTarget, Placement } from '../../schemas/messages.js';
import type { Bus } from '../mqtt/bus.js';
import type { Topics } from '../mqtt/topics.js';
import type { TrustStore } from '../mqtt/trust.js';
import type { Sealer } from './secrets.js';
import type { Logger } from '../core/log.js';
import type { PatchJournal } from '../core/patch-journal.js';
import type { LatLon } from '../core/geo.js';
import type { ClusterPolicy } from './policies/index.js';
import type { ClusterMetrics } from './metrics.js';
import type { Roll } from './rolling.js';

export interface ClusterConfig {
  name: string;
  fleet: string;
  policy: ClusterPolicy;
  labels: Record<string, string>;
  operator?: string;
  location?: LatLon;
  targets?: Record<string, LatencyTarget>;
  /** canonicalJson of targets: part of what a node is told. */
  targetsKey: string;
  heartbeatMs: number;
  /** How long a disconnected node keeps its replicas, and a restarted cluster waits for its nodes. */
  unreachableMs: number;
  statusRefreshMs: number;
  /** How long replicas stay unplaced before they are refused to the root. */
  refuseAfterMs: number;
  /** The period of the full re-place and report (the safety net under the events). */
  slowMs: number;
  /**
   * What placementFromGit reads: 'git', the root's placement ref (the way in while the broker is
   * away); 'bundle', an air-gapped site's imported bundles (the only way in: read every heartbeat).
   */
  placementFrom: 'git' | 'bundle';
}

/** Writes the status to Git (status-ref.ts's StatusRecorder). */
export interface StatusSink {
  record(s: ClusterStatus, refreshMs: number): Promise<'changed' | 'heartbeat' | 'unchanged'>;
}

/** The loop's queue, as steps see it: they name the work that follows, the loop runs it. */
export interface WorkQueue {
  enqueue(key: string): void;
  enqueueAfter(key: string, ms: number): void;
}

export interface ClusterPorts {
  cfg: ClusterConfig;
  /** Wide-area bus to the root. */
  bus: Bus;
  /** Site-local bus to the agents (may be the same). */
  nodeBus: Bus;
  topics: Topics;
  placements: PatchJournal<Placement>;
  assignments: PatchJournal<Record<string, string>>;
  /** The rolls in progress (steps/roll.ts): what replicas hold while a service rolls. */
  rolls: PatchJournal<Record<string, Roll>>;
  recorder?: StatusSink;
  placementFromGit?: (have?: Placement['version']) => Promise<Placement | undefined>;
  onStatusCommit?: () => void;
  work: WorkQueue;
  /** Milliseconds since the epoch. */
  now(): number;
  log: Logger;
  metrics: ClusterMetrics;
  /** The keys the buses verify by: the root's and the nodes', kept to what each placement carries. */
  trust?: TrustStore;
  /** Keep the root's keys learned from a signed placement (a restart starts from them). */
  keepRootKeys?(keys: string[]): Promise<void>;
  /** Seals each node's secrets to it (cluster/secrets.ts); none: nodes are handed no secret. */
  sealer?: Sealer;
}

/** The loop's keys: what a reconcile pass does is named by one of these. */
export const KEYS = { place: 'place', report: 'report', git: 'git', node: (n: string) => `node:${n}` } as const;
