// What the root's placement works on and gives back: a cluster as the root sees it (from its
// aggregated status), a service, an allocation and a decision. Types only, plus the one
// function that turns a cluster's status into its view. In a file of their own so that the
// policies (policies/policy.ts) can name a cluster without importing the placer that imports them.
import type { ServiceSpec } from '../../schemas/model.js';
import type { Capacity, ClusterStatus } from '../../schemas/messages.js';
import type { LatLon } from '../core/geo.js';
import type { Rtt, Target } from '../scheduling/latency.js';

export interface ClusterView {
  name: string;
  online: boolean;
  /** How long it has been unreachable (0 when online). */
  offlineForMs?: number;
  capacity: Capacity;
  maxNode: Capacity;
  /** Node sizes; when given, one must hold a replica (maxNode alone can mix two nodes). */
  shapes?: Capacity[];
  arch: string[];
  runtimes: string[];
  labels: Record<string, string>;
  operator?: string;
  location?: LatLon;
  /** Geohash cells where it has nodes: used for geo and latency when it has no single location. */
  footprint?: string[];
  /** Per latency target: the best round trip its nodes measured, or its own estimate. */
  latency?: Record<string, { ms: number; source: 'measured' | 'estimated' }>;
  /** Per service: it could hold only `limit` replicas of what it was given, and why. */
  refused?: Record<string, Refusal>;
  /**
   * Placed by an earlier root and not heard since this one started (a restart, a broker that
   * lost its retained messages): what it holds stays, as for an unreachable cluster. `unknown`
   * when even its last status is missing: its replicas stay without checking constraints.
   */
  unheard?: 'last status from Git' | 'unknown';
  /** clusters/<c>.yaml spec.retired: never chosen; what it runs drains to the others (drain.ts). */
  retired?: boolean;
  /**
   * clusters/<c>.yaml spec.connectivity: air-gapped: reached by a bundle carried by hand, so a
   * connected cluster that fits is chosen first (rank.ts); it takes what names it, what only it
   * can hold, and its turn when a service spreads over clusters.
   */
  airGapped?: boolean;
}

/**
 * A cluster's refusal, as the root keeps it: it is full for that service at `limit` replicas.
 * `spec` is the spec it refused (stable JSON): a changed spec is tried afresh.
 */
export interface Refusal {
  limit: number;
  count: number;
  reason: string;
  spec?: string;
}

export interface ServiceView {
  id: string;
  spec: ServiceSpec;
  specHash?: string;
  /** The clusters each secret it uses is sealed to (secrets/<name>.yaml): it runs only where all are. */
  sealedTo?: Readonly<Record<string, readonly string[]>>;
}

export interface PlaceOptions {
  targets?: Record<string, Target>;
}

/** service → cluster → replicas */
export type Allocation = Map<string, Map<string, number>>;

export interface ServiceDecision {
  clusters: Map<string, number>;
  placed: number;
  desired: number;
  /** Plain words: where it went and why; why other clusters were passed over. */
  reason: string;
  excluded: Record<string, string>;
  /** The best few clusters that qualified, with what the policy saw of them (its score before this service's new replicas). */
  candidates?: Record<string, { score: number[]; rtt?: Rtt; distanceKm?: number }>;
}

export interface PlaceResult {
  decisions: Map<string, ServiceDecision>;
}

/** What the root learns of a cluster from its status: the view placement works on. */
export function clusterViewOf(
  st: ClusterStatus,
  o: {
    online?: boolean;
    offlineForMs?: number;
    refused?: Record<string, Refusal>;
    unheard?: ClusterView['unheard'];
    retired?: boolean;
    airGapped?: boolean;
  } = {},
): ClusterView {
  return {
    name: st.cluster,
    online: o.online ?? true,
    offlineForMs: o.offlineForMs ?? 0,
    capacity: st.capacity,
    maxNode: st.maxNode,
    ...(st.shapes ? { shapes: st.shapes } : {}),
    arch: st.arch,
    runtimes: st.runtimes,
    labels: st.labels,
    ...(st.operator ? { operator: st.operator } : {}),
    ...(st.location ? { location: st.location } : {}),
    ...(st.footprint ? { footprint: st.footprint } : {}),
    ...(st.latency ? { latency: st.latency } : {}),
    ...(o.refused && Object.keys(o.refused).length ? { refused: o.refused } : {}),
    ...(o.unheard ? { unheard: o.unheard } : {}),
    ...(o.retired ? { retired: true } : {}),
    ...(o.airGapped ? { airGapped: true } : {}),
  };
}

// Code-unit order, not locale order: the same names sort the same everywhere.
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
