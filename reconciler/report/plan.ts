// What a change would do, for a pull request: desired state at base and at head, both placed
// by the root's own pure placement against the clusters' last known status and the current
// placements (sticky), compared service by service. From Git alone, so it runs in CI on a
// clone with the canopy refs fetched. No printing here: render-plan.ts does that.
import type { ClusterStatus, Placement } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { canonicalJson } from '../core/ids.js';
import { parseNote } from '../core/note.js';
import { LIVENESS, PLACEMENT_FILE, STATUS_FILE, type Liveness } from '../core/refs.js';
import type { ParseResult, Problem } from '../core/validate.js';
import { listRefs, readCommit, readFileAt, type Repo } from '../git/repo.js';
import { firstParents } from '../git/log.js';
import { readNote } from '../git/notes.js';
import { loadDesired, type DesiredState } from '../root/desired.js';
import { IncrementalPlacer } from '../root/incremental.js';
import { clusterViewOf, type Allocation, type ClusterView, type RootPolicy, type ServiceDecision } from '../root/place.js';

export interface RevisionInfo { rev: string; commit: string; subject: string }

export type ServiceChange = 'added' | 'removed' | 'changed' | 'moved' | 'unchanged';

export interface ServicePlan {
  id: string;
  change: ServiceChange;
  /** Spec fields that differ, one level deep: replicas, image, resources.cpu, constraints.geo… */
  fields: string[];
  replicas: { before: number | null; after: number | null };
  /** cluster → replicas, as placed for base and for head. */
  before: Record<string, number>;
  after: Record<string, number>;
  /** cluster → gained (+) or lost (−) replicas. */
  delta: Record<string, number>;
  /** The placement's own words (at head; at base for a removed service). */
  reason: string;
  /** Why head places fewer replicas than it asks for. */
  unschedulable?: string;
}

export interface ClusterPlan {
  name: string;
  /** false: declared in clusters/<name>.yaml but no status ref: not considered. */
  reported: boolean;
  lastStatus: string | null;
  ageSeconds: number | null;
  stale: boolean;
  note: string;
}

export interface ChangePlan {
  base: RevisionInfo & { inForce: string | null };
  head: RevisionInfo;
  fleet: string | null;
  accepted: boolean;
  verdict: string;
  problems: Problem[];
  /** Every service that changes or moves, and any unschedulable at head; sorted by id. */
  services: ServicePlan[];
  unchanged: number;
  clusters: ClusterPlan[];
  staleAfterSeconds: number;
}

export { RevisionError, resolveRev } from '../git/revision.js';
import { resolveRev } from '../git/revision.js';

export async function planChange(repo: Repo, o: { base: string; head: string; now?: Date }): Promise<ChangePlan> {
  const now = o.now ?? new Date();
  const baseOid = await resolveRev(repo, o.base);
  const headOid = await resolveRev(repo, o.head);
  const cache = new Map<string, ParseResult>();
  const base = await inForceAt(repo, baseOid, cache);
  // Head is judged against base: only what the change touched is read and parsed.
  const head = await loadDesired(repo, headOid, base, cache);
  const ref = head.ok ? head.state : base;
  const t = ref?.fleet.spec?.timings;
  const staleAfterSeconds = (t?.statusRefreshSeconds ?? 60) + (t?.unreachableAfterSeconds ?? 10);
  const { views, clusters } = await clusterViews(repo, ref, now, staleAfterSeconds);
  const previous = await currentAllocation(repo);

  const plan: ChangePlan = {
    base: { ...(await info(repo, o.base, baseOid)), inForce: base?.commit ?? null },
    head: await info(repo, o.head, headOid),
    fleet: ref?.fleet.metadata.name ?? null,
    accepted: head.ok, verdict: '', problems: head.ok ? [] : head.problems,
    services: [], unchanged: 0, clusters, staleAfterSeconds,
  };
  if (!head.ok) {
    plan.verdict = `would be rejected: ${head.problems.length} problem(s); nothing from it would apply` +
      (base ? ` and ${base.commit.slice(0, 12)} would stay in force` : '');
    return plan;
  }
  // Base is placed in full; head re-places only what it changed (the same result, see incremental.ts).
  const placer = new IncrementalPlacer();
  const place = (s: DesiredState | undefined) => s
    ? new Map(placer.place([...s.services.values()], views, previous, (s.fleet.spec?.scheduler?.root ?? 'bestfit') as RootPolicy, { targets: s.fleet.spec?.targets }).decisions)
    : new Map<string, ServiceDecision>();
  const before = place(base);
  const all = compareServices(base, head.state, before, place(head.state));
  plan.services = all.filter((s) => s.change !== 'unchanged' || s.unschedulable);
  plan.unchanged = all.filter((s) => s.change === 'unchanged').length;
  plan.verdict = verdictOf(all);
  return plan;
}

/** Pure: each service's change between the two desired states and their placements. */
export function compareServices(base: DesiredState | undefined, head: DesiredState, before: Map<string, ServiceDecision>, after: Map<string, ServiceDecision>): ServicePlan[] {
  const ids = [...new Set([...(base?.services.keys() ?? []), ...head.services.keys()])].sort();
  return ids.map((id) => {
    const b = base?.services.get(id), h = head.services.get(id);
    const db = before.get(id), dh = after.get(id);
    const from = Object.fromEntries(db?.clusters ?? []), to = Object.fromEntries(dh?.clusters ?? []);
    const delta: Record<string, number> = {};
    for (const c of new Set([...Object.keys(from), ...Object.keys(to)])) {
      const d = (to[c] ?? 0) - (from[c] ?? 0);
      if (d) delta[c] = d;
    }
    const fields = b && h && b.specHash !== h.specHash ? specFields(b.spec, h.spec) : [];
    const change: ServiceChange = !b ? 'added' : !h ? 'removed' : fields.length ? 'changed' : Object.keys(delta).length ? 'moved' : 'unchanged';
    const p: ServicePlan = {
      id, change, fields, replicas: { before: b?.spec.replicas ?? null, after: h?.spec.replicas ?? null },
      before: from, after: to, delta, reason: h ? dh?.reason ?? '' : 'removed from the fleet; its replicas stop',
    };
    if (dh && dh.placed < dh.desired) p.unschedulable = dh.reason;
    return p;
  });
}

