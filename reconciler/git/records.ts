// JSON records in system-authored commits (placement.json, status.json), checked against their
// schema when read: undefined when absent or not valid, never a half-trusted value.
import type { TSchema } from '@sinclair/typebox';
import { checkValue } from '../../schemas/parse.js';
import { readFileAt, type Repo } from './repo.js';

export async function readRecord<T>(repo: Repo, commit: string, file: string, schema: TSchema): Promise<T | undefined> {
  const text = await readFileAt(repo, commit, file).catch(() => undefined);
  if (!text) return undefined;
  try {
    const p = checkValue(schema, JSON.parse(text), `${commit.slice(0, 12)}:${file}`);
    return p.ok ? (p.value as T) : undefined;
  } catch {
    return undefined;
  }
}
