// JSON records in system-authored commits (placement.json, status.json), checked against their
// schema when read: undefined when absent or not valid, never a half-trusted value.
import { checkValue, type ShapeName, type Shapes } from '../../schemas/parse.js';
import { readFileAt, type Repo } from './repo.js';

export async function readRecord<K extends ShapeName>(repo: Repo, commit: string, file: string, shape: K): Promise<Shapes[K] | undefined> {
  const text = await readFileAt(repo, commit, file).catch(() => undefined);
  if (!text) return undefined;
  try {
    const p = checkValue(shape, JSON.parse(text), `${commit.slice(0, 12)}:${file}`);
    return p.ok ? p.value : undefined;
  } catch {
    return undefined;
  }
}
