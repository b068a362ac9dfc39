// JSON records in system-authored commits (placement.json, status.json), checked against their
// schema when read: undefined when absent or not valid, never a half-trusted value; a record
// that is there and does not validate is named in a warning. Placements and statuses keep one
// file per service beside the header (service-records.ts).
import { checkValue, type ShapeName, type Shapes } from '../../schemas/parse.js';
import { readServiceRecordOrWhy, readServiceRecordsAlong, type RecordRead } from './service-records.js';
import { readFileAt, type Repo } from './repo.js';

const PER_SERVICE = new Set<ShapeName>(['Placement', 'ClusterStatus']);

export interface RecordOptions {
  /** The ref the commit is the tip of: names the record in a warning (else the commit does). */
  ref?: string;
  /** Told, once per read, why a record that is there is ignored. */
  warn?: (message: string) => void;
}

export async function readRecord<K extends ShapeName>(
  repo: Repo,
  commit: string,
  file: string,
  shape: K,
  o: RecordOptions = {},
): Promise<Shapes[K] | undefined> {
  const where = `${o.ref ?? commit.slice(0, 12)}:${file}`;
  const ignored = (why: string) => void o.warn?.(`${why}: ignored`);
  let read: RecordRead;
  try {
    if (PER_SERVICE.has(shape)) read = await readServiceRecordOrWhy(repo, commit, file);
    else {
      const text = await readFileAt(repo, commit, file);
      read = text === undefined ? {} : { value: JSON.parse(text) as Record<string, unknown> };
    }
  } catch (e) {
    read = { why: (e as Error).message };
  }
  if (read.why !== undefined) return ignored(`${where}: ${read.why}`);
  // A ref's record must be there: its commit without one is damaged (a commit asked for by oid may not have one).
  if (read.value === undefined) return o.ref ? ignored(`${where}: absent`) : undefined;
  const p = checkValue(shape, read.value, where);
  if (p.ok) return p.value;
  return ignored(p.error);
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
