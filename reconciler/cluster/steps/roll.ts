// Step: in-cluster rolling (rolling.ts decides; pure). When a placement changes a service's spec,
// the adoption records what each of its placed replicas was given (beginRolls): those replicas
// hold it. Each placing pass then lets held replicas switch as the rollout's limits allow, from
// the readiness the nodes report (rollOn), and the plan gives held replicas their held spec and
// runs the surge replicas. Only services in a roll are looked at (s.rolls): settled services
// cost nothing. The rolls are journaled in the state directory (rolls.json, a patch per changed
// service), before the nodes are told, so a restarted cluster holds what it held.
import type { Operation } from 'fast-json-patch';
import type { NodeStatus, Placement } from '../../../schemas/messages.js';
import { replicaId } from '../../core/ids.js';
import { decideRoll, startRoll, type Roll } from '../rolling.js';
import type { ClusterPorts } from '../ports.js';
import type { ClusterState } from '../state.js';
import { mapPatch } from '../map-patch.js';

/** Services whose assignment the ops touch (every service of either placement for a snapshot, or an op on all services). */
function touched(prev: Placement | undefined, next: Placement, ops?: readonly Operation[]): Iterable<string> {
  const all = () => new Set([...Object.keys(prev?.services ?? {}), ...Object.keys(next.services)]);
  if (!ops) return all();
  const ids = new Set<string>();
  for (const op of ops) {
    if (!op.path.startsWith('/services') && op.path !== '') continue; // the version, the keys
    const m = /^\/services\/([^/]+)/.exec(op.path);
    if (!m) return all();
    ids.add(m[1].replace(/~1/g, '/').replace(/~0/g, '~'));
  }
  return ids;
}

/**
 * The placement moves from `prev` to `next`: the services whose spec changed start (or carry on)
 * a roll. Synchronous, so no placing pass runs between reading and writing the rolls. Returns
 * the journal's ops (none: nothing to journal).
 */
export function beginRolls(s: ClusterState, prev: Placement | undefined, next: Placement, ops?: readonly Operation[]): Operation[] {
  const before = s.rolls;
  const after = new Map(before);
  for (const id of touched(prev, next, ops)) {
    const from = prev?.services[id];
    const to = next.services[id];
    const r = startRoll(before.get(id), from, to, (i) => s.assignment.has(replicaId(id, i)));
    if (r) after.set(id, r);
    else after.delete(id);
  }
  s.rolls = after;
  return mapPatch(before, after);
}

/**
 * One placing pass's decisions: per service in a roll whose target the placement says, which
 * held replicas switch now and how many surge replicas run. Returns the journal's ops.
 */
export function rollOn(s: ClusterState): Operation[] {
  if (!s.rolls.size) {
    s.surge.clear();
    return [];
  }
  const before = s.rolls;
  const after = new Map(before);
  const surge = new Map<string, number>();
  const ready = readiness(s);
  for (const [id, roll] of before) {
    const a = s.placement?.services[id];
    if (!a) {
      after.delete(id);
      continue;
    }
    // The adoption that set this roll has not made its placement the one in force yet.
    if (a.specHash !== roll.to) {
      const was = s.surge.get(id);
      if (was) surge.set(id, was);
      continue;
    }
    const d = decideRoll({ replicas: a.replicas, specHash: a.specHash, spec: a.spec, roll, ready: (i, h) => ready(replicaId(id, i), h) });
    if (d.roll) after.set(id, d.roll);
    else after.delete(id);
    if (d.surge) surge.set(id, d.surge);
  }
  s.rolls = after;
  s.surge = surge;
  return mapPatch(before, after);
}

/** Whether a replica runs `specHash`, ready, on the node it is assigned to (a node heard and connected). */
function readiness(s: ClusterState): (id: string, specHash: string) => boolean {
  const byNode = new Map<string, Map<string, NodeStatus['replicas'][number]>>();
  return (id, specHash) => {
    const node = s.assignment.get(id);
    const st = node === undefined ? undefined : s.nodes.get(node);
    if (!st?.status || !st.online || !st.connected) return false;
    let m = byNode.get(node!);
    if (!m) byNode.set(node!, (m = new Map(st.status.replicas.map((r) => [r.id, r]))));
    const r = m.get(id);
    return !!r && r.state === 'running' && r.ready !== false && r.specHash === specHash;
  };
}

/**
 * Journal the rolls' changes, one write after another (adoptions and placing passes both change
 * them). After a failed write the next one is a snapshot: the ops in between were never logged.
 */
export function journalRolls(s: ClusterState, p: ClusterPorts, ops: Operation[]): Promise<void> {
  const j = s.rollsJournal;
  if (!ops.length && !j.failed) return j.tail;
  const doc = Object.fromEntries(s.rolls);
  const w = j.tail.then(async () => {
    const snapshot = j.failed;
    j.failed = false;
    try {
      await (snapshot ? p.rolls.write(doc) : p.rolls.append(ops, doc));
    } catch (e) {
      j.failed = true;
      throw e;
    }
  });
  j.tail = w.catch((e) => p.log.error(`journaling the rolls: ${(e as Error).message}`));
  return w;
}

/** What of a node's status concerns the rolls: the state of each replica of a service in a roll. */
export function rollingKey(s: ClusterState, status: NodeStatus | undefined): string {
  if (!s.rolls.size || !status) return '';
  let key = '';
  for (const r of status.replicas) if (s.rolls.has(r.service)) key += `${r.id}:${r.state}:${r.ready !== false}:${r.specHash},`;
  return key;
}

/** The rolls as the journal held them, kept to the placement in force (a roll it does not name, or a hold on its own spec, is over). */
export function loadRolls(placement: Placement | undefined, stored: Record<string, Roll> | undefined): Map<string, Roll> {
  const out = new Map<string, Roll>();
  for (const [id, r] of Object.entries(stored ?? {})) {
    const a = placement?.services[id];
    if (!a) continue;
    const held = Object.fromEntries(Object.entries(r.held).filter(([, h]) => h !== a.specHash && r.specs[h]));
    out.set(id, { to: a.specHash, held, specs: r.specs });
  }
  return out;
}
