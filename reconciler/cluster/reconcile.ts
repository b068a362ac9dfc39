// The cluster's reconcile pass, by the loop's key: which steps run, in what order. 'git' adopts
// the placement in Git; 'place' places it on the nodes; 'node:<n>' tells node n its share;
// 'report' marks nodes gone past their grace period, aggregates and sends the status to the
// root, and hands it to the Git record. The resync is the safety net under the events.
import { adoptFromGit } from './steps/adopt-git.js';
import { assignNode } from './steps/assign.js';
import { timed } from './metrics.js';
import { placeOnNodes } from './steps/place-nodes.js';
import { KEYS, type ClusterPorts } from './ports.js';
import { recordStatus } from './steps/record.js';
import { reportStatus } from './steps/report.js';
import type { ClusterState } from './state.js';
import { markUnreachable } from './steps/unreachable.js';

const NODE = KEYS.node('');

export async function reconcileKey(s: ClusterState, p: ClusterPorts, key: string): Promise<void> {
  if (key === KEYS.place) return timed(p.metrics, 'place', () => placeOnNodes(s, p));
  if (key === KEYS.report) return report(s, p);
  if (key === KEYS.git) return timed(p.metrics, 'adopt-git', () => adoptFromGit(s, p));
  if (key.startsWith(NODE)) return timed(p.metrics, 'assign', () => assignNode(s, p, key.slice(NODE.length)));
}

async function report(s: ClusterState, p: ClusterPorts): Promise<void> {
  const now = p.now();
  markUnreachable(s, p, now);
  const status = await timed(p.metrics, 'report', () => reportStatus(s, p, now));
  recordStatus(s, p, status);
}

/**
 * Every heartbeat: Git while the broker is away (cheap: a ref read, and a fetch when the ref
 * moved), and every slowMs a full re-place and report (the report then refreshes the Git record
 * if due). While the bus is up the root's patches arrive there, and a site's uplink should not
 * also fetch every placement it already has.
 */
export function resyncKeys(s: ClusterState, p: ClusterPorts): string[] {
  const keys: string[] = p.placementFromGit && (p.cfg.placementFrom === 'bundle' || !p.bus.isConnected() || !s.placement) ? [KEYS.git] : [];
  const now = p.now();
  if (now - s.lastSlow >= p.cfg.slowMs) {
    s.lastSlow = now;
    keys.push(KEYS.report, KEYS.place);
  }
  return keys;
}