/** Which spec fields differ; objects (resources, constraints, env…) one level deeper. */
export function specFields(a: ServiceSpec, b: ServiceSpec): string[] {
  const out: string[] = [];
  const ra = a as Record<string, unknown>, rb = b as Record<string, unknown>;
  for (const k of [...new Set([...Object.keys(ra), ...Object.keys(rb)])].sort()) {
    const x = ra[k], y = rb[k];
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

function verdictOf(all: ServicePlan[]): string {
  const count = (c: ServiceChange) => all.filter((s) => s.change === c).length;
  const parts = (['added', 'changed', 'removed', 'moved'] as const).filter((c) => count(c)).map((c) => `${count(c)} ${c}`);
  const un = all.filter((s) => s.unschedulable).length;
  return `would be accepted: ${parts.length ? parts.join(', ') : 'no service changes'}` +
    (count('unchanged') ? `, ${count('unchanged')} unchanged` : '') + (un ? `; ${un} unschedulable` : '');
}

/**
 * The desired state in force at `commit`: its own when it validates, else (it was or would be
 * rejected) the last good one before it, as the root would keep. Bounded walk.
 */
async function inForceAt(repo: Repo, commit: string, cache: Map<string, ParseResult>): Promise<DesiredState | undefined> {
  for await (const { oid } of firstParents(repo, commit, 200)) {
    const text = await readNote(repo, oid);
    const note = text ? parseNote(text) : undefined;
    const at = note?.outcome === 'rejected' && note.inForce ? note.inForce : oid;
    const r = await loadDesired(repo, at, undefined, cache).catch(() => undefined);
    if (r?.ok) return r.state;
  }
  return undefined;
}

async function info(repo: Repo, rev: string, commit: string): Promise<RevisionInfo> {
  return { rev, commit, subject: (await readCommit(repo, commit)).message.split('\n')[0] };
}

/** Every cluster with a status ref, as the root would see it, available; and the declared ones that never reported. */
async function clusterViews(repo: Repo, desired: DesiredState | undefined, now: Date, staleAfterSeconds: number) {
  const views: ClusterView[] = [];
  const clusters: ClusterPlan[] = [];
  const liveness = new Map<string, Liveness>();
  for (const [c, oid] of await listRefs(repo, 'refs/canopy/placements/')) {
    const l = await readFileAt(repo, oid, LIVENESS).catch(() => undefined);
    try { if (l) liveness.set(c, JSON.parse(l) as Liveness); } catch { /* a damaged record says nothing */ }
  }
  for (const [name, oid] of await listRefs(repo, 'refs/canopy/status/')) {
    const st = await readRecord(repo, oid, STATUS_FILE, 'ClusterStatus');
    const when = new Date((await readCommit(repo, oid)).committer.timestamp * 1000);
    if (!st) { clusters.push({ name, reported: false, lastStatus: when.toISOString(), ageSeconds: null, stale: true, note: 'status record unreadable: not considered' }); continue; }
    const ageS = Math.round((now.getTime() - when.getTime()) / 1000);
    const rootSaysDown = liveness.get(name)?.state === 'unreachable';
    const stale = ageS > staleAfterSeconds || rootSaysDown;
    const why = rootSaysDown ? `the root last recorded it unreachable (since ${liveness.get(name)!.since})` : `silent for longer than ${staleAfterSeconds} s (statusRefreshSeconds + unreachableAfterSeconds)`;
    clusters.push({ name, reported: true, lastStatus: when.toISOString(), ageSeconds: ageS, stale, note: stale ? `stale: ${why}; planned as if available` : 'from its last status' });
    // The same view the root builds (footprint, latency, node sizes), as if the cluster were up.
    views.push({ ...clusterViewOf(st, { online: true, offlineForMs: 0 }), name });
  }
  for (const path of desired?.files.keys() ?? []) {
    const name = /^clusters\/([^/]+)\.yaml$/.exec(path)?.[1];
    if (name && !clusters.some((c) => c.name === name)) clusters.push({ name, reported: false, lastStatus: null, ageSeconds: null, stale: false, note: 'never reported: not considered' });
  }
  clusters.sort((a, b) => a.name.localeCompare(b.name));
  return { views, clusters };
}

/** service → cluster → replicas, from the placement refs: what the root has handed out. */
async function currentAllocation(repo: Repo): Promise<Allocation> {
  const out: Allocation = new Map();
  for (const [cluster, oid] of await listRefs(repo, 'refs/canopy/placements/')) {
    const p = await readRecord(repo, oid, PLACEMENT_FILE, 'Placement');
    for (const [id, a] of Object.entries(p?.services ?? {})) {
      if (!out.has(id)) out.set(id, new Map());
      out.get(id)!.set(cluster, a.replicas);
    }
  }
  return out;
}

export { readRecord } from '../git/records.js';
import { readRecord } from '../git/records.js';
