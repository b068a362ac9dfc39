// Tree-level reads and writes whose cost follows the change: a diff skips every subtree whose
// oid is equal on both sides, and a write rebuilds only the trees on the changed paths.
import { readTree, writeTree, writeBlob, type Entry, type Repo } from './repo.js';

export interface Change { path: string; before?: Entry; after?: Entry }

/** Changed blobs (and odd entries: submodules, symlinks) between two trees; a undefined = empty. */
export async function diffTrees(repo: Repo, a: string | undefined, b: string | undefined, prefix = ''): Promise<Change[]> {
  if (a === b) return [];
  const left = a ? await readTree(repo, a) : new Map<string, Entry>();
  const right = b ? await readTree(repo, b) : new Map<string, Entry>();
  const out: Change[] = [];
  const names = new Set([...left.keys(), ...right.keys()]);
  for (const name of [...names].sort()) {
    const l = left.get(name);
    const r = right.get(name);
    if (l && r && l.oid === r.oid && l.mode === r.mode) continue;
    const p = prefix + name;
    const lt = l?.type === 'tree' ? l : undefined;
    const rt = r?.type === 'tree' ? r : undefined;
    if (lt || rt) out.push(...(await diffTrees(repo, lt?.oid, rt?.oid, p + '/')));
    const lb = l && l.type !== 'tree' ? l : undefined;
    const rb = r && r.type !== 'tree' ? r : undefined;
    if (lb || rb) out.push({ path: p, before: lb, after: rb });
  }
  return out;
}

/** Every non-tree entry under a tree, by path. */
export async function listFiles(repo: Repo, tree: string | undefined): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  for (const c of await diffTrees(repo, undefined, tree)) if (c.after) out.set(c.path, c.after);
  return out;
}

/** A new tree: `base` with each path set to new text (or removed when null). */
export async function writeFiles(repo: Repo, base: string | undefined, files: Map<string, string | null>): Promise<string> {
  const byDir = new Map<string, Map<string, string | null>>();
  const here = new Map<string, string | null>();
  for (const [p, v] of files) {
    const i = p.indexOf('/');
    if (i < 0) { here.set(p, v); continue; }
    const d = p.slice(0, i);
    if (!byDir.has(d)) byDir.set(d, new Map());
    byDir.get(d)!.set(p.slice(i + 1), v);
  }
  const entries = base ? await readTree(repo, base) : new Map<string, Entry>();
  for (const [name, v] of here) {
    if (v === null) entries.delete(name);
    else entries.set(name, { mode: '100644', oid: await writeBlob(repo, v), type: 'blob' });
  }
  for (const [d, sub] of byDir) {
    const prev = entries.get(d);
    const oid = await writeFiles(repo, prev?.type === 'tree' ? prev.oid : undefined, sub);
    const empty = (await readTree(repo, oid)).size === 0;
    if (empty) entries.delete(d);
    else entries.set(d, { mode: '040000', oid, type: 'tree' });
  }
  return writeTree(repo, entries);
}
