// A rollout's waves: which clusters each wave of `rollout.waves` holds. A cluster goes in the
// first wave whose selector it matches (names, matchLabels and operator: all that a selector
// gives must hold, as in `constraints.clusters`); clusters no wave names go in a last wave.
// Empty waves are dropped. Pure: the root runs the waves with it, `canopy plan` shows them.
import type { ClusterSelector } from '../../schemas/model.js';

export interface WaveCluster {
  name: string;
  labels?: Readonly<Record<string, string>>;
  operator?: string;
}

/** Whether cluster `c` matches selector `s` (an empty selector matches every cluster). */
export function selects(s: ClusterSelector, c: WaveCluster): boolean {
  if (s.names && !s.names.includes(c.name)) return false;
  if (s.operator !== undefined && c.operator !== s.operator) return false;
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) if (c.labels?.[k] !== v) return false;
  return true;
}

/**
 * The clusters of each wave, in wave order, each wave's names sorted; `clusters` are those the
 * service is placed on. Without selectors every cluster is one wave.
 */
export function wavesOf(selectors: readonly ClusterSelector[] | undefined, clusters: readonly WaveCluster[]): string[][] {
  const sorted = [...clusters].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const waves: string[][] = (selectors ?? []).map(() => []);
  const rest: string[] = [];
  for (const c of sorted) {
    const i = (selectors ?? []).findIndex((s) => selects(s, c));
    if (i < 0) rest.push(c.name);
    else waves[i].push(c.name);
  }
  return [...waves, rest].filter((w) => w.length > 0);
}

/** How a selector reads in plan output and notes: `names munich, paris`, `labels tier=canary`. */
export function selectorText(s: ClusterSelector): string {
  const parts: string[] = [];
  if (s.names) parts.push(`names ${s.names.join(', ')}`);
  if (s.matchLabels && Object.keys(s.matchLabels).length)
    parts.push(
      `labels ${Object.entries(s.matchLabels)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`,
    );
  if (s.operator !== undefined) parts.push(`operator ${s.operator}`);
  return parts.join('; ') || 'every cluster';
}
