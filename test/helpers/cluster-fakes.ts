// Fake ports for the cluster's steps: a bus and a node bus that record what is published and
// dropped, journals that record what is written, a work queue that records the keys queued, a
// clock the test moves, a logger that keeps its lines, and a real telemetry registry. Steps run
// on a real ClusterState; the test reads what the fakes saw.
import type { Operation } from 'fast-json-patch';
import type { ClusterStatus, NodeStatus, Placement } from '../../schemas/messages.js';
import type { Bus, BusStats } from '../../reconciler/mqtt/bus.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import type { Logger } from '../../reconciler/core/log.js';
import type { PatchJournal } from '../../reconciler/core/patch-journal.js';
import { createTelemetry, type Telemetry } from '../../reconciler/core/telemetry.js';
import { clusterConfig } from '../../reconciler/cluster/cluster.js';
import { clusterMetrics } from '../../reconciler/cluster/metrics.js';
import type { ClusterConfig, ClusterPorts, StatusSink } from '../../reconciler/cluster/ports.js';
import type { Roll } from '../../reconciler/cluster/rolling.js';
import { createClusterState, type ClusterState, type NodeState } from '../../reconciler/cluster/state.js';

export const T0 = Date.parse('2025-01-01T00:00:00Z');

export interface FakeBus extends Bus {
  connected: boolean;
  published: Array<{ topic: string; message: unknown; retain: boolean }>;
  dropped: Array<{ topic: string; error: string }>;
}

export function fakeBus(clientId = 'fake'): FakeBus {
  const stats: BusStats = { received: 0, published: 0, bytesIn: 0, bytesOut: 0, dropped: 0 };
  const bus: FakeBus = {
    clientId,
    connected: true,
    published: [],
    dropped: [],
    isConnected: () => bus.connected,
    async publish(topic, message, o = {}) {
      bus.published.push({ topic, message: structuredClone(message), retain: o.retain ?? false });
      stats.published++;
    },
    async clear() {},
    async subscribe() {},
    async refresh() {},
    onConnect() {},
    drop(topic, error) {
      bus.dropped.push({ topic, error });
      stats.dropped++;
    },
    stats,
    async close() {},
  };
  return bus;
}

export interface FakeJournal<T> extends PatchJournal<T> {
  writes: T[];
  appends: Array<{ ops: readonly Operation[]; doc: T }>;
}

export function fakeJournal<T>(): FakeJournal<T> {
  const j: FakeJournal<T> = {
    writes: [],
    appends: [],
    async read() {
      return undefined;
    },
    async write(doc) {
      j.writes.push(doc);
    },
    async append(ops, doc) {
      j.appends.push({ ops, doc: typeof doc === 'function' ? (doc as () => T)() : doc });
    },
  };
  return j;
}

export interface FakeCluster {
  s: ClusterState;
  p: ClusterPorts;
  bus: FakeBus;
  nodeBus: FakeBus;
  placements: FakeJournal<Placement>;
  assignments: FakeJournal<Record<string, string>>;
  rolls: FakeJournal<Record<string, Roll>>;
  /** Keys queued now, in order; keys queued for later with their delay. */
  queued: string[];
  later: Array<[string, number]>;
  clock: { t: number };
  logs: string[];
  telemetry: Telemetry;
}

export interface FakeClusterOptions {
  cfg?: Partial<ClusterConfig>;
  placement?: Placement;
  assignment?: Record<string, string>;
  recorder?: StatusSink;
  placementFromGit?: ClusterPorts['placementFromGit'];
  onStatusCommit?: () => void;
}

/** A cluster 'munich' of fleet 'demo' at T0, with no nodes heard yet. */
export function fakeCluster(o: FakeClusterOptions = {}): FakeCluster {
  const bus = fakeBus('root-side');
  const nodeBus = fakeBus('node-side');
  const placements = fakeJournal<Placement>();
  const assignments = fakeJournal<Record<string, string>>();
  const rolls = fakeJournal<Record<string, Roll>>();
  const queued: string[] = [];
  const later: Array<[string, number]> = [];
  const clock = { t: T0 };
  const logs: string[] = [];
  const line = (level: string) => (msg: string) => void logs.push(`${level}: ${msg}`);
  const log: Logger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'), child: () => log, with: () => log };
  const telemetry = createTelemetry();
  const base = clusterConfig({ name: 'munich', fleet: 'demo', bus, nodeBus, stateDir: '/nonexistent', log });
  const p: ClusterPorts = {
    cfg: { ...base, ...o.cfg },
    bus,
    nodeBus,
    topics: topics('demo'),
    placements,
    assignments,
    rolls,
    recorder: o.recorder,
    placementFromGit: o.placementFromGit,
    onStatusCommit: o.onStatusCommit,
    work: { enqueue: (k) => void queued.push(k), enqueueAfter: (k, ms) => void later.push([k, ms]) },
    now: () => clock.t,
    log,
    metrics: clusterMetrics(telemetry),
  };
  const s = createClusterState({ placement: o.placement, assignment: o.assignment, now: T0 });
  return { s, p, bus, nodeBus, placements, assignments, rolls, queued, later, clock, logs, telemetry };
}

/** A node as the cluster knows it after hearing `status`: online and connected unless told. */
export function heardNode(status: NodeStatus, o: Partial<NodeState> = {}): NodeState {
  return { status, online: true, connected: true, lastHeard: T0, ...o };
}

/** A metric's value for one label set (0 when it has none yet). */
export function metric(t: Telemetry, name: string, labels: Record<string, string> = {}): number {
  const f = t.collect().find((x) => x.name === name);
  const s = f?.samples.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.count ?? s?.value ?? 0;
}

/** A status sink that keeps what it was asked to record and answers `outcome` (or throws it). */
export function fakeRecorder(outcome: 'changed' | 'heartbeat' | 'unchanged' | Error = 'changed'): StatusSink & { recorded: ClusterStatus[] } {
  const r = {
    recorded: [] as ClusterStatus[],
    async record(s: ClusterStatus) {
      r.recorded.push(s);
      await new Promise((ok) => setTimeout(ok, 1));
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  };
  return r;
}
