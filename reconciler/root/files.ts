// Config files at the root (spec.files: [{path, from}]): each desired spec names the blob id of
// each `from` at the commit (`oid`), so a changed file changes the assignment's hash and rolls
// the replicas using it; the services a changed file reaches (the index's users of its path, at
// the cost of the change); and the contents each cluster's placement carries, keyed by blob id,
// base64 (binary-safe, as the repository holds them): only the blobs its services use.
import type { Placement } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import type { FleetIndex } from '../core/fleet-index.js';
import { canonicalJson } from '../core/ids.js';

/** `spec` with the blob id of each `from` in `index` (a new object; `spec` when it names no file). */
export function withFileOids(index: FleetIndex, spec: ServiceSpec): ServiceSpec {
  if (!spec.files?.length) return spec;
  return { ...spec, files: spec.files.map((f) => ({ ...f, oid: index.get(f.from)?.file.oid ?? '' })) };
}

/** The service paths whose spec.files names one of `paths`. */
export function fileUserPaths(index: FleetIndex, paths: Iterable<string>): Set<string> {
  const out = new Set<string>();
  if (!index.usesFiles()) return out;
  for (const p of paths) for (const u of index.fileUsers(p)) out.add(u);
  return out;
}

/**
 * The contents cluster `cluster`'s placement carries: the blobs its assignments' specs name (a
 * held spec's too), from the index when the path still holds that blob, else from `cur`;
 * `cur.files` itself when nothing changed.
 */
export function placementFiles(index: FleetIndex, services: Placement['services'], cur: Placement | undefined): Pick<Placement, 'files'> {
  const files: Record<string, string> = {};
  for (const a of Object.values(services)) {
    for (const f of a.spec.files ?? []) {
      if (!f.oid || f.oid in files) continue;
      const held = cur?.files?.[f.oid];
      const file = index.get(f.from)?.file;
      const content = held ?? (file?.oid === f.oid ? (file.bytes?.() ?? Buffer.from(file.text, 'utf8')).toString('base64') : undefined);
      if (content !== undefined) files[f.oid] = content;
    }
  }
  if (!Object.keys(files).length) return {};
  return { files: cur?.files && canonicalJson(Object.keys(cur.files).sort()) === canonicalJson(Object.keys(files).sort()) ? cur.files : files };
}
