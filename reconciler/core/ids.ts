// Names of things, built in one place.
import { createHash } from 'node:crypto';

/** `app/name`: how a service is named everywhere (status, notes, wire). */
export function serviceId(app: string, name: string): string {
  return `${app}/${name}`;
}

/** `app/name#3`: one replica of a service. */
export function replicaId(service: string, index: number): string {
  return `${service}#${index}`;
}

export function parseReplicaId(id: string): { service: string; index: number } | undefined {
  const m = /^([a-z0-9-]+\/[a-z0-9-]+)#([0-9]+)$/.exec(id);
  return m ? { service: m[1], index: Number(m[2]) } : undefined;
}

/** Stable JSON: object keys sorted, so equal values hash equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** Short content hash of a spec: a replica whose hash differs from desired is replaced. */
export function specHash(spec: unknown): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex').slice(0, 16);
}

const workloadHashes = new WeakMap<object, string>();

/**
 * Hash of what a running replica is made of (runtime, image, command, env, ports, resources,
 * health): a replica is replaced only when this changes, not when a placement-only field
 * (replicas, constraints, spread, failover) does.
 */
export function workloadHash(spec: { [k: string]: unknown }): string {
  let h = workloadHashes.get(spec);
  if (!h) {
    const { runtime, image, command, env, ports, resources, health } = spec;
    h = specHash({ runtime, image, command, env, ports, resources, health });
    workloadHashes.set(spec, h);
  }
  return h;
}
