// The fleet's status, from Git alone (notes on main, placement refs, status refs), so that
// `canopy status` works from any clone, offline. Liveness comes from the status ref's commit
// times: a cluster commits on every meaningful change and at least every statusRefreshSeconds.
// A service is converged when every replica asked for runs and is ready. A rollout the notes
// tell (report/rollouts.ts) says paused or rolled-back when it failed, progressing wave by wave.
import type { ClusterStatus, Placement } from '../../schemas/messages.js';
import { listRefs, readCommit, readFileAt, resolveRef, type Repo } from '../git/repo.js';
import { firstParents } from '../git/log.js';
import { NOTES_REF, readNote } from '../git/notes.js';
import { checkNoteOn, type CommitNote } from '../core/note.js';
import { loadDesired, type DesiredState } from '../root/desired.js';
import type { ParseResult } from '../core/validate.js';
import { serviceNames } from '../core/service-names.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { readRecord } from '../git/records.js';
import { LIVENESS, placementRef, statusRef, type Liveness } from '../core/refs.js';
import type { NoteRollout } from '../core/note.js';
import type { Rollout } from '../../schemas/model.js';
import { rolloutReason, rolloutReport, rolloutsInForce, type RolloutReport } from './rollouts.js';
import { airGappedOf } from '../core/air-gapped.js';
import { awaitingJudged, type Awaiting } from './air-gapped.js';

export type ServiceState = 'converged' | 'progressing' | 'degraded' | 'unschedulable' | 'rejected' | 'paused' | 'rolled-back' | 'awaiting-bundle';

export interface ServiceReport {
  desired: number;
  running: number;
  /** Running replicas whose probe passes (an older cluster's running ones count as ready). */
  ready: number;
  /** Per cluster, its running replicas. */
  clusters: Record<string, number>;
  state: ServiceState;
  reason: string;
  /** Per cluster, the `host:port`s it exposes for the service (its running instances), as its status record says. */
  endpoints?: Record<string, string[]>;
  /** Per cluster, the images its replicas run: repository digests (`name@sha256:…`), else image IDs, as its status record says. */
  images?: Record<string, string[]>;
  /** How workloads reach it (a service with ports): `web.shop.canopy:8080`; `closest.` before it for the closest instance. */
  name?: string;
  /** Its ports as the descriptor lists them. */
  ports?: ServiceSpec['ports'];
  /** Its rollout not done yet, or done, as the notes tell it (paused and rolled-back are its `state` too). */
  rollout?: RolloutReport;
}
export interface ClusterReport {
  /** air-gapped: declared so (clusters/<c>.yaml spec.connectivity); never unreachable for being silent. */
  state: 'online' | 'unreachable' | 'air-gapped';
  /** clusters/<c>.yaml spec.retired: `draining` while it is still placed or runs replicas, then `retired`. */
  retired?: 'draining' | 'retired';
  /** The last heartbeat; for an air-gapped cluster, when its last status (come back by bundle) was recorded at the site. */
  lastHeartbeat: string | null;
  applied: { commit: string; seq: number; epoch: number } | null;
  nodes: { total: number; online: number };
}
export interface FleetReport {
  fleet: string | null;
  head: {
    commit: string;
    outcome: CommitNote['outcome'] | 'pending';
    convergedAt?: string;
    /** Every connected cluster converged on it; the air-gapped ones named await a bundle. */
    awaitingBundle?: string[];
    connectedConvergedAt?: string;
    problems?: CommitNote['problems'];
    /** Who signed the head, when fleet.yaml requires signed commits. */
    signature?: CommitNote['signature'];
  } | null;
  inForce: string | null;
  services: Record<string, ServiceReport>;
  clusters: Record<string, ClusterReport>;
  /** Records that are there and do not validate, each named: they were ignored. */
  warnings?: string[];
}

/** What a caller that reads the status again and again (the dashboard) keeps between reads: the last desired state and its parses. */
export interface StatusMemo {
  desired?: DesiredState;
  cache: Map<string, ParseResult>;
  /** What was read from a placement or status ref's commit (a commit's content never changes), with the warnings it gave. */
  records?: Map<string, { value: unknown; warnings: string[] }>;
}

