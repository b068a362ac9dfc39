// An air-gapped site's placement: the last placement bundle imported into the site repository
// (`canopy bundle import FILE --state-dir DIR`, cli/airgap/placement.ts). The signed manifest on
// refs/canopy/bundle/<c> names the placement's commit; it is checked by the root keys this
// cluster trusts (as a message from the root would be) before the placement it names is read.
// Asked every heartbeat: a ref read, and the manifest and placement only when the ref moved.
import type { Placement, Version } from '../../schemas/messages.js';
import { bundleRef, MANIFEST_FILE, PLACEMENT_FILE } from '../core/refs.js';
import { openManifest } from '../core/bundle-manifest.js';
import type { PublicKey } from '../core/keys.js';
import { versionOrder } from '../core/version.js';
import { readFileAt, resolveRef, type Repo } from '../git/repo.js';
import { readRecord } from '../git/records.js';

export interface BundleSourceOptions {
  repo: Repo;
  fleet: string;
  cluster: string;
  /** The root keys to check a manifest by; undefined: this cluster runs unsigned. */
  rootKeys(): readonly PublicKey[] | undefined;
  warn(message: string): void;
}

export function placementFromBundle(o: BundleSourceOptions): (have?: Version) => Promise<Placement | undefined> {
  const ref = bundleRef(o.cluster);
  let seen: { oid: string; keys: string; placement?: Placement } | undefined;
  return async (have) => {
    const oid = await resolveRef(o.repo, ref);
    if (!oid) return undefined;
    const keys = o.rootKeys();
    const keysId = keys ? keys.map((k) => k.id).join(',') : '-';
    if (seen?.oid !== oid || seen.keys !== keysId) {
      // Judged once per manifest (and again when the keys change): a refused one is warned of once.
      seen = { oid, keys: keysId, placement: await read(o, oid, keys) };
    }
    const p = seen.placement;
    if (!p || (have && versionOrder(p.version, have) <= 0)) return undefined;
    return p;
  };
}

async function read(o: BundleSourceOptions, oid: string, keys: readonly PublicKey[] | undefined): Promise<Placement | undefined> {
  const where = `${bundleRef(o.cluster)}:${MANIFEST_FILE}`;
  const text = await readFileAt(o.repo, oid, MANIFEST_FILE).catch((e: Error) => void o.warn(`${where}: ${e.message}`));
  if (text === undefined) return undefined;
  const opened = openManifest(text, where, keys, { fleet: o.fleet, cluster: o.cluster });
  if (!opened.ok) return void o.warn(`placement bundle refused: ${opened.error}`);
  const m = opened.manifest;
  const p = await readRecord(o.repo, m.placement, PLACEMENT_FILE, 'Placement', { warn: o.warn });
  if (!p) return void o.warn(`placement bundle refused: ${where} names placement ${m.placement.slice(0, 12)}, which is missing or damaged`);
  if (p.fleet !== o.fleet || p.cluster !== o.cluster || versionOrder(p.version, m.version) !== 0 || p.version.commit !== m.version.commit)
    return void o.warn(`placement bundle refused: its placement is not the one its signed manifest names (${p.fleet}/${p.cluster} #${p.version.seq})`);
  return p;
}
