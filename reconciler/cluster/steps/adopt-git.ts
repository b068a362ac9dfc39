// Step: adopt the placement committed to Git (refs/canopy/placements/<cluster>, read through
// placement-source.ts): the way in when the root's broker is not. Reading Git takes a while (a
// fetch): a newer placement may have come over MQTT meanwhile, and may still be being
// journaled. So the read happens outside the adoption chain and the adoption inside it, where
// the version is compared again: the newer one wins whatever order they finish in.
import { versionOrder } from '../../core/version.js';
import { adoptPlacement, inAdoptionChain } from './adopt.js';
import type { ClusterPorts } from '../ports.js';
import type { ClusterState } from '../state.js';

export async function adoptFromGit(s: ClusterState, p: ClusterPorts): Promise<void> {
  const got = await p.placementFromGit?.(s.placement?.version);
  if (!got) return;
  await inAdoptionChain(s, async () => {
    const source = p.cfg.placementFrom;
    if (!s.placement || versionOrder(got.version, s.placement.version) > 0) await adoptPlacement(s, p, { placement: got, from: source, source });
  });
}
