// What `canopy plan` reads besides the two commits: the clusters' last status (status refs)
// and what the root has handed out (placement refs). Read through the fast object store; a
// record that is damaged is not considered. Status records are checked against their schema,
// as every reader of system records does (git/records.ts). Placement records are checked for
// what a plan reads of them (replica counts, and the spec fields placement reads): the full
// schema check of 10,000 assignments costs 40-180 ms here, more than the rest of a plan, and
// their specs are the root's copies of descriptors it validated.
import type { Assignment, ClusterStatus, Placement } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { checkValue, type ShapeName, type Shapes } from '../../schemas/parse.js';
import { LIVENESS, PLACEMENT_FILE, STATUS_FILE, type Liveness } from '../core/refs.js';
import { listRefs, type Repo } from '../git/repo.js';
import { readCommitObject } from '../git/log.js';
import { objectStore } from '../git/odb.js';
import { entryAtPath } from '../git/tree.js';
import { clusterViewOf, type Allocation, type ClusterView } from '../root/place.js';
import { loadPlanCache, savePlanCache, type CachedPlacement, type CachedStatus, type PlanCache } from './plan-cache.js';

export interface StatusInput {
  name: string;
  /** When the cluster committed it. */
  at: Date;
  /** As the root would see it, were the cluster up; undefined: the record is unreadable. */
  view?: ClusterView;
  /** Services it reported it could not place all of (the root treats it as full for them). */
  refused: Array<{ id: string; count: number; reason: string }>;
}

export interface PlacementInput {
  cluster: string;
  /** The commit of main the root wrote it from, and its sequence number. */
  source: string;
  seq: number;
  /** service → replicas here, and the spec it was placed with (as recorded). */
  services: Record<string, Assignment>;
}

export interface PlanInputs {
  statuses: StatusInput[];
  /** The root's last word on each cluster's liveness (beside its placement). */
  liveness: Map<string, Liveness>;
  /** Each placement ref's placement.json blob: what the records are, without reading them. */
  placementBlobs: Map<string, string>;
  /** The readable placement records, by cluster (read on first use). */
  placements(): Promise<Map<string, PlacementInput>>;
  /** Each readable record's source commit and sequence (from the cache while the record is unchanged). */
  envelopes(): Promise<Map<string, CachedPlacement>>;
  cache: PlanCache;
  /** Keeps what was read for the next plan (.git/canopy/plan-cache.json). */
  save(): Promise<void>;
}

export async function readPlanInputs(repo: Repo, o: { cache?: boolean } = {}): Promise<PlanInputs> {
  const cache = o.cache === false ? { statuses: {}, placements: {} } : await loadPlanCache(repo);
  const liveness = new Map<string, Liveness>();
  const placementBlobs = new Map<string, string>();
  for (const [cluster, oid] of await listRefs(repo, 'refs/canopy/placements/')) {
    const files = await recordBlobs(repo, oid, [PLACEMENT_FILE, LIVENESS]);
    const l = files?.get(LIVENESS);
    try { if (l) liveness.set(cluster, JSON.parse((await text(repo, l)) ?? '') as Liveness); } catch { /* a damaged record says nothing */ }
    const p = files?.get(PLACEMENT_FILE);
    if (p) placementBlobs.set(cluster, p);
  }
  const statuses: StatusInput[] = [];
  const keep = new Set(placementBlobs.values());
  for (const [name, oid] of await listRefs(repo, 'refs/canopy/status/')) {
    const commit = await readCommitObject(repo, oid).catch(() => undefined);
    if (!commit) continue;
    const at = new Date(commit.committer.timestamp * 1000);
    const blob = (await recordBlobs(repo, oid, [STATUS_FILE]))?.get(STATUS_FILE);
    let digest = blob ? cache.statuses[blob] : undefined;
    if (blob && !digest) {
      const st = checked(await text(repo, blob), 'ClusterStatus', `${oid.slice(0, 12)}:${STATUS_FILE}`);
      cache.statuses[blob] = digest = st ? statusDigest(name, st) : { refused: [] };
      cache.dirty = true;
    }
    if (blob) keep.add(blob);
    statuses.push({ name, at, ...(digest ?? { refused: [] }) });
  }
  let docs: Promise<Map<string, PlacementInput>> | undefined;
  const placements = () => (docs ??= (async () => {
    const out = new Map<string, PlacementInput>();
    for (const [cluster, blob] of placementBlobs) {
      const doc = placementOf(await text(repo, blob));
      if (!doc) continue;
      out.set(cluster, { cluster, source: doc.version.commit, seq: doc.version.seq, services: doc.services });
      if (!cache.placements[blob]) { cache.placements[blob] = { source: doc.version.commit, seq: doc.version.seq }; cache.dirty = true; }
    }
    return out;
  })());
  const envelopes = async () => {
    if ([...placementBlobs.values()].some((b) => !cache.placements[b])) await placements();
    return new Map([...placementBlobs].flatMap(([c, b]) => (cache.placements[b] ? [[c, cache.placements[b]] as [string, CachedPlacement]] : [])));
  };
  return {
    statuses, liveness, placementBlobs, placements, envelopes, cache,
    save: () => (o.cache === false ? Promise.resolve() : savePlanCache(repo, cache, keep)),
  };
}

