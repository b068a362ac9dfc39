// The shapes of a plan (what `canopy plan` answers, plan.ts) and of what either way of computing
// it finds (PlanCore: plan-full.ts, plan-incremental.ts). Types only: every plan module imports
// them, and they import no plan module.
import type { ClusterSelector, FleetDescriptor } from '../../schemas/model.js';
import type { Problem } from '../core/validate.js';

export interface RevisionInfo {
  rev: string;
  commit: string;
  subject: string;
}

export type ServiceChange = 'added' | 'removed' | 'changed' | 'moved' | 'unchanged';

export interface ServicePlan {
  id: string;
  change: ServiceChange;
  /** Spec fields that differ, one level deep: replicas, image, resources.cpu, constraints.geo… */
  fields: string[];
  replicas: { before: number | null; after: number | null };
  /** cluster → replicas, as placed for base and for head. */
  before: Record<string, number>;
  after: Record<string, number>;
  /** cluster → gained (+) or lost (−) replicas. */
  delta: Record<string, number>;
  /** The placement's own words (at head; at base for a removed service). */
  reason: string;
  /** Why head places fewer replicas than it asks for. */
  unschedulable?: string;
  /** How workloads reach it at head (a service with ports): `web.shop.canopy:8080`, its variables, its host ports. */
  names?: { host: string; closest: string; variables: string[]; hostPorts: string[] };
  /**
   * When merging head starts a rollout of it (its workload changes, and it was placed before):
   * the clusters of each wave, in the order they roll, over the clusters head places it on.
   */
  waves?: string[][];
  /** That rollout's settings, defaults filled in (`rollout` in its descriptor at head). */
  rollout?: PlanRollout;
}

export interface PlanRollout {
  /** rollout.waves as the descriptor gives them (clusters no wave names go in a last wave). */
  selectors: ClusterSelector[];
  /** Per wave of `waves`: what put its clusters there (`names munich`, `labels tier=canary`, `clusters no wave names`). */
  selectedBy?: string[];
  maxUnavailable: number;
  maxSurge: number;
  bakeSeconds: number;
  progressDeadlineSeconds: number;
  autoRollback: boolean;
}

export interface ClusterPlan {
  name: string;
  /** false: declared in clusters/<name>.yaml but no status ref: not considered. */
  reported: boolean;
  lastStatus: string | null;
  ageSeconds: number | null;
  stale: boolean;
  note: string;
}

export interface ChangePlan {
  base: RevisionInfo & { inForce: string | null };
  head: RevisionInfo;
  fleet: string | null;
  accepted: boolean;
  verdict: string;
  problems: Problem[];
  /** Every service that changes or moves, and any unschedulable at head; sorted by id. */
  services: ServicePlan[];
  unchanged: number;
  clusters: ClusterPlan[];
  staleAfterSeconds: number;
  basis: PlanBasis;
  method: PlanMethod;
}

/** What the plan stands on, and where it may differ from what the root will do. */
export interface PlanBasis {
  /** The commit of main the recorded placements were last written from; null: nothing placed yet. */
  placedFrom: string | null;
  /**
   * Where the answer may differ from what the root will do on merging head as it is (empty: it
   * is what the root would decide from its recorded placements and the clusters' last status).
   */
  caveats: string[];
}

export interface PlanMethod {
  /** incremental: only what the change can move was judged and placed; full: everything. */
  kind: 'incremental' | 'full';
  /** Why everything was judged or placed, when it was. */
  why?: string;
  /** Services whose placement was worked out (at base and at head); the rest kept their recorded clusters. */
  placed: number;
  /** Services at base and head together. */
  services: number;
  /** Which services are settled at base was kept from an earlier plan (plan-cache.ts). */
  kept?: boolean;
}

/** What either way of computing a plan (plan-incremental.ts, plan-full.ts) finds; planChange words it. */
export interface PlanCore {
  /** The commit whose desired state is in force at base, or null: none validates. */
  inForce: string | null;
  /** fleet.yaml of head when accepted, else of base in force. */
  fleet?: FleetDescriptor;
  /** Clusters declared by clusters/<name>.yaml there. */
  declared: string[];
  accepted: boolean;
  problems: Problem[];
  /** Every service that changes or moves, and any unschedulable at head; sorted by id. */
  services: ServicePlan[];
  unchanged: number;
  method: PlanMethod;
}
