// What every part shares: how a part is stopped, and the fleet's timings. Imports nothing at run
// time, so each part's entry (parts/agent.ts, parts/cluster.ts, parts/root.ts) stays small.
import type { FleetDescriptor } from '../../schemas/model.js';
import type { Telemetry } from '../../reconciler/core/telemetry.js';

export interface Running {
  stop(): Promise<void>;
  /** Where the part and its bus register metrics and health (one registry per part). */
  readonly telemetry?: Telemetry;
}

export interface Timings {
  heartbeatMs: number;
  unreachableMs: number;
  statusRefreshMs: number;
}

export const keepalive = (heartbeatMs: number) => Math.max(1, Math.ceil(heartbeatMs / 1000));

export function timingsOf(fleet: FleetDescriptor | undefined): Timings {
  const t = fleet?.spec?.timings;
  return {
    heartbeatMs: 1000 * (t?.heartbeatSeconds ?? 2),
    unreachableMs: 1000 * (t?.unreachableAfterSeconds ?? 10),
    statusRefreshMs: 1000 * (t?.statusRefreshSeconds ?? 60),
  };
}