/** `read` once per key while the key is in use: the entries a read does not ask for are dropped after it. */
export function recordReader(memo: Pick<StatusMemo, 'records'> | undefined, warn: (m: string) => void) {
  const before = memo?.records ?? new Map<string, { value: unknown; warnings: string[] }>();
  const now = new Map<string, { value: unknown; warnings: string[] }>();
  if (memo) memo.records = now;
  return async <T>(key: string, read: (warn: (m: string) => void) => Promise<T>): Promise<T> => {
    let hit = before.get(key) ?? now.get(key);
    if (!hit) {
      const warnings: string[] = [];
      hit = { value: await read((m) => void warnings.push(m)), warnings };
    }
    now.set(key, hit);
    for (const m of hit.warnings) warn(m);
    return hit.value as T;
  };
}

export async function fleetStatus(repo: Repo, now = new Date(), branch = 'main', memo?: StatusMemo): Promise<FleetReport> {
  const headOid = await resolveRef(repo, `refs/heads/${branch}`);
  const report: FleetReport = { fleet: null, head: null, inForce: null, services: {}, clusters: {} };
  if (!headOid) return report;
  const warn = (m: string) => void (report.warnings ??= []).push(m);
  let headNote: CommitNote | undefined;
  let good: CommitNote | undefined;
  for await (const { oid } of firstParents(repo, headOid, 1000)) {
    const text = await readNote(repo, oid);
    const checked = text === undefined ? undefined : checkNoteOn(oid, text);
    if (checked?.why) warn(`${NOTES_REF}: the note on ${oid.slice(0, 12)}: ${checked.why}: ignored`);
    const n = checked?.note;
    if (oid === headOid) headNote = n;
    if (n?.outcome === 'accepted') {
      good = n;
      break;
    }
  }
  report.head = {
    commit: headOid,
    outcome: headNote?.outcome ?? 'pending',
    ...(headNote?.convergedAt ? { convergedAt: headNote.convergedAt } : {}),
    ...(headNote?.awaitingBundle?.length && !headNote.convergedAt
      ? { awaitingBundle: headNote.awaitingBundle, connectedConvergedAt: headNote.connectedConvergedAt }
      : {}),
    ...(headNote?.problems ? { problems: headNote.problems } : {}),
    ...(headNote?.signature ? { signature: headNote.signature } : {}),
  };
  report.inForce = good?.commit ?? null;
  if (!good) return report;
  const tips = { placements: await listRefs(repo, 'refs/canopy/placements/'), statuses: await listRefs(repo, 'refs/canopy/status/') };
  return reportFrom(repo, report, { good, headNote, tips, now, memo });
}

/** The placement and status refs' commits to read, per cluster: their tips today, or the commits in force at a past moment (status-at.ts). */
export interface RecordTips {
  placements: Map<string, string>;
  statuses: Map<string, string>;
}

