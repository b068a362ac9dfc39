// What the root remembers of a cluster's refusals between placements: the cluster could place
// only so many replicas of a service, so placement treats it as full for that service there
// (eligible.ts) until its capacity or the service's spec changes. Pure.
import type { ServiceSpec } from '../../schemas/model.js';
import type { ClusterStatus } from '../../schemas/messages.js';
import type { Refusal } from './cluster-view.js';

/**
 * The refusals the root keeps for one cluster, after its latest status. New ones are taken when
 * the status answers the placement in force (`given`): that service is full there at what the
 * cluster could place. All are forgotten when the cluster's capacity changes (a node came back
 * or went), so the root tries it again; a spec change voids one (see `Refusal.spec`).
 */
export function keepRefusals(
  kept: Record<string, Refusal> | undefined,
  before: ClusterStatus | undefined,
  now: ClusterStatus,
  given: { version: { commit: string; seq: number; epoch: number }; services: Record<string, { replicas: number; spec: ServiceSpec }> } | undefined,
): { refused: Record<string, Refusal> | undefined; changed: boolean } {
  let out = kept;
  const size = (s: ClusterStatus) => JSON.stringify([s.capacity, s.maxNode, s.shapes, s.nodes]);
  if (out && before && size(before) !== size(now)) out = undefined;
  const v = now.applied,
    g = given?.version;
  if (given && v && g && v.commit === g.commit && v.seq === g.seq && v.epoch === g.epoch) {
    for (const [id, s] of Object.entries(now.services)) {
      const a = given.services[id];
      if (!s.refused || !a) continue;
      const r: Refusal = { limit: Math.max(0, a.replicas - s.refused.count), count: s.refused.count, reason: s.refused.reason, spec: stableJson(a.spec) };
      if (JSON.stringify(out?.[id]) !== JSON.stringify(r)) out = { ...out, [id]: r };
    }
  }
  return { refused: out, changed: out !== kept };
}

/** JSON with object keys sorted: equal values, equal text (no node:crypto here: this file stays pure). */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
