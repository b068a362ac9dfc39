// Step: keep the live addresses of the cluster's own instances (route-index.ts) in line with what
// a node reports and whether it is reachable (online, and its MQTT session up), and re-send the
// desired state of the nodes whose routes include a service whose addresses changed: a stopped
// instance or a node gone leaves every endpoint set at once, and only those nodes are told.
import { addressesOf } from '../routes.js';
import { setNodeAddresses, usersOf } from '../route-index.js';
import { KEYS, type ClusterPorts } from '../ports.js';
import type { ClusterState } from '../state.js';

/** Refresh what `node` contributes to the routes; returns the services whose addresses changed. */
export function refreshAddresses(s: ClusterState, p: Pick<ClusterPorts, 'work'>, node: string): string[] {
  const st = s.nodes.get(node);
  const reachable = !!st?.status && st.online && st.connected;
  const changed = setNodeAddresses(s.routes, node, reachable ? addressesOf(st.status) : undefined);
  if (changed.length) for (const n of usersOf(s.routes, changed)) p.work.enqueue(KEYS.node(n));
  return changed;
}
