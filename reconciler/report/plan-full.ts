// The plan computed in full: the desired state in force at base and the state at head loaded
// whole, every service placed for both by the root's placeServices from what the root has
// handed out, all compared. Its cost is the fleet's size. It is the definition the incremental
// plan (plan-incremental.ts) must equal, and what plan falls back to when that one cannot be
// exact (no commit known to validate, a latency target dropped from fleet.yaml).
import type { ParseResult } from '../core/validate.js';
import type { Repo } from '../git/repo.js';
import { loadDesired, type DesiredState } from '../root/desired.js';
import { placeServices, type ClusterView, type ServiceDecision } from '../root/place.js';
import { allocationOf, type PlanInputs } from './plan-inputs.js';
import { retiredOf } from '../root/drain.js';
import { airGappedOf } from '../core/air-gapped.js';
import { withDeclared } from './plan-judge.js';
import { compareServices } from './plan-compare.js';
import { inForceAt } from './plan-in-force.js';
import type { PlanCore } from './plan-types.js';

export async function planFull(
  repo: Repo,
  baseOid: string,
  headOid: string,
  inputs: PlanInputs,
  cache: Map<string, ParseResult>,
  why: string,
): Promise<PlanCore> {
  const base = await inForceAt(repo, baseOid, cache);
  // Head is judged against base: only what the change touched is read and parsed.
  const head = await loadDesired(repo, headOid, base, cache);
  const ref = head.ok ? head.state : base;
  const core: PlanCore = {
    inForce: base?.commit ?? null,
    fleet: ref?.fleet,
    declared: declaredClusters(ref),
    accepted: head.ok,
    problems: head.ok ? [] : head.problems,
    services: [],
    unchanged: 0,
    method: { kind: 'full', why, placed: 0, services: 0 },
  };
  if (!head.ok) return core;
  const views = inputs.statuses.flatMap((s) => (s.view ? [s.view] : []));
  const previous = allocationOf(await inputs.placements());
  const place = (s: DesiredState | undefined) => placeAll(s, views, previous);
  const all = compareServices(base, head.state, place(base), place(head.state));
  core.services = all.filter((s) => s.change !== 'unchanged' || s.unschedulable);
  core.unchanged = all.filter((s) => s.change === 'unchanged').length;
  core.method.placed = all.length;
  core.method.services = all.length;
  return core;
}

function placeAll(s: DesiredState | undefined, views: ClusterView[], previous: ReturnType<typeof allocationOf>): Map<string, ServiceDecision> {
  if (!s) return new Map();
  const policy = s.fleet.spec?.scheduler?.root ?? 'bestfit';
  // Clusters this side retires (clusters/<c>.yaml spec.retired) take nothing, and air-gapped ones come after connected ones, as at the root.
  const clusters = s.index?.accepted('Cluster') ?? [];
  const declared = { retired: new Set(retiredOf(clusters)), airGapped: new Set(airGappedOf(clusters).keys()) };
  const seen = views.map((v) => withDeclared(v, declared));
  return placeServices([...s.services.values()], seen, previous, policy, { targets: s.fleet.spec?.targets }).decisions;
}

function declaredClusters(s: DesiredState | undefined): string[] {
  const out: string[] = [];
  for (const path of s?.files.keys() ?? []) {
    const name = /^clusters\/([^/]+)\.yaml$/.exec(path)?.[1];
    if (name) out.push(name);
  }
  return out;
}
