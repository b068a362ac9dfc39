// What a cluster is to a service, by the service's constraints alone: why it cannot take any
// replica (unreachable, runtime, architecture, named clusters, operator, labels, geo, latency,
// node size), or how near it is (distance, round trip) for the policy and the explanation.
// Pure: free capacity, stickiness and refusals are the placer's (eligible.ts, rank.ts).
import type { ServiceSpec } from '../../schemas/model.js';
import type { Capacity } from '../../schemas/messages.js';
import type { LatLon } from '../core/geo.js';
import { estimateRttMs, nearestKm } from '../scheduling/geo.js';
import { describeRtt, type Rtt, type Target } from '../scheduling/latency.js';
import { fmt, request } from '../scheduling/capacity.js';
import type { ClusterView } from './cluster-view.js';

/** What a cluster's constraints look like from here: why it cannot take the service, or how near it is. */
export interface Assessment {
  why?: string;
  rtt?: Rtt;
  distanceKm?: number;
  /** For a miss by a measure (too far, too slow): its kind and by how much, so alike misses are counted, nearest first. */
  miss?: { kind: string; by: number };
}

/** Why a cluster cannot take any replica of this service, or undefined if it can. */
export function exclusion(c: ClusterView, spec: ServiceSpec, targets?: Record<string, Target>, sealedTo?: SealedTo): string | undefined {
  return assess(c, spec, targets, sealedTo).why;
}

/** Secret name → the clusters it is sealed to. */
export type SealedTo = Readonly<Record<string, readonly string[]>>;

export function assess(c: ClusterView, spec: ServiceSpec, targets?: Record<string, Target>, sealedTo?: SealedTo): Assessment {
  // Retired (clusters/<c>.yaml): first, so an unreachable retired cluster keeps nothing either.
  if (c.retired) return { why: `cluster ${c.name} retired` };
  if (!c.online) return { why: 'unreachable' };
  // Judged from the declaration alone: the root never opens a secret.
  for (const [name, clusters] of Object.entries(sealedTo ?? {})) {
    if (!clusters.includes(c.name)) return { why: `secret ${name} is sealed to ${clusters.join(', ')} only` };
  }
  const runtime = spec.runtime;
  if (!c.runtimes.includes(runtime)) return { why: `no node runs ${runtime} workloads (has ${c.runtimes.join(', ') || 'none'})` };
  const arch = spec.resources?.arch;
  if (arch && !arch.some((a) => c.arch.includes(a))) return { why: `architecture ${arch.join('/')} not present (has ${c.arch.join(', ') || 'none'})` };
  const cc = spec.constraints?.clusters;
  if (cc?.names && !cc.names.includes(c.name)) return { why: `not among the named clusters ${cc.names.join(', ')}` };
  if (cc?.operator && c.operator !== cc.operator) return { why: `operator is ${c.operator ?? 'unset'}, needs ${cc.operator}` };
  for (const [k, v] of Object.entries(cc?.matchLabels ?? {})) {
    if (c.labels[k] !== v) return { why: `label ${k}=${v} not matched (has ${k}=${c.labels[k] ?? 'unset'})` };
  }
  const out: Assessment = {};
  const geo = spec.constraints?.geo;
  if (geo) {
    const near = nearestKm(geo, c);
    if (!near) return { why: 'location unknown, geo constraint cannot be checked' };
    if (near.km > geo.withinKm) {
      return {
        miss: { kind: `geo ${near.via} ${geo.lat} ${geo.lon} ${geo.withinKm}`, by: near.km },
        why:
          near.via === 'location'
            ? `${Math.round(near.km)} km from (${geo.lat}, ${geo.lon}), limit ${geo.withinKm} km`
            : `its nodes are ${Math.round(near.km)} km or more from (${geo.lat}, ${geo.lon}), limit ${geo.withinKm} km`,
      };
    }
    out.distanceKm = near.km;
  }
  const lat = spec.constraints?.latency;
  if (lat) {
    const r = rttTo(c, lat.to, targets);
    if ('why' in r) return { why: r.why };
    if (r.rtt.ms > lat.maxMs)
      return {
        why: `${describeRtt(r.rtt, labelOf(lat.to))}, limit ${lat.maxMs} ms`,
        miss: { kind: `latency ${r.rtt.source} ${labelOf(lat.to)} ${lat.maxMs}`, by: r.rtt.ms },
      };
    out.rtt = r.rtt;
    if (out.distanceKm === undefined && r.km !== undefined) out.distanceKm = r.km;
  }
  const r = request(spec);
  const holds = (n: Capacity) => r.cpu <= n.cpu + 1e-9 && r.memoryMi <= n.memoryMi + 1e-9 && r.gpu <= n.gpu + 1e-9;
  if (c.shapes ? !c.shapes.some(holds) : !holds(c.maxNode)) {
    return { why: `no node large enough for one replica (needs ${fmt(r)}, largest node ${(c.shapes ?? [c.maxNode]).slice(0, 3).map(fmt).join(' | ')})` };
  }
  return out;
}

type LatencyTo = NonNullable<NonNullable<ServiceSpec['constraints']>['latency']>['to'];

/** The round trip from a cluster to a latency reference: reported by the cluster, else estimated from where it is. */
function rttTo(c: ClusterView, to: LatencyTo, targets?: Record<string, Target>): { rtt: Rtt; km?: number } | { why: string } {
  const point: LatLon | undefined = 'target' in to ? targets?.[to.target] : to;
  const km = point ? nearestKm(point, c)?.km : undefined;
  if ('target' in to) {
    const m = c.latency?.[to.target];
    if (m) return { rtt: { ms: m.ms, source: m.source }, km };
    if (!point) return { why: `no round trip to target ${to.target} is known: the cluster reports none, and the target's point is not known here` };
  }
  if (km === undefined) return { why: 'location unknown, latency constraint cannot be checked' };
  return { rtt: { ms: estimateRttMs(km), source: 'estimated', km }, km };
}

/** How a latency reference is named in words: "target cams" or "(48.137, 11.575)". */
export function labelOf(to: LatencyTo): string {
  return 'target' in to ? `target ${to.target}` : `(${to.lat}, ${to.lon})`;
}

/**
 * An air-gapped cluster (reached by a bundle carried by hand) takes a service that selects it
 * (named, or by operator or labels), one spread over clusters, or one no connected cluster could
 * take by what they declare (names, operator, labels, location, sealed secrets: not by what
 * their nodes have now, so a connected cluster whose nodes have not reported yet, or are full,
 * holds the service back rather than send it to a ship). Else why not.
 */
export function airGappedExclusion(spec: ServiceSpec, clusters: readonly ClusterView[], sealedTo?: SealedTo): string | undefined {
  const cc = spec.constraints?.clusters;
  if (cc?.names?.length || cc?.operator || Object.keys(cc?.matchLabels ?? {}).length || spec.spread === 'clusters') return undefined;
  const connected = clusters.find((c) => !c.airGapped && !c.retired && takesByDeclaration(c, spec, sealedTo));
  return connected
    ? `air-gapped: it takes what names it (constraints.clusters) or spreads over clusters, and connected ${connected.name} can take this`
    : undefined;
}

function takesByDeclaration(c: ClusterView, spec: ServiceSpec, sealedTo?: SealedTo): boolean {
  for (const clusters of Object.values(sealedTo ?? {})) if (!clusters.includes(c.name)) return false;
  const geo = spec.constraints?.geo;
  if (!geo) return true;
  const near = nearestKm(geo, c);
  return !!near && near.km <= geo.withinKm;
}
