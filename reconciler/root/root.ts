// The root reconciler's composition: Git in (main), MQTT both ways (clusters), Git out
// (placement refs, notes). One pass: fetch revision → validate → plan → dispatch → record.
import type { Bus } from '../mqtt/bus.js';
import { topics as topicsFor } from '../mqtt/topics.js';
import type { ClusterStatus as ClusterStatusT, Placement } from '../../schemas/messages.js';
import type { ParseResult } from '../core/validate.js';
import type { Logger } from '../core/log.js';
import { startLoop, type Loop } from '../runtime/loop.js';
import { resolveRef, type Repo, type Identity } from '../git/repo.js';
import { writeNotes, NOTES_REF } from '../git/notes.js';
import { placementRef, statusRef, STATUS_FILE } from '../core/refs.js';
import { readRecordHeader } from '../git/service-records.js';
import { checkValue, parsePayload } from '../../schemas/parse.js';
import { renderNote, parseNote, type CommitNote } from '../core/note.js';
import { loadDesired, type DesiredState } from './desired.js';
import { clusterViewOf, keepRefusals, type Allocation, type ClusterView, type RootPolicy, type Refusal } from './place.js';
import { PlacementBook, sameVersion } from './delegate.js';
import { recoverRoot, skippedCommits } from './recover.js';
import { IncrementalPlacer, PlacementDocs } from './incremental.js';
import { watchRef, type RefWatcher } from '../git/watch.js';
import { startMaintenance } from '../git/maintenance.js';

export interface RootOptions {
  repo: Repo;
  bus: Bus;
  fleet: string;
  log: Logger;
  branch?: string;
  now?: () => Date;
  /** Told of every ref the root has written (a remote sync pushes it). */
  onWrite?: (ref: string) => void;
}

export interface Root {
  /** Resolves once the current head has been processed (tests). */
  idle(): Promise<void>;
  stop(): Promise<void>;
  readonly stats: { rejected: number; accepted: number; sent: number };
}

interface ClusterState {
  status?: ClusterStatusT;
  online: boolean;
  lastHeard: number;
  offlineSince?: number;
  lastSent?: { seq: number; at: number };
  recorded?: 'online' | 'unreachable';
  refused?: Record<string, Refusal>;
  /** Known from Git only (placed by an earlier root), not yet heard over MQTT. */
  unheard?: ClusterView['unheard'];
}

const AUTHOR: Identity = { name: 'canopy root', email: 'root@canopy.invalid' };
/** A send this recent is still in flight: a status saying the cluster is behind may predate it. */
const RESEND_AFTER_MS = 1000;

