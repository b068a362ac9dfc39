// Step: tell one node what to run (its retained <node>/desired): the replicas the last placing
// pass gave it, the fleet's latency targets to probe, the heartbeat, and the routes to the
// services its workloads may call (routes.ts; the services they include are kept in the route
// index, so an endpoint change re-sends to the nodes that use it). Sent when what it says
// changed, and again when the node has not applied it after a second (a message lost with a
// session); a node that is offline is told nothing.
import type { NodeDesired } from '../../../schemas/messages.js';
import type { ClusterPorts } from '../ports.js';
import type { ClusterState } from '../state.js';
import { routesFor, setRouted } from '../route-index.js';
import { volumeServices } from '../volumes.js';
import { nodeFiles } from '../files.js';

export async function assignNode(s: ClusterState, p: ClusterPorts, node: string): Promise<void> {
  const st = s.nodes.get(node);
  if (!st?.online) {
    setRouted(s.routes, node, []);
    return;
  }
  const replicas = s.byNode.get(node) ?? [];
  const { routes, json } = routesFor(s.routes, node, s.placement, replicas, st.status?.interest);
  const routed = Object.keys(routes);
  setRouted(s.routes, node, routed);
  // What the node is told, as a key: each replica's id and workload hash (what it runs; a
  // change of placement-only fields such as constraints does not concern the node), and the
  // targets it probes, and its routes.
  // The cluster's own keys travel with it, so a rotated cluster key reaches the node signed.
  const trust = s.placement?.trust?.cluster;
  // Only the keys its replicas use, sealed to it (a key that changes with what is sealed, no value in it).
  const sealed = await p.sealer?.forNode(node, replicas, s.placement);
  // The services whose volumes the node keeps (cluster/volumes.ts): known once a placement is.
  const volumes = s.placement ? volumeServices(s.placement) : undefined;
  // The config files its replicas use (cluster/files.ts), by blob id.
  const files = nodeFiles(replicas, s.placement);
  const now = p.now();
  const deleted = deletedServices(s, now);
  const key = `${replicas.map((r) => `${r.id}@${r.specHash}`).join(',')}|${p.cfg.targetsKey}|${trust?.join(',') ?? ''}|${json}|${volumes?.join(',')}|${deleted.join(',')}|${sealed?.key ?? ''}|${files ? Object.keys(files).join(',') : ''}`;
  const applied = st.status?.appliedSeq;
  if (st.sent && st.sent.key === key && (applied === st.sent.seq || now - st.sent.at < 1000)) return;
  // A node holding a seq ahead of anything sent to it (a message this cluster never sent) would
  // ignore every real one as stale: the next one goes past it.
  const ahead = applied !== null && applied !== undefined && !!st.sent && applied > st.sent.seq;
  if (ahead) {
    p.log.warn(`node ${node} reports #${applied}, ahead of what was sent to it (#${st.sent!.seq}): sending its share again past it`);
    s.nodeSeq = Math.max(s.nodeSeq, applied);
  }
  const seq = st.sent && st.sent.key === key && !ahead ? st.sent.seq : (s.nodeSeq = Math.max(s.nodeSeq + 1, now));
  const msg: NodeDesired = {
    kind: 'node-desired',
    seq,
    epoch: s.placement?.version.epoch ?? 0,
    heartbeatSeconds: p.cfg.heartbeatMs / 1000,
    ...(p.cfg.targets ? { targets: p.cfg.targets } : {}),
    ...(trust ? { trust: { cluster: trust } } : {}),
    replicas,
    ...(volumes ? { volumeServices: volumes } : {}),
    ...(deleted.length ? { deletedServices: deleted } : {}),
    ...(routed.length ? { routes } : {}),
    ...(sealed?.sealed ? { sealed: sealed.sealed } : {}),
    ...(files ? { files } : {}),
    ...(sealed?.error ? { sealedError: sealed.error } : {}),
  };
  st.sent = { seq, key, at: now };
  await p.nodeBus.publish(p.topics.nodeDesired(p.cfg.name, node), msg, { retain: true });
  p.metrics.assigned.inc();
}

/** How long a deletion is passed on: a node away longer keeps the volumes (data is never lost by a missed message). */
const DELETED_KEPT_MS = 24 * 3600_000;

/** Services main deleted lately that the placement does not hold again, sorted; older ones forgotten. */
function deletedServices(s: ClusterState, now: number): string[] {
  const out: string[] = [];
  for (const [id, at] of s.deleted) {
    if (now - at > DELETED_KEPT_MS) s.deleted.delete(id);
    else if (!s.placement?.services[id]) out.push(id);
  }
  return out.sort();
}
