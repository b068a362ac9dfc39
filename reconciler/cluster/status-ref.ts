// refs/canopy/status/<cluster>: the cluster's aggregated status, one commit per change worth
// keeping, dated when it was observed. A heartbeat commit (same tree) is added only when the
// last commit is older than the fleet's statusRefreshSeconds, so readers of Git alone can tell a
// live cluster from a silent one without a commit per heartbeat.
import type { ClusterStatus } from '../../schemas/messages.js';
import { resolveRef, readCommit, writeCommit, updateRef, type Repo, type Identity } from '../git/repo.js';
import { writeFiles } from '../git/tree.js';
import { canonicalJson } from '../core/ids.js';

import { statusRef, STATUS_FILE } from '../core/refs.js';
export { statusRef, STATUS_FILE };

/** The part of a status whose change is worth a commit (not the time, not free capacity wobble). */
export function meaningful(s: ClusterStatus): string {
  return canonicalJson({
    applied: s.applied, nodes: s.nodes, services: s.services, capacity: s.capacity,
    runtimes: s.runtimes, labels: s.labels, location: s.location ?? null,
  });
}

export function summary(s: ClusterStatus): string {
  const svc = Object.entries(s.services).map(([id, x]) => `${id} ${x.running}/${x.desired}${x.failed ? ` (${x.failed} failed)` : ''}`);
  const applied = s.applied ? `#${s.applied.seq} from ${s.applied.commit.slice(0, 12)}` : 'nothing applied';
  return `${s.cluster}: ${s.nodes.online}/${s.nodes.total} nodes, ${applied}` + (svc.length ? `\n\n${svc.join('\n')}` : '');
}

export class StatusRecorder {
  private last?: string;
  private lastAt = 0;

  constructor(private readonly repo: Repo, private readonly cluster: string, private readonly author: Identity) {}

  /** Commit `s` if it differs meaningfully from the last record, or as a heartbeat when due. */
  async record(s: ClusterStatus, refreshMs: number): Promise<'changed' | 'heartbeat' | 'unchanged'> {
    const ref = statusRef(this.cluster);
    const parent = await resolveRef(this.repo, ref);
    const key = meaningful(s);
    const observed = new Date(s.at);
    if (this.last === undefined && parent) {
      const c = await readCommit(this.repo, parent);
      this.lastAt = c.committer.timestamp * 1000;
      const { readFileAt } = await import('../git/repo.js');
      const text = await readFileAt(this.repo, parent, STATUS_FILE);
      try { this.last = text ? meaningful(JSON.parse(text)) : ''; } catch { this.last = ''; }
    }
    const changed = key !== this.last;
    if (!changed && observed.getTime() - this.lastAt < refreshMs) return 'unchanged';
    const base = parent ? (await readCommit(this.repo, parent)).tree : undefined;
    const tree = changed ? await writeFiles(this.repo, base, new Map([[STATUS_FILE, JSON.stringify(s, null, 1) + '\n']])) : base!;
    const message = changed ? summary(s) : `${this.cluster}: heartbeat`;
    const oid = await writeCommit(this.repo, { tree, parents: parent ? [parent] : [], message, author: this.author, time: observed });
    await updateRef(this.repo, ref, oid, parent);
    this.last = key;
    this.lastAt = observed.getTime();
    return changed ? 'changed' : 'heartbeat';
  }
}
