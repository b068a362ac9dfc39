// The health probes of the node's running replicas, off the agent's pass: one timer per replica
// whose spec has `health`, a probe every intervalSeconds (never two of one replica at once). Each
// outcome updates the replica's record in the agent's state (readiness.ts); a change that status
// shows enqueues a pass, which publishes it. The pass calls sync() after it observed the
// runtimes: probes start for new replicas and stop, their records dropped, for gone ones.
import type { ReplicaSpec } from '../../schemas/messages.js';
import type { Logger } from '../../reconciler/core/log.js';
import type { ObservedReplica } from '../runtimes/driver.js';
import type { AgentDrivers } from '../steps/apply.js';
import type { AgentState } from '../state.js';
import { execOnHost, execOutcome, probeHttp, probeTcp, type ProbeResult } from './probes.js';
import { newHealthRecord, recordProbe, timingsOf, type HealthRecord } from './readiness.js';

export interface HealthPorts {
  drivers: AgentDrivers;
  /** The node's address: where a container's ports are published and a process listens (default loopback). */
  address?: string;
  /** What the replica was told of the services it calls (a process's exec probe runs with it). */
  workloadEnv?(r: ReplicaSpec): { env: Record<string, string> };
  /** A change the status shows: enqueue a pass. */
  onChange(): void;
  now(): number;
  log: Logger;
}

export interface HealthProbes {
  sync(): void;
  stop(): void;
}

/** The first probe of a replica this long after it is seen running (ms), then every interval. */
const FIRST_PROBE_MS = 200;

export function startHealthProbes(s: AgentState, p: HealthPorts): HealthProbes {
  const timers = new Map<string, NodeJS.Timeout>();
  const drop = (id: string) => {
    clearTimeout(timers.get(id));
    timers.delete(id);
    s.health.delete(id);
  };

  function loop(r: ReplicaSpec, rec: HealthRecord, delayMs: number): void {
    const t = timingsOf(r.spec.health ?? {});
    const timer = setTimeout(async () => {
      const o = s.observed.find((x) => x.id === r.id);
      const result = o ? await probeOnce(r, o, t.timeoutMs, p) : undefined;
      if (s.health.get(r.id) !== rec || !o) return; // dropped or replaced meanwhile
      if (recordProbe(rec, t, result, p.now())) p.onChange();
      if (rec.failed === undefined) loop(r, rec, t.intervalMs);
    }, delayMs);
    timer.unref();
    timers.set(r.id, timer);
  }

  return {
    sync() {
      const specs = new Map((s.assignment?.replicas ?? []).map((r) => [r.id, r]));
      const keep = new Set<string>();
      for (const o of s.observed) {
        const r = specs.get(o.id);
        if (o.state !== 'running' || !r?.spec.health || r.specHash !== o.specHash) continue;
        keep.add(o.id);
        const rec = s.health.get(o.id);
        if (rec && rec.specHash === o.specHash && rec.since === o.since) continue;
        drop(o.id);
        const fresh = newHealthRecord(o.specHash, o.since);
        s.health.set(o.id, fresh);
        // A simulated replica runs nothing to probe: it is ready while it runs.
        if (p.drivers.byKind[r.spec.runtime]?.name === 'sim') fresh.ready = true;
        else loop(r, fresh, FIRST_PROBE_MS);
      }
      for (const id of [...s.health.keys()]) if (!keep.has(id)) drop(id);
    },
    stop() {
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    },
  };
}

/** One probe of a running replica, by its spec's health. */
export async function probeOnce(r: ReplicaSpec, o: ObservedReplica, timeoutMs: number, p: HealthPorts): Promise<ProbeResult> {
  const h = r.spec.health ?? {};
  if (h.exec) return execProbe(r, h.exec.command, timeoutMs, p);
  const check = h.http ?? h.tcp;
  if (!check) return undefined;
  const where = probeAddress(r, o, check.port, p.address);
  if (typeof where === 'string') return where;
  return h.http ? probeHttp(where.host, where.port, h.http.path, h.http.status, timeoutMs) : probeTcp(where.host, where.port, timeoutMs);
}

/**
 * Where a probe of `port` connects: the node's address (loopback when it has none) at the port
 * the replica is reached at: its hostPort, else a process's own port or the port Docker published
 * a container's at. A string: why there is none.
 */
export function probeAddress(r: ReplicaSpec, o: ObservedReplica, port: number, address?: string): { host: string; port: number } | string {
  const host = !address || address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '::1' : address;
  const entry = (r.spec.ports ?? []).find((x) => x.port === port && (x.protocol ?? 'tcp') === 'tcp');
  const at = entry?.hostPort ?? (r.spec.runtime === 'process' ? port : o.published?.[`${port}/tcp`]);
  return at === undefined ? `port ${port}/tcp is not published` : { host, port: at };
}

async function execProbe(r: ReplicaSpec, argv: string[], timeoutMs: number, p: HealthPorts): Promise<ProbeResult> {
  if (r.spec.runtime === 'process') return execOnHost(argv, processEnv(r, p), timeoutMs);
  const drv = p.drivers.byKind.container;
  if (!drv?.exec) return execOutcome(undefined, `the ${drv?.name ?? 'container'} runtime cannot run a command in a workload`);
  try {
    return execOutcome(await drv.exec(r.id, argv, timeoutMs));
  } catch (e) {
    return execOutcome(undefined, (e as Error).message);
  }
}

/** A process workload's environment, as its driver gave it (agents/runtimes/process.ts). */
function processEnv(r: ReplicaSpec, p: HealthPorts): NodeJS.ProcessEnv {
  const ports = (r.spec.ports ?? []).map((x) => String(x.hostPort ?? x.port));
  return {
    ...process.env,
    ...r.spec.env,
    ...p.workloadEnv?.(r).env,
    CANOPY_REPLICA: r.id,
    ...(ports.length ? { CANOPY_PORT: ports[0], ...Object.fromEntries(ports.map((x, i) => [`CANOPY_PORT_${i}`, x])) } : {}),
    ...(p.address ? { CANOPY_NODE_ADDRESS: p.address } : {}),
  };
}