/** The report's services and clusters, from the commit in force (`good`) and the placement and status records at `tips`, judged at `now`. */
export async function reportFrom(
  repo: Repo,
  report: FleetReport,
  o: {
    good: CommitNote;
    headNote?: CommitNote;
    tips: RecordTips;
    now: Date;
    memo?: StatusMemo;
    /** status --at: the notes' rollouts as they read then (their later moments left out). */
    cutAt?: Date;
  },
): Promise<FleetReport> {
  const { good, headNote, tips, now, memo } = o;
  const warn = (m: string) => void (report.warnings ??= []).push(m);
  // With a memo, from the last state read (a tree diff), else the whole tree.
  const desired = await loadDesired(repo, good.commit, memo?.desired, memo?.cache ?? new Map());
  if (!desired.ok) return report;
  if (memo) memo.desired = desired.state;
  report.fleet = desired.state.fleet.metadata.name;
  const timings = desired.state.fleet.spec?.timings;
  const staleMs = 1000 * ((timings?.statusRefreshSeconds ?? 60) + (timings?.unreachableAfterSeconds ?? 10));

  const airGapped = airGappedOf(desired.state.index?.accepted('Cluster') ?? []);
  const once = recordReader(memo, warn);
  const placements = new Map<string, Placement>();
  const rootSays = new Map<string, Liveness>();
  for (const [c, oid] of tips.placements) {
    const p = await once(`${oid}:placement`, (w) => readRecord(repo, oid, 'placement.json', 'Placement', { ref: placementRef(c), warn: w }));
    if (p) placements.set(c, p);
    const l = await once(`${oid}:liveness`, () => readFileAt(repo, oid, LIVENESS).catch(() => undefined));
    try {
      if (l) rootSays.set(c, JSON.parse(l) as Liveness);
    } catch (e) {
      warn(`${placementRef(c)}:${LIVENESS}: not JSON (${(e as Error).message}): ignored`);
    }
  }
  const statuses = new Map<string, ClusterStatus>();
  for (const [c, oid] of tips.statuses) {
    let s = await once(`${oid}:status`, (w) => readRecord(repo, oid, 'status.json', 'ClusterStatus', { ref: statusRef(c), warn: w }));
    if (s && s.cluster !== c) {
      warn(`${statusRef(c)}:status.json: names cluster ${s.cluster}: ignored`);
      s = undefined;
    }
    const when = new Date((await once(`${oid}:commit`, () => readCommit(repo, oid))).committer.timestamp * 1000);
    // Unreachable when the root says so (it hears heartbeats every few seconds), or when the
    // cluster's own record has gone silent for longer than its refresh period allows.
    const root = rootSays.get(c);
    if (airGapped.has(c)) {
      report.clusters[c] = { state: 'air-gapped', lastHeartbeat: when.toISOString(), applied: s?.applied ?? null, nodes: s?.nodes ?? { total: 0, online: 0 } };
      if (s) statuses.set(c, s);
      continue;
    }
    const reachable = now.getTime() - when.getTime() <= staleMs && root?.state !== 'unreachable';
    const heard = root?.state === 'unreachable' && root.lastHeard ? root.lastHeard : when.toISOString();
    report.clusters[c] = {
      state: reachable ? 'online' : 'unreachable',
      lastHeartbeat: heard,
      applied: s?.applied ?? null,
      nodes: s?.nodes ?? { total: 0, online: 0 },
    };
    if (s) statuses.set(c, s);
  }
  for (const c of new Set([...placements.keys(), ...airGapped.keys()]))
    report.clusters[c] ??= { state: airGapped.has(c) ? 'air-gapped' : 'unreachable', lastHeartbeat: null, applied: null, nodes: { total: 0, online: 0 } };
  for (const c of desired.state.index?.accepted('Cluster') ?? []) {
    const r = report.clusters[c.metadata.name];
    if (!r || c.spec?.retired !== true) continue;
    const placed = Object.keys(placements.get(c.metadata.name)?.services ?? {}).length > 0;
    const runs = Object.values(statuses.get(c.metadata.name)?.services ?? {}).some((s) => s.running > 0);
    r.retired = placed || (runs && r.state === 'online') ? 'draining' : 'retired';
  }

  const rollouts = await rolloutsInForce(repo, good, warn, o.cutAt);
  const rejectedFiles = new Map((headNote?.outcome === 'rejected' ? (headNote.problems ?? []) : []).map((p) => [p.file, p]));
  for (const [id, svc] of desired.state.services) {
    const clusters: Record<string, number> = {};
    const endpoints: Record<string, string[]> = {};
    const images: Record<string, string[]> = {};
    const c: Counted = {
      want: svc.spec.replicas,
      placed: 0,
      running: 0,
      ready: 0,
      failed: 0,
      stale: false,
      unreachable: [],
      messages: [],
      unready: [],
      awaiting: [],
    };
    for (const [cn, p] of placements) {
      const a = p.services[id];
      if (!a) continue;
      c.placed += a.replicas;
      const st = statuses.get(cn);
      const s = st?.services[id];
      clusters[cn] = s?.running ?? 0;
      if (s?.endpoints?.length) endpoints[cn] = [...s.endpoints];
      if (s?.images?.length) images[cn] = [...s.images];
      c.running += s?.running ?? 0;
      // An older cluster reports no ready count: its running replicas are ready.
      c.ready += s?.ready ?? s?.running ?? 0;
      c.failed += s?.failed ?? 0;
      if (s?.message) c.messages.push(`${cn}: ${s.message}`);
      if (s && s.running > (s.ready ?? s.running)) c.unready.push(`${cn}: ${s.message ?? `${s.running - (s.ready ?? s.running)} not ready`}`);
      const behind = !st || st.applied?.seq !== p.version.seq || st.applied.epoch !== p.version.epoch;
      if (airGapped.has(cn) && (behind || (s?.running ?? 0) !== a.replicas || (s?.ready ?? s?.running ?? 0) !== a.replicas)) {
        // Not seen running it: it learns of it, and we of what it runs, by bundle only.
        c.awaiting!.push({ cluster: cn, seq: p.version.seq, replicas: a.replicas, running: s?.running ?? 0, ready: s?.ready ?? s?.running ?? 0, behind });
        continue;
      }
      if (behind) c.stale = true;
      if (report.clusters[cn]?.state === 'unreachable') c.unreachable.push(cn);
    }
    const rejected = rejectedFiles.get(svc.file);
    const r = rollouts.get(id);
    const { state, reason } = rejected
      ? { state: 'rejected' as const, reason: `${rejected.file}:${rejected.line}: ${rejected.message} (previous version still in force)` }
      : withRollout(judge(c, good.unschedulable?.[id]), r, svc.spec.rollout);
    const n = serviceNames(id, svc.spec);
    report.services[id] = {
      desired: c.want,
      running: c.running,
      ready: c.ready,
      clusters,
      state,
      reason,
      endpoints,
      images,
      ...(n ? { name: `${n.host}:${n.port}`, ports: svc.spec.ports } : {}),
      ...(r ? { rollout: rolloutReport(r) } : {}),
    };
  }
  return report;
}

