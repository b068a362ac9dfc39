// Replicas with volumes hold data on their node, so the cluster treats them as sticky: one stays
// on its node while the node is online and runs its kind of workload, whatever a spec change,
// `spread` or capacity would otherwise say (place.ts keep). Moving one elsewhere (its node
// unreachable past unreachableAfterSeconds) is a failover, stated in the service's status
// message while the old node stays away ("shop/db#0 moved from n1 to n2: its volume data stays
// on n1"). Each node is told which services of the placement have volumes, and which services
// main deleted lately (the root's Placement.deleted): an agent removes the volumes of a deleted
// service only (agents/steps/volumes.ts); a service moved to another cluster keeps its data here.
import type { Placement, ReplicaSpec } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import type { NodeView } from './node-view.js';

/** A replica that left a node with its volumes (kept while that node is not online). */
export interface VolumeMove {
  service: string;
  from: string;
  to: string;
}

const listed = new WeakMap<object, string[]>();

/** The services of a placement that declare volumes, sorted (computed once per placement). */
export function volumeServices(placement: Placement): string[] {
  let out = listed.get(placement.services);
  if (!out) {
    out = Object.keys(placement.services)
      .filter((id) => placement.services[id].spec.volumes?.length)
      .sort();
    listed.set(placement.services, out);
  }
  return out;
}

/** Whether a replica stays on node `n` for its data's sake: it has volumes, and `n` is online and runs its kind. */
export function stickyOn(n: NodeView, spec: ServiceSpec): boolean {
  return !!spec.volumes?.length && n.online && n.runtimes.includes(spec.runtime);
}

/**
 * The moves a placing pass made (replicas with volumes now on another node than before) added
 * to `moves`, and those whose old node is back online, or that left the plan, dropped.
 */
export function noteVolumeMoves(
  moves: Map<string, VolumeMove>,
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
  byNode: ReadonlyMap<string, ReplicaSpec[]>,
  online: (node: string) => boolean,
): void {
  for (const [node, replicas] of byNode) {
    for (const r of replicas) {
      const from = before.get(r.id);
      if (from !== undefined && from !== node && r.spec.volumes?.length) moves.set(r.id, { service: r.service, from, to: node });
    }
  }
  for (const [id, m] of moves) if (online(m.from) || after.get(id) !== m.to) moves.delete(id);
}

/** The status message of each service with moved replicas: `shop/db#0 moved from n1 to n2: its volume data stays on n1`. */
export function moveMessages(moves: ReadonlyMap<string, VolumeMove>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [id, m] of [...moves].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const text = `${id} moved from ${m.from} to ${m.to}: its volume data stays on ${m.from}`;
    const prev = out.get(m.service);
    out.set(m.service, prev ? `${prev}; ${text}` : text);
  }
  return out;
}
