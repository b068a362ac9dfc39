// System records with one entry per service (a cluster's placement, a cluster's status), stored
// so that their cost follows the change: a small header file (placement.json, status.json) and
// one file per service under services/<app>/<name>.json. A commit that changes one service of a
// cluster holding 8,000 writes one small blob and the trees on its path, not a 3 MB document;
// and `git log -p refs/canopy/placements/munich -- services/shop/web.json` is the placement
// history of one service, natively. Records written before this layout (the services inline in
// the header file) are still read.
import { canonicalJson } from '../core/ids.js';
import { objectStore } from './odb.js';
import { readCommitObject } from './log.js';
import { diffTrees, entryAtPath, listFiles, readEntries, writeFiles } from './tree.js';
import type { Repo } from './repo.js';

export const SERVICES_DIR = 'services';

/** services/<app>/<name>.json for the service `app/name`. */
export function servicePath(id: string): string {
  return `${SERVICES_DIR}/${id}.json`;
}

/**
 * The tree of a record: `header` (without its services) in `file`, and each service's entry in its
 * own file. Only entries that differ from `before` (the record at `base`) are written: the same
 * object is unchanged, another object is compared by value (`same`). When `base` has no services
 * directory yet (a first record, or one of the old layout), every entry is written.
 */
export async function writeServiceRecord<E>(
  repo: Repo,
  base: string | undefined,
  file: string,
  header: Record<string, unknown>,
  before: Readonly<Record<string, E>> | undefined,
  services: Readonly<Record<string, E>>,
  same: (a: E, b: E) => boolean = (a, b) => canonicalJson(a) === canonicalJson(b),
): Promise<string> {
  const files = new Map<string, string | null>([[file, JSON.stringify(header, null, 1) + '\n']]);
  const had = base ? (await readEntries(repo, base)).get(SERVICES_DIR)?.type === 'tree' : false;
  const prev = had ? (before ?? {}) : {};
  for (const [id, e] of Object.entries(services)) {
    const p = prev[id];
    if (p === e || (p !== undefined && same(p, e))) continue;
    files.set(servicePath(id), JSON.stringify(e, null, 1) + '\n');
  }
  for (const id of Object.keys(prev)) if (!(id in services)) files.set(servicePath(id), null);
  // A record of the old layout kept its services in the header file, rewritten above.
  return writeFiles(repo, base, files);
}

/** The header of the record in `commit` (its `services`, if inline, included), or undefined when absent or not JSON. */
export async function readRecordHeader(repo: Repo, commit: string, file: string): Promise<Record<string, unknown> | undefined> {
  return (await readRecordHeaderOrWhy(repo, commit, file)).value;
}

/** What is read of a record: its value, or why it is damaged; neither when it is absent. */
export interface RecordRead {
  value?: Record<string, unknown>;
  why?: string;
}

/** As readRecordHeader, saying why a header that is there cannot be read. */
export async function readRecordHeaderOrWhy(repo: Repo, commit: string, file: string): Promise<RecordRead> {
  const tree = (await readCommitObject(repo, commit)).tree;
  return readJsonOrWhy(repo, tree, file);
}

/**
 * The whole record in `commit`: the header with its services filled in from services/ (or as the
 * old layout had them inline). Undefined when absent or any part is not JSON; the caller checks
 * the result against the schema.
 */
export async function readServiceRecord(repo: Repo, commit: string, file: string): Promise<Record<string, unknown> | undefined> {
  return (await readServiceRecordOrWhy(repo, commit, file)).value;
}

