// Step: remove the volumes of deleted services. A volume stays while its service is among the
// node's replicas or in the cluster's list of placed services with volumes
// (NodeDesired.volumeServices: the replica may have moved, or may come back); once its service is
// in neither, and no replica of it runs here any more, it is removed, unless it is retained
// (`retain: true` when its replica last started). An assignment without the list (none received
// yet, an older cluster) removes nothing. Looked at when the assignment's services change, and
// again while a removal is still due (a container that has not stopped yet holds its volume).
import type { Logger } from '../../reconciler/core/log.js';
import type { AgentState } from '../state.js';
import type { AgentDrivers } from './apply.js';

export interface VolumePorts {
  drivers: AgentDrivers;
  log: Logger;
}

export async function dropVolumes(s: AgentState, p: VolumePorts): Promise<void> {
  const kept = s.assignment?.volumeServices;
  if (!kept) return;
  const keep = new Set([...kept, ...s.assignment!.replicas.map((r) => r.service)]);
  const key = [...keep].sort().join(',');
  if (key === s.volumesKey) return;
  let due = false;
  for (const drv of p.drivers.all) {
    if (!drv.volumes) continue;
    try {
      for (const v of await drv.volumes.list()) {
        if (keep.has(v.service) || v.retain) continue;
        if (s.observed.some((r) => r.service === v.service)) {
          due = true; // its replica is on its way out: the next pass removes it
          continue;
        }
        await drv.volumes.remove(v.name);
        p.log.info(`removed volume ${v.name} (${v.replica} ${v.volume}): service ${v.service} is no longer placed in this cluster`);
      }
    } catch (e) {
      due = true;
      p.log.warn(`volumes of ${drv.name}: ${(e as Error).message}`);
    }
  }
  s.volumesKey = due ? undefined : key;
}
