// Step: place the placement in force on the nodes (place.ts decides; pure), keep the result in
// the state, journal the replica → node assignment as a patch of what changed (a one-service
// change writes what changed, not the whole cluster), and queue what follows: each node's
// desired state, the report, and — when replicas have no node — the report that refuses them
// once their grace period is over. A service in a roll (steps/roll.ts) first has its held
// replicas switched as the rollout's limits allow; the plan gives the others their held spec,
// and runs its surge replicas where they fit.
import { placeReplicas } from '../place.js';
import { KEYS, type ClusterPorts } from '../ports.js';
import { nodeViews, type ClusterState } from '../state.js';
import { mapPatch } from '../map-patch.js';
import { journalRolls, rollOn } from './roll.js';
import { moveMessages, noteVolumeMoves } from '../volumes.js';

export { mapPatch } from '../map-patch.js';

export async function placeOnNodes(s: ClusterState, p: ClusterPorts): Promise<void> {
  const now = p.now();
  // Just restarted: a node that held replicas may not have been heard yet (its retained status
  // is on its way). Wait for it, up to the grace period, rather than move its replicas.
  const waiting = [...new Set(s.assignment.values())].filter((n) => !s.nodes.get(n)?.status);
  if (waiting.length && now - s.startedAt < p.cfg.unreachableMs) {
    p.work.enqueueAfter(KEYS.place, 250);
    return;
  }
  const rolled = journalRolls(s, p, rollOn(s));
  const plan = placeReplicas(s.placement, nodeViews(s), s.assignment, p.cfg.policy, { targets: p.cfg.targets, location: p.cfg.location }, s);
  // The switches are on disk before the plan is taken (and any node told).
  await rolled;
  s.byNode = plan.byNode;
  s.pending = plan.pending;
  // A replica with volumes that had to leave its node says so, while that node stays away.
  noteVolumeMoves(s.volumeMoves, s.assignment, plan.assignment, plan.byNode, (n) => !!s.nodes.get(n)?.online);
  for (const [id, text] of moveMessages(s.volumeMoves)) s.pending.set(id, s.pending.has(id) ? `${s.pending.get(id)}; ${text}` : text);
  s.unplaced = plan.unplaced;
  for (const id of s.unplacedSince.keys()) if (!s.unplaced.has(id)) s.unplacedSince.delete(id);
  for (const id of s.unplaced.keys()) if (!s.unplacedSince.has(id)) s.unplacedSince.set(id, now);
  // A refusal is reported once replicas have stayed unplaced for refuseAfterMs.
  if (s.unplaced.size) p.work.enqueueAfter(KEYS.report, p.cfg.refuseAfterMs + 50);
  const next = plan.assignment;
  const ops = mapPatch(s.assignment, next);
  if (ops.length) {
    s.assignment = next;
    await p.assignments.append(ops, () => Object.fromEntries(next));
  }
  for (const n of s.nodes.keys()) p.work.enqueue(KEYS.node(n));
  p.work.enqueue(KEYS.report);
}
