// Step 4: hand each cluster its part. A cluster whose placement document changed gets a new
// version (seq, epoch) committed to its placement ref and a send queued; `sendTo` brings a
// cluster from what it reports applied to its current version (a patch when the book knows its
// base, else a snapshot), holding back while a send of that version may still be in flight.
import { placementRef } from '../../core/refs.js';
import { changedRoutes } from '../routes.js';
import { markDesiredChanges, routeClusters, routesNow } from './routes.js';
import { placementMessage, writePlacement } from './write-placement.js';
import { sameVersion } from '../delegate.js';
import type { RootPorts } from '../ports.js';
import type { RootState } from '../state.js';
import type { Pass, StepResult } from './pass.js';
import { sameTrust, trustFor } from '../trust.js';
import { placementSecrets } from '../secrets.js';
import { placementFiles } from '../files.js';
import { versionOrder } from '../../core/version.js';
import type { Placement, Version } from '../../../schemas/messages.js';

/** A send this recent is still in flight: a status saying the cluster is behind may predate it. */
export const RESEND_AFTER_MS = 1000;
/**
 * A cluster still behind this long after a send is sent it again, the wait doubling to
 * RETRY_MAX_MS: the message may have been lost on the way while its connection never dropped (a
 * bridged site's queue on the central broker overflowed while its uplink was down), and a cluster
 * that heard nothing has nothing new to report.
 */
export const RETRY_AFTER_MS = 2000;
export const RETRY_MAX_MS = 30_000;
export const retryAfterMs = (tries: number) => Math.min(RETRY_MAX_MS, RETRY_AFTER_MS * 2 ** (tries - 1));
export { placementMessage };

export async function delegate(
  state: RootState,
  ports: Pick<RootPorts, 'book' | 'fleet' | 'wrote' | 'queue' | 'metrics' | 'log'>,
  pass: Pass,
): Promise<StepResult> {
  const { good } = state;
  const { placed } = pass;
  if (!good || !placed) return 'done';
  const { result, touched, failedOver } = placed;
  const { book } = ports;
  // Routes to compute again: those a status marked, and those the commit's changes reach.
  markDesiredChanges(state, pass);
  const dirty = new Set([...state.routes.take()].filter((c) => book.get(c)));
  const views = routeClusters(state);
  try {
    for (const cluster of new Set([...book.clusters(), ...placed.clusters, ...dirty])) {
      const cur = book.get(cluster);
      const trust = trustFor(state.trust, cluster);
      // New keys travel in a new placement, even when no service changed there (the same object
      // when nothing changed: a comparison of references per cluster and pass).
      const rekeyed = !!cur && cur.trust !== trust && !sameTrust(cur.trust, trust);
      const renew = !cur || (cur.version.epoch !== state.epoch && failedOver) || rekeyed;
      // After a partial placement `touched` is exact; after a full one (a start, when the docs
      // are new) compare every cluster: one an earlier root placed work on may now get nothing.
      const sealing = !!good.index?.usesSecrets() || !!cur?.secrets || !!cur?.registries;
      if (!renew && !result.full && !touched.has(cluster) && !dirty.has(cluster) && !sealing) continue;
      const services = state.docs.assignments(cluster);
      // The ciphertexts its services (and the fleet's registries) use, unopened.
      const sealed = good.index ? placementSecrets(good.index, services, cluster, cur) : {};
      // The config files its services' specs name, by blob id (the same object when unchanged).
      const files = good.index ? placementFiles(good.index, services, cur) : {};
      const resealed = sealed.secrets !== cur?.secrets || sealed.registries !== cur?.registries || files.files !== cur?.files;
      // Routes that changed make a new version too (the same objects when none did).
      const routes = routesNow(state, ports.log, cluster, services, cur?.routes, views);
      state.routes.setRoutes(cluster, routes);
      const rerouted = routes !== cur?.routes;
      const changed = result.full ? book.differs(cluster, services) : touched.has(cluster);
      if (!renew && !rerouted && !changed && !resealed) continue;
      const doc: Placement = {
        fleet: ports.fleet,
        cluster,
        version: { commit: good.commit, seq: ++state.seq, epoch: state.epoch },
        ...(trust ? { trust } : {}),
        services,
        ...(routes ? { routes } : {}),
        ...sealed,
        ...files,
      };
      // The message names what changed here (all of it on a cluster's first placement).
      const ids = (renew && !rekeyed) || result.full ? Object.keys(services) : (touched.get(cluster) ?? []);
      // Removed because main deleted them, not moved elsewhere: the cluster's nodes drop their volumes.
      const deleted = (touched.get(cluster) ?? []).filter((id) => !services[id] && !good.services.has(id));
      if (deleted.length) doc.deleted = deleted.sort();
      await writePlacement(ports, pass, doc, ids, rerouted ? changedRoutes(cur?.routes, routes) : []);
    }
  } catch (e) {
    // Looked at again on the retry (those written find their routes unchanged).
    state.routes.mark(dirty);
    throw e;
  }
}

