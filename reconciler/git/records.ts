// JSON records in system-authored commits (placement.json, status.json), checked against their
// schema when read: undefined when absent or not valid, never a half-trusted value. Placements
// and statuses keep one file per service beside the header (service-records.ts).
import { checkValue, type ShapeName, type Shapes } from '../../schemas/parse.js';
import { readServiceRecord, readServiceRecordsAlong } from './service-records.js';
import { readFileAt, type Repo } from './repo.js';

const PER_SERVICE = new Set<ShapeName>(['Placement', 'ClusterStatus']);

export async function readRecord<K extends ShapeName>(repo: Repo, commit: string, file: string, shape: K): Promise<Shapes[K] | undefined> {
  try {
    let value: unknown;
    if (PER_SERVICE.has(shape)) value = await readServiceRecord(repo, commit, file);
    else {
      const text = await readFileAt(repo, commit, file);
      value = text ? JSON.parse(text) : undefined;
    }
    if (value === undefined) return undefined;
    const p = checkValue(shape, value, `${commit.slice(0, 12)}:${file}`);
    return p.ok ? p.value : undefined;
  } catch {
    return undefined;
  }
}

const ENTRY: Partial<Record<ShapeName, ShapeName>> = { Placement: 'Assignment', ClusterStatus: 'ServiceStatus' };

/**
 * The records of a run of commits of one ref (oldest first), each checked as readRecord checks
 * one, at the cost of what changed from one to the next (service-records.ts).
 */
export async function readRecordsAlong<K extends 'Placement' | 'ClusterStatus'>(
  repo: Repo,
  commits: ReadonlyArray<{ oid: string; tree: string }>,
  file: string,
  shape: K,
): Promise<Array<Shapes[K] | undefined>> {
  const entry = ENTRY[shape]!;
  const docs = await readServiceRecordsAlong(
    repo,
    commits,
    file,
    (d) => checkValue(shape, d, file).ok,
    (e) => checkValue(entry, e, file).ok,
  );
  return docs as Array<Shapes[K] | undefined>;
}
