// What `canopy plan` reads besides the two commits: the clusters' last status (status refs)
// and what the root has handed out (placement refs). Read through the fast object store; a
// record that is damaged is not considered. Status records are checked against their schema,
// as every reader of system records does (git/records.ts). Placement records are checked for
// what a plan reads of them (replica counts, and the spec fields placement reads): the full
// schema check of 10,000 assignments costs 40-180 ms here, more than the rest of a plan, and
// their specs are the root's copies of descriptors it validated.
import type { Assignment, ClusterStatus } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { checkValue, type ShapeName, type Shapes } from '../../schemas/parse.js';
import { LIVENESS, PLACEMENT_FILE, STATUS_FILE, type Liveness } from '../core/refs.js';
import { SERVICES_DIR } from '../git/service-records.js';
import { listRefs, type Repo } from '../git/repo.js';
import { readCommitObject } from '../git/log.js';
import { objectStore } from '../git/odb.js';
import { entryAtPath, listFiles, readEntries } from '../git/tree.js';
import { clusterViewOf, type Allocation, type ClusterView } from '../root/place.js';
import { loadPlanCache, savePlanCache, type CachedPlacement, type CachedStatus, type PlanCache } from './plan-cache.js';

export interface StatusInput {
  name: string;
  /** When the cluster committed it. */
  at: Date;
  /** As the root would see it, were the cluster up; undefined: the record is unreadable. */
  view?: ClusterView;
  /** Services it reported it could not place all of (the root treats it as full for them), when its record holds them inline. */
  refused: Array<{ id: string; count: number; reason: string }>;
  /** Its per-service status files, in records of the current layout. */
  servicesTree?: string;
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
  /** The placement records, by cluster, not read yet. */
  records: Map<string, PlacementRecordRef>;
  /** What the placement records are, without reading them: [cluster, header blob, services tree]. */
  placementKey: Array<[string, string, string | null]>;
  /** The readable placement records, by cluster, read whole (on first use). */
  placements(): Promise<Map<string, PlacementInput>>;
  /** Each readable record's source commit and sequence (from its header). */
  envelopes(): Promise<Map<string, CachedPlacement>>;
  cache: PlanCache;
  /** What clusters reported they could not place (at their last status), for these services. */
  refusedOf(ids: string[]): Promise<Array<{ cluster: string; id: string; count: number; reason: string }>>;
  /** Keeps what was read for the next plan (.git/canopy/plan-cache.json). */
  save(): Promise<void>;
}

/** A placement record in Git: its header (placement.json) and services/ tree; the header read on first use. */
export interface PlacementRecordRef {
  headerBlob: string;
  services?: string;
  /** Its source commit and sequence, and (old layout) its services inline; undefined when damaged. */
  header(): Promise<{ source: string; seq: number; inline?: Record<string, unknown> } | undefined>;
}

