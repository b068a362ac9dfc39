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

/**
 * Stable JSON: object keys sorted, so equal values hash equal. The same text as
 * JSON.stringify of a key-sorted copy, written directly (no copy: this runs on whole placements).
 */
export function canonicalJson(value: unknown): string {
  return encode(value) as string;
}

function encode(v: unknown): string | undefined {
  if (v && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(): unknown }).toJSON();
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + (encode(v[i]) ?? 'null');
    return out + ']';
  }
  const o = v as Record<string, unknown>;
  // The order a key-sorted copy enumerates in: array-index keys ("2", "10") first in numeric
  // order (JavaScript objects always put them first), then the others sorted.
  let keys = Object.keys(o).sort();
  if (keys.some(isIndex)) keys = [...keys.filter(isIndex).sort((a, b) => Number(a) - Number(b)), ...keys.filter((k) => !isIndex(k))];
  let out = '{';
  let first = true;
  for (const k of keys) {
    const e = encode(o[k]);
    if (e === undefined) continue;
    out += (first ? '' : ',') + JSON.stringify(k) + ':' + e;
    first = false;
  }
  return out + '}';
}

function isIndex(k: string): boolean {
  const c = k.charCodeAt(0);
  return c >= 48 && c <= 57 && /^(0|[1-9][0-9]{0,9})$/.test(k) && Number(k) < 4294967295;
}

/** Short content hash of a spec: a replica whose hash differs from desired is replaced. */
export function specHash(spec: unknown): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex').slice(0, 16);
}

const workloadHashes = new WeakMap<object, string>();

/**
 * Hash of what a running replica is made of (runtime, image, command, env, ports, resources,
 * health, volumes, config files with their blob ids: a new mount replaces the replica, its volumes' data stays): a replica is replaced only when this changes, not when a placement-only field
 * (replicas, constraints, spread, failover) does.
 */
export function workloadHash(spec: { [k: string]: unknown }): string {
  let h = workloadHashes.get(spec);
  if (!h) {
    const { runtime, image, command, env, ports, resources, health, secrets, volumes, files } = spec;
    h = specHash({ runtime, image, command, env, ports, resources, health, secrets, volumes, ...(files ? { files } : {}) });
    workloadHashes.set(spec, h);
  }
  return h;
}
