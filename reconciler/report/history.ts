// Where a service (or the whole fleet) ran, when and why, from Git alone: the notes on main's
// commits (what the root decided), the placement refs' histories (what each cluster was asked
// to run, with the root's reason) and the status refs' histories (what each cluster observed,
// dated when observed). Walks are bounded; a truncated walk is reported, not hidden.
import type { ClusterStatus, Placement } from '../../schemas/messages.js';
import { CanopyError } from '../core/errors.js';
import { canonicalJson } from '../core/ids.js';
import { parseNote, type NotePlacement, type NoteProblem, type NoteSignature, type Outcome } from '../core/note.js';
import { LIVENESS, PLACEMENT_FILE, STATUS_FILE, type Liveness } from '../core/refs.js';
import { listRefs, readCommit, readFileAt, resolveRef, type Repo } from '../git/repo.js';
import { firstParentLog, firstParents } from '../git/log.js';
import { notesIndex } from '../git/notes.js';
import { objectStore } from '../git/odb.js';
import { listFiles } from '../git/tree.js';
import { readRecordsAlong } from '../git/records.js';
import { rolloutEvents, type RolloutEvent } from './history-rollouts.js';

export const WALK_LIMIT = 5000;

export interface Observation {
  desired: number;
  running: number;
  /** Running replicas whose probe passes; absent from an older cluster's record (as running). */
  ready?: number;
  failed: number;
  message?: string;
  /** The endpoints the cluster exposed for it (in a service's history: an event when they change). */
  endpoints?: string[];
}

export type HistoryEvent =
  | {
      kind: 'commit';
      at: string;
      commit: string;
      outcome: Outcome | 'pending';
      authored: string;
      author: string;
      subject: string;
      changes?: Record<string, NotePlacement | { removed: true }>;
      unschedulable?: Record<string, string>;
      problems?: NoteProblem[];
      supersededBy?: string;
      /** Who signed it, when fleet.yaml required signed commits. */
      signature?: NoteSignature;
    }
  | { kind: 'converged'; at: string; commit: string }
  | {
      kind: 'placement';
      at: string;
      cluster: string;
      commit: string;
      seq: number;
      epoch: number;
      services: Record<string, { replicas: number; was: number; respec: boolean; reason?: string }>;
    }
  | { kind: 'liveness'; at: string; cluster: string; state: Liveness['state']; lastHeard: string | null }
  | { kind: 'observed'; at: string; cluster: string; nodes: { total: number; online: number }; services: Record<string, Observation | null> }
  | RolloutEvent;

export interface History {
  service: string | null;
  since: string | null;
  /** `--until`: events after it are left out. */
  until?: string;
  events: HistoryEvent[];
  /** Refs whose walk stopped at the limit: older events are missing. */
  truncated: string[];
  known: string[];
  /** Parts of notes that were ignored (they do not have their shape), each naming the note. */
  warnings?: string[];
}

export class UnknownServiceError extends CanopyError {
  constructor(
    name: string,
    readonly known: string[],
    ambiguous = false,
  ) {
    super(
      'unknown-service',
      ambiguous
        ? `service ${name} is ambiguous: ${known.join(', ')}; give app/name`
        : `no service ${name} in the history; known: ${known.join(', ') || 'none'}`,
      { name },
    );
  }
}

/** `baseline`: the oldest record of a cut walk, known only as the state events start from. */
interface Rec<T> {
  oid: string;
  at: Date;
  value: T | undefined;
  extra?: string;
  baseline?: boolean;
}

const KIND_ORDER: Record<HistoryEvent['kind'], number> = { commit: 0, placement: 1, rollout: 2, liveness: 3, observed: 4, converged: 5 };

