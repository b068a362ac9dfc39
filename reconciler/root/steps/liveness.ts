// Recording liveness: a cluster's transitions between online and unreachable, as the root saw
// them, are written beside its placement (delegate.ts), so `canopy status` from Git says so.
import { placementRef } from '../../core/refs.js';
import type { RootPorts } from '../ports.js';
import type { RootState } from '../state.js';

export async function recordLiveness(state: RootState, ports: Pick<RootPorts, 'book' | 'wrote' | 'clock' | 'notify'>, cluster: string): Promise<void> {
  const st = state.clusters.get(cluster);
  if (!st) return;
  const now = st.online ? 'online' : 'unreachable';
  if (st.recorded === now) return;
  st.recorded = now;
  const at = ports.clock();
  const since = new Date(st.online ? at : (st.offlineSince ?? at)).toISOString();
  const lastHeard = st.lastHeard ? new Date(st.lastHeard).toISOString() : null;
  await ports.book.recordLiveness(cluster, { state: now, since, lastHeard });
  ports.wrote(placementRef(cluster));
  if (now === 'unreachable') ports.notify?.emit({ event: 'unreachable', commit: state.good?.commit, cluster, lastHeard });
}
