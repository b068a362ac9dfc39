// Whether a node may run a service's replicas, and how it stands to the service's geo and
// latency constraints: runtime, architecture, node labels, then distance and round trip (the
// node's measurement, else an estimate from its position or the cluster's). Pure.
import type { ServiceSpec } from '../../schemas/model.js';
import { distanceKm } from '../core/geo.js';
import { describeRtt, type Rtt } from '../scheduling/latency.js';
import { estimateRttMs } from '../scheduling/geo.js';
import type { NodeContext, NodeView } from './node-view.js';

export interface NodeAssessment {
  why?: string;
  rtt?: Rtt;
  distanceKm?: number;
}

export function nodeExclusion(n: NodeView, spec: ServiceSpec, ctx: NodeContext = {}): string | undefined {
  return assessNode(n, spec, ctx).why;
}

export function assessNode(n: NodeView, spec: ServiceSpec, ctx: NodeContext = {}): NodeAssessment {
  if (!n.online) return { why: 'offline' };
  if (!n.runtimes.includes(spec.runtime)) return { why: `does not run ${spec.runtime} workloads` };
  const arch = spec.resources?.arch;
  if (arch && !(arch as string[]).includes(n.arch)) return { why: `architecture ${n.arch}` };
  for (const [k, v] of Object.entries(spec.constraints?.nodes?.matchLabels ?? {})) {
    if (n.labels[k] !== v) return { why: `label ${k}=${v} not matched` };
  }
  const out: NodeAssessment = {};
  const at = n.location ?? ctx.location;
  const geo = spec.constraints?.geo;
  if (geo) {
    if (!at) return { why: 'position unknown, geo constraint cannot be checked' };
    const km = distanceKm(at, geo);
    if (km > geo.withinKm) return { why: `${Math.round(km)} km from (${geo.lat}, ${geo.lon}), limit ${geo.withinKm} km` };
    out.distanceKm = km;
  }
  const lat = spec.constraints?.latency;
  if (lat) {
    const to = lat.to;
    const point = 'target' in to ? ctx.targets?.[to.target] : to;
    const label = 'target' in to ? `target ${to.target}` : `(${to.lat}, ${to.lon})`;
    const measured = 'target' in to ? n.latency?.[to.target] : undefined;
    const km = point && at ? distanceKm(at, point) : undefined;
    let rtt: Rtt;
    if (measured !== undefined) rtt = { ms: measured, source: 'measured' };
    else if (km !== undefined) rtt = { ms: estimateRttMs(km), source: 'estimated', km };
    else
      return {
        why: point
          ? 'position unknown, latency constraint cannot be checked'
          : `no round trip to ${label} is known: not measured, and the target's point is not known here`,
      };
    if (rtt.ms > lat.maxMs) return { why: `${describeRtt(rtt, label)}, limit ${lat.maxMs} ms` };
    out.rtt = rtt;
    if (out.distanceKm === undefined && km !== undefined) out.distanceKm = km;
  }
  return out;
}

/** Everything assessNode reads of a spec, as a key. */
export function askOf(spec: ServiceSpec): string {
  const c = spec.constraints;
  return JSON.stringify([spec.runtime, spec.resources?.arch ?? null, c?.nodes?.matchLabels ?? null, c?.geo ?? null, c?.latency ?? null]);
}
