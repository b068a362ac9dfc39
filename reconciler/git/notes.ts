// Notes under refs/notes/canopy, in the layout native `git notes` reads and writes: a tree of
// blobs named by the annotated commit's oid, flat (`<40 hex>`) while there are few, fanned out
// (`ab/<38 hex>`, deeper levels too) once there are many. Writing follows git's notes.c: at
// each level, if every one of the 16 next-nibble slots holds two entries or a subtree
// (determine_fanout), notes move one directory level down; untouched subtrees are kept as they
// are, so a round writes only the trees on the paths it changed, and all notes of a round go
// in one notes commit. Reading goes through an index (commit → note blob) built once per notes
// commit and kept up to date by our own writes, so walking many commits costs one tree walk.
import { resolveRef, writeCommit, updateRef, type Entry, type Repo, type Identity } from './repo.js';
import { objectStore } from './odb.js';
import { readCommitObject } from './log.js';
import { readEntries, writeEntries } from './tree.js';

export const NOTES_REF = 'refs/notes/canopy';

const HEX2 = /^[0-9a-f]{2}$/;
const isHex = (s: string) => /^[0-9a-f]+$/.test(s);

interface NotesIndex {
  head: string;
  notes: Map<string, string>;
}
const indexes = new WeakMap<Repo, Map<string, NotesIndex>>();

/** commit oid → note blob oid, for the notes ref as it is now (any layout). */
export async function notesIndex(repo: Repo, ref = NOTES_REF): Promise<Map<string, string>> {
  const head = await resolveRef(repo, ref);
  if (!head) return new Map();
  let byRef = indexes.get(repo);
  if (!byRef) indexes.set(repo, (byRef = new Map()));
  const cached = byRef.get(ref);
  if (cached?.head === head) return cached.notes;
  const notes = new Map<string, string>();
  const walk = async (tree: string, prefix: string): Promise<void> => {
    for (const [name, e] of await readEntries(repo, tree)) {
      if (e.type === 'tree' && HEX2.test(name)) await walk(e.oid, prefix + name);
      else if (e.type === 'blob' && isHex(name) && prefix.length + name.length === 40) notes.set(prefix + name, e.oid);
    }
  };
  await walk((await readCommitObject(repo, head)).tree, '');
  byRef.set(ref, { head, notes });
  return notes;
}

export async function readNote(repo: Repo, commit: string, ref = NOTES_REF): Promise<string | undefined> {
  const blob = (await notesIndex(repo, ref)).get(commit);
  if (!blob) return undefined;
  return (await objectStore(repo).readType(blob, 'blob')).toString('utf8');
}

/** Set (or, with null, remove) the notes of several commits in one notes commit. */
export async function writeNotes(
  repo: Repo,
  notes: Map<string, string | null>,
  author: Identity,
  message: string,
  ref = NOTES_REF,
): Promise<string | undefined> {
  if (!notes.size) return undefined;
  const head = await resolveRef(repo, ref);
  const index = head ? await notesIndex(repo, ref) : new Map<string, string>();
  const store = objectStore(repo);
  const changes = new Map<string, string | null>();
  for (const [commit, text] of notes) changes.set(commit, text === null ? null : await store.write('blob', Buffer.from(text)));
  const base = head ? (await readCommitObject(repo, head)).tree : undefined;
  const items = base ? await itemsOf(repo, base, '', changes) : [];
  const tree = await writeLevel(repo, '', applyChanges(items, changes), 0);
  const oid = await writeCommit(repo, { tree, parents: head ? [head] : [], message, author });
  await updateRef(repo, ref, oid, head);
  // Keep the index in step with what we wrote (nobody else has seen `oid` yet).
  for (const [commit, blob] of changes) {
    if (blob === null) index.delete(commit);
    else index.set(commit, blob);
  }
  let byRef = indexes.get(repo);
  if (!byRef) indexes.set(repo, (byRef = new Map()));
  byRef.set(ref, { head: oid, notes: index });
  return oid;
}

/**
 * What a level of the notes tree holds, as notes.c sees it after loading what a change needs:
 * notes (by full oid), subtrees left unloaded (by the oid prefix they cover), other entries.
 */
