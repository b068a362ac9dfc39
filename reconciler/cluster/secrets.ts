// Secrets at the cluster: it opens the ciphertexts its placement carries with its own age
// identity and seals to each node only the keys that node's replicas use (and the registry
// credentials, when it runs container replicas), to the node's age recipient (the placement's
// trust.nodeAge). Plain values stay in this process's memory; logs name secrets, never values.
import type { Placement, ReplicaSpec } from '../../schemas/messages.js';
import type { Logger } from '../core/log.js';
import { canonicalJson, specHash } from '../core/ids.js';
import { open, seal, sealedHash, secretValues, type NodeSecrets } from '../core/secrets.js';

export interface NodeSealed {
  /** What the node is told, sealed to it (none when its replicas use no secret). */
  sealed?: string;
  /** Changes when what is sealed would (no value in it): the cluster re-sends on a change. */
  key: string;
  /** Why nothing could be sealed for the node (names only). */
  error?: string;
}

export interface Sealer {
  forNode(node: string, replicas: readonly ReplicaSpec[], placement: Placement | undefined): Promise<NodeSealed>;
}

/** `identity`: the cluster's age identity (AGE-SECRET-KEY-1…), from its --identity file; none: it cannot open secrets. */
export function clusterSealer(identity: string | undefined, log: Logger): Sealer {
  const sent = new Map<string, { key: string; sealed?: string }>();
  const opened = new Map<string, Record<string, string>>(); // ciphertext hash → values
  const warned = new Set<string>();
  const warn = (why: string) => {
    if (!warned.has(why)) log.warn(why);
    warned.add(why);
  };
  return {
    async forNode(node, replicas, placement) {
      const need = neededBy(replicas, placement);
      if (!need.secrets.size) return { key: '' };
      const recipient = placement?.trust?.nodeAge?.[node];
      const names = [...need.secrets.keys()].sort();
      if (!identity) {
        const error = `cluster has no age identity (--identity FILE) and cannot open secrets ${names.join(', ')}`;
        warn(error);
        return { key: 'no-identity', error };
      }
      if (!recipient) {
        const error = `node ${node} declares no age key (nodeIdentities.${node}.age in its cluster's file; canopy identity create): its secrets cannot be sealed to it`;
        warn(error);
        return { key: 'no-recipient', error };
      }
      const cts = names.map((n) => placement?.secrets?.[n]);
      const key = specHash([recipient, names.map((n) => [n, [...need.secrets.get(n)!].sort()]), need.registries, cts.map((c) => c && sealedHash(c))]);
      const was = sent.get(node);
      if (was?.key === key) return was;
      const out: NodeSecrets = { secrets: {} };
      for (const [i, n] of names.entries()) {
        const values = await openOnce(opened, cts[i], identity, n, warn);
        if (!values) continue;
        out.secrets[n] = Object.fromEntries([...need.secrets.get(n)!].filter((k) => k in values).map((k) => [k, values[k]!]));
      }
      for (const [host, n] of Object.entries(need.registries)) {
        const v = out.secrets[n];
        if (v?.username !== undefined && v.password !== undefined) (out.registries ??= {})[host] = { username: v.username, password: v.password };
      }
      // Registry secrets the replicas do not use themselves are not handed over as such.
      for (const n of need.registryOnly) delete out.secrets[n];
      const next = { key, sealed: await seal(canonicalJson(out), [recipient]) };
      sent.set(node, next);
      return next;
    },
  };
}

interface Need {
  /** secret → the keys used. */
  secrets: Map<string, Set<string>>;
  /** registry host → secret. */
  registries: Record<string, string>;
  /** Secrets needed only for registries. */
  registryOnly: Set<string>;
}

function neededBy(replicas: readonly ReplicaSpec[], placement: Placement | undefined): Need {
  const secrets = new Map<string, Set<string>>();
  const use = (n: string, k: string) => (secrets.get(n) ?? secrets.set(n, new Set()).get(n)!).add(k);
  for (const r of replicas) for (const s of r.spec.secrets ?? []) use(s.secret, s.key);
  const registries: Record<string, string> = {};
  const registryOnly = new Set<string>();
  if (replicas.some((r) => r.spec.runtime === 'container')) {
    for (const [host, n] of Object.entries(placement?.registries ?? {})) {
      if (!placement?.secrets?.[n]) continue; // not sealed to this cluster
      if (!secrets.has(n)) registryOnly.add(n);
      use(n, 'username');
      use(n, 'password');
      registries[host] = n;
    }
  }
  return { secrets, registries, registryOnly };
}

async function openOnce(
  opened: Map<string, Record<string, string>>,
  ct: string | undefined,
  identity: string,
  name: string,
  warn: (why: string) => void,
): Promise<Record<string, string> | undefined> {
  if (!ct) {
    warn(`secret ${name}: not in the placement (not sealed to this cluster)`);
    return undefined;
  }
  const h = sealedHash(ct);
  const hit = opened.get(h);
  if (hit) return hit;
  try {
    const values = secretValues(await open(ct, identity));
    if (opened.size > 256) opened.clear();
    opened.set(h, values);
    return values;
  } catch (e) {
    warn(`secret ${name}: ${(e as Error).message}`);
    return undefined;
  }
}
