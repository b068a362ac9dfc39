// Step: aggregate the nodes' status into the cluster's (aggregate.ts; pure) and send it to the
// root (retained <cluster>/status) when it changed: liveness is the MQTT session, not a stream
// of identical reports. Replicas no node could take are refused once they have stayed so for
// refuseAfterMs (a restarted cluster whose nodes are still reporting in refuses nothing).
import type { ClusterStatus } from '../../../schemas/messages.js';
import { aggregate, type AggregateInput } from '../aggregate.js';
import type { ClusterPorts } from '../ports.js';
import { nodeViews, type ClusterState } from '../state.js';

export async function reportStatus(s: ClusterState, p: ClusterPorts, now: number): Promise<ClusterStatus> {
  const t0 = performance.now();
  const trusts = p.trust?.signed ? p.trust.ids('root') : undefined;
  const status = { ...aggregate(aggregateInput(s, p, now)), ...(trusts?.length ? { trusts } : {}) };
  // Built in the same order every time, so plain JSON serves as the key (no sorting of 10,000 entries).
  const t1 = performance.now();
  const key = JSON.stringify({ ...status, at: undefined, free: undefined, maxNodeFree: undefined });
  const t2 = performance.now();
  // Sent on change only (and on every reconnect, which clears lastReport).
  if (key !== s.lastReport && p.bus.isConnected()) {
    s.lastReport = key;
    await p.bus.publish(p.topics.clusterStatus(p.cfg.name), status, { retain: true });
    p.metrics.reports.inc();
  }
  if (performance.now() - t0 >= 20)
    p.log.debug(`report: aggregate ${(t1 - t0).toFixed(1)} ms, key ${(t2 - t1).toFixed(1)} ms, publish ${(performance.now() - t2).toFixed(1)} ms`);
  return status;
}

/** What the aggregate reads of the state and the settings at `now`. */
export function aggregateInput(s: ClusterState, p: Pick<ClusterPorts, 'cfg'>, now: number): AggregateInput {
  const { cfg } = p;
  return {
    cluster: cfg.name,
    at: new Date(now).toISOString(),
    placement: s.placement,
    nodes: nodeViews(s),
    statuses: new Map([...s.nodes].map(([n, st]) => [n, st.status])),
    online: new Set([...s.nodes].filter(([, st]) => st.online).map(([n]) => n)),
    reachable: new Set([...s.nodes].filter(([, st]) => st.online && st.connected).map(([n]) => n)),
    assignment: s.assignment,
    rolls: s.rolls,
    pending: s.pending,
    labels: cfg.labels,
    operator: cfg.operator,
    location: cfg.location,
    targets: cfg.targets,
    refused: new Map(
      [...s.unplaced]
        .filter(([id]) => now - (s.unplacedSince.get(id) ?? Infinity) >= cfg.refuseAfterMs)
        .map(([id, count]) => [id, { count, reason: s.pending.get(id) ?? 'no node can take a replica' }]),
    ),
  };
}
