// What a probe's outcome does to a replica's readiness. Pure. A replica with a probe starts not
// ready and is ready from its first pass; failureThreshold failures in a row make it unready,
// with the last failure as the reason. Past startSeconds (the grace after start), a replica that
// stays unready for failureThreshold more probes asks to be restarted: the pass stops it and the
// plan restarts it with the backoff of a failed replica (steps/health.ts, plan.ts).
import type { ServiceSpec } from '../../schemas/model.js';

type Health = NonNullable<ServiceSpec['health']>;

export const DEFAULT_INTERVAL_S = 10;
export const DEFAULT_TIMEOUT_S = 2;
export const DEFAULT_FAILURE_THRESHOLD = 3;

/** A running replica's probe state, kept in the agent's state (AgentState.health) while it runs. */
export interface HealthRecord {
  /** The replica it belongs to: a new spec or a new start (another `since`) is a new record. */
  specHash: string;
  since: string;
  ready: boolean;
  /** When it last became ready (ms since the epoch). */
  readySince?: number;
  /** Failures in a row. */
  failures: number;
  /** Failures in a row while unready and past the grace: at failureThreshold, a restart. */
  unreadyFailures: number;
  /** The last failure, while not ready. */
  notReady?: string;
  /** Set when the replica is to be restarted: `health probe failed: …`. */
  failed?: string;
  probes: number;
}

export const WAITING = 'no probe has passed yet';

export function newHealthRecord(specHash: string, since: string): HealthRecord {
  return { specHash, since, ready: false, failures: 0, unreadyFailures: 0, probes: 0 };
}

export interface HealthTimings {
  intervalMs: number;
  timeoutMs: number;
  failureThreshold: number;
  startMs: number;
}

export function timingsOf(h: Health): HealthTimings {
  return {
    intervalMs: (h.intervalSeconds ?? DEFAULT_INTERVAL_S) * 1000,
    timeoutMs: (h.timeoutSeconds ?? DEFAULT_TIMEOUT_S) * 1000,
    failureThreshold: h.failureThreshold ?? DEFAULT_FAILURE_THRESHOLD,
    startMs: (h.startSeconds ?? 0) * 1000,
  };
}

/**
 * Records one probe's outcome (`failure` undefined: passed) at `now`; true when what the status
 * shows changed (ready, the reason, or a restart asked for).
 */
export function recordProbe(rec: HealthRecord, t: HealthTimings, failure: string | undefined, now: number): boolean {
  rec.probes++;
  if (failure === undefined) {
    const changed = !rec.ready;
    rec.failures = 0;
    rec.unreadyFailures = 0;
    rec.notReady = undefined;
    if (changed) {
      rec.ready = true;
      rec.readySince = now;
    }
    return changed;
  }
  rec.failures++;
  const wasReady = rec.ready;
  if (rec.ready && rec.failures >= t.failureThreshold) rec.ready = false;
  let changed = wasReady !== rec.ready;
  if (!rec.ready) {
    // Failures that made it unready do not count again; the grace counts from the start.
    if (wasReady === rec.ready && now - Date.parse(rec.since) >= t.startMs) rec.unreadyFailures++;
    if (rec.notReady !== failure) changed = true;
    rec.notReady = failure;
    if (rec.unreadyFailures >= t.failureThreshold && rec.failed === undefined) {
      rec.failed = `health probe failed: ${failure}`;
      changed = true;
    }
  }
  return changed;
}
