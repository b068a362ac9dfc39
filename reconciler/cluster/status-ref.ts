// refs/canopy/status/<cluster>: the cluster's aggregated status, one commit per change worth
// keeping, dated when it was observed. What is worth keeping: the applied version, node counts,
// each service's desired/running/ready/failed counts, what the cluster offers (runtimes, labels,
// architectures, place), and its capacity when it moved by more than a threshold (10 %): free
// capacity, report times and capacity wobble never commit. Between changes, a heartbeat commit
// (same tree) when the last commit is older than statusRefreshSeconds, so readers of Git alone
// can tell a live cluster from a silent one. Heartbeats either stack (every one kept: the ref
// only ever fast-forwards, so it can be pushed as is) or are amended (a heartbeat on top of a
// heartbeat replaces it: history reads "change, still alive"; the ref must then be force-pushed,
// which is safe since the cluster is its only writer).
import type { Capacity, ClusterStatus } from '../../schemas/messages.js';
import { resolveRef, writeCommit, updateRef, type Repo, type Identity } from '../git/repo.js';
import { readCommitObject } from '../git/log.js';
import { readServiceRecord, writeServiceRecord } from '../git/service-records.js';
import { canonicalJson } from '../core/ids.js';
import type { CommitSigner } from '../core/sshsig.js';

import { statusRef, STATUS_FILE } from '../core/refs.js';
export { statusRef, STATUS_FILE };

export interface RecorderOptions {
  /** 'stack' (default): every heartbeat is a commit. 'amend': a heartbeat replaces a heartbeat at the tip. */
  heartbeats?: 'stack' | 'amend';
  /** Relative change of capacity (cpu, memory) or node size worth a commit; default 0.1. */
  capacityThreshold?: number;
  /** Relative change of a measured latency worth a commit; default 0.25. */
  latencyThreshold?: number;
  /** Signs each status commit with the cluster's key (core/sshsig.ts), so the root can take its history by bundle. */
  sign?: CommitSigner;
}

const HEARTBEAT = ': heartbeat';

/** Why `next` is worth a commit after `last` (the status last committed), or undefined. */
export function meaningfulChange(last: ClusterStatus | undefined, next: ClusterStatus, o: RecorderOptions = {}): string | undefined {
  if (!last) return 'first status';
  const cap = o.capacityThreshold ?? 0.1;
  const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);
  if (!same(last.applied, next.applied)) return 'applied version';
  if (last.nodes.total !== next.nodes.total || last.nodes.online !== next.nodes.online) return 'nodes';
  for (const id of new Set([...Object.keys(last.services), ...Object.keys(next.services)])) {
    const a = last.services[id],
      b = next.services[id];
    if (!a || !b || !sameCounts(a, b)) return `service ${id}`;
    if (!same(a.endpoints, b.endpoints) || a.endpointsOmitted !== b.endpointsOmitted) return `endpoints of ${id}`;
    if (!same(a.images, b.images)) return `images of ${id}`; // which bytes run: the audit trail
    // Why replicas are unready or failing is what a reader of Git needs: a new reason is a record.
    const troubled = (b.ready ?? b.running) < b.running || b.failed > 0;
    if (troubled && a.message !== b.message) return `why ${id} is not ready`;
  }
  if (moved(last.capacity, next.capacity, cap)) return 'capacity';
  if (moved(last.maxNode, next.maxNode, cap)) return 'node sizes';
  const shapes = (s: ClusterStatus) => s.shapes ?? [];
  if (shapes(last).length !== shapes(next).length || shapes(last).some((c, i) => moved(c, shapes(next)[i], cap))) return 'node sizes';
  if (!same(last.runtimes, next.runtimes) || !same(last.arch, next.arch)) return 'runtimes';
  if (!same(last.labels, next.labels) || !same(last.operator, next.operator)) return 'labels';
  if (!same(last.location, next.location) || !same(last.footprint, next.footprint)) return 'location';
  const lat = o.latencyThreshold ?? 0.25;
  for (const t of new Set([...Object.keys(last.latency ?? {}), ...Object.keys(next.latency ?? {})])) {
    const a = last.latency?.[t],
      b = next.latency?.[t];
    if (!a || !b || a.source !== b.source || Math.abs(a.ms - b.ms) > lat * Math.max(a.ms, 1)) return `latency to ${t}`;
  }
  return undefined;
}

type Counts = Pick<ClusterStatus['services'][string], 'desired' | 'running' | 'ready' | 'failed'>;

/** The same desired, running, ready (absent: as running, an older cluster's record) and failed counts. */
function sameCounts(a: Counts, b: Counts): boolean {
  return a.desired === b.desired && a.running === b.running && (a.ready ?? a.running) === (b.ready ?? b.running) && a.failed === b.failed;
}

/** cpu or memory moved by more than `share` of what it was, or the GPU count changed. */
function moved(a: Capacity, b: Capacity, share: number): boolean {
  const rel = (x: number, y: number) => Math.abs(x - y) > share * Math.max(Math.abs(x), 1e-9);
  return rel(a.cpu, b.cpu) || rel(a.memoryMi, b.memoryMi) || a.gpu !== b.gpu;
}

/** Up to this many services are listed in a status commit's message; its status.json has them all. */
const LISTED = 40;

