// Step 4: hand each cluster its part. A cluster whose placement document changed gets a new
// version (seq, epoch) committed to its placement ref and a send queued; `sendTo` brings a
// cluster from what it reports applied to its current version (a patch when the book knows its
// base, else a snapshot), holding back while a send of that version may still be in flight.
import type { Placement } from '../../../schemas/messages.js';
import { placementRef } from '../../core/refs.js';
import { sameVersion } from '../delegate.js';
import type { RootPorts } from '../ports.js';
import type { RootState } from '../state.js';
import type { Pass, StepResult } from './pass.js';

/** A send this recent is still in flight: a status saying the cluster is behind may predate it. */
export const RESEND_AFTER_MS = 1000;
/** Services named in a placement commit's message; the rest are counted. */
const LISTED = 50;

export async function delegate(state: RootState, ports: Pick<RootPorts, 'book' | 'fleet' | 'wrote' | 'queue' | 'metrics'>, pass: Pass): Promise<StepResult> {
  const { good } = state;
  const { placed } = pass;
  if (!good || !placed) return 'done';
  const { result, touched, failedOver } = placed;
  const { book } = ports;
  for (const cluster of new Set([...book.clusters(), ...placed.clusters])) {
    const cur = book.get(cluster);
    const renew = !cur || (cur.version.epoch !== state.epoch && failedOver);
    // After a partial placement `touched` is exact; after a full one (a start, when the docs
    // are new) compare every cluster: one an earlier root placed work on may now get nothing.
    if (!renew && !result.full && !touched.has(cluster)) continue;
    const services = state.docs.assignments(cluster);
    if (!renew && result.full && !book.differs(cluster, services)) continue;
    const doc: Placement = { fleet: ports.fleet, cluster, version: { commit: good.commit, seq: ++state.seq, epoch: state.epoch }, services };
    // The message names what changed here (all of it on a cluster's first placement).
    const ids = renew || result.full ? Object.keys(services) : (touched.get(cluster) ?? []);
    await book.commit(doc, placementMessage(doc, ids));
    ports.wrote(placementRef(cluster));
    ports.queue.enqueue(`send:${cluster}`);
    ports.metrics.placementsWritten.inc();
    pass.written++;
  }
}

/** The placement commit's message: which version from which commit, and what changed. */
export function placementMessage(doc: Placement, ids: readonly string[]): string {
  const { services } = doc;
  const lines = ids.slice(0, LISTED).map((id) => `${id}: ${services[id] ? `${services[id].replicas} replica(s)` : 'removed'}`);
  if (ids.length > LISTED) lines.push(`… and ${ids.length - LISTED} more`);
  return `placement ${doc.cluster} #${doc.version.seq} from ${doc.version.commit.slice(0, 12)}\n\n${lines.join('\n') || '(no services)'}`;
}

export async function sendTo(
  state: RootState,
  ports: Pick<RootPorts, 'book' | 'send' | 'clock' | 'log' | 'stats' | 'metrics'>,
  cluster: string,
): Promise<{ requeueAfterMs: number } | undefined> {
  const st = state.clusters.get(cluster);
  const doc = ports.book.get(cluster);
  if (!doc || !st?.online) return;
  if (sameVersion(st.status?.applied, doc.version)) return;
  // Sent moments ago: a status saying it is behind may predate our message. Look again once
  // the message has had time to land; a cluster publishes its status on change only, so
  // waiting for the next status could wait forever (it may have applied something older).
  const ls = st.lastSent;
  const since = ls ? ports.clock() - ls.at : Infinity;
  if (ls && ls.seq === doc.version.seq && since < RESEND_AFTER_MS) return { requeueAfterMs: RESEND_AFTER_MS - since };
  // Marked sent before the message is built (building a patch from an old base may read Git):
  // statuses arriving meanwhile must not send it again.
  st.lastSent = { seq: doc.version.seq, at: ports.clock() };
  const msg = await ports.book.messageFor(cluster, st.status?.applied ?? null);
  if (!msg) return;
  ports.log.debug(`to ${cluster}: ${msg.kind} to #${doc.version.seq}${msg.kind === 'patch' ? ` from #${msg.base.seq}, ${msg.ops.length} op(s)` : ''}`);
  ports.stats.sent++;
  ports.metrics.sends.inc({ kind: msg.kind });
  await ports.send(cluster, msg);
}
