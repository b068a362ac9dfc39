// What a plan needs of each placement record, kept between plans and brought up to date by what
// changed: per service, the replicas the cluster holds, the replicas the service asks for, and
// its ask (the spec fields assess() and request() read: runtime, resources, constraints), asks
// shared between services. A record keeps one file per service (git/service-records.ts), so when
// the root places again, the services/ tree diff against the kept one names the few files to
// read; only a record never seen before is read whole. Kept in .git/canopy/plan-index.json,
// stamped like plan-cache.json; only a cache.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ServiceSpec } from '../../schemas/model.js';
import type { Repo } from '../git/repo.js';
import { objectStore } from '../git/odb.js';
import { diffTrees } from '../git/tree.js';
import { codeStamp } from './plan-cache.js';
import { assignmentOk, type PlacementRecordRef } from './plan-inputs.js';

export interface PlacementIndex {
  source: string;
  seq: number;
  /** What it was built from: the record's services/ tree, or (old layout) its header blob. */
  from: string;
  /** Distinct asks, as specs assess() and request() can read. */
  asks: ServiceSpec[];
  /** id → [replicas held here, replicas asked for, ask]. */
  entries: Record<string, [number, number, number]>;
}

const FILE = 'plan-index.json';

/** The index of every readable placement record (a damaged record is left out, as plan-inputs leaves it out). */
export async function placementIndexes(repo: Repo, records: Map<string, PlacementRecordRef>): Promise<Map<string, PlacementIndex>> {
  const file = path.join(repo.gitdir, 'canopy', FILE);
  let kept: Record<string, PlacementIndex> = {};
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as { stamp?: string; clusters?: Record<string, PlacementIndex> };
    if (v.stamp === codeStamp() && v.clusters) kept = v.clusters;
  } catch {
    /* none yet */
  }
  const out = new Map<string, PlacementIndex>();
  let changed = false;
  for (const [cluster, r] of records) {
    const header = await r.header();
    if (!header) continue;
    const from = r.services ?? `blob:${r.headerBlob}`;
    const old = Object.hasOwn(kept, cluster) ? kept[cluster] : undefined;
    let idx: PlacementIndex | undefined;
    if (old?.from === from) idx = { ...old, source: header.source, seq: header.seq };
    else {
      idx = await build(repo, r, header, old);
      changed = true;
    }
    if (idx) out.set(cluster, idx);
  }
  if (changed || Object.keys(kept).some((c) => !out.has(c))) {
    try {
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify({ stamp: codeStamp(), clusters: Object.fromEntries(out) }));
      await rename(tmp, file);
    } catch {
      /* read-only repository: no cache */
    }
  }
  return out;
}

async function build(
  repo: Repo,
  r: PlacementRecordRef,
  header: { source: string; seq: number; inline?: Record<string, unknown> },
  old: PlacementIndex | undefined,
): Promise<PlacementIndex | undefined> {
  const asks: ServiceSpec[] = [];
  const askIndex = new Map<string, number>();
  const askOf = (spec: ServiceSpec) => {
    const { runtime, resources, constraints } = spec;
    const ask = { runtime, resources, constraints } as ServiceSpec;
    const k = JSON.stringify(ask);
    let i = askIndex.get(k);
    if (i === undefined) {
      askIndex.set(k, (i = asks.length));
      asks.push(ask);
    }
    return i;
  };
  const base: PlacementIndex = { source: header.source, seq: header.seq, from: r.services ?? `blob:${r.headerBlob}`, asks, entries: {} };
  const put = (id: string, a: unknown): boolean => {
    if (!assignmentOk(a)) return false;
    const x = a as { replicas: number; spec: ServiceSpec };
    base.entries[id] = [x.replicas, x.spec.replicas, askOf(x.spec)];
    return true;
  };
  if (header.inline) {
    for (const id in header.inline) if (!put(id, header.inline[id])) return undefined;
    return base;
  }
  if (!r.services) return base;
  // From the kept index of an earlier services/ tree (taken over as it is: it was parsed for
  // this): what changed since. Else every file.
  const reuse = old && !old.from.startsWith('blob:') ? old : undefined;
  if (reuse) {
    for (const ask of reuse.asks) askOf(ask);
    base.entries = reuse.entries;
  }
  const store = objectStore(repo);
  // The kept tree may be gone from this clone (a fresh clone with an old cache): read everything then.
  const diff = await diffTrees(repo, reuse?.from, r.services).catch(() => undefined);
  if (!diff && reuse) return build(repo, r, header, undefined);
  for (const c of diff ?? []) {
    if (!c.path.endsWith('.json') || (c.after && c.after.type !== 'blob')) return undefined;
    const id = c.path.slice(0, -'.json'.length);
    if (!c.after) {
      delete base.entries[id];
      continue;
    }
    let v: unknown;
    try {
      v = JSON.parse((await store.readType(c.after.oid, 'blob')).toString('utf8'));
    } catch {
      return undefined;
    }
    if (!put(id, v)) return undefined;
  }
  return base;
}