/**
 * The commit message: the cluster, its nodes and applied version; then the services that changed
 * since `last` (every service on a first record), at most LISTED of them.
 */
export function summary(s: ClusterStatus, last?: ClusterStatus): string {
  // `shop/web 3/3` when every running replica is ready; `shop/web 3/3, 1 not ready` when not.
  const line = (id: string, x: ClusterStatus['services'][string]) => {
    const unready = x.running - (x.ready ?? x.running);
    return `${id} ${x.running}/${x.desired}${unready ? `, ${unready} not ready` : ''}${x.failed ? ` (${x.failed} failed)` : ''}`;
  };
  const lines: string[] = [];
  let changed = 0;
  for (const [id, x] of Object.entries(s.services)) {
    const a = last?.services[id];
    if (a && sameCounts(a, x)) continue;
    if (++changed <= LISTED) lines.push(line(id, x));
  }
  for (const id of Object.keys(last?.services ?? {})) {
    if (id in s.services) continue;
    if (++changed <= LISTED) lines.push(`${id} gone`);
  }
  if (changed > LISTED) lines.push(`… and ${changed - LISTED} more (status.json has every service)`);
  const applied = s.applied ? `#${s.applied.seq} from ${s.applied.commit.slice(0, 12)}` : 'nothing applied';
  return `${s.cluster}: ${s.nodes.online}/${s.nodes.total} nodes, ${applied}` + (lines.length ? `\n\n${lines.join('\n')}` : '');
}

/** Every field of a service's status alike (ServiceStatus: counts, message, refusal, endpoints, images). */
function sameServiceStatus(a: ClusterStatus['services'][string], b: ClusterStatus['services'][string]): boolean {
  return (
    a.desired === b.desired &&
    a.running === b.running &&
    a.ready === b.ready &&
    a.failed === b.failed &&
    a.message === b.message &&
    a.refused?.count === b.refused?.count &&
    a.refused?.reason === b.refused?.reason &&
    (a.endpoints ?? []).join(' ') === (b.endpoints ?? []).join(' ') &&
    a.endpointsOmitted === b.endpointsOmitted &&
    (a.images ?? []).join(' ') === (b.images ?? []).join(' ')
  );
}

interface Tip {
  oid: string;
  tree: string;
  parent?: string;
  at: number;
  heartbeat: boolean;
  status?: ClusterStatus;
}

export class StatusRecorder {
  private tip?: Tip;

  constructor(
    private readonly repo: Repo,
    private readonly cluster: string,
    private readonly author: Identity,
    private readonly o: RecorderOptions = {},
  ) {}

  /** Commit `s` if it differs meaningfully from the last record, or as a heartbeat when due. */
  async record(s: ClusterStatus, refreshMs: number): Promise<'changed' | 'heartbeat' | 'unchanged'> {
    const ref = statusRef(this.cluster);
    const head = await resolveRef(this.repo, ref);
    if (head !== this.tip?.oid) this.tip = head ? await this.read(head) : undefined;
    const tip = this.tip;
    const why = meaningfulChange(tip?.status, s, this.o);
    const observed = new Date(s.at);
    if (!why && observed.getTime() - (tip?.at ?? 0) < refreshMs) return 'unchanged';
    let oid: string;
    if (why || !tip) {
      // One file per service beside status.json: a change writes what changed.
      const { services, ...header } = s;
      const tree = await writeServiceRecord(this.repo, tip?.tree, STATUS_FILE, header, tip?.status?.services, services, sameServiceStatus);
      oid = await writeCommit(this.repo, {
        tree,
        parents: tip ? [tip.oid] : [],
        message: summary(s, tip?.status),
        author: this.author,
        time: observed,
        sign: this.o.sign,
      });
      this.tip = { oid, tree, parent: tip?.oid, at: observed.getTime(), heartbeat: false, status: s };
    } else {
      // A heartbeat on top of a heartbeat replaces it (amend), else it goes on top.
      const parent = this.o.heartbeats === 'amend' && tip.heartbeat && tip.parent ? tip.parent : tip.oid;
      oid = await writeCommit(this.repo, {
        tree: tip.tree,
        parents: [parent],
        message: `${this.cluster}${HEARTBEAT}`,
        author: this.author,
        time: observed,
        sign: this.o.sign,
      });
      this.tip = { ...tip, oid, parent, at: observed.getTime(), heartbeat: true };
    }
    await updateRef(this.repo, ref, oid, head);
    return why || !tip ? 'changed' : 'heartbeat';
  }

  /** The tip as another process (or this one before a restart) left it. */
  private async read(oid: string): Promise<Tip> {
    const c = await readCommitObject(this.repo, oid);
    const parentTree = c.parent[0] ? (await readCommitObject(this.repo, c.parent[0])).tree : undefined;
    // Unreadable: the next status commits afresh.
    const status = (await readServiceRecord(this.repo, oid, STATUS_FILE).catch(() => undefined)) as ClusterStatus | undefined;
    return {
      oid,
      tree: c.tree,
      parent: c.parent[0],
      at: c.committer.timestamp * 1000,
      heartbeat: parentTree === c.tree && c.message.startsWith(`${this.cluster}${HEARTBEAT}`),
      status,
    };
  }
}
