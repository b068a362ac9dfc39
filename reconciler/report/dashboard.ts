// What the web dashboard shows beside `canopy status --json` (fleet-status.ts), from the same
// Git records: where each cluster is and how much of it is used (its status record, else its
// clusters/<c>.yaml at main), and the commit timeline (history.ts's commit, converged and rollout
// events). Nothing here is kept between requests: every answer is read from Git again.
import { parse as parseYaml } from 'yaml';
import { listRefs, readCommit, readFileAt, resolveRef, type Repo } from '../git/repo.js';
import { listFiles } from '../git/tree.js';
import { readRecord } from '../git/records.js';
import { MAIN, statusRef } from '../core/refs.js';
import { fleetHistory, type HistoryEvent } from './history.js';
import { recordReader, type StatusMemo } from './fleet-status.js';

export interface Capacity {
  cpu: number;
  memoryMi: number;
  gpu: number;
}

export interface ClusterPlace {
  /** Where it is: its status record's location, else its descriptor's spec.location. */
  location: { lat: number; lon: number } | null;
  /** What its nodes hold and what of it is free, as its latest status record says. */
  capacity: Capacity | null;
  free: Capacity | null;
  labels: Record<string, string>;
  operator: string | null;
}

export interface ClusterMap {
  clusters: Record<string, ClusterPlace>;
  warnings?: string[];
}

const NAME = /^clusters\/([a-z0-9-]+)\.yaml$/;

const blank = (): ClusterPlace => ({ location: null, capacity: null, free: null, labels: {}, operator: null });

/** The clusters main's clusters/*.yaml declare, with their location, labels and operator. */
async function declared(repo: Repo, head: string, warn: (m: string) => void): Promise<Record<string, ClusterPlace>> {
  const out: Record<string, ClusterPlace> = {};
  const files = await listFiles(repo, (await readCommit(repo, head)).tree);
  for (const file of files.keys()) {
    const name = NAME.exec(file)?.[1];
    if (!name) continue;
    const c = blank();
    out[name] = c;
    try {
      const d = parseYaml((await readFileAt(repo, head, file)) ?? '') as { metadata?: { labels?: Record<string, string> }; spec?: Record<string, unknown> };
      const at = d?.spec?.location as { lat?: unknown; lon?: unknown } | undefined;
      if (typeof at?.lat === 'number' && typeof at.lon === 'number') c.location = { lat: at.lat, lon: at.lon };
      if (d?.metadata?.labels && typeof d.metadata.labels === 'object') c.labels = { ...d.metadata.labels };
      if (typeof d?.spec?.operator === 'string') c.operator = d.spec.operator;
    } catch (e) {
      warn(`${file}: ${(e as Error).message}: its location is not known`);
    }
  }
  return out;
}

/** Every cluster of main's clusters/*.yaml and of the status refs, with where it is and its capacity (a memo keeps what was read by object id). */
export async function clusterMap(repo: Repo, memo?: Pick<StatusMemo, 'records'>): Promise<ClusterMap> {
  const out: ClusterMap = { clusters: {} };
  const warn = (m: string) => void (out.warnings ??= []).push(m);
  const once = recordReader(memo, warn);
  const head = await resolveRef(repo, MAIN);
  if (head) out.clusters = structuredClone(await once(`${head}:declared`, (w) => declared(repo, head, w)));
  for (const [name, oid] of await listRefs(repo, 'refs/canopy/status/')) {
    const s = await once(`${oid}:status`, (w) => readRecord(repo, oid, 'status.json', 'ClusterStatus', { ref: statusRef(name), warn: w }));
    const c = (out.clusters[name] ??= blank());
    if (!s) continue;
    if (s.location) c.location = { lat: s.location.lat, lon: s.location.lon };
    c.capacity = { ...s.capacity };
    c.free = { ...s.free };
    if (Object.keys(s.labels).length) c.labels = { ...s.labels };
    if (s.operator) c.operator = s.operator;
  }
  return out;
}

/** A commit's `changes` beyond this many are left out of the timeline (`changesOmitted` says how many). */
export const TIMELINE_CHANGES = 20;

export type TimelineEvent = Extract<HistoryEvent, { kind: 'commit' | 'converged' | 'rollout' }> & { changesOmitted?: number };

export interface Timeline {
  /** Newest first: main's commits with what the root said of each, their convergence, rollouts. */
  events: TimelineEvent[];
  truncated: string[];
  warnings?: string[];
}

/** A commit placing thousands of services (the first one of a fleet) names the first TIMELINE_CHANGES. */
function trimChanges(e: TimelineEvent): TimelineEvent {
  if (e.kind !== 'commit' || !e.changes) return e;
  const ids = Object.keys(e.changes);
  if (ids.length <= TIMELINE_CHANGES) return e;
  const changes = Object.fromEntries(ids.slice(0, TIMELINE_CHANGES).map((id) => [id, e.changes![id]]));
  return { ...e, changes, changesOmitted: ids.length - TIMELINE_CHANGES };
}

/** The most recent `max` commit, converged and rollout events of main (history.ts reads them from the notes). */
export async function timeline(repo: Repo, max = 40): Promise<Timeline> {
  // The notes and main are walked at most this far: a few events per commit.
  const h = await fleetHistory(repo, { limit: max * 2, mainOnly: true });
  const events = h.events.filter((e): e is TimelineEvent => e.kind === 'commit' || e.kind === 'converged' || e.kind === 'rollout');
  return {
    events: events.slice(-max).reverse().map(trimChanges),
    truncated: h.truncated,
    ...(h.warnings?.length ? { warnings: h.warnings } : {}),
  };
}
