// Clusters an earlier root placed work on, before any of them is heard: from the last status
// each committed to Git (capacity, labels, location), offline since this root started. So a
// restarted root keeps their replicas where they are (or fails them over by each service's
// policy) instead of taking a cluster that has not spoken yet for one that is gone; the
// broker's retained statuses (when it kept them) replace these at once.
import type { ClusterStatus } from '../../schemas/messages.js';
import { checkValue } from '../../schemas/parse.js';
import type { Logger } from '../core/log.js';
import { STATUS_FILE, statusRef } from '../core/refs.js';
import { resolveRef, type Repo } from '../git/repo.js';
import { readRecordHeaderOrWhy } from '../git/service-records.js';
import type { BookPort } from './ports.js';
import type { RootState } from './state.js';

/** A cluster's last status as it committed it (its header: no services), if there is a valid one. */
export type LastStatus = (cluster: string) => Promise<ClusterStatus | undefined>;

export async function seedUnheard(state: RootState, book: Pick<BookPort, 'clusters' | 'get'>, lastStatus: LastStatus): Promise<void> {
  for (const cluster of book.clusters()) {
    if (!Object.keys(book.get(cluster)?.services ?? {}).length) continue;
    const status = await lastStatus(cluster);
    state.clusters.set(cluster, {
      status: status ?? blankStatus(cluster, state.startedAt),
      online: false,
      lastHeard: 0,
      offlineSince: state.startedAt,
      unheard: status ? 'last status from Git' : 'unknown',
    });
  }
}

/** Read from the cluster's status ref (refs/canopy/status/<c>); a damaged record is named in a warning. */
export function committedStatus(repo: Repo, log: Logger): LastStatus {
  return async (cluster) => {
    const ref = statusRef(cluster);
    const oid = await resolveRef(repo, ref);
    if (!oid) return undefined;
    const where = `${ref}:${STATUS_FILE}`;
    const read = await readRecordHeaderOrWhy(repo, oid, STATUS_FILE).catch((e: Error) => ({ why: e.message, value: undefined }));
    const c = read.value ? checkValue('ClusterStatus', { ...read.value, services: {} }, where) : undefined;
    if (c?.ok && c.value.cluster === cluster) return c.value;
    const why = c ? (c.ok ? `${where}: names cluster ${c.value.cluster}` : c.error) : `${where}: ${read.why ?? 'absent'}`;
    log.warn(`${why}: ignored; ${cluster} is kept as it was placed until it reports`);
    return undefined;
  };
}

/** A cluster known by its placement alone: nothing is known of its capacity. */
function blankStatus(cluster: string, startedAt: number): ClusterStatus {
  const none = { cpu: 0, memoryMi: 0, gpu: 0 };
  return {
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
  };
}
