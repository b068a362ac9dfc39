// Step 2b of a pass over main: take the keys the accepted commit declares. The root verifies
// each cluster's messages by them from now on (its trust store), and every cluster whose keys
// changed gets a new placement carrying them (delegate), signed by the key it trusts today: a
// key is rotated by a commit, with no restart of the parts that verify it.
import type { KeyOwner, TrustStore } from '../../mqtt/trust.js';
import type { RootState } from '../state.js';
import { fleetTrust, sameTrust } from '../trust.js';
import type { Pass, StepResult } from './pass.js';

export function takeTrust(state: RootState, ports: { trust?: TrustStore }, pass: Pass): StepResult {
  if (!pass.commit?.result?.ok) return;
  const next = fleetTrust(state.good);
  // Keep the objects when nothing changed: delegate compares placements' keys by reference first.
  if (next && state.trust) {
    for (const [c, t] of next.clusters) {
      const had = state.trust.clusters.get(c);
      if (had && sameTrust(had, t)) next.clusters.set(c, had);
    }
  }
  state.trust = next;
  if (ports.trust) syncStore(ports.trust, state);
}

/** The root's trust store from the accepted state: verify every cluster by its declared keys. */
export function syncStore(store: TrustStore, state: Pick<RootState, 'trust'>): void {
  const ft = state.trust;
  store.signed = !!ft;
  const keep = new Set<KeyOwner>();
  for (const [c, t] of ft?.clusters ?? []) {
    keep.add(`cluster:${c}`);
    store.set(`cluster:${c}`, t.cluster);
  }
  store.retain('cluster:', keep);
}
