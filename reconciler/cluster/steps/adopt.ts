// Step: adopt a placement. A placement comes over MQTT (a snapshot, or a patch of the one in
// force: adopt-mqtt.ts) or from Git (adopt-git.ts); either way it is taken here, if it is for
// this cluster and newer than the one in force, journaled, and the nodes re-placed. Adoptions
// run one at a time in one chain (inAdoptionChain): MQTT messages in arrival order (a patch
// depends on the one before it), and what was read from Git in the same chain, so the two never
// interleave and the newer placement wins whatever order they finish in. A service whose spec
// changes starts rolling (steps/roll.ts) rather than being replaced at once.
import type { Operation } from 'fast-json-patch';
import type { Placement } from '../../../schemas/messages.js';
import { versionOrder } from '../../core/version.js';
import { KEYS, type ClusterPorts } from '../ports.js';
import type { ClusterState } from '../state.js';
import type { KeyOwner, TrustStore } from '../../mqtt/trust.js';
import { beginRolls, journalRolls } from './roll.js';

/** 'bundle': an air-gapped site's imported bundle, checked by the root's keys (bundle-source.ts). */
export type PlacementSource = 'snapshot' | 'patch' | 'git' | 'bundle';

export interface Adoption {
  placement: Placement;
  /** Where it came from, for the log: the topic, or 'git'. */
  from: string;
  source: PlacementSource;
  /** A patch of the placement in force: journaled as it came. */
  ops?: readonly Operation[];
}

/** Take a placement (from MQTT or Git) if it is for us and not older than what we have. */
export async function adoptPlacement(s: ClusterState, p: ClusterPorts, a: Adoption): Promise<void> {
  const { placement: next, from, ops } = a;
  if (next.cluster !== p.cfg.name || next.fleet !== p.cfg.fleet) return p.bus.drop(from, `${from}: placement is for ${next.fleet}/${next.cluster}`);
  if (s.placement && versionOrder(next.version, s.placement.version) < 0) {
    p.log.info(`ignoring stale placement #${next.version.seq} from ${from} (have #${s.placement.version.seq})`);
    p.metrics.ignored.inc({ reason: 'stale' });
    p.work.enqueue(KEYS.report);
    return;
  }
  if (s.placement && versionOrder(next.version, s.placement.version) === 0) return;
  // Services whose spec changes start rolling: what their replicas hold is on disk first.
  await journalRolls(s, p, beginRolls(s, s.placement, next, ops));
  // A patch of the placement in force is logged as it came; anything else is a new snapshot.
  // (adoptMessage applies a patch only to the placement it is based on, so that is the one logged.)
  if (ops && s.placement) await p.placements.append(ops, next);
  else await p.placements.write(next);
  s.placement = next;
  for (const id of next.deleted ?? []) s.deleted.set(id, p.now());
  if (p.trust) {
    // The root's keys only from a message signed by the root: a placement read from Git is
    // guarded by the Git server alone, and must not hand the cluster to another key for good.
    const rootKeys = takePlacementTrust(p.trust, next, a.source !== 'git');
    if (rootKeys) await p.keepRootKeys?.(rootKeys);
  }
  p.metrics.adopted.inc({ source: a.source });
  p.log
    .with({ commit: next.version.commit })
    .info(`applied placement #${next.version.seq} from ${next.version.commit.slice(0, 12)} (${from}): ${Object.keys(next.services).length} service(s)`);
  p.work.enqueue(KEYS.place);
}

/** Run `f` once every adoption queued before it has finished; its outcome is the caller's. */
export function inAdoptionChain(s: ClusterState, f: () => Promise<void>): Promise<void> {
  const r = s.adoption.then(f);
  s.adoption = r.catch(() => undefined);
  return r;
}

/**
 * The keys a placement carries become the ones this cluster verifies by: each node's, and (when
 * `rootKeys`) the root's: a rotated root key arrives signed by the old one. A placement without
 * keys (a fleet that declares none) leaves what the identity file gave. Returns the root's keys
 * when they changed.
 */
export function takePlacementTrust(store: TrustStore, placement: Placement, rootKeys: boolean): string[] | undefined {
  const t = placement.trust;
  if (!t) return undefined;
  store.signed = true;
  const rootChanged = rootKeys && !!t.root && store.set('root', t.root);
  const keep = new Set<KeyOwner>();
  for (const [node, keys] of Object.entries(t.nodes ?? {})) {
    const owner: KeyOwner = `node:${placement.cluster}/${node}`;
    keep.add(owner);
    store.set(owner, keys);
  }
  store.retain('node:', keep);
  // The operators whose log requests this cluster serves (reconciler/cluster/logs.ts).
  const ops = new Set<KeyOwner>();
  for (const [op, keys] of Object.entries(t.operators ?? {})) {
    ops.add(`operator:${op}`);
    store.set(`operator:${op}`, keys);
  }
  store.retain('operator:', ops);
  return rootChanged ? t.root : undefined;
}