/** `mainOnly`: main's commits, notes and rollouts alone (the dashboard's timeline): the placement and status refs are not walked. */
export async function fleetHistory(
  repo: Repo,
  o: { service?: string; since?: Date; until?: Date; limit?: number; branch?: string; mainOnly?: boolean } = {},
): Promise<History> {
  const limit = o.limit ?? WALK_LIMIT;
  const truncated: string[] = [];
  const walk = async <T>(
    ref: string,
    tip: string,
    read: (commits: Array<{ oid: string; tree: string }>) => Promise<Array<T | undefined>>,
    extra?: (oid: string) => Promise<string | undefined>,
  ) => {
    // Commits newer than --until are stepped over (commit objects only), not counted toward the limit.
    const from = o.until ? await dated(repo, tip, o.until, 'author') : tip;
    if (!from) return [];
    const r = await chain(repo, from, limit, o.since, read, extra);
    if (r.truncated) truncated.push(ref);
    return r.recs;
  };
  const branch = `refs/heads/${o.branch ?? 'main'}`;
  const mainTip = (await resolveRef(repo, branch)) ?? (await resolveRef(repo, 'HEAD'));
  const mainFrom = mainTip && o.until ? await dated(repo, mainTip, o.until, 'committer') : mainTip;
  const commits = mainFrom ? await commitsWithNotes(repo, mainFrom, limit, o.since, () => truncated.push(branch)) : [];
  const placements = new Map<string, Rec<Placement>[]>();
  for (const [c, tip] of o.mainOnly ? [] : await listRefs(repo, 'refs/canopy/placements/')) {
    placements.set(
      c,
      await walk(
        `refs/canopy/placements/${c}`,
        tip,
        (cs) => readRecordsAlong(repo, cs, PLACEMENT_FILE, 'Placement'),
        (oid) => readFileAt(repo, oid, LIVENESS).catch(() => undefined),
      ),
    );
  }
  const statuses = new Map<string, Rec<ClusterStatus>[]>();
  for (const [c, tip] of o.mainOnly ? [] : await listRefs(repo, 'refs/canopy/status/')) {
    statuses.set(c, await walk(`refs/canopy/status/${c}`, tip, (cs) => readRecordsAlong(repo, cs, STATUS_FILE, 'ClusterStatus')));
  }

  const known = new Set<string>();
  if (mainTip) {
    for (const p of (await listFiles(repo, (await readCommit(repo, mainTip)).tree)).keys()) {
      const m = /^services\/([^/]+)\/([^/]+)\.yaml$/.exec(p);
      if (m) known.add(`${m[1]}/${m[2]}`);
    }
  }
  for (const c of commits) for (const id of Object.keys({ ...c.note?.changed, ...c.note?.unschedulable })) known.add(id);
  for (const c of commits) {
    const r = c.note?.rollouts;
    if (r && typeof r === 'object' && !Array.isArray(r)) for (const id of Object.keys(r)) known.add(id);
  }
  for (const recs of placements.values()) for (const r of recs) for (const id of Object.keys(r.value?.services ?? {})) known.add(id);
  for (const recs of statuses.values()) for (const r of recs) for (const id of Object.keys(r.value?.services ?? {})) known.add(id);
  const knownList = [...known].sort();
  const id = o.service === undefined ? undefined : pickService(o.service, knownList);

  const warnings: string[] = [];
  const warn = (m: string) => void (warnings.includes(m) || warnings.push(m));
  const events: HistoryEvent[] = [
    ...commitEvents(commits, id),
    ...rolloutEvents(
      commits.map((c) => c.note),
      id,
      warn,
    ),
    ...[...placements].flatMap(([c, recs]) => placementEvents(c, recs, id)),
    ...[...statuses].flatMap(([c, recs]) => observedEvents(c, recs, id)),
  ];
  // A placement's Git time has whole seconds, but it cannot precede the decision on its source
  // commit (notes have milliseconds): sort it just after that decision within its second.
  const decided = new Map(commits.flatMap((c) => (c.note ? [[c.oid, Date.parse(c.note.at)] as const] : [])));
  const key = (e: HistoryEvent) => (e.kind === 'placement' ? Math.max(Date.parse(e.at), (decided.get(e.commit) ?? 0) + 1) : Date.parse(e.at));
  const kept = events.filter((e) => (!o.since || Date.parse(e.at) >= o.since.getTime()) && (!o.until || Date.parse(e.at) <= o.until.getTime()));
  kept.sort((a, b) => key(a) - key(b) || KIND_ORDER[a.kind] - KIND_ORDER[b.kind]);
  return {
    service: id ?? null,
    since: o.since?.toISOString() ?? null,
    ...(o.until ? { until: o.until.toISOString() } : {}),
    events: kept,
    truncated,
    known: knownList,
    ...(warnings.length ? { warnings } : {}),
  };
}

/** `app/name`, or a bare name when exactly one app has a service of that name. */
function pickService(name: string, known: string[]): string {
  if (known.includes(name)) return name;
  const matches = name.includes('/') ? [] : known.filter((k) => k.endsWith(`/${name}`));
  if (matches.length === 1) return matches[0];
  throw new UnknownServiceError(name, matches.length ? matches : known, matches.length > 1);
}

