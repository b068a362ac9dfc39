// What `canopy plan` keeps between runs in a clone (.git/canopy/plan-cache.json), so that a plan
// in a large fleet reads neither every placement record nor every status record again while
// they have not changed. Everything is keyed by content (blob oids, a tree oid, the clusters'
// shapes), and stamped with a hash of the code that computed it: a stale entry is never used,
// only ignored. Only a cache: unreadable or missing, plan computes what it needs; a read-only
// repository just goes without it.
//  - statuses: per status.json blob, the cluster as placement sees it (StatusInput);
//  - basis: for one set of placement records, cluster shapes and base tree, which services are
//    settled and what they hold (plan-basis.ts).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Repo } from '../git/repo.js';
import type { ClusterView } from '../root/place.js';

const FILE = 'plan-cache.json';
const FORMAT = 2;

export interface CachedStatus {
  view?: ClusterView;
  refused: Array<{ id: string; count: number; reason: string }>;
}
export interface CachedPlacement {
  source: string;
  seq: number;
}

/** The settled basis, as stored: ids with indexes into `clusters` and `sizes`. */
export interface StoredBasis {
  key: string;
  baseTree: string;
  count: number;
  gone: string[];
  moving: string[];
  clusters: string[];
  sizes: Array<[number, number, number]>;
  /** Settled, per app: JSON of name → [size, cluster, n, cluster, n, …]. */
  held: Record<string, string>;
  /** Not settled (or gone from base) but holding replicas: id → [cluster, n, …]. */
  prev: Record<string, number[]>;
  /** What the settled hold together: [cluster, size, n]. */
  reserved: Array<[number, number, number]>;
}

export interface PlanCache {
  statuses: Record<string, CachedStatus>;
  basis?: StoredBasis;
  /** Something was added or replaced since it was loaded. */
  dirty?: boolean;
}

let stamp: string | undefined;

/** What the cached values depend on: this format, and the code that computes them. */
export function codeStamp(): string {
  if (stamp) return stamp;
  const h = createHash('sha256').update(String(FORMAT));
  for (const m of [
    './plan-inputs.js',
    './plan-basis.js',
    './plan-index.js',
    '../root/place.js',
    '../root/cluster-view.js',
    '../root/assess.js',
    '../root/eligible.js',
    '../root/rank.js',
    '../root/explain.js',
    '../root/refusals.js',
    '../scheduling/geo.js',
    '../scheduling/capacity.js',
    '../scheduling/latency.js',
    '../core/quantity.js',
    '../core/geo.js',
    import.meta.url,
  ]) {
    try {
      h.update(readFileSync(new URL(m, import.meta.url)));
    } catch {
      h.update(m);
    }
  }
  return (stamp = h.digest('hex').slice(0, 16));
}

const fileOf = (repo: Repo) => path.join(repo.gitdir, 'canopy', FILE);

export async function loadPlanCache(repo: Repo): Promise<PlanCache> {
  try {
    const v = JSON.parse(await readFile(fileOf(repo), 'utf8')) as PlanCache & { stamp?: string };
    if (v.stamp === codeStamp() && v.statuses) return { statuses: v.statuses, basis: v.basis };
  } catch {
    /* none yet, or unreadable: start afresh */
  }
  return { statuses: {} };
}

/** Stores `cache` when it changed, keeping only the records named in `keep` (the file never outgrows the refs). */
export async function savePlanCache(repo: Repo, cache: PlanCache, keep: Set<string>): Promise<void> {
  const gone = Object.keys(cache.statuses).some((k) => !keep.has(k));
  if (!cache.dirty && !gone) return;
  const pick = <T>(r: Record<string, T>) => Object.fromEntries(Object.entries(r).filter(([k]) => keep.has(k)));
  const file = fileOf(repo);
  try {
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ stamp: codeStamp(), statuses: pick(cache.statuses), basis: cache.basis }));
    await rename(tmp, file);
  } catch {
    /* read-only repository: no cache */
  }
}

/** A key for values that depend on these parts. */
export function keyOf(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}
