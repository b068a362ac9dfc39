// Step: remove the volumes of deleted services. A volume is removed only when the cluster says
// its service was deleted from main (NodeDesired.deletedServices, from the root's
// Placement.deleted: a service that merely moved to another node or cluster keeps its data here),
// it is neither among the node's replicas nor in the cluster's list of placed services with
// volumes (volumeServices: it may have come back), no replica of it runs here any more, and it is
// not retained (`retain: true` when its replica last started). An assignment naming no deleted
// service removes nothing. Looked at when the assignment's services change, and
// again while a removal is still due (a container that has not stopped yet holds its volume).
import type { Logger } from '../../reconciler/core/log.js';
import type { AgentState } from '../state.js';
import type { AgentDrivers } from './apply.js';

export interface VolumePorts {
  drivers: AgentDrivers;
  log: Logger;
}

export async function dropVolumes(s: AgentState, p: VolumePorts): Promise<void> {
  const gone = new Set(s.assignment?.deletedServices ?? []);
  if (!gone.size) return;
  const keep = new Set([...(s.assignment!.volumeServices ?? []), ...s.assignment!.replicas.map((r) => r.service)]);
  const key = `${[...keep].sort().join(',')}|${[...gone].sort().join(',')}`;
  if (key === s.volumesKey) return;
  let due = false;
  for (const drv of p.drivers.all) {
    if (!drv.volumes) continue;
    try {
      for (const v of await drv.volumes.list()) {
        if (!gone.has(v.service) || keep.has(v.service) || v.retain) continue;
        if (s.observed.some((r) => r.service === v.service)) {
          due = true; // its replica is on its way out: the next pass removes it
          continue;
        }
        await drv.volumes.remove(v.name);
        p.log.info(`removed volume ${v.name} (${v.replica} ${v.volume}): service ${v.service} was deleted from the fleet`);
      }
    } catch (e) {
      due = true;
      p.log.warn(`volumes of ${drv.name}: ${(e as Error).message}`);
    }
  }
  s.volumesKey = due ? undefined : key;
}
