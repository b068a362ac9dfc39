// Notes under refs/notes/canopy, in the layout native `git notes` uses: a tree whose entries are
// named by the annotated commit's oid, either flat (`<40 hex>`) or fanned out (`ab/<38 hex>`,
// deeper levels too). canopy reads every layout and writes into the one the tree already uses,
// all notes of a round in one commit.
import { readTree, resolveRef, readCommit, readBlobText, writeBlob, writeTree, writeCommit, updateRef, type Entry, type Repo, type Identity } from './repo.js';

export const NOTES_REF = 'refs/notes/canopy';

export async function readNote(repo: Repo, commit: string, ref = NOTES_REF): Promise<string | undefined> {
  const head = await resolveRef(repo, ref);
  if (!head) return undefined;
  let tree = (await readCommit(repo, head)).tree;
  let rest = commit;
  // Walk fan-out levels: at each level the entry is either the rest of the oid or two hex digits.
  for (;;) {
    const entries = await readTree(repo, tree);
    const leaf = entries.get(rest);
    if (leaf && leaf.type === 'blob') return readBlobText(repo, leaf.oid);
    const dir = entries.get(rest.slice(0, 2));
    if (!dir || dir.type !== 'tree' || rest.length <= 2) return undefined;
    tree = dir.oid;
    rest = rest.slice(2);
  }
}

/** Set (or, with null, remove) the notes of several commits in one notes commit. */
export async function writeNotes(repo: Repo, notes: Map<string, string | null>, author: Identity, message: string, ref = NOTES_REF): Promise<string | undefined> {
  if (!notes.size) return undefined;
  const head = await resolveRef(repo, ref);
  const baseTree = head ? (await readCommit(repo, head)).tree : undefined;
  const tree = await setNotes(repo, baseTree, notes, '');
  const oid = await writeCommit(repo, { tree, parents: head ? [head] : [], message, author });
  await updateRef(repo, ref, oid, head);
  return oid;
}

async function setNotes(repo: Repo, tree: string | undefined, notes: Map<string, string | null>, _prefix: string): Promise<string> {
  const entries = tree ? await readTree(repo, tree) : new Map<string, Entry>();
  const fanned = [...entries.entries()].some(([n, e]) => e.type === 'tree' && /^[0-9a-f]{2}$/.test(n));
  const sub = new Map<string, Map<string, string | null>>();
  for (const [oid, text] of notes) {
    const flat = entries.get(oid);
    const dirName = oid.slice(0, 2);
    const dir = entries.get(dirName);
    if (flat || (!fanned && !dir) || oid.length <= 2) {
      if (text === null) entries.delete(oid);
      else entries.set(oid, { mode: '100644', oid: await writeBlob(repo, text), type: 'blob' });
      continue;
    }
    if (!sub.has(dirName)) sub.set(dirName, new Map());
    sub.get(dirName)!.set(oid.slice(2), text);
  }
  for (const [dirName, m] of sub) {
    const prev = entries.get(dirName);
    const t = await setNotes(repo, prev?.type === 'tree' ? prev.oid : undefined, m, dirName);
    if ((await readTree(repo, t)).size) entries.set(dirName, { mode: '040000', oid: t, type: 'tree' });
    else entries.delete(dirName);
  }
  return writeTree(repo, entries);
}
