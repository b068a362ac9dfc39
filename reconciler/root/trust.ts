// The keys the accepted commit declares, as each cluster is handed them inside its placement:
// the root's (fleet.yaml spec.trust.root), the cluster's own and its nodes' (clusters/<c>.yaml
// spec.identity, spec.nodeIdentities), and the operators' (fleet.yaml spec.trust.operators). A fleet that declares no root key runs unsigned: no
// trust travels, and placements stay as they were before keys existed.
import type { Trust } from '../../schemas/messages.js';
import { canonicalJson } from '../core/ids.js';
import type { DesiredState } from './desired.js';

export interface FleetTrust {
  root: string[];
  operators?: Trust['operators'];
  /** Per declared cluster: what its placement carries. */
  clusters: Map<string, Trust>;
}

export function fleetTrust(good: Pick<DesiredState, 'fleet' | 'index'> | undefined): FleetTrust | undefined {
  const root = good?.fleet.spec?.trust?.root?.keys;
  if (!good || !root?.length) return undefined;
  const clusters = new Map<string, Trust>();
  // Operators' keys: each cluster serves log requests signed by one of them.
  const ops = Object.entries(good.fleet.spec?.trust?.operators ?? {}).filter(([, o]) => o.keys?.length);
  const operators = ops.length ? Object.fromEntries(ops.map(([n, o]) => [n, [...o.keys]])) : undefined;
  for (const c of good.index?.accepted('Cluster') ?? []) {
    const t: Trust = { root: [...root], ...(operators ? { operators } : {}) };
    if (c.spec?.identity) t.cluster = [...c.spec.identity.keys];
    const nodes = Object.entries(c.spec?.nodeIdentities ?? {});
    if (nodes.length) t.nodes = Object.fromEntries(nodes.map(([n, k]) => [n, [...k.keys]]));
    const ages = nodes.filter(([, k]) => k.age);
    if (ages.length) t.nodeAge = Object.fromEntries(ages.map(([n, k]) => [n, k.age!]));
    clusters.set(c.metadata.name, t);
  }
  return { root: [...root], ...(operators ? { operators } : {}), clusters };
}

/** What cluster `c`'s placement carries: its declaration's keys, else the root's alone. */
export function trustFor(ft: FleetTrust | undefined, c: string): Trust | undefined {
  if (!ft) return undefined;
  return ft.clusters.get(c) ?? { root: ft.root, ...(ft.operators ? { operators: ft.operators } : {}) };
}

export const sameTrust = (a: Trust | undefined, b: Trust | undefined): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null);