export async function readPlanInputs(repo: Repo, o: { cache?: boolean } = {}): Promise<PlanInputs> {
  const cache = o.cache === false ? { statuses: {} } : await loadPlanCache(repo);
  const liveness = new Map<string, Liveness>();
  const records = new Map<string, PlacementRecordRef>();
  for (const [cluster, oid] of await listRefs(repo, 'refs/canopy/placements/')) {
    const files = await recordEntries(repo, oid, [PLACEMENT_FILE, LIVENESS, SERVICES_DIR]);
    const l = files?.get(LIVENESS);
    try {
      if (l) liveness.set(cluster, JSON.parse((await text(repo, l)) ?? '') as Liveness);
    } catch {
      /* a damaged record says nothing */
    }
    const headerBlob = files?.get(PLACEMENT_FILE);
    if (!headerBlob) continue;
    let read: ReturnType<PlacementRecordRef['header']> | undefined;
    records.set(cluster, {
      headerBlob,
      services: files?.get(SERVICES_DIR),
      header: () =>
        (read ??= (async () => {
          const h = json(await text(repo, headerBlob));
          if (!h || !envelopeOk(h) || (h.services !== undefined && !isObj(h.services))) return undefined;
          const v = h.version as { commit: string; seq: number };
          return { source: v.commit, seq: v.seq, ...(h.services ? { inline: h.services as Record<string, unknown> } : {}) };
        })()),
    });
  }
  const statuses: StatusInput[] = [];
  const keep = new Set<string>();
  for (const [name, oid] of await listRefs(repo, 'refs/canopy/status/')) {
    const commit = await readCommitObject(repo, oid).catch(() => undefined);
    if (!commit) continue;
    const at = new Date(commit.committer.timestamp * 1000);
    const files = await recordEntries(repo, oid, [STATUS_FILE, SERVICES_DIR]);
    const blob = files?.get(STATUS_FILE);
    let digest = blob ? cache.statuses[blob] : undefined;
    if (blob && !digest) {
      const header = json(await text(repo, blob));
      // The services are beside the header (or, in records of the old layout, inside it): the
      // view needs none of them, refusals are read for the services a plan names (refusedOf).
      const st = header ? checked({ ...header, services: header.services ?? {} }, 'ClusterStatus', `${oid.slice(0, 12)}:${STATUS_FILE}`) : undefined;
      cache.statuses[blob] = digest = st ? statusDigest(name, st) : { refused: [] };
      cache.dirty = true;
    }
    if (blob) keep.add(blob);
    statuses.push({ name, at, ...(digest ?? { refused: [] }), servicesTree: files?.get(SERVICES_DIR) });
  }
  let docs: Promise<Map<string, PlacementInput>> | undefined;
  const placements = () =>
    (docs ??= (async () => {
      const out = new Map<string, PlacementInput>();
      for (const [cluster, r] of records) {
        const h = await r.header();
        const services = h && (h.inline ?? (await serviceFiles(repo, r.services)));
        if (!h || !services || !Object.values(services).every(assignmentOk)) continue;
        out.set(cluster, { cluster, source: h.source, seq: h.seq, services: services as Record<string, Assignment> });
      }
      return out;
    })());
  const envelopes = async () => {
    const out = new Map<string, CachedPlacement>();
    for (const [cluster, r] of records) {
      const h = await r.header();
      if (h) out.set(cluster, { source: h.source, seq: h.seq });
    }
    return out;
  };
  return {
    statuses,
    liveness,
    records,
    placementKey: [...records].sort(([a], [b]) => (a < b ? -1 : 1)).map(([c, r]) => [c, r.headerBlob, r.services ?? null]),
    placements,
    envelopes,
    cache,
    refusedOf: (ids) => refusals(repo, statuses, ids),
    save: () => (o.cache === false ? Promise.resolve() : savePlanCache(repo, cache, keep)),
  };
}

/** What clusters reported they could not place, for these services (from their status records). */
async function refusals(repo: Repo, statuses: StatusInput[], ids: string[]): Promise<Array<{ cluster: string; id: string; count: number; reason: string }>> {
  const out: Array<{ cluster: string; id: string; count: number; reason: string }> = [];
  for (const s of statuses) {
    if (!s.view) continue;
    for (const id of ids) {
      const inline = s.refused.find((r) => r.id === id);
      if (inline) {
        out.push({ cluster: s.name, ...inline });
        continue;
      }
      const e = s.servicesTree ? await entryAtPath(repo, s.servicesTree, `${id}.json`).catch(() => undefined) : undefined;
      const v = e?.type === 'blob' ? json(await text(repo, e.oid)) : undefined;
      const r = v?.refused as { count?: unknown; reason?: unknown } | undefined;
      if (r && typeof r.count === 'number' && typeof r.reason === 'string') out.push({ cluster: s.name, id, count: r.count, reason: r.reason });
    }
  }
  return out;
}

/** Every service file of a record's services/ tree, by id; undefined when one is not JSON. */
async function serviceFiles(repo: Repo, tree: string | undefined): Promise<Record<string, unknown> | undefined> {
  const out: Record<string, unknown> = {};
  if (!tree) return out;
  for (const [p, e] of await listFiles(repo, tree)) {
    if (!p.endsWith('.json') || e.type !== 'blob') return undefined;
    const v = json(await text(repo, e.oid));
    if (!v) return undefined;
    out[p.slice(0, -'.json'.length)] = v;
  }
  return out;
}

