// How two desired states and their placements compare, service by service: what the full and
// the incremental plan (plan-full.ts, plan-incremental.ts) both report.
import type { ServiceSpec } from '../../schemas/model.js';
import { canonicalJson, workloadHash } from '../core/ids.js';
import { hostPortsOf, serviceNames } from '../core/service-names.js';
import type { DesiredService } from '../root/desired.js';
import type { ServiceDecision } from '../root/place.js';
import type { PlanRollout, ServiceChange, ServicePlan } from './plan-types.js';

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
    // A rollout runs when the workload of a service placed before, with a `rollout` at head,
    // changes (root/steps/rollouts.ts startRollouts); plan-waves.ts adds its waves.
    if (b && h?.spec.rollout && Object.keys(from).length && workloadHash(b.spec) !== workloadHash(h.spec)) p.rollout = rolloutSettings(h.spec);
    const n = h && serviceNames(id, h.spec);
    if (n)
      p.names = {
        host: `${n.host}:${n.port}`,
        closest: `${n.closest}:${n.port}`,
        variables: n.variables,
        hostPorts: hostPortsOf(h!.spec),
      };
    return p;
  });
}

/** A spec's rollout settings, with the defaults the root uses. */
export function rolloutSettings(spec: ServiceSpec): PlanRollout {
  const r = spec.rollout ?? {};
  return {
    selectors: r.waves ?? [],
    maxUnavailable: r.maxUnavailable ?? 1,
    maxSurge: r.maxSurge ?? 1,
    bakeSeconds: r.bakeSeconds ?? 0,
    progressDeadlineSeconds: r.progressDeadlineSeconds ?? 600,
    autoRollback: r.autoRollback ?? false,
  };
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
