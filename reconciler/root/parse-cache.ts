// Parsed descriptors kept on disk between processes, so a root restart, `canopy plan` or
// `canopy status` on a 10,000-service repository does not parse 10,000 YAML files again (about
// 2 s) when this clone has parsed them before. Keyed by blob oid (content), stored under
// .git/canopy/, and stamped with a hash of the validator itself (its schemas and the code that
// words and locates problems): a canopy that judges differently never reuses another's verdicts.
// Only a cache: unreadable, stale or missing, it is ignored; a read-only repository just goes
// without it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { schemaStamp } from '../core/schema-errors.js';
import type { ParseResult } from '../core/validate.js';
import type { Repo } from '../git/repo.js';

const FILE = 'parse-cache.json';

let stamp: string | undefined;

/** What a cached verdict depends on: the schemas and the validator's own code. */
function validatorStamp(): string {
  if (stamp) return stamp;
  const h = createHash('sha256').update(schemaStamp());
  for (const m of ['../core/parse-descriptor.js', '../core/schema-errors.js', '../core/yaml-locate.js', '../core/keys.js']) {
    try {
      h.update(readFileSync(new URL(m, import.meta.url)));
    } catch {
      h.update(m);
    }
  }
  return (stamp = h.digest('hex').slice(0, 16));
}

const fileOf = (repo: Repo) => path.join(repo.gitdir, 'canopy', FILE);

/** Adds the stored verdicts to `cache`; returns how many. */
export async function loadParseCache(repo: Repo, cache: Map<string, ParseResult>): Promise<number> {
  try {
    const stored = JSON.parse(await readFile(fileOf(repo), 'utf8')) as { stamp: string; entries: Array<[string, ParseResult]> };
    if (stored.stamp !== validatorStamp() || !Array.isArray(stored.entries)) return 0;
    let n = 0;
    for (const [oid, r] of stored.entries)
      if (!cache.has(oid)) {
        cache.set(oid, r);
        n++;
      }
    return n;
  } catch {
    return 0;
  }
}

/** Stores these verdicts (those of one tree: the file never outgrows the repository). */
export async function saveParseCache(repo: Repo, entries: Array<[string, ParseResult]>): Promise<void> {
  const file = fileOf(repo);
  try {
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ stamp: validatorStamp(), entries }));
    await rename(tmp, file);
  } catch {
    /* read-only repository: no cache */
  }
}
