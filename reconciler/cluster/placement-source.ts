// A cluster's placement as committed to Git by the root: the way in when the broker is down.
import type { Placement } from '../../schemas/messages.js';
import { placementRef, PLACEMENT_FILE } from '../core/refs.js';
import { resolveRef, type Repo } from '../git/repo.js';
import { readRecord } from '../git/records.js';

// Read every heartbeat: the record is parsed again only when the ref has moved.
const last = new WeakMap<Repo, Map<string, { oid: string; doc: Placement | undefined }>>();

export async function placementInGit(repo: Repo, cluster: string): Promise<Placement | undefined> {
  const oid = await resolveRef(repo, placementRef(cluster));
  if (!oid) return undefined;
  let seen = last.get(repo);
  if (!seen) last.set(repo, (seen = new Map()));
  const hit = seen.get(cluster);
  if (hit?.oid === oid) return hit.doc;
  const doc = await readRecord(repo, oid, PLACEMENT_FILE, 'Placement');
  seen.set(cluster, { oid, doc });
  return doc;
}