/** The newest commit on `tip`'s first-parent line dated (whole seconds) at or before `until`: the walk for `--until` starts there. */
async function dated(repo: Repo, tip: string, until: Date, by: 'author' | 'committer'): Promise<string | undefined> {
  for await (const { oid, commit } of firstParents(repo, tip)) if (commit[by].timestamp * 1000 <= until.getTime()) return oid;
  return undefined;
}

/** A ref's first-parent history, oldest first; the commit just before `since` is kept as the baseline. */
async function chain<T>(
  repo: Repo,
  tip: string,
  limit: number,
  since: Date | undefined,
  read: (commits: Array<{ oid: string; tree: string }>) => Promise<Array<T | undefined>>,
  extra?: (oid: string) => Promise<string | undefined>,
) {
  const before = (c: { commit: { author: { timestamp: number } } }) => !!since && c.commit.author.timestamp * 1000 < since.getTime();
  const log = await firstParentLog(repo, tip, limit, before);
  const last = log[log.length - 1];
  const truncated = log.length >= limit && !!last?.commit.parent[0] && !before(last);
  // Records are read along the run (each from the one before it: what changed); heartbeat
  // commits repeat their parent's tree, so the extra file is read once per tree.
  const oldest = log.reverse();
  const values = await read(oldest.map(({ oid, commit }) => ({ oid, tree: commit.tree })));
  const extras = new Map<string, string | undefined>();
  const recs: Rec<T>[] = [];
  for (let i = 0; i < oldest.length; i++) {
    const { oid, commit } = oldest[i];
    if (extra && !extras.has(commit.tree)) extras.set(commit.tree, await extra(oid));
    recs.push({ oid, at: new Date(commit.author.timestamp * 1000), value: values[i], extra: extras.get(commit.tree) });
  }
  if (truncated && recs.length) recs[0].baseline = true;
  return { recs, truncated };
}

interface MainCommit {
  oid: string;
  authored: Date;
  committed: Date;
  author: string;
  subject: string;
  note?: ReturnType<typeof parseNote>;
}

async function commitsWithNotes(repo: Repo, tip: string, limit: number, since: Date | undefined, onTruncated: () => void): Promise<MainCommit[]> {
  const notes = await notesIndex(repo);
  const log = await firstParentLog(repo, tip, limit, (c) => !!since && c.commit.committer.timestamp * 1000 < since.getTime());
  if (log.length >= limit && log[log.length - 1].commit.parent[0]) onTruncated();
  const out: MainCommit[] = [];
  for (const { oid, commit } of log.reverse()) {
    const blob = notes.get(oid);
    out.push({
      oid,
      authored: new Date(commit.author.timestamp * 1000),
      committed: new Date(commit.committer.timestamp * 1000),
      author: commit.author.name,
      subject: commit.message.split('\n')[0],
      note: blob ? parseNote((await objectStore(repo).readType(blob, 'blob')).toString('utf8')) : undefined,
    });
  }
  return out;
}

function commitEvents(commits: MainCommit[], id: string | undefined): HistoryEvent[] {
  const out: HistoryEvent[] = [];
  const file = id ? `services/${id}.yaml` : undefined;
  for (const c of commits) {
    const n = c.note;
    const base = { commit: c.oid, authored: c.authored.toISOString(), author: c.author, subject: c.subject };
    if (!n) {
      if (!id) out.push({ kind: 'commit', at: c.committed.toISOString(), outcome: 'pending', ...base });
      continue;
    }
    const problems = (n.problems ?? []).filter((p) => !file || p.file === file);
    const changes = Object.fromEntries(Object.entries(n.changed ?? {}).filter(([k]) => !id || k === id));
    const unschedulable = Object.fromEntries(Object.entries(n.unschedulable ?? {}).filter(([k]) => !id || k === id));
    if (id && !(problems.length || Object.keys(changes).length)) continue;
    if (n.outcome === 'superseded' && id) continue;
    out.push({
      kind: 'commit',
      at: n.at,
      outcome: n.outcome,
      ...base,
      ...(n.outcome === 'accepted' ? { changes, unschedulable } : {}),
      ...(n.outcome === 'rejected' ? { problems } : {}),
      ...(n.supersededBy ? { supersededBy: n.supersededBy } : {}),
      ...(n.signature ? { signature: n.signature } : {}),
    });
    if (n.outcome === 'accepted' && n.convergedAt) out.push({ kind: 'converged', at: n.convergedAt, commit: c.oid });
  }
  return out;
}

