// Step: adopt a placement message from the root (topic <cluster>/desired): a snapshot is taken
// as it is; a patch only on the placement it is based on — for any other base the cluster
// reports what it has applied, and the root answers with a snapshot. Run in the adoption chain
// (adopt.ts), in arrival order.
import type { Operation } from 'fast-json-patch';
import { parsePayload } from '../../../schemas/parse.js';
import { versionOrder } from '../../core/version.js';
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
  if (cur && versionOrder(d.version, cur) <= 0) return; // already there (e.g. from Git)
  if (!cur || cur.seq !== d.base.seq || cur.commit !== d.base.commit || cur.epoch !== d.base.epoch) {
    p.log.info(`patch for base #${d.base.seq} but applied #${cur?.seq ?? 'none'}: asking for a snapshot`);
    p.metrics.ignored.inc({ reason: 'base' });
    p.work.enqueue(KEYS.report);
    return;
  }
  const ops = d.ops as Operation[];
  const c = applyPlacementPatch(s.placement!, ops, topic);
  if (!c.ok) return p.bus.drop(topic, c.error);
  return adoptPlacement(s, p, { placement: c.value, from: topic, source: 'patch', ops });
}
