// A cluster's placement as committed to Git by the root: the way in when the broker is down.
import { Placement as PlacementSchema, type Placement } from '../../schemas/messages.js';
import { placementRef, PLACEMENT_FILE } from '../core/refs.js';
import { resolveRef, type Repo } from '../git/repo.js';
import { readRecord } from '../git/records.js';

export async function placementInGit(repo: Repo, cluster: string): Promise<Placement | undefined> {
  const oid = await resolveRef(repo, placementRef(cluster));
  return oid ? readRecord<Placement>(repo, oid, PLACEMENT_FILE, PlacementSchema) : undefined;
}
