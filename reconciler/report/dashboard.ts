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

/** Every cluster of main's clusters/*.yaml and of the status refs, with where it is and its capacity. */
export async function clusterMap(repo: Repo): Promise<ClusterMap> {
  const out: ClusterMap = { clusters: {} };
  const warn = (m: string) => void (out.warnings ??= []).push(m);
  const blank = (): ClusterPlace => ({ location: null, capacity: null, free: null, labels: {}, operator: null });
  const head = await resolveRef(repo, MAIN);
  if (head) {
    const files = await listFiles(repo, (await readCommit(repo, head)).tree);
    for (const file of files.keys()) {
      const name = NAME.exec(file)?.[1];
      if (!name) continue;
      const c = blank();
      out.clusters[name] = c;
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
  }
  for (const [name, oid] of await listRefs(repo, 'refs/canopy/status/')) {
    const s = await readRecord(repo, oid, 'status.json', 'ClusterStatus', { ref: statusRef(name), warn });
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

export type TimelineEvent = Extract<HistoryEvent, { kind: 'commit' | 'converged' | 'rollout' }>;

export interface Timeline {
  /** Newest first: main's commits with what the root said of each, their convergence, rollouts. */
  events: TimelineEvent[];
  truncated: string[];
  warnings?: string[];
}

/** The most recent `max` commit, converged and rollout events of main (history.ts reads them from the notes). */
export async function timeline(repo: Repo, max = 40): Promise<Timeline> {
  // The notes and main are walked at most this far: a few events per commit.
  const h = await fleetHistory(repo, { limit: max * 2 });
  const events = h.events.filter((e): e is TimelineEvent => e.kind === 'commit' || e.kind === 'converged' || e.kind === 'rollout');
  return {
    events: events.slice(-max).reverse(),
    truncated: h.truncated,
    ...(h.warnings?.length ? { warnings: h.warnings } : {}),
  };
}