/** service → cluster → replicas: what the root has handed out. */
export function allocationOf(placements: Map<string, PlacementInput>): Allocation {
  const out: Allocation = new Map();
  for (const [cluster, p] of placements) {
    for (const id in p.services) {
      let m = out.get(id);
      if (!m) out.set(id, (m = new Map()));
      m.set(cluster, p.services[id].replicas);
    }
  }
  return out;
}

/** The newest placement record's source commit: what the root placed last. */
export function newestSource(envelopes: Map<string, CachedPlacement>): string | undefined {
  let best: CachedPlacement | undefined;
  for (const p of envelopes.values()) if (!best || p.seq > best.seq) best = p;
  return best?.source;
}

function statusDigest(name: string, st: ClusterStatus): CachedStatus {
  const refused = Object.entries(st.services).flatMap(([id, s]) => (s.refused ? [{ id, count: s.refused.count, reason: s.refused.reason }] : []));
  // The same view the root builds (footprint, latency, node sizes), as if the cluster were up.
  return { view: { ...clusterViewOf(st, { online: true, offlineForMs: 0 }), name }, refused };
}

/** Blobs of a system commit's tree, by file name; undefined when the commit cannot be read. */
async function recordBlobs(repo: Repo, commit: string, names: string[]): Promise<Map<string, string> | undefined> {
  try {
    const tree = (await readCommitObject(repo, commit)).tree;
    const out = new Map<string, string>();
    for (const name of names) {
      const e = await entryAtPath(repo, tree, name);
      if (e?.type === 'blob') out.set(name, e.oid);
    }
    return out;
  } catch {
    return undefined;
  }
}

async function text(repo: Repo, blob: string): Promise<string | undefined> {
  try { return (await objectStore(repo).readType(blob, 'blob')).toString('utf8'); } catch { return undefined; }
}

function checked<K extends ShapeName>(text: string | undefined, shape: K, where: string): Shapes[K] | undefined {
  if (!text) return undefined;
  try {
    const p = checkValue(shape, JSON.parse(text), where);
    return p.ok ? p.value : undefined;
  } catch {
    return undefined;
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown, max = Infinity): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max;
const isNum = (v: unknown) => v === undefined || (typeof v === 'number' && v >= 0);
const isList = (v: unknown) => v === undefined || (Array.isArray(v) && v.every((x) => typeof x === 'string'));

/** A placement record, when what a plan reads of it has the schema's shape. */
function placementOf(text: string | undefined): Placement | undefined {
  let v: unknown;
  try { v = text ? JSON.parse(text) : undefined; } catch { return undefined; }
  if (!isObj(v) || typeof v.fleet !== 'string' || typeof v.cluster !== 'string' || !isObj(v.services)) return undefined;
  const ver = v.version;
  if (!isObj(ver) || typeof ver.commit !== 'string' || !/^[0-9a-f]{40}$/.test(ver.commit) || !isCount(ver.seq) || !isCount(ver.epoch)) return undefined;
  for (const id in v.services) if (!assignment(v.services[id])) return undefined;
  return v as unknown as Placement;
}

function assignment(a: unknown): boolean {
  if (!isObj(a) || !isCount(a.replicas) || typeof a.specHash !== 'string' || !isObj(a.spec)) return false;
  const s = a.spec as Partial<ServiceSpec> & Record<string, unknown>;
  if ((s.runtime !== 'container' && s.runtime !== 'process') || !isCount(s.replicas, 10_000)) return false;
  const r = s.resources as Record<string, unknown> | undefined;
  if (r !== undefined && (!isObj(r) || !isNum(r.cpu) || !isNum(r.gpu) || !isList(r.arch)
    || !(r.memory === undefined || typeof r.memory === 'number' || (typeof r.memory === 'string' && /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.test(r.memory))))) return false;
  const c = s.constraints as Record<string, unknown> | undefined;
  if (c === undefined) return true;
  if (!isObj(c)) return false;
  const cl = c.clusters as Record<string, unknown> | undefined;
  if (cl !== undefined && (!isObj(cl) || !isList(cl.names) || !(cl.operator === undefined || typeof cl.operator === 'string') || !(cl.matchLabels === undefined || isObj(cl.matchLabels)))) return false;
  const point = (p: unknown) => isObj(p) && typeof p.lat === 'number' && typeof p.lon === 'number';
  if (c.geo !== undefined && !(point(c.geo) && typeof (c.geo as Record<string, unknown>).withinKm === 'number')) return false;
  const l = c.latency as Record<string, unknown> | undefined;
  if (l !== undefined && !(isObj(l) && typeof l.maxMs === 'number' && (point(l.to) || (isObj(l.to) && typeof l.to.target === 'string')))) return false;
  return true;
}
