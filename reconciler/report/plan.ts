// What a change would do, for a pull request. From Git alone, so it runs in CI on a clone with
// the canopy refs fetched. No printing here: render-plan.ts does that.
//
// The answer, by definition (plan-full.ts computes it so): the desired state in force at base
// (base if it validates, else the last good state before it, as the root keeps) and head judged
// as the root judges a commit; both placed by the root's placeServices from what the root has
// handed out (the placement refs: sticky), against every cluster's last status (status refs) as
// if all were available, with the fleet.yaml of each; compared service by service.
//
// plan-incremental.ts gives the same answer at the cost of the change (tests compare the two):
// it judges only what changed since a commit known to validate and places only the services
// that can move beside stand-ins for the rest; where it cannot be exact it says why and the
// definition is computed. That answer is what the root will do on merging head, with
// these caveats, which the plan lists when they apply (PlanBasis.caveats):
//  - the root places from its own live view: a cluster that is down, has refused replicas (it
//    keeps that in memory only), or changed since its last status commit is placed differently;
//  - clusters that hold placed replicas but have no status ref here are left out;
//  - "before" is the root's placement of base only if the root placed base (or a commit with the
//    same services and fleet.yaml); otherwise it is what the root would place for base;
//  - the merge is head as it is (GitHub's pull-request checkout is the merge commit: exact);
//  - commits that land on main first change what the root holds.
import type { FleetDescriptor, ServiceSpec } from '../../schemas/model.js';
import { canonicalJson } from '../core/ids.js';
import type { ParseResult, Problem } from '../core/validate.js';
import type { Repo } from '../git/repo.js';
import { readCommitObject } from '../git/log.js';
import { entryAtPath } from '../git/tree.js';
import type { DesiredService } from '../root/desired.js';
import type { ServiceDecision } from '../root/place.js';
import { newestSource, readPlanInputs, type PlanInputs } from './plan-inputs.js';
import { planIncremental } from './plan-incremental.js';
import { planFull } from './plan-full.js';

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

export { RevisionError, resolveRev } from '../git/revision.js';
import { resolveRev } from '../git/revision.js';

export interface PlanOptions {
  base: string;
  head: string;
  now?: Date;
  /** Judge and place everything (the definition the incremental plan must equal; tests, benchmarks). */
  full?: boolean;
}

export async function planChange(repo: Repo, o: PlanOptions): Promise<ChangePlan> {
  const now = o.now ?? new Date();
  const baseOid = await resolveRev(repo, o.base);
  const headOid = await resolveRev(repo, o.head);
  const cache = new Map<string, ParseResult>();
  const inputs = await readPlanInputs(repo);
  const fast = o.full ? 'as asked' : await planIncremental(repo, baseOid, headOid, inputs, cache);
  const core = typeof fast === 'string' ? await planFull(repo, baseOid, headOid, inputs, cache, fast) : fast;
  await inputs.save();
  const t = core.fleet?.spec?.timings;
  const staleAfterSeconds = (t?.statusRefreshSeconds ?? 60) + (t?.unreachableAfterSeconds ?? 10);
  const clusters = clusterPlans(inputs, core.declared, now, staleAfterSeconds);
  const plan: ChangePlan = {
    base: { ...(await info(repo, o.base, baseOid)), inForce: core.inForce },
    head: await info(repo, o.head, headOid),
    fleet: core.fleet?.metadata.name ?? null,
    accepted: core.accepted,
    verdict: '',
    problems: core.problems,
    services: core.services,
    unchanged: core.unchanged,
    clusters,
    staleAfterSeconds,
    basis: await basisOf(repo, inputs, core, clusters),
    method: core.method,
  };
  plan.verdict = core.accepted
    ? verdictOf(core.services, core.unchanged)
    : `would be rejected: ${core.problems.length} problem(s); nothing from it would apply` +
      (core.inForce ? ` and ${core.inForce.slice(0, 12)} would stay in force` : '');
  return plan;
}

/** Pure: each service's change between the two desired states and their placements. */
export function compareServices(
  base: { services: ReadonlyMap<string, DesiredService> } | undefined,
  head: { services: ReadonlyMap<string, DesiredService> },
  before: Map<string, ServiceDecision>,
  after: Map<string, ServiceDecision>,
): ServicePlan[] {
  const ids = [...new Set([...(base?.services.keys() ?? []), ...head.services.keys()])].sort();
  return ids.map((id) => {
    const b = base?.services.get(id),
      h = head.services.get(id);
    const db = before.get(id),
      dh = after.get(id);
    const from = Object.fromEntries(db?.clusters ?? []),
      to = Object.fromEntries(dh?.clusters ?? []);
    const delta: Record<string, number> = {};
    for (const c of new Set([...Object.keys(from), ...Object.keys(to)])) {
      const d = (to[c] ?? 0) - (from[c] ?? 0);
      if (d) delta[c] = d;
    }
    const fields = b && h && b.specHash !== h.specHash ? specFields(b.spec, h.spec) : [];
    const change: ServiceChange = !b ? 'added' : !h ? 'removed' : fields.length ? 'changed' : Object.keys(delta).length ? 'moved' : 'unchanged';
    const p: ServicePlan = {
      id,
      change,
      fields,
      replicas: { before: b?.spec.replicas ?? null, after: h?.spec.replicas ?? null },
      before: from,
      after: to,
      delta,
      reason: h ? (dh?.reason ?? '') : 'removed from the fleet; its replicas stop',
    };
    if (dh && dh.placed < dh.desired) p.unschedulable = dh.reason;
    return p;
  });
}

