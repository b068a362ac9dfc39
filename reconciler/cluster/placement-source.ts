// A cluster's placement as committed to Git by the root: the way in when the broker is down.
// Asked every heartbeat; it costs a ref read, plus the placement's small header when the ref has
// moved, and the whole placement only when that header names a newer version than `have` (a
// cluster that got the same placement over MQTT reads 200 bytes, not 8,000 services).
import type { Placement, Version } from '../../schemas/messages.js';
import { placementRef, PLACEMENT_FILE } from '../core/refs.js';
import { resolveRef, type Repo } from '../git/repo.js';
import { readRecord } from '../git/records.js';
import { readRecordHeader } from '../git/service-records.js';
import { versionOrder } from '../core/version.js';

const last = new WeakMap<Repo, Map<string, { oid: string; version?: Version; doc?: Placement }>>();

export async function placementInGit(repo: Repo, cluster: string, have?: Version): Promise<Placement | undefined> {
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
  hit.doc ??= await readRecord(repo, oid, PLACEMENT_FILE, 'Placement');
  return hit.doc;
}

function isVersion(v: unknown): v is Version {
  const x = v as Version | undefined;
  return !!x && typeof x.commit === 'string' && Number.isInteger(x.seq) && Number.isInteger(x.epoch);
}
