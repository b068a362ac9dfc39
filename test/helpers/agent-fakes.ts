// Fakes of the node agent's ports for unit tests of its steps: a runtime driver that records its
// calls and fails on request, the ports of a pass with a settable clock, and an assignment as a
// cluster sends it. Built on the builders (builders.ts) for replicas.
import type { NodeDesired, NodeStatus, ReplicaSpec } from '../../schemas/messages.js';
import type { ObservedReplica, RuntimeDriver, Workload } from '../../agents/runtimes/driver.js';
import type { Logger } from '../../reconciler/core/log.js';
import type { PassPorts } from '../../agents/pass.js';
import { agentDrivers } from '../../agents/steps/apply.js';
import type { NodeFacts } from '../../agents/node-facts.js';
import { SINCE } from './builders.js';

/** What a cluster sends a node: `anAssignment([web0], { seq: 2 })`. */
export function anAssignment(replicas: ReplicaSpec[], extra: Partial<Omit<NodeDesired, 'kind' | 'replicas'>> = {}): NodeDesired {
  return { kind: 'node-desired', seq: 1, epoch: 0, replicas, ...extra };
}

export interface FakeDriver extends RuntimeDriver {
  /** What list() shows, by replica id. */
  replicas: Map<string, ObservedReplica>;
  /** `start <id>`, `stop <id>` in call order. */
  calls: string[];
  /** Replica id → the message its start fails with. */
  failStart: Map<string, string>;
  /** When set, list() fails with it. */
  failList?: string;
}

/** A driver that runs nothing: a started replica is listed as running since `since()`. */
export function fakeDriver(name: RuntimeDriver['name'] = 'sim', since: () => string = () => SINCE): FakeDriver {
  const d: FakeDriver = {
    name,
    replicas: new Map(),
    calls: [],
    failStart: new Map(),
    async list() {
      if (d.failList) throw new Error(d.failList);
      return [...d.replicas.values()];
    },
    async start(w: Workload) {
      d.calls.push(`start ${w.id}`);
      const failure = d.failStart.get(w.id);
      if (failure) throw new Error(failure);
      d.replicas.set(w.id, { id: w.id, service: w.service, specHash: w.specHash, state: 'running', since: since() });
    },
    async stop(id: string) {
      d.calls.push(`stop ${id}`);
      d.replicas.delete(id);
    },
    close: async () => {},
  };
  return d;
}

/** A logger that keeps its lines (`info: start a/b#0: missing`). */
export function memoryLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = {
    lines,
    debug: (m: string) => void lines.push(`debug: ${m}`),
    info: (m: string) => void lines.push(`info: ${m}`),
    warn: (m: string) => void lines.push(`warn: ${m}`),
    error: (m: string) => void lines.push(`error: ${m}`),
    child: () => log,
    with: () => log,
  };
  return log;
}

export const FACTS: NodeFacts = { node: 'n1', capacity: { cpu: 4, memoryMi: 8192, gpu: 0 }, arch: 'amd64', runtimes: ['container', 'process'], labels: {} };

export interface FakePorts extends PassPorts {
  log: Logger & { lines: string[] };
  /** The clock, ms since the epoch: move it by assigning. */
  clock: { ms: number };
  connected: boolean;
  published: NodeStatus[];
  dropped: string[];
  saved: NodeDesired[];
  heartbeats: number[];
  probed: Array<NodeDesired['targets']>;
  restarts: string[];
  applySeconds: number[];
}

/** Every port of a pass, recording what it is told; `container` and `process` both go to `driver`. */
export function fakePorts(driver: FakeDriver = fakeDriver(), startMs = Date.parse(SINCE)): FakePorts {
  const p: FakePorts = {
    facts: FACTS,
    drivers: agentDrivers({ container: driver, process: driver }),
    log: memoryLog(),
    clock: { ms: startMs },
    now: () => p.clock.ms,
    connected: true,
    published: [],
    dropped: [],
    saved: [],
    heartbeats: [],
    probed: [],
    restarts: [],
    applySeconds: [],
    drop: (_topic, error) => void p.dropped.push(error),
    save: (a) => void p.saved.push(a),
    heartbeat: (ms) => void p.heartbeats.push(ms),
    probe: (targets) => void p.probed.push(targets),
    isConnected: () => p.connected,
    publish: async (status) => void p.published.push(status),
    restarted: (runtime) => void p.restarts.push(runtime),
    applied: (seconds) => void p.applySeconds.push(seconds),
  };
  return p;
}
