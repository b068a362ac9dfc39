// Air-gapped clusters at the root (clusters/<c>.yaml `spec.connectivity: air-gapped`): they never
// speak over MQTT, so the root knows one by its declaration alone, overlaid by the last status that
// came back for it by bundle (its refs/canopy/status/<c>, moved by `canopy bundle import` at the
// root). `syncAirGapped` runs after each accepted commit, at start and on every resync (a ref read
// per cluster): when the declaration or the status ref moved, the status is taken as if the
// cluster had reported it (inputs.ts), so placement and convergence see it (routes never lead to
// it: steps/routes.ts). Such a cluster is always "online" to placement (never unreachable for
// being silent, never failed over from); it is never sent a message (steps/delegate.ts sendTo):
// its placement ref is what a bundle carries.
import { airGappedOf, declaredStatus } from '../core/air-gapped.js';
import { canonicalJson } from '../core/ids.js';
import type { Logger } from '../core/log.js';
import { STATUS_FILE, statusRef } from '../core/refs.js';
import { readRecord } from '../git/records.js';
import { resolveRef, type Repo } from '../git/repo.js';
import { clusterStatusIn, type InputPorts } from './inputs.js';
import type { RootPorts, StatusRefsPort } from './ports.js';
import type { RootState } from './state.js';

export type SyncPorts = InputPorts & Pick<RootPorts, 'statusRefs'>;

/** Take every declared air-gapped cluster whose declaration or status ref moved; one no longer declared becomes an ordinary cluster. */
export async function syncAirGapped(state: RootState, ports: SyncPorts): Promise<void> {
  const declared = airGappedOf(state.good?.index?.accepted('Cluster') ?? []);
  for (const [c, st] of state.clusters) {
    if (!st.airGapped || declared.has(c)) continue;
    // Declared online now: it must speak to be heard; until then it is as any silent cluster.
    st.airGapped = undefined;
    st.online = false;
    st.offlineSince = ports.clock();
    ports.queue.enqueue('place');
    ports.queue.enqueue(`live:${c}`);
  }
  for (const [name, d] of declared) {
    const st = state.clusters.get(name);
    const tip = await ports.statusRefs?.tip(name);
    const key = canonicalJson([d.metadata.labels ?? {}, d.spec ?? {}]);
    const had = st?.airGapped;
    if (had && had.declared === key && had.tip === tip) continue;
    const last = tip ? await ports.statusRefs?.read(name, tip) : undefined;
    const status = declaredStatus(d, last, last?.at ?? new Date(state.startedAt).toISOString());
    clusterStatusIn(state, ports, name, status, true);
    state.clusters.get(name)!.airGapped = { declared: key, ...(tip ? { tip } : {}), ...(last ? { lastStatusAt: last.at } : {}) };
    // (st is the object clusterStatusIn updates: what it had is read before.)
    if (tip !== had?.tip)
      ports.log.info(`air-gapped cluster ${name}: ${last ? `status of ${last.at} taken from ${statusRef(name)}` : 'placed from its declaration'}`);
  }
}

/** Read from the repository's status refs; a damaged record is named in a warning and not taken. */
export function gitStatusRefs(repo: Repo, log: Logger): StatusRefsPort {
  return {
    tip: (cluster) => resolveRef(repo, statusRef(cluster)),
    async read(cluster, oid) {
      const ref = statusRef(cluster);
      const warn = (m: string) => log.warn(`${m}; ${cluster} is placed on from its declaration`);
      const s = await readRecord(repo, oid, STATUS_FILE, 'ClusterStatus', { ref, warn });
      if (s && s.cluster !== cluster) return void warn(`${ref}:${STATUS_FILE}: names cluster ${s.cluster}: ignored`);
      return s;
    },
  };
}