type Item = { kind: 'note'; oid: string; blob: string } | { kind: 'subtree'; prefix: string; tree: string } | { kind: 'other'; name: string; entry: Entry };

/** The items of a stored tree at `prefix`; subtrees a changed note falls in are loaded (recursively). */
async function itemsOf(repo: Repo, tree: string, prefix: string, changes: Map<string, string | null>): Promise<Item[]> {
  return itemsLoading(repo, tree, prefix, (sub) => [...changes.keys()].some((c) => c.startsWith(sub)));
}

async function itemsLoading(repo: Repo, tree: string, prefix: string, load: (prefix: string) => boolean): Promise<Item[]> {
  const out: Item[] = [];
  for (const [name, e] of await readEntries(repo, tree)) {
    const full = prefix + name;
    if (e.type === 'tree' && HEX2.test(name)) {
      if (load(full)) out.push(...(await itemsLoading(repo, e.oid, full, load)));
      else out.push({ kind: 'subtree', prefix: full, tree: e.oid });
    } else if (e.type === 'blob' && isHex(name) && full.length === 40) out.push({ kind: 'note', oid: full, blob: e.oid });
    else if (prefix === '') out.push({ kind: 'other', name, entry: e });
  }
  return out;
}

function applyChanges(items: Item[], changes: Map<string, string | null>): Item[] {
  const out = items.filter((i) => i.kind !== 'note' || !changes.has(i.oid));
  for (const [oid, blob] of changes) if (blob !== null) out.push({ kind: 'note', oid, blob });
  return out;
}

/** notes.c determine_fanout: every next-nibble slot holds two or more entries, or a subtree. */
function fansOut(items: Item[], prefix: string): boolean {
  const slots = new Array<number>(16).fill(0);
  const subtree = new Array<boolean>(16).fill(false);
  for (const i of items) {
    if (i.kind === 'other') continue;
    const key = i.kind === 'note' ? i.oid : i.prefix;
    const slot = parseInt(key[prefix.length], 16);
    slots[slot]++;
    if (i.kind === 'subtree') subtree[slot] = true;
  }
  return slots.every((n, s) => n >= 2 || (n === 1 && subtree[s]));
}

/** Writes the level at `prefix` (2 × depth hex digits); `fanout`: directory levels above the notes so far. */
async function writeLevel(repo: Repo, prefix: string, items: Item[], fanout: number): Promise<string> {
  const depth = prefix.length / 2;
  // git looks again at each level it has fanned out to: one more level when the slots are full.
  if (depth === fanout && fansOut(items, prefix)) fanout++;
  const entries = new Map<string, Entry>();
  if (fanout > depth) {
    const groups = new Map<string, Item[]>();
    for (const i of items) {
      if (i.kind === 'other') {
        entries.set(i.name, i.entry);
        continue;
      }
      const key = i.kind === 'note' ? i.oid : i.prefix;
      const dir = key.slice(prefix.length, prefix.length + 2);
      if (!groups.has(dir)) groups.set(dir, []);
      groups.get(dir)!.push(i);
    }
    for (const [dir, group] of groups) {
      const only = group.length === 1 ? group[0] : undefined;
      // An unloaded subtree at exactly this place is kept as it is: nothing under it changed.
      const tree = only?.kind === 'subtree' && only.prefix === prefix + dir ? only.tree : await writeLevel(repo, prefix + dir, group, fanout);
      entries.set(dir, { mode: '040000', oid: tree, type: 'tree' });
    }
  } else {
    // Notes live at this level: subtrees below it are unpacked into it (notes.c consolidates too).
    for (const i of await flatten(repo, items)) {
      if (i.kind === 'other') entries.set(i.name, i.entry);
      else if (i.kind === 'note') entries.set(i.oid.slice(prefix.length), { mode: '100644', oid: i.blob, type: 'blob' });
    }
  }
  return writeEntries(repo, entries);
}

/** Every subtree item loaded, down to its notes. */
async function flatten(repo: Repo, items: Item[]): Promise<Item[]> {
  const out: Item[] = [];
  for (const i of items) {
    if (i.kind === 'subtree') out.push(...(await itemsLoading(repo, i.tree, i.prefix, () => true)));
    else out.push(i);
  }
  return out;
}
