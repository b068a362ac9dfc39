// A cluster's placement as committed to Git by the root: the way in when the broker is down.
import { Placement as PlacementSchema, type Placement } from '../../schemas/messages.js';
import { checkValue } from '../../schemas/parse.js';
import { placementRef, PLACEMENT_FILE } from '../core/refs.js';
import { readFileAt, resolveRef, type Repo } from '../git/repo.js';

export async function placementInGit(repo: Repo, cluster: string): Promise<Placement | undefined> {
  const oid = await resolveRef(repo, placementRef(cluster));
  if (!oid) return undefined;
  const text = await readFileAt(repo, oid, PLACEMENT_FILE);
  if (!text) return undefined;
  try {
    const p = checkValue(PlacementSchema, JSON.parse(text), `${placementRef(cluster)}:${PLACEMENT_FILE}`);
    return p.ok ? p.value : undefined;
  } catch {
    return undefined;
  }
}
