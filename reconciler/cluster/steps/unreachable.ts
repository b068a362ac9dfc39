// Step: a node whose MQTT session has been gone for the grace period (unreachableMs) is
// unreachable: its replicas may move. Before that, an agent that restarts adopts its workloads
// where they run. Runs at the head of every report (which the disconnect schedules for the end
// of the grace period).
import { KEYS, type ClusterPorts } from '../ports.js';
import type { ClusterState } from '../state.js';
import { refreshAddresses } from './routes.js';

export function markUnreachable(s: ClusterState, p: ClusterPorts, now: number): void {
  for (const [name, st] of s.nodes) {
    if (st.online && !st.connected && st.disconnectedAt !== undefined && now - st.disconnectedAt >= p.cfg.unreachableMs) {
      st.online = false;
      p.log.warn(`node ${name} unreachable: disconnected for ${Math.round((now - st.disconnectedAt) / 1000)} s; re-placing its replicas`);
      p.work.enqueue(KEYS.place);
      refreshAddresses(s, p, name);
    }
  }
}