function placementEvents(cluster: string, recs: Rec<Placement>[], id: string | undefined): HistoryEvent[] {
  const out: HistoryEvent[] = [];
  let prev: Placement['services'] = {};
  let live: Liveness['state'] = 'online';
  for (const r of recs) {
    const cur = r.value?.services ?? prev;
    const changed: Record<string, { replicas: number; was: number; respec: boolean; reason?: string }> = {};
    for (const sid of new Set([...Object.keys(prev), ...Object.keys(cur)])) {
      if (id && sid !== id) continue;
      const a = prev[sid],
        b = cur[sid];
      const respec = !!a && !!b && a.specHash !== b.specHash;
      if ((a?.replicas ?? 0) === (b?.replicas ?? 0) && !respec) continue;
      changed[sid] = { replicas: b?.replicas ?? 0, was: a?.replicas ?? 0, respec, ...(b?.reason ? { reason: b.reason } : {}) };
    }
    if (r.value && Object.keys(changed).length && !r.baseline) {
      const v = r.value.version;
      out.push({ kind: 'placement', at: r.at.toISOString(), cluster, commit: v.commit, seq: v.seq, epoch: v.epoch, services: changed });
    }
    prev = cur;
    const l = parseLiveness(r.extra);
    if (l && l.state !== live) {
      live = l.state;
      if (r.baseline) continue;
      if (!id || (cur[id]?.replicas ?? 0) > 0)
        out.push({ kind: 'liveness', at: new Date(l.since).toISOString(), cluster, state: l.state, lastHeard: l.lastHeard });
    }
  }
  return out;
}

function parseLiveness(text: string | undefined): Liveness | undefined {
  try {
    const l = text ? (JSON.parse(text) as Liveness) : undefined;
    return l && (l.state === 'online' || l.state === 'unreachable') && !Number.isNaN(Date.parse(l.since)) ? l : undefined;
  } catch {
    return undefined;
  }
}

/** One event per change of what the cluster observed; repeats (heartbeats) collapse. */
function observedEvents(cluster: string, recs: Rec<ClusterStatus>[], id: string | undefined): HistoryEvent[] {
  const out: HistoryEvent[] = [];
  let last: string | undefined;
  for (const r of recs) {
    const s = r.value;
    if (!s) continue;
    const pick = (x: ClusterStatus['services'][string]): Observation => ({
      desired: x.desired,
      running: x.running,
      ...(x.ready !== undefined ? { ready: x.ready } : {}),
      failed: x.failed,
      ...(x.message ? { message: x.message } : {}),
      ...(id && x.endpoints?.length ? { endpoints: x.endpoints } : {}),
    });
    const services: Record<string, Observation | null> = id
      ? { [id]: s.services[id] ? pick(s.services[id]) : null }
      : Object.fromEntries(Object.entries(s.services).map(([k, x]) => [k, pick(x)]));
    const key = canonicalJson(id ? services : { services, nodes: s.nodes });
    if (key === last) continue;
    const firstAbsent = id && last === undefined && services[id] === null;
    last = key;
    // The record's own time (ms) is when it was observed; the commit time is that, to the second.
    const at = Number.isNaN(Date.parse(s.at)) ? r.at.toISOString() : s.at;
    if (!firstAbsent && !r.baseline) out.push({ kind: 'observed', at, cluster, nodes: s.nodes, services });
  }
  return out;
}

/** `--since`: 2026-11-20, an ISO time, or "3 days ago" (seconds … weeks). */
export function parseSince(text: string, now = new Date()): Date | undefined {
  const t = text.trim();
  const ago = /^(\d+)\s*(second|minute|hour|day|week)s?\s+ago$/i.exec(t);
  if (ago) {
    const unit = { second: 1, minute: 60, hour: 3600, day: 86400, week: 604800 }[ago[2].toLowerCase() as 'day'];
    return new Date(now.getTime() - Number(ago[1]) * unit * 1000);
  }
  if (!/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) return undefined;
  // A date alone, or a time without a zone, is UTC: the timeline is printed in UTC.
  const iso = t.length === 10 ? `${t}T00:00:00Z` : /Z|[+-]\d{2}:?\d{2}$/.test(t) ? t.replace(' ', 'T') : `${t.replace(' ', 'T')}Z`;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