export async function startRoot(o: RootOptions): Promise<Root> {
  const now = o.now ?? (() => new Date());
  const branchRef = `refs/heads/${o.branch ?? 'main'}`;
  const t = topicsFor(o.fleet);
  const book = new PlacementBook(o.repo, AUTHOR);
  const clusters = new Map<string, ClusterState>();
  const parseCache = new Map<string, ParseResult>();
  const stats = { rejected: 0, accepted: 0, sent: 0 };
  const rec = await recoverRoot(o.repo, branchRef, book, parseCache);
  let good: DesiredState | undefined = rec.good;
  let seen: string | undefined = rec.seen;
  let pending: CommitNote | undefined = rec.pending; // the good commit's note, until converged
  const older: CommitNote[] = [];
  let lastPendingText = ''; // accepted before it, converging with it
  let seq = book.maxSeq();
  let epoch = book.maxEpoch();
  let allocation: Allocation = rec.allocation;
  const placer = new IncrementalPlacer();
  const docs = new PlacementDocs();
  const counts = new RunningCounts();
  if (good) counts.desiredChanged(good.services.keys(), good.services);
  const startedAt = Date.now();
  await seedUnheard();

  const loop: Loop = startLoop({
    name: 'root',
    log: o.log,
    resyncMs: 5000,
    resyncKeys: () => ['main', 'converge'],
    reconcile: async (key) => {
      if (key === 'main') return reconcileMain();
      if (key === 'place') return reconcilePlacement();
      if (key === 'converge') return reconcileConvergence();
      if (key.startsWith('send:')) return sendTo(key.slice(5));
      if (key.startsWith('live:')) return recordLiveness(key.slice(5));
    },
  });

  async function reconcileMain(): Promise<void> {
    const head = await resolveRef(o.repo, branchRef);
    if (!head || head === seen) return;
    // The last good state is handed over (no copy of the fleet); a rejection leaves it intact.
    const tl = performance.now();
    const res = await loadDesired(o.repo, head, good, parseCache, { consume: true });
    o.log.debug(`loaded ${head.slice(0, 12)} in ${Math.round(performance.now() - tl)} ms`);
    const notes = new Map<string, string>();
    for (const skipped of await between(seen, head)) {
      notes.set(skipped, renderNote({ outcome: 'superseded', commit: skipped, at: now().toISOString(), supersededBy: head }));
    }
    if (!res.ok) {
      stats.rejected++;
      o.log.warn(`rejected ${head.slice(0, 12)}: ${res.problems.length} problem(s), keeping ${good?.commit.slice(0, 12) ?? 'nothing'}`);
      notes.set(head, renderNote({ outcome: 'rejected', commit: head, at: now().toISOString(), problems: res.problems, inForce: good?.commit }));
      await writeNotes(o.repo, notes, AUTHOR, `canopy: ${head.slice(0, 12)} rejected`);
      o.onWrite?.(NOTES_REF);
      seen = head;
      return;
    }
    stats.accepted++;
    good = res.state;
    counts.desiredChanged([...res.changed, ...res.removed], good.services);
    seen = head;
    const changed: CommitNote['changed'] = {};
    for (const id of res.removed) changed[id] = { removed: true };
    if (pending && !pending.convergedAt) older.push(pending);
    pending = { outcome: 'accepted', commit: head, at: now().toISOString(), changed };
    await place(notes, [...res.changed], [...res.removed]);
    o.log.info(`accepted ${head.slice(0, 12)}: ${res.changed.size} changed, ${res.removed.size} removed`);
  }

  async function reconcilePlacement(): Promise<void> {
    const notes = new Map<string, string>();
    await place(notes, []);
  }

  /** Plan and dispatch: decide every service's clusters; write and send what changed. */
  async function place(notes: Map<string, string>, changedIds: string[], removedIds: string[] = []): Promise<void> {
    if (!good) return;
    const t0 = performance.now();
    const views: ClusterView[] = [...clusters].filter(([, s]) => s.status).map(([name, s]) => view(name, s));
    const policy = (good.fleet.spec?.scheduler?.root ?? 'bestfit') as RootPolicy;
    // Only services that can have moved are re-placed (incremental.ts: same result as placing all).
    const services = good.services;
    // Told what the commit changed, the placer looks at those services only (the full list is
    // for a run that must place everything).
    const placed = placer.place(
      () => [...services.values()],
      views,
      allocation,
      policy,
      { targets: good.fleet.spec?.targets },
      { changed: changedIds, removed: removedIds, get: (id) => services.get(id), size: services.size },
    );
    const { decisions } = placed;
    if (placed.full) o.log.debug(`placed all ${decisions.size} services: ${placed.why ?? 'full'}`);
    // A failover (replicas taken from an unreachable cluster under its failover policy) opens a
    // new epoch: every placement written from now on carries it, and a returning cluster stops
    // the replicas the newer epoch has moved away.
    const failedOver = [...placed.before].some(([id, was]) => {
      const d = decisions.get(id);
      return !!d && [...(was ?? [])].some(([c, n]) => n > (d.clusters.get(c) ?? 0) && /failed over/.test(d.excluded[c] ?? ''));
    });
    if (failedOver) {
      epoch++;
      o.log.warn(`failover: epoch ${epoch}`);
    }
    allocation = placer.allocation;
    scheduleFailover(views);
    const touched = docs.update(decisions, [...placed.recomputed, ...placed.removed], good.services);
    const t1 = performance.now();
    if (pending && !pending.convergedAt) {
      // Every service the commit changed, also on later passes: clusters that report after the
      // first pass change where things go, and the note must say where they went.
      const ids = new Set([
        ...changedIds,
        ...Object.entries(pending.changed ?? {})
          .filter(([, v]) => !('removed' in v))
          .map(([k]) => k),
      ]);
      for (const id of ids) {
        if (!decisions.has(id)) continue;
        const d = decisions.get(id)!;
        pending.changed![id] = { desired: d.desired, placed: d.placed, clusters: Object.fromEntries(d.clusters), reason: d.reason };
      }
      pending.unschedulable = docs.short();
      const text = renderNote(pending);
      if (text !== lastPendingText) {
        notes.set(pending.commit, text);
        lastPendingText = text;
      }
    }
    const t2 = performance.now();
    let written = 0;
    for (const cluster of new Set([...book.clusters(), ...views.map((v) => v.name)])) {
      const cur = book.get(cluster);
      const renew = !cur || (cur.version.epoch !== epoch && failedOver);
      // After a partial placement `touched` is exact; after a full one (a start, when the docs
      // are new) compare every cluster: one an earlier root placed work on may now get nothing.
      if (!renew && !placed.full && !touched.has(cluster)) continue;
      const services = docs.assignments(cluster);
      if (!renew && placed.full && !book.differs(cluster, services)) continue;
      const doc: Placement = { fleet: o.fleet, cluster, version: { commit: good.commit, seq: ++seq, epoch }, services };
      // The message names what changed here (all of it on a cluster's first placement).
      const ids = renew || placed.full ? Object.keys(services) : (touched.get(cluster) ?? []);
      const lines = ids.slice(0, 50).map((id) => `${id}: ${services[id] ? `${services[id].replicas} replica(s)` : 'removed'}`);
      if (ids.length > 50) lines.push(`… and ${ids.length - 50} more`);
      await book.commit(doc, `placement ${cluster} #${seq} from ${good.commit.slice(0, 12)}\n\n${lines.join('\n') || '(no services)'}`);
      o.onWrite?.(placementRef(cluster));
      loop.enqueue(`send:${cluster}`);
      written++;
    }
    const t3 = performance.now();
    if (notes.size) {
      await writeNotes(o.repo, notes, AUTHOR, `canopy: ${good.commit.slice(0, 12)} ${pending?.convergedAt ? 'converged' : 'accepted'}`);
      o.onWrite?.(NOTES_REF);
    }
    const ms = (a: number, b: number) => `${Math.round(b - a)} ms`;
    o.log.debug(
      `place ${placed.recomputed.size} of ${decisions.size}: decide ${ms(t0, t1)}, note ${ms(t1, t2)}, ${written} placement ref(s) ${ms(t2, t3)}, notes ${ms(t3, performance.now())}`,
    );
    loop.enqueue('converge');
  }

  /** Re-plan when the first failover deadline of a service on an unreachable cluster passes. */
  function scheduleFailover(views: ClusterView[]): void {
    let next = Infinity;
    for (const v of views) {
      if (v.online) continue;
      for (const [id, where] of allocation) {
        const after = good?.services.get(id)?.spec.failover?.afterSeconds;
        if (after !== undefined && where.get(v.name)) next = Math.min(next, after * 1000 - (v.offlineForMs ?? 0));
      }
    }
    if (next < Infinity) loop.enqueueAfter('place', Math.max(0, next) + 50);
  }

  async function recordLiveness(cluster: string): Promise<void> {
    const st = clusters.get(cluster);
    if (!st) return;
    const state = st.online ? 'online' : 'unreachable';
    if (st.recorded === state) return;
    st.recorded = state;
    const since = new Date(st.online ? Date.now() : (st.offlineSince ?? Date.now())).toISOString();
    await book.recordLiveness(cluster, { state, since, lastHeard: st.lastHeard ? new Date(st.lastHeard).toISOString() : null });
    o.onWrite?.(placementRef(cluster));
  }

  async function sendTo(cluster: string): Promise<{ requeueAfterMs: number } | void> {
    const st = clusters.get(cluster);
    const doc = book.get(cluster);
    if (!doc || !st?.online) return;
    if (sameVersion(st.status?.applied, doc.version)) return;
    // Sent moments ago: a status saying it is behind may predate our message. Look again once
    // the message has had time to land; a cluster publishes its status on change only, so
    // waiting for the next status could wait forever (it may have applied something older).
    const ls = st.lastSent;
    const since = ls ? Date.now() - ls.at : Infinity;
    if (ls && ls.seq === doc.version.seq && since < RESEND_AFTER_MS) return { requeueAfterMs: RESEND_AFTER_MS - since };
    // Marked sent before the message is built (building a patch from an old base may read Git):
    // statuses arriving meanwhile must not send it again.
    st.lastSent = { seq: doc.version.seq, at: Date.now() };
    const msg = await book.messageFor(cluster, st.status?.applied ?? null);
    if (!msg) return;
    o.log.debug(`to ${cluster}: ${msg.kind} to #${doc.version.seq}${msg.kind === 'patch' ? ` from #${msg.base.seq}, ${msg.ops.length} op(s)` : ''}`);
    stats.sent++;
    await o.bus.publish(t.clusterDesired(cluster), msg);
  }

  async function reconcileConvergence(): Promise<{ requeueAfterMs?: number } | void> {
    if (!pending || pending.convergedAt || !good) return;
    for (const [c, doc] of clusterDocs()) {
      const st = clusters.get(c);
      if (!st?.status || !sameVersion(st.status.applied, doc.version)) return;
    }
    // Every service runs as many replicas as it wants, and nothing else runs (kept as counts
    // updated by each status, so this check does not walk the fleet).
    if (counts.off() > 0) return;
    pending.convergedAt = now().toISOString();
    const notes = new Map([[pending.commit, renderNote(pending)]]);
    for (const n of older.splice(0)) notes.set(n.commit, renderNote({ ...n, convergedAt: pending.convergedAt }));
    await writeNotes(o.repo, notes, AUTHOR, `canopy: ${pending.commit.slice(0, 12)} converged`);
    o.onWrite?.(NOTES_REF);
    o.log.info(`converged ${pending.commit.slice(0, 12)}`);
  }

  function* clusterDocs(): Generator<[string, Placement]> {
    for (const c of book.clusters()) yield [c, book.get(c)!];
  }

  function view(name: string, s: ClusterState): ClusterView {
    // Known only by its placement: offline until heard, whatever its online flag says.
    const online = s.online && s.unheard !== 'unknown';
    return {
      ...clusterViewOf(s.status!, { online, offlineForMs: online ? 0 : Date.now() - (s.offlineSince ?? Date.now()), refused: s.refused, unheard: s.unheard }),
      name,
    };
  }

  /**
   * Clusters an earlier root placed work on, before any of them is heard: from the last status
   * each committed to Git (capacity, labels, location), offline since this root started. So a
   * restarted root keeps their replicas where they are (or fails them over by each service's
   * policy) instead of taking a cluster that has not spoken yet for one that is gone; the
   * broker's retained statuses (when it kept them) replace these at once.
   */
  async function seedUnheard(): Promise<void> {
    for (const cluster of book.clusters()) {
      if (!Object.keys(book.get(cluster)?.services ?? {}).length) continue;
      let status: ClusterStatusT | undefined;
      const oid = await resolveRef(o.repo, statusRef(cluster));
      if (oid) {
        const header = await readRecordHeader(o.repo, oid, STATUS_FILE).catch(() => undefined);
        const c = header && checkValue('ClusterStatus', { ...header, services: {} }, `${statusRef(cluster)}:${STATUS_FILE}`);
        if (c?.ok && c.value.cluster === cluster) status = c.value;
        else if (c && !c.ok) o.log.warn(`${c.error}: ignored; ${cluster} is kept as it was placed until it reports`);
      }
      const none = { cpu: 0, memoryMi: 0, gpu: 0 };
      clusters.set(cluster, {
        status: status ?? {
          kind: 'cluster-status',
          cluster,
          at: new Date(startedAt).toISOString(),
          applied: null,
          capacity: none,
          free: none,
          maxNodeFree: none,
          maxNode: none,
          arch: [],
          runtimes: [],
          labels: {},
          nodes: { total: 0, online: 0 },
          services: {},
        },
        online: false,
        lastHeard: 0,
        offlineSince: startedAt,
        unheard: status ? 'last status from Git' : 'unknown',
      });
    }
  }

  /** Commits after `from` up to (not including) `head` that were never reconciled (recover.ts). */
  async function between(from: string | undefined, head: string): Promise<string[]> {
    return from ? skippedCommits(o.repo, from, head) : [];
  }

  // ---- MQTT inputs: events only enqueue keys ----
  await o.bus.subscribe(t.allClusterStatus, (topic, payload) => {
    const parts = t.parse(topic);
    if (parts?.level !== 'cluster') return;
    if (!payload.length) return;
    const p = parsePayload('ClusterStatus', payload, topic);
    if (!p.ok) return o.bus.drop(topic, p.error);
    if (p.value.cluster !== parts.cluster) return o.bus.drop(topic, `${topic}: names cluster ${p.value.cluster}`);
    const st = clusters.get(parts.cluster) ?? { online: true, lastHeard: 0 };
    const before = st.status;
    st.status = p.value;
    st.unheard = undefined;
    counts.statusChanged(before, p.value, good?.services);
    // A cluster that could not place what it was given: full there for that service; re-place.
    const refusals = keepRefusals(st.refused, before, p.value, book.get(parts.cluster));
    st.refused = refusals.refused;
    st.lastHeard = Date.now();
    const wasOnline = st.online;
    st.online = true;
    st.offlineSince = undefined;
    clusters.set(parts.cluster, st);
    if (!before || !wasOnline || shapeChanged(before, p.value) || refusals.changed) loop.enqueue('place');
    if (!wasOnline) loop.enqueue(`live:${parts.cluster}`);
    // Resend when the cluster is behind (sendTo holds back a send in flight for a moment).
    if (!sameVersion(p.value.applied, book.get(parts.cluster)?.version)) loop.enqueue(`send:${parts.cluster}`);
    loop.enqueue('converge');
  });
  await o.bus.subscribe(t.allClusterOnline, (topic, payload) => {
    const parts = t.parse(topic);
    if (parts?.level !== 'cluster' || !payload.length) return;
    const p = parsePayload('OnlineMessage', payload, topic);
    if (!p.ok) return o.bus.drop(topic, p.error);
    const st = clusters.get(parts.cluster) ?? { online: false, lastHeard: 0 };
    if (st.online !== p.value.online) {
      st.online = p.value.online;
      if (p.value.online) {
        st.lastHeard = Date.now();
        st.offlineSince = undefined;
      } else st.offlineSince = Date.now();
      clusters.set(parts.cluster, st);
      o.log.info(`cluster ${parts.cluster} ${p.value.online ? 'online' : 'offline'}`);
      loop.enqueue('place');
      loop.enqueue(`live:${parts.cluster}`);
    }
  });
  o.bus.onConnect(() => {
    for (const c of clusters.keys()) loop.enqueue(`send:${c}`);
  });

  // Liveness is each cluster's MQTT session: its retained online flag, which the broker turns
  // false by the last will when the session dies (also after 1.5 × keepalive of silence). A
  // root cut off from the broker learns the truth again from the retained flags on reconnect.

  // Retained statuses arrive right after subscribing: give them a moment before the first pass,
  // so the root places onto the clusters that exist rather than onto none.
  const watcher: RefWatcher = watchRef(o.repo, branchRef, () => loop.enqueue('main'), o.log);
  // Everything the root writes is loose objects: packed as they pile up, as native git would.
  const maintenance = startMaintenance(o.repo, o.log);
  setTimeout(() => loop.enqueue('main'), 300);
  // A cluster known from Git and not heard within the fleet's unreachable period is recorded
  // unreachable beside its placement, so `canopy status` from Git says so.
  const unreachableMs = 1000 * (good?.fleet.spec?.timings?.unreachableAfterSeconds ?? 10);
  for (const [c, st] of clusters) if (st.unheard) loop.enqueueAfter(`live:${c}`, unreachableMs);

  return {
    stats,
    idle: () => loop.idle(),
    async stop() {
      await watcher.close();
      maintenance.stop();
      await loop.stop();
    },
  };
}

function shapeChanged(a: ClusterStatusT, b: ClusterStatusT): boolean {
  const key = (s: ClusterStatusT) =>
    JSON.stringify([s.capacity, s.maxNode, s.shapes, s.arch, s.runtimes, s.labels, s.operator, s.location, s.footprint, s.latency]);
  return key(a) !== key(b);
}

export { parseNote };

/**
 * Replicas running per service, summed over the clusters' latest statuses, and the services whose
 * sum is not what they want (or that run and are not wanted): kept up to date as statuses and
 * desired states arrive, so convergence is known without walking 10,000 services per status.
 */
class RunningCounts {
  private running = new Map<string, number>();
  private offIds = new Set<string>();

  off(): number {
    return this.offIds.size;
  }

  statusChanged(before: ClusterStatusT | undefined, now: ClusterStatusT, desired: ReadonlyMap<string, { spec: { replicas: number } }> | undefined): void {
    const was = before?.services ?? {};
    for (const [id, s] of Object.entries(now.services)) {
      const d = s.running - (was[id]?.running ?? 0);
      if (d) this.add(id, d, desired);
    }
    for (const [id, s] of Object.entries(was)) {
      if (!(id in now.services) && s.running) this.add(id, -s.running, desired);
    }
  }

  desiredChanged(ids: Iterable<string>, desired: ReadonlyMap<string, { spec: { replicas: number } }>): void {
    for (const id of ids) this.check(id, desired);
  }

  private add(id: string, d: number, desired: ReadonlyMap<string, { spec: { replicas: number } }> | undefined): void {
    const n = (this.running.get(id) ?? 0) + d;
    if (n) this.running.set(id, n);
    else this.running.delete(id);
    this.check(id, desired);
  }

  private check(id: string, desired: ReadonlyMap<string, { spec: { replicas: number } }> | undefined): void {
    if ((this.running.get(id) ?? 0) !== (desired?.get(id)?.spec.replicas ?? 0)) this.offIds.add(id);
    else this.offIds.delete(id);
  }
}