/** As readServiceRecord, saying which part of a record that is there cannot be read. */
export async function readServiceRecordOrWhy(repo: Repo, commit: string, file: string): Promise<RecordRead> {
  const tree = (await readCommitObject(repo, commit)).tree;
  const read = await readJsonOrWhy(repo, tree, file);
  const header = read.value;
  if (!header || header.services !== undefined) return read;
  const dir = await entryAtPath(repo, tree, SERVICES_DIR);
  const services: Record<string, unknown> = {};
  if (dir?.type === 'tree') {
    const store = objectStore(repo);
    for (const [p, e] of await listFiles(repo, dir.oid)) {
      const at = `${SERVICES_DIR}/${p}`;
      if (!p.endsWith('.json') || e.type !== 'blob') return { why: `${at}: not a service entry (services/<app>/<name>.json)` };
      try {
        services[p.slice(0, -'.json'.length)] = JSON.parse((await store.readType(e.oid, 'blob')).toString('utf8'));
      } catch (err) {
        return { why: `${at}: not JSON (${(err as Error).message})` };
      }
    }
  }
  return { value: { ...header, services } };
}

async function readJson(repo: Repo, tree: string, file: string): Promise<Record<string, unknown> | undefined> {
  return (await readJsonOrWhy(repo, tree, file)).value;
}

async function readJsonOrWhy(repo: Repo, tree: string, file: string): Promise<RecordRead> {
  const e = await entryAtPath(repo, tree, file);
  if (!e) return {};
  if (e.type !== 'blob') return { why: 'not a file' };
  let v: unknown;
  try {
    v = JSON.parse((await objectStore(repo).readType(e.oid, 'blob')).toString('utf8')) as unknown;
  } catch (err) {
    return { why: `not JSON (${(err as Error).message})` };
  }
  return v && typeof v === 'object' && !Array.isArray(v) ? { value: v as Record<string, unknown> } : { why: 'not a JSON object' };
}

/**
 * The records of a run of commits of one ref, oldest first, at the cost of what changed between
 * them: the first is read whole, each next one is the previous with its changed service files
 * read (a diff of the services/ trees), so walking 100 commits of a cluster holding 8,000
 * services reads 8,000 files once, not 800,000. Commits sharing a tree share the record.
 * `checkEntry` checks one service entry, `checkWhole` a whole record (given the first, and any
 * of the old layout); undefined where a record is absent or fails a check.
 */
export async function readServiceRecordsAlong(
  repo: Repo,
  commits: ReadonlyArray<{ oid: string; tree: string }>,
  file: string,
  checkWhole: (doc: Record<string, unknown>) => boolean,
  checkEntry: (entry: unknown) => boolean,
): Promise<Array<Record<string, unknown> | undefined>> {
  const out: Array<Record<string, unknown> | undefined> = [];
  let prev: { tree: string; services?: string; doc: Record<string, unknown> } | undefined;
  const store = objectStore(repo);
  for (const { oid, tree } of commits) {
    if (prev && prev.tree === tree) {
      out.push(prev.doc);
      continue;
    }
    const header = await readJson(repo, tree, file).catch(() => undefined);
    const dir = await entryAtPath(repo, tree, SERVICES_DIR).catch(() => undefined);
    const servicesOid = dir?.type === 'tree' ? dir.oid : undefined;
    let doc: Record<string, unknown> | undefined;
    if (!header) doc = undefined;
    else if (!prev || header.services !== undefined || prev.services === undefined || servicesOid === undefined) {
      const whole = await readServiceRecord(repo, oid, file).catch(() => undefined);
      doc = whole && checkWhole(whole) ? whole : undefined;
    } else {
      const services = { ...(prev.doc.services as Record<string, unknown>) };
      let ok = checkWhole({ ...header, services: {} });
      for (const c of ok ? await diffTrees(repo, prev.services, servicesOid) : []) {
        if (!c.path.endsWith('.json')) {
          ok = false;
          break;
        }
        const id = c.path.slice(0, -'.json'.length);
        if (!c.after) {
          delete services[id];
          continue;
        }
        let entry: unknown;
        try {
          entry = JSON.parse((await store.readType(c.after.oid, 'blob')).toString('utf8'));
        } catch {
          ok = false;
          break;
        }
        if (!checkEntry(entry)) {
          ok = false;
          break;
        }
        services[id] = entry;
      }
      doc = ok ? { ...header, services } : undefined;
    }
    out.push(doc);
    // A record that failed its check is not a base for the next: that one is read whole.
    prev = doc ? { tree, services: servicesOid, doc } : undefined;
  }
  return out;
}
