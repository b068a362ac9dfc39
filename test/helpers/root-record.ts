// What the root writes to Git for a commit of main, without a broker or clusters: the same
// steps as root.ts's reconcileMain and place (load against the last good state, place with its
// IncrementalPlacer, placement documents kept by PlacementDocs, a cluster's placement ref
// committed only when touched, one note per commit), from cluster statuses given by the test,
// which also land on the status refs as the clusters would write them.
import type { ClusterStatus, Placement } from '../../schemas/messages.js';
import type { ParseResult } from '../../reconciler/core/validate.js';
import { renderNote } from '../../reconciler/core/note.js';
import { statusRef, STATUS_FILE } from '../../reconciler/core/refs.js';
import { readCommit, resolveRef, updateRef, writeCommit, type Identity, type Repo } from '../../reconciler/git/repo.js';
import { writeNotes } from '../../reconciler/git/notes.js';
import { writeServiceRecord } from '../../reconciler/git/service-records.js';
import { loadDesired, type DesiredState } from '../../reconciler/root/desired.js';
import { PlacementBook } from '../../reconciler/root/delegate.js';
import { IncrementalPlacer, PlacementDocs } from '../../reconciler/root/incremental.js';
import { clusterViewOf, type Allocation, type ClusterView, type RootPolicy } from '../../reconciler/root/place.js';

const ROOT: Identity = { name: 'canopy root', email: 'root@canopy.invalid' };

export class RootRecorder {
  good?: DesiredState;
  private readonly placer = new IncrementalPlacer();
  private readonly docs = new PlacementDocs();
  private readonly book: PlacementBook;
  private readonly cache = new Map<string, ParseResult>();
  private allocation: Allocation = new Map();
  private seq = 0;
  views: ClusterView[] = [];

  constructor(
    private readonly repo: Repo,
    private readonly fleet = 'big',
  ) {
    this.book = new PlacementBook(repo, ROOT);
  }

  /** The clusters report: status refs written, and the root's views of them. */
  async report(statuses: ClusterStatus[], at = new Date()): Promise<void> {
    for (const st of statuses) await writeStatus(this.repo, st, at);
    this.views = statuses.map((st) => ({ ...clusterViewOf(st), name: st.cluster }));
  }

  /** Reconcile `commit` as the root would: true when accepted. */
  async record(commit: string, at = new Date()): Promise<boolean> {
    const res = await loadDesired(this.repo, commit, this.good, this.cache);
    if (!res.ok) {
      await this.note(commit, renderNote({ outcome: 'rejected', commit, at: at.toISOString(), problems: res.problems, inForce: this.good?.commit }));
      return false;
    }
    this.good = res.state;
    const good = res.state;
    const policy = (good.fleet.spec?.scheduler?.root ?? 'bestfit') as RootPolicy;
    const placed = this.placer.place([...good.services.values()], this.views, this.allocation, policy, { targets: good.fleet.spec?.targets });
    this.allocation = this.placer.allocation;
    const touched = this.docs.update(placed.decisions, [...placed.recomputed, ...placed.removed], good.services);
    for (const cluster of new Set([...this.book.clusters(), ...this.views.map((v) => v.name)])) {
      const cur = this.book.get(cluster);
      if (cur && !touched.has(cluster)) continue;
      const services = this.docs.assignments(cluster);
      if (cur && placed.full && !this.book.differs(cluster, services)) continue;
      const doc: Placement = { fleet: this.fleet, cluster, version: { commit: good.commit, seq: ++this.seq, epoch: 0 }, services };
      await this.book.commit(doc, `placement ${cluster} #${this.seq} from ${good.commit.slice(0, 12)}`);
    }
    const changed = Object.fromEntries(
      [...res.changed].map((id) => {
        const d = placed.decisions.get(id)!;
        return [id, { desired: d.desired, placed: d.placed, clusters: Object.fromEntries(d.clusters), reason: d.reason }];
      }),
    );
    for (const id of res.removed) (changed as Record<string, unknown>)[id] = { removed: true };
    await this.note(commit, renderNote({ outcome: 'accepted', commit, at: at.toISOString(), changed, unschedulable: this.docs.short() }));
    return true;
  }

  private async note(commit: string, text: string): Promise<void> {
    await writeNotes(this.repo, new Map([[commit, text]]), ROOT, `canopy: ${commit.slice(0, 12)}`);
  }
}

/** One commit on the cluster's status ref holding `st`, dated `at`, in the layout clusters write (status-ref.ts). */
export async function writeStatus(repo: Repo, st: ClusterStatus, at: Date): Promise<void> {
  const ref = statusRef(st.cluster);
  const parent = await resolveRef(repo, ref);
  const { services, ...header } = st;
  const tree = await writeServiceRecord(repo, parent ? (await readCommit(repo, parent)).tree : undefined, STATUS_FILE, header, undefined, services);
  const oid = await writeCommit(repo, {
    tree,
    parents: parent ? [parent] : [],
    message: `${st.cluster}: status`,
    author: { name: st.cluster, email: `${st.cluster}@canopy.invalid` },
    time: at,
  });
  await updateRef(repo, ref, oid, parent);
}
