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
//
// This is the entry: it chooses incremental or full and words the answer. The modules below it
// never import it: plan-types.ts (the shapes), plan-compare.ts (service by service),
// plan-in-force.ts (base in force), plan-inputs/-basis/-index/-judge/-cache.ts.
import type { ParseResult } from '../core/validate.js';
import type { Repo } from '../git/repo.js';
import { readCommitObject } from '../git/log.js';
import { entryAtPath } from '../git/tree.js';
import { resolveRev } from '../git/revision.js';
import { newestSource, readPlanInputs, type PlanInputs } from './plan-inputs.js';
import { planIncremental } from './plan-incremental.js';
import { planFull } from './plan-full.js';
import { addWaves } from './plan-waves.js';
import type { ChangePlan, ClusterPlan, PlanBasis, PlanCore, RevisionInfo, ServiceChange, ServicePlan } from './plan-types.js';

export { RevisionError, resolveRev } from '../git/revision.js';
export { compareServices, specFields } from './plan-compare.js';
export type { ChangePlan, ClusterPlan, PlanBasis, PlanCore, PlanMethod, RevisionInfo, ServiceChange, ServicePlan } from './plan-types.js';

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
  if (core.accepted) await addWaves(repo, headOid, core.services, inputs);
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
