// JSON records in system-authored commits (placement.json, status.json), checked against their
// schema when read: undefined when absent or not valid, never a half-trusted value. Placements
// and statuses keep one file per service beside the header (service-records.ts).
import { checkValue, type ShapeName, type Shapes } from '../../schemas/parse.js';
import { readServiceRecord } from './service-records.js';
import { readFileAt, type Repo } from './repo.js';

const PER_SERVICE = new Set<ShapeName>(['Placement', 'ClusterStatus']);

export async function readRecord<K extends ShapeName>(repo: Repo, commit: string, file: string, shape: K): Promise<Shapes[K] | undefined> {
  try {
    let value: unknown;
    if (PER_SERVICE.has(shape)) value = await readServiceRecord(repo, commit, file);
    else { const text = await readFileAt(repo, commit, file); value = text ? JSON.parse(text) : undefined; }
    if (value === undefined) return undefined;
    const p = checkValue(shape, value, `${commit.slice(0, 12)}:${file}`);
    return p.ok ? p.value : undefined;
  } catch {
    return undefined;
  }
}