/**
 * A service's state with its rollout: a failed one (paused, rolled-back) is the state, whatever
 * the counts; a progressing one makes converged or progressing `progressing` with its wave, and
 * adds its wave to degraded or unschedulable (what needs a look stays the state). Done: as judged.
 */
export function withRollout(
  j: { state: ServiceState; reason: string },
  r: NoteRollout | undefined,
  rollout?: Rollout,
): { state: ServiceState; reason: string } {
  if (!r || r.state === 'done') return j;
  if (r.state === 'paused' || r.state === 'rolled-back') return { state: r.state, reason: rolloutReason(r, rollout) };
  if (j.state === 'converged') return { state: 'progressing', reason: rolloutReason(r, rollout) };
  if (j.state === 'progressing') return { state: 'progressing', reason: rolloutReason(r, rollout, j.reason) };
  return { state: j.state, reason: `${j.reason}; ${rolloutReason(r, rollout)}` };
}

/** What a service's state is judged on: its replicas summed over the clusters it is placed on. */
export interface Counted {
  want: number;
  placed: number;
  running: number;
  /** Running and ready (an older cluster's running replicas count as ready). */
  ready: number;
  failed: number;
  /** A cluster has not applied its latest placement. */
  stale: boolean;
  unreachable: string[];
  /** `cluster: message` of every cluster with a message for it. */
  messages: string[];
  /** `cluster: why` of every cluster running replicas of it that are not ready (the probe's message). */
  unready: string[];
  /** Air-gapped clusters it is placed on not seen running it (report/air-gapped.ts): awaiting a bundle. */
  awaiting?: Awaiting[];
}

/**
 * A service's state and its reason (the state names are a contract: converged, progressing,
 * degraded, unschedulable; rejected is judged before). Converged: every replica asked for runs
 * and is ready, and every cluster applied its placement.
 */
export function judge(c: Counted, unschedulable?: string): { state: ServiceState; reason: string } {
  const counts = `${c.ready}/${c.want} ready, ${c.running} running`;
  if (c.placed < c.want) return { state: 'unschedulable', reason: unschedulable ?? `${c.placed} of ${c.want} replicas placed` };
  if (c.unreachable.length) return { state: 'degraded', reason: `cluster ${c.unreachable.join(', ')} unreachable` };
  if (c.failed) return { state: 'degraded', reason: c.messages.join('; ') || `${c.failed} replica(s) failed` };
  const waiting = awaitingJudged(c);
  if (waiting) return waiting;
  if (c.ready === c.want && c.running === c.want && !c.stale && !c.awaiting?.length)
    return { state: 'converged', reason: c.want ? `${c.ready}/${c.want} ready` : 'scaled to 0' };
  if (c.stale) return { state: 'progressing', reason: 'waiting for clusters to apply the latest placement' };
  // Which clusters, how many not ready there and why (the READY column and `ready` say how many in all).
  if (c.unready.length) return { state: 'progressing', reason: c.unready.join('; ').slice(0, 2000) };
  return { state: 'progressing', reason: counts };
}
