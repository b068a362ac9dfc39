// Step 5 of a pass: carry out the plan's actions on the runtimes, all at once. A restart of a
// failed replica and a start that fails each count towards the replica's backoff (plan.ts waits
// it out); a start that fails is remembered and reported as a failed replica until the runtime
// shows one. Records of replicas that have run for a while are forgotten, so an old crash does
// not slow the next restart (a replica with a health probe: once it has been ready for a while).
import type { ReplicaSpec } from '../../schemas/messages.js';
import type { Logger } from '../../reconciler/core/log.js';
import type { AgentAction } from '../plan.js';
import type { RuntimeDriver } from '../runtimes/driver.js';
import type { AgentState } from '../state.js';
import type { AgentSecrets } from '../secrets.js';
import type { AgentFiles } from '../files.js';

/** A replica that has run this long (ms) has its restart record forgotten. */
export const SETTLED_MS = 10_000;

export interface AgentDrivers {
  /** By workload kind (a replica's spec.runtime). */
  byKind: { container?: RuntimeDriver; process?: RuntimeDriver };
  /** Each driver once (`sim` serves both kinds). */
  all: readonly RuntimeDriver[];
}

export interface ApplyPorts {
  drivers: AgentDrivers;
  log: Logger;
  /** Wall time, ms since the epoch: when a start failed. */
  now(): number;
  /** Told of every restart of a failed or stopped replica (metrics). */
  restarted?(runtime: string): void;
  /** What a replica is told of the services it may call (agents/network). */
  workloadEnv?(r: ReplicaSpec): { env: Record<string, string>; hosts: Record<string, string>; dns?: string[] };
  /** The secrets a replica is given (agents/secrets.ts): opened from the assignment's sealed part. */
  secrets?: AgentSecrets;
  /** The config files a replica is given (agents/files.ts), from the assignment. */
  files?: AgentFiles;
}

/** `changed`: told when a driver's list changes off a pass (RuntimeDriver.onChange: a pull's progress or end). */
export function agentDrivers(byKind: AgentDrivers['byKind'], changed?: () => void): AgentDrivers {
  const all = [...new Set(Object.values(byKind).filter(Boolean))] as RuntimeDriver[];
  if (changed) for (const d of all) d.onChange?.(changed);
  return { byKind, all };
}

/** `now` is the time the pass planned at: the backoff counts from it. */
export async function applyActions(s: AgentState, p: ApplyPorts, actions: readonly AgentAction[], now: number): Promise<void> {
  await Promise.all(actions.map((a) => (a.kind === 'stop' ? stopReplica(s, p, a.id, a.why) : startReplica(s, p, a.replica, a.why, now))));
}

async function stopReplica(s: AgentState, p: ApplyPorts, id: string, why: string): Promise<void> {
  p.log.info(`stop ${id}: ${why}`);
  for (const drv of p.drivers.all) await drv.stop(id); // stop of an unknown id is a no-op
  p.secrets?.forget(id);
  p.files?.forget(id);
  s.startErrors.delete(id);
  s.healthStopped.delete(id);
  s.restarts.delete(id);
}

async function startReplica(s: AgentState, p: ApplyPorts, r: ReplicaSpec, why: string, now: number): Promise<void> {
  const drv = p.drivers.byKind[r.spec.runtime as 'container' | 'process'];
  const rec = s.restarts.get(r.id);
  const counted = { count: (rec?.count ?? 0) + 1, lastAt: now };
  if (why.startsWith('restart')) {
    s.restarts.set(r.id, counted);
    p.restarted?.(r.spec.runtime);
  }
  if (!drv) return startFailed(s, r, `this node cannot run ${r.spec.runtime} workloads`, p.now());
  const admitted = s.admission.get(r.id);
  if (admitted?.refused) return p.log.error(`not starting ${r.id}: ${admitted.refused.message}`); // the plan never asks; never obey
  // A process runs the executable admission judged (an absolute path), not a new PATH lookup.
  const spec = admitted?.command ? { ...r.spec, command: admitted.command } : r.spec;
  p.log.info(`start ${r.id}: ${why}`);
  try {
    const net = p.workloadEnv?.(r);
    await p.secrets?.open(s.assignment); // registry credentials, before a pull
    const sec = await p.secrets?.forReplica(s.assignment, r);
    const files = p.files?.forReplica(s.assignment, r);
    const env = sec ? { ...net?.env, ...sec.env } : net?.env;
    const binds = [...(sec?.binds ?? []), ...(files?.binds ?? [])];
    const cwd = sec?.cwd ?? files?.cwd;
    await drv.start({
      id: r.id,
      service: r.service,
      index: r.index,
      specHash: r.specHash,
      spec,
      ...net,
      ...(env ? { env } : {}),
      ...(binds.length ? { binds } : {}),
      ...(cwd ? { cwd } : {}),
    });
    s.startErrors.delete(r.id);
    s.healthStopped.delete(r.id);
  } catch (e) {
    p.log.warn(`start ${r.id} failed: ${(e as Error).message}`);
    s.restarts.set(r.id, counted);
    startFailed(s, r, (e as Error).message, p.now());
  }
}

/** Remember a failed start for the status; the same failure again keeps its first time. */
export function startFailed(s: AgentState, r: ReplicaSpec, message: string, at: number): void {
  const prev = s.startErrors.get(r.id);
  s.startErrors.set(r.id, {
    id: r.id,
    service: r.service,
    specHash: r.specHash,
    state: 'failed',
    message,
    since: prev?.message === message ? prev.since : new Date(at).toISOString(),
  });
}

/**
 * Forget the restarts of replicas running for longer than SETTLED_MS at `now`; a replica with a
 * health probe, ready for that long (one failing its probe keeps its record: its backoff holds).
 */
export function forgetSettled(s: AgentState, now: number): void {
  const probed = new Set((s.assignment?.replicas ?? []).filter((r) => r.spec.health).map((r) => r.id));
  for (const r of s.observed) {
    if (r.state !== 'running') continue;
    const h = s.health.get(r.id);
    if ((h || probed.has(r.id)) && !h?.ready) continue;
    const from = Math.max(Date.parse(r.since), h?.readySince ?? 0);
    if (now - from > SETTLED_MS) s.restarts.delete(r.id);
  }
}
