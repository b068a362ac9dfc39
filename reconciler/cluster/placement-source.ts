// A cluster's placement as committed to Git by the root: the way in when the broker is down.
// Asked every heartbeat; it costs a ref read, plus the placement's small header when the ref has
// moved, and the whole placement only when that header names a newer version than `have` (a
// cluster that got the same placement over MQTT reads 200 bytes, not 8,000 services).
import type { Placement, Version } from '../../schemas/messages.js';
import { placementRef, PLACEMENT_FILE } from '../core/refs.js';
import { resolveRef, type Repo } from '../git/repo.js';
import { checkValue } from '../../schemas/parse.js';
import { readRecord } from '../git/records.js';
import { readRecordHeader } from '../git/service-records.js';
import { versionOrder } from '../core/version.js';

const last = new WeakMap<Repo, Map<string, { oid: string; version?: Version; doc?: Placement; warned?: boolean }>>();

/** `warn` is told, once per commit of the ref, that its placement is damaged and ignored. */
export async function placementInGit(repo: Repo, cluster: string, have?: Version, warn?: (message: string) => void): Promise<Placement | undefined> {
  const oid = await resolveRef(repo, placementRef(cluster));
  if (!oid) return undefined;
  let seen = last.get(repo);
  if (!seen) last.set(repo, (seen = new Map()));
  let hit = seen.get(cluster);
  if (hit?.oid !== oid) {
    const header = await readRecordHeader(repo, oid, PLACEMENT_FILE).catch(() => undefined);
    hit = { oid, version: isVersion(header?.version) ? header.version : undefined };
    seen.set(cluster, hit);
  }
  if (have && hit.version && versionOrder(hit.version, have) <= 0) return undefined;
  // A damaged placement is warned of once per commit of the ref, not every heartbeat.
  const h = hit;
  const once = (m: string) => {
    if (!h.warned) warn?.(m);
    h.warned = true;
  };
  hit.doc ??= await readRecord(repo, oid, PLACEMENT_FILE, 'Placement', { ref: placementRef(cluster), warn: once });
  return hit.doc;
}

/** A header's version, checked: one that is not a version says nothing (the whole record is read, and judged). */
function isVersion(v: unknown): v is Version {
  return checkValue('Version', v, PLACEMENT_FILE).ok;
}