export async function sendTo(
  state: RootState,
  ports: Pick<RootPorts, 'book' | 'send' | 'clock' | 'log' | 'stats' | 'metrics' | 'wrote'>,
  cluster: string,
): Promise<{ requeueAfterMs: number } | undefined> {
  const st = state.clusters.get(cluster);
  let doc = ports.book.get(cluster);
  // An air-gapped cluster is never sent a message: its placement ref travels by bundle.
  if (!doc || !st?.online || st.airGapped) return;
  if (sameVersion(st.status?.applied, doc.version)) return;
  const applied = st.status?.applied;
  if (applied && versionOrder(applied, doc.version) > 0) doc = await reissue(state, ports, doc, applied);
  // Sent moments ago: a status saying it is behind may predate our message. Look again once
  // the message has had time to land; a cluster publishes its status on change only, so
  // waiting for the next status could wait forever (it may have applied something older).
  const ls = st.lastSent;
  const since = ls ? ports.clock() - ls.at : Infinity;
  if (ls && ls.seq === doc.version.seq && since < RESEND_AFTER_MS) return { requeueAfterMs: RESEND_AFTER_MS - since };
  // Marked sent before the message is built (building a patch from an old base may read Git):
  // statuses arriving meanwhile must not send it again.
  const tries = ls?.seq === doc.version.seq ? (ls.tries ?? 1) + 1 : 1;
  st.lastSent = { seq: doc.version.seq, at: ports.clock(), tries };
  const msg = await ports.book.messageFor(cluster, st.status?.applied ?? null);
  if (!msg) return;
  const again = tries > 1 ? ` (again: try ${tries})` : '';
  ports.log.debug(`to ${cluster}: ${msg.kind} to #${doc.version.seq}${msg.kind === 'patch' ? ` from #${msg.base.seq}, ${msg.ops.length} op(s)` : ''}${again}`);
  ports.stats.sent++;
  ports.metrics.sends.inc({ kind: msg.kind });
  await ports.send(cluster, msg);
  // Looked at again later: still behind then (no status naming this version), it is sent again.
  return { requeueAfterMs: retryAfterMs(tries) };
}

/**
 * A cluster holds a version ahead of anything the root wrote for it (a message the root never
 * sent, or a root's bug): it would ignore every real placement as stale. The placement in Git is
 * the truth: write it again as a version after the one the cluster holds, so the cluster takes it.
 */
async function reissue(state: RootState, ports: Pick<RootPorts, 'book' | 'log' | 'wrote'>, doc: Placement, applied: Version): Promise<Placement> {
  state.seq = Math.max(state.seq, applied.seq) + 1;
  state.epoch = Math.max(state.epoch, applied.epoch);
  const next: Placement = { ...doc, version: { commit: doc.version.commit, seq: state.seq, epoch: state.epoch } };
  ports.log.warn(
    `cluster ${doc.cluster} reports version #${applied.seq} (epoch ${applied.epoch}), ahead of its placement #${doc.version.seq}: ` +
      `not one the root wrote; placing it again as #${state.seq} so the cluster returns to its placement ref`,
  );
  await ports.book.commit(next, `placement ${doc.cluster} #${state.seq}: again, after the cluster reported #${applied.seq}, which the root never wrote`);
  ports.wrote(placementRef(doc.cluster));
  return next;
}