function json(t: string | undefined): Record<string, unknown> | undefined {
  try {
    const v = t === undefined ? undefined : (JSON.parse(t) as unknown);
    return isObj(v) ? v : undefined;
  } catch {
    return undefined;
  }
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

/** Entries (blobs, and the services/ tree) of a system commit's tree, by name; undefined when the commit cannot be read. */
async function recordEntries(repo: Repo, commit: string, names: string[]): Promise<Map<string, string> | undefined> {
  try {
    const tree = (await readCommitObject(repo, commit)).tree;
    const out = new Map<string, string>();
    const entries = await readEntries(repo, tree);
    for (const name of names) {
      const e = entries.get(name);
      if (e && (e.type === 'blob' || (name === SERVICES_DIR && e.type === 'tree'))) out.set(name, e.oid);
    }
    return out;
  } catch {
    return undefined;
  }
}

async function text(repo: Repo, blob: string): Promise<string | undefined> {
  try {
    return (await objectStore(repo).readType(blob, 'blob')).toString('utf8');
  } catch {
    return undefined;
  }
}

function checked<K extends ShapeName>(value: unknown, shape: K, where: string): Shapes[K] | undefined {
  const p = checkValue(shape, value, where);
  return p.ok ? p.value : undefined;
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown, max = Infinity): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max;
const isNum = (v: unknown) => v === undefined || (typeof v === 'number' && v >= 0);
const isList = (v: unknown) => v === undefined || (Array.isArray(v) && v.every((x) => typeof x === 'string'));

function envelopeOk(v: Record<string, unknown>): boolean {
  const ver = v.version;
  return (
    typeof v.fleet === 'string' &&
    typeof v.cluster === 'string' &&
    isObj(ver) &&
    typeof ver.commit === 'string' &&
    /^[0-9a-f]{40}$/.test(ver.commit) &&
    isCount(ver.seq) &&
    isCount(ver.epoch)
  );
}

/** One service's assignment in a placement record, when what a plan reads of it has the schema's shape. */
export function assignmentOk(a: unknown): boolean {
  if (!isObj(a) || !isCount(a.replicas) || typeof a.specHash !== 'string' || !isObj(a.spec)) return false;
  const s = a.spec as Partial<ServiceSpec> & Record<string, unknown>;
  if ((s.runtime !== 'container' && s.runtime !== 'process') || !isCount(s.replicas, 10_000)) return false;
  const r = s.resources as Record<string, unknown> | undefined;
  if (
    r !== undefined &&
    (!isObj(r) ||
      !isNum(r.cpu) ||
      !isNum(r.gpu) ||
      !isList(r.arch) ||
      !(
        r.memory === undefined ||
        typeof r.memory === 'number' ||
        (typeof r.memory === 'string' && /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.test(r.memory))
      ))
  )
    return false;
  const c = s.constraints as Record<string, unknown> | undefined;
  if (c === undefined) return true;
  if (!isObj(c)) return false;
  const cl = c.clusters as Record<string, unknown> | undefined;
  if (
    cl !== undefined &&
    (!isObj(cl) ||
      !isList(cl.names) ||
      !(cl.operator === undefined || typeof cl.operator === 'string') ||
      !(cl.matchLabels === undefined || isObj(cl.matchLabels)))
  )
    return false;
  const point = (p: unknown) => isObj(p) && typeof p.lat === 'number' && typeof p.lon === 'number';
  if (c.geo !== undefined && !(point(c.geo) && typeof (c.geo as Record<string, unknown>).withinKm === 'number')) return false;
  const l = c.latency as Record<string, unknown> | undefined;
  if (l !== undefined && !(isObj(l) && typeof l.maxMs === 'number' && (point(l.to) || (isObj(l.to) && typeof l.to.target === 'string')))) return false;
  return true;
}
