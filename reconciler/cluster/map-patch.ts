// The JSON Patch from one map (as an object) to another: what the cluster's journals append
// (the replica → node assignment, the rolls). Values are compared by identity: an unchanged
// entry is the same object or the same string.
import type { Operation } from 'fast-json-patch';

export function mapPatch<T>(a: ReadonlyMap<string, T>, b: ReadonlyMap<string, T>): Operation[] {
  const ops: Operation[] = [];
  const at = (id: string) => `/${id.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  for (const [k, v] of b) {
    const was = a.get(k);
    if (was === v) continue;
    ops.push(was === undefined ? { op: 'add', path: at(k), value: v } : { op: 'replace', path: at(k), value: v });
  }
  for (const k of a.keys()) if (!b.has(k)) ops.push({ op: 'remove', path: at(k) });
  return ops;
}
