// Step: adopt a placement message from the root (topic <cluster>/desired): a snapshot is taken
// as it is; a patch only on the placement it is based on — for any other base the cluster
// reports what it has applied, and the root answers with a snapshot. Run in the adoption chain
// (adopt.ts), in arrival order.
import type { Operation } from 'fast-json-patch';
import type { Version } from '../../../schemas/messages.js';
import { parsePayload } from '../../../schemas/parse.js';
import { sameVersion, versionOrder } from '../../core/version.js';
import { applyPlacementPatch } from '../placement-patch.js';
import { adoptPlacement } from './adopt.js';
import { KEYS, type ClusterPorts } from '../ports.js';
import type { ClusterState } from '../state.js';

export async function adoptMessage(s: ClusterState, p: ClusterPorts, m: { topic: string; payload: Buffer }): Promise<void> {
  const { topic } = m;
  const parsed = parsePayload('DesiredMessage', m.payload, topic);
  if (!parsed.ok) return p.bus.drop(topic, parsed.error);
  const d = parsed.value;
  if (d.kind === 'snapshot') return adoptPlacement(s, p, { placement: d.placement, from: topic, source: 'snapshot' });
  const cur = s.placement?.version;
  if (cur && versionOrder(d.version, cur) <= 0) {
    p.log.debug(`patch to #${d.version.seq} from ${topic}: already at #${cur.seq}`); // e.g. from Git
    return;
  }
  if (!cur || !sameVersion(cur, d.base)) {
    p.log.info(`patch for base ${shown(d.base)} from ${topic} but applied ${cur ? shown(cur) : 'none'}: asking for a snapshot`);
    p.metrics.ignored.inc({ reason: 'base' });
    p.work.enqueue(KEYS.report);
    return;
  }
  const ops = d.ops as Operation[];
  const c = applyPlacementPatch(s.placement!, ops, topic);
  if (!c.ok) return p.bus.drop(topic, c.error);
  // The version it names is the one it leads to: one that says #6 and writes #1000000 is forged or broken.
  const v = c.value.version;
  if (!sameVersion(v, d.version)) return p.bus.drop(topic, `${topic}: patch names version #${d.version.seq} but leads to #${v.seq} (epoch ${v.epoch})`);
  return adoptPlacement(s, p, { placement: c.value, from: topic, source: 'patch', ops });
}

/** `#5 (epoch 2 of c0ffee000000)`: enough to tell two versions apart in a log line. */
const shown = (v: Version) => `#${v.seq} (epoch ${v.epoch} of ${v.commit.slice(0, 12)})`;