/** Which spec fields differ; objects (resources, constraints, env…) one level deeper. */
export function specFields(a: ServiceSpec, b: ServiceSpec): string[] {
  const out: string[] = [];
  const ra = a as Record<string, unknown>,
    rb = b as Record<string, unknown>;
  for (const k of [...new Set([...Object.keys(ra), ...Object.keys(rb)])].sort()) {
    const x = ra[k],
      y = rb[k];
    if (canonicalJson(x) === canonicalJson(y)) continue;
    const obj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
    if (obj(x) && obj(y)) {
      for (const s of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) {
        if (canonicalJson(x[s]) !== canonicalJson(y[s])) out.push(`${k}.${s}`);
      }
    } else out.push(k);
  }
  return out;
}

/** `listed`: every service that is not unchanged (and unchanged ones at will); `unchanged`: how many are. */
function verdictOf(listed: ServicePlan[], unchanged: number): string {
  const count = (c: ServiceChange) => listed.filter((s) => s.change === c).length;
  const parts = (['added', 'changed', 'removed', 'moved'] as const).filter((c) => count(c)).map((c) => `${count(c)} ${c}`);
  const un = listed.filter((s) => s.unschedulable).length;
  return (
    `would be accepted: ${parts.length ? parts.join(', ') : 'no service changes'}` +
    (unchanged ? `, ${unchanged} unchanged` : '') +
    (un ? `; ${un} unschedulable` : '')
  );
}

async function info(repo: Repo, rev: string, commit: string): Promise<RevisionInfo> {
  return { rev, commit, subject: (await readCommitObject(repo, commit)).message.split('\n')[0] };
}

/** Every cluster with a status ref, as the root would see it, available; and the declared ones that never reported. */
function clusterPlans(inputs: PlanInputs, declared: string[], now: Date, staleAfterSeconds: number): ClusterPlan[] {
  const clusters: ClusterPlan[] = [];
  for (const { name, at, view } of inputs.statuses) {
    if (!view) {
      clusters.push({ name, reported: false, lastStatus: at.toISOString(), ageSeconds: null, stale: true, note: 'status record unreadable: not considered' });
      continue;
    }
    const ageS = Math.round((now.getTime() - at.getTime()) / 1000);
    const live = inputs.liveness.get(name);
    const rootSaysDown = live?.state === 'unreachable';
    const stale = ageS > staleAfterSeconds || rootSaysDown;
    const why = rootSaysDown
      ? `the root last recorded it unreachable (since ${live!.since})`
      : `silent for longer than ${staleAfterSeconds} s (statusRefreshSeconds + unreachableAfterSeconds)`;
    clusters.push({
      name,
      reported: true,
      lastStatus: at.toISOString(),
      ageSeconds: ageS,
      stale,
      note: stale ? `stale: ${why}; planned as if available` : 'from its last status',
    });
  }
  for (const name of declared) {
    if (!clusters.some((c) => c.name === name))
      clusters.push({ name, reported: false, lastStatus: null, ageSeconds: null, stale: false, note: 'never reported: not considered' });
  }
  // Code-unit order, as everywhere (and no collation tables to load for it).
  return clusters.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Where the plan may part from the root: what Git does not tell it, or tells it is old. */
async function basisOf(repo: Repo, inputs: PlanInputs, core: PlanCore, clusters: ClusterPlan[]): Promise<PlanBasis> {
  const envelopes = await inputs.envelopes();
  const placedFrom = newestSource(envelopes) ?? null;
  const caveats: string[] = [];
  if (!core.accepted) return { placedFrom, caveats };
  if (!placedFrom) caveats.push('nothing is placed yet (no placement refs: a first deployment, or refs/canopy/* not fetched): every service is placed afresh');
  else if (core.inForce && !(await sameDesired(repo, placedFrom, core.inForce))) {
    caveats.push(
      `the root last placed ${placedFrom.slice(0, 12)}, not base ${core.inForce.slice(0, 12)}: where they differ, "before" is what the root would place for base, not what runs`,
    );
  }
  const stale = clusters.filter((c) => c.reported && c.stale).map((c) => c.name);
  if (stale.length)
    caveats.push(`${list(stale)} planned as available from an old status (see Clusters): the root places nothing new on a cluster it finds down`);
  const viewed = new Set(inputs.statuses.filter((s) => s.view).map((s) => s.name));
  const blind = [...envelopes.keys()].filter((c) => !viewed.has(c));
  if (blind.length)
    caveats.push(
      `${list(blind)} hold${blind.length === 1 ? 's' : ''} placed replicas but no readable status (fetch refs/canopy/status/*): planned without ${blind.length === 1 ? 'it' : 'them'}, so what runs there is placed elsewhere`,
    );
  const refused = (await inputs.refusedOf(core.services.map((s) => s.id))).map(
    (r) => `${r.cluster} could not place ${r.count} replica(s) of ${r.id} (${r.reason})`,
  );
  if (refused.length) caveats.push(`at their last status, ${list(refused, 3)}: the root treats such a cluster as full for that service; this plan does not`);
  return { placedFrom, caveats };
}

/** Same services and fleet.yaml: the root's placements for one are its placements for the other. */
async function sameDesired(repo: Repo, a: string, b: string): Promise<boolean> {
  if (a === b) return true;
  try {
    const [ta, tb] = await Promise.all([a, b].map(async (c) => (await readCommitObject(repo, c)).tree));
    for (const p of ['services', 'fleet.yaml']) if ((await entryAtPath(repo, ta, p))?.oid !== (await entryAtPath(repo, tb, p))?.oid) return false;
    return true;
  } catch {
    return false;
  }
}

function list(xs: string[], max = 5): string {
  return xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`;
}
