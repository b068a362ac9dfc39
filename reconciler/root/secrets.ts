// Secrets at the root, which never opens one: where a service using secrets may run (the
// clusters every secret it uses is sealed to, from secrets/<name>.yaml), what makes its
// assignment's hash change (the blob ids of those secrets' ciphertexts), and the ciphertexts each
// cluster's placement carries (secrets/<name>.age, as committed).
import type { Placement } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import type { FleetIndex } from '../core/fleet-index.js';
import { canonicalJson, specHash } from '../core/ids.js';
import { secretAge, secretYaml } from '../core/secrets.js';

export interface SecretFacts {
  /** Secret → the clusters it is sealed to. */
  sealedTo?: Record<string, string[]>;
  /** A hash of the ciphertexts' blob ids. */
  sealed?: string;
}

/** What the secrets a spec uses say of where it runs and what it is. */
export function secretFacts(index: FleetIndex, spec: ServiceSpec): SecretFacts {
  const names = [...new Set((spec.secrets ?? []).map((s) => s.secret))].sort();
  if (!names.length) return {};
  const sealedTo: Record<string, string[]> = {};
  const oids: string[] = [];
  for (const n of names) {
    const r = index.get(secretYaml(n))?.result;
    sealedTo[n] = r?.ok && r.kind === 'Secret' ? [...r.value.spec.clusters] : [];
    oids.push(index.get(secretAge(n))?.file.oid ?? '');
  }
  return { sealedTo, sealed: specHash(oids) };
}

/** The secret names of changed paths under secrets/. */
export function changedSecrets(paths: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const p of paths) {
    const m = /^secrets\/([^/]+)\.(yaml|age)$/.exec(p);
    if (m) out.add(m[1]!);
  }
  return out;
}

/** The paths of services that use one of `names`. */
export function servicePathsUsing(index: FleetIndex, names: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const n of names) for (const p of index.secretUsers(n)) if (p.startsWith('services/')) out.add(p);
  return out;
}

/**
 * The ciphertexts cluster `cluster`'s placement carries: those of the secrets its services use
 * and of the fleet's registries, each only if sealed to it; `cur`'s objects when unchanged.
 */
export function placementSecrets(
  index: FleetIndex,
  services: Placement['services'],
  cluster: string,
  cur: Placement | undefined,
): Pick<Placement, 'secrets' | 'registries'> {
  if (!index.usesSecrets()) return {};
  const names = new Set<string>();
  for (const a of Object.values(services)) for (const s of a.spec.secrets ?? []) names.add(s.secret);
  const fleet = index.fleet();
  const registries: Record<string, string> = {};
  for (const g of fleet?.spec?.registries ?? []) {
    registries[g.host] = g.secret;
    names.add(g.secret);
  }
  const secrets: Record<string, string> = {};
  for (const n of [...names].sort()) {
    const r = index.get(secretYaml(n))?.result;
    const text = index.get(secretAge(n))?.file.text;
    if (r?.ok && r.kind === 'Secret' && r.value.spec.clusters.includes(cluster) && text) secrets[n] = text;
  }
  const out: Pick<Placement, 'secrets' | 'registries'> = {};
  if (Object.keys(secrets).length) out.secrets = cur?.secrets && canonicalJson(cur.secrets) === canonicalJson(secrets) ? cur.secrets : secrets;
  if (Object.keys(registries).length) {
    out.registries = cur?.registries && canonicalJson(cur.registries) === canonicalJson(registries) ? cur.registries : registries;
  }
  return out;
}
