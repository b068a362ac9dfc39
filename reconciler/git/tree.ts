// Tree-level reads and writes whose cost follows the change: a diff skips every subtree whose
// oid is equal on both sides and walks two sorted tree objects side by side without decoding
// equal entries (a flat directory of 10,000 files costs one byte comparison per entry), and a
// write rebuilds only the trees on the changed paths. Objects come from the fast store (odb.ts).
import { objectStore } from './odb.js';
import type { Repo } from './repo-handle.js';

/** A tree entry: a file (blob), a directory (tree) or a submodule (commit). */
export interface Entry {
  mode: string;
  oid: string;
  type: 'blob' | 'tree' | 'commit';
}

export interface Change {
  path: string;
  before?: Entry;
  after?: Entry;
}

/** A tree object's entries in stored order: where each starts, and where its name ends (NUL). */
interface RawTree {
  body: Buffer;
  starts: Int32Array;
  nuls: Int32Array;
}

const EMPTY: RawTree = { body: Buffer.alloc(0), starts: new Int32Array(0), nuls: new Int32Array(0) };

/** Entry boundaries of `body` from `pos` on, until `stop(pos)` holds at an entry start. */
function scan(body: Buffer, pos: number, stop?: (pos: number) => boolean): { starts: number[]; nuls: number[]; end: number } {
  const starts: number[] = [];
  const nuls: number[] = [];
  while (pos < body.length && !stop?.(pos)) {
    let nul = pos;
    while (nul < body.length && body[nul] !== 0) nul++;
    if (nul + 21 > body.length) throw new Error('malformed tree object');
    starts.push(pos);
    nuls.push(nul);
    pos = nul + 21;
  }
  return { starts, nuls, end: pos };
}

function scanTree(body: Buffer): RawTree {
  const s = scan(body, 0);
  return { body, starts: Int32Array.from(s.starts), nuls: Int32Array.from(s.nuls) };
}

/** Scanned trees by oid (an oid names the same bytes in every repository), bounded by bytes. */
const scanned = new Map<string, RawTree>();
let scannedBytes = 0;
const SCANNED_LIMIT = 32 * 1024 * 1024;

function keep(oid: string, t: RawTree): RawTree {
  // Only large trees are worth keeping: they are what a flat directory diff reads every round.
  if (t.starts.length <= 64) return t;
  scanned.set(oid, t);
  scannedBytes += t.body.length;
  for (const [k, v] of scanned) {
    if (scannedBytes <= SCANNED_LIMIT) break;
    scanned.delete(k);
    scannedBytes -= v.body.length;
  }
  return t;
}

function cachedTree(oid: string): RawTree | undefined {
  const hit = scanned.get(oid);
  if (hit) {
    scanned.delete(oid);
    scanned.set(oid, hit);
  }
  return hit;
}

async function rawTree(repo: Repo, oid: string | undefined): Promise<RawTree> {
  if (!oid) return EMPTY;
  return cachedTree(oid) ?? keep(oid, scanTree(await objectStore(repo).readType(oid, 'tree')));
}

/** Largest k with xs[k - 1] < limit (xs ascending). */
function countBelow(xs: Int32Array, limit: number): number {
  let lo = 0,
    hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] < limit) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Tree `b` read against an already scanned `a`: the bytes both share at the start and at the
 * end are found with memory compares, and only the entries between them are parsed; b's
 * boundaries elsewhere are a's (shifted at the end). `head` and `tail`: entries equal on both
 * sides at the start and at the end.
 */
function against(a: RawTree, body: Buffer): { b: RawTree; head: number; tail: number } {
  const la = a.body.length,
    lb = body.length;
  const n = Math.min(la, lb);
  let d = 0;
  for (const step of [65536, 4096, 256, 16, 1]) {
    while (d + step <= n && a.body.compare(body, d, d + step, d, d + step) === 0) d += step;
  }
  let e = 0;
  for (const step of [65536, 4096, 256, 16, 1]) {
    while (e + step <= n && a.body.compare(body, lb - e - step, lb - e, la - e - step, la - e) === 0) e += step;
  }
  // Entries of a that end by the first differing byte are entries of b too, at the same offsets.
  const head = countBelow(a.nuls, d - 20);
  const from = head < a.starts.length ? a.starts[head] : head ? a.nuls[head - 1] + 21 : 0;
  // Parse b from there until it reaches an entry of a that lies wholly in the shared end.
  let j = -1;
  const mid = scan(body, from, (pos) => {
    const ai = la - (lb - pos);
    if (lb - pos > e || ai < 0) return false;
    const k = countBelow(a.starts, ai);
    if (k >= head && k < a.starts.length && a.starts[k] === ai) {
      j = k;
      return true;
    }
    return false;
  });
  const tail = j < 0 ? 0 : a.starts.length - j;
  const count = head + mid.starts.length + tail;
  const starts = new Int32Array(count),
    nuls = new Int32Array(count);
  starts.set(a.starts.subarray(0, head));
  nuls.set(a.nuls.subarray(0, head));
  starts.set(mid.starts, head);
  nuls.set(mid.nuls, head);
  const shift = lb - la;
  for (let k = 0; k < tail; k++) {
    starts[head + mid.starts.length + k] = a.starts[j + k] + shift;
    nuls[head + mid.starts.length + k] = a.nuls[j + k] + shift;
  }
  return { b: { body, starts, nuls }, head, tail };
}

function entryAt(t: RawTree, k: number): { name: string; entry: Entry } {
  const { body } = t;
  const sp = body.indexOf(0x20, t.starts[k]);
  const mode = body.toString('latin1', t.starts[k], sp).padStart(6, '0');
  const name = body.toString('utf8', sp + 1, t.nuls[k]);
  const oid = body.toString('hex', t.nuls[k] + 1, t.nuls[k] + 21);
  return { name, entry: { mode, oid, type: mode === '040000' ? 'tree' : mode === '160000' ? 'commit' : 'blob' } };
}

const isTreeMode = (body: Buffer, start: number) => body[start] === 0x34 && body[start + 1] === 0x30 && body[start + 2] === 0x30 && body[start + 5] === 0x20;

/**
 * Order of two entries as git sorts a tree: by name bytes, a tree's name as if it ended in "/".
 * Compares in place, without decoding.
 */
function order(a: RawTree, i: number, b: RawTree, j: number): number {
  const na = a.body.indexOf(0x20, a.starts[i]) + 1;
  const nb = b.body.indexOf(0x20, b.starts[j]) + 1;
  const la = a.nuls[i] - na,
    lb = b.nuls[j] - nb;
  const n = Math.min(la, lb);
  const c = a.body.compare(b.body, nb, nb + n, na, na + n);
  if (c !== 0) return c;
  const ca = la > n ? a.body[na + n] : isTreeMode(a.body, a.starts[i]) ? 0x2f : 0;
  const cb = lb > n ? b.body[nb + n] : isTreeMode(b.body, b.starts[j]) ? 0x2f : 0;
  return ca - cb;
}

/** Whole entries (mode, name and oid) byte-equal. */
function same(a: RawTree, i: number, b: RawTree, j: number): boolean {
  const la = a.nuls[i] + 21 - a.starts[i];
  return la === b.nuls[j] + 21 - b.starts[j] && a.body.compare(b.body, b.starts[j], b.starts[j] + la, a.starts[i], a.starts[i] + la) === 0;
}

/** Changed blobs (and odd entries: submodules, symlinks) between two trees; undefined = empty. */
export async function diffTrees(repo: Repo, a: string | undefined, b: string | undefined, prefix = ''): Promise<Change[]> {
  const out: Change[] = [];
  await diffInto(repo, a, b, prefix, out);
  return out;
}

async function diffInto(repo: Repo, a: string | undefined, b: string | undefined, prefix: string, out: Change[]): Promise<void> {
  if (a === b) return;
  const left = await rawTree(repo, a);
  let right: RawTree,
    head = 0,
    tail = 0;
  const cached = b ? cachedTree(b) : undefined;
  if (!b) right = EMPTY;
  else if (!left.starts.length) right = cached ?? keep(b, scanTree(await objectStore(repo).readType(b, 'tree')));
  else {
    const shared = against(left, cached?.body ?? (await objectStore(repo).readType(b, 'tree')));
    ({ head, tail } = shared);
    right = cached ?? keep(b, shared.b);
  }
  let i = head,
    j = head;
  const nl = left.starts.length - tail,
    nr = right.starts.length - tail;
  while (i < nl || j < nr) {
    if (i < nl && j < nr && same(left, i, right, j)) {
      i++;
      j++;
      continue;
    }
    const c = i >= nl ? 1 : j >= nr ? -1 : order(left, i, right, j);
    const l = c <= 0 ? entryAt(left, i++) : undefined;
    const r = c >= 0 ? entryAt(right, j++) : undefined;
    await emit(repo, prefix + (l ?? r)!.name, l?.entry, r?.entry, out);
  }
}

async function emit(repo: Repo, p: string, l: Entry | undefined, r: Entry | undefined, out: Change[]): Promise<void> {
  const lt = l?.type === 'tree' ? l : undefined;
  const rt = r?.type === 'tree' ? r : undefined;
  if (lt || rt) await diffInto(repo, lt?.oid, rt?.oid, p + '/', out);
  const lb = l && l.type !== 'tree' ? l : undefined;
  const rb = r && r.type !== 'tree' ? r : undefined;
  if (lb || rb) out.push({ path: p, before: lb, after: rb });
}

/** A tree's entries by name (what repo.readTree returns, from the fast store). */
export async function readEntries(repo: Repo, oid: string): Promise<Map<string, Entry>> {
  const t = await rawTree(repo, oid);
  const out = new Map<string, Entry>();
  for (let k = 0; k < t.starts.length; k++) {
    const { name, entry } = entryAt(t, k);
    out.set(name, entry);
  }
  return out;
}

/** Every non-tree entry under a tree, by path. */
export async function listFiles(repo: Repo, tree: string | undefined): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  for (const c of await diffTrees(repo, undefined, tree)) if (c.after) out.set(c.path, c.after);
  return out;
}

/** The entry at `file` (a/b/c) under a tree, or undefined. */
export async function entryAtPath(repo: Repo, tree: string, file: string): Promise<Entry | undefined> {
  let cur: Entry | undefined = { mode: '040000', oid: tree, type: 'tree' };
  for (const part of file.split('/')) {
    if (cur?.type !== 'tree') return undefined;
    cur = (await readEntries(repo, cur.oid)).get(part);
  }
  return cur;
}

/** Write a tree object from entries (any order: sorted here as git sorts). */
export async function writeEntries(repo: Repo, entries: Map<string, Entry>): Promise<string> {
  const key = (name: string, e: Entry) => (e.type === 'tree' ? name + '/' : name);
  const sorted = [...entries].sort(([a, x], [b, y]) => Buffer.compare(Buffer.from(key(a, x)), Buffer.from(key(b, y))));
  const parts: Buffer[] = [];
  for (const [name, e] of sorted) {
    parts.push(Buffer.from(`${e.mode.replace(/^0+/, '')} ${name}\0`), Buffer.from(e.oid, 'hex'));
  }
  return objectStore(repo).write('tree', Buffer.concat(parts));
}

export async function writeBlobFast(repo: Repo, text: string | Uint8Array): Promise<string> {
  return objectStore(repo).write('blob', typeof text === 'string' ? Buffer.from(text) : Buffer.from(text));
}

/** A new tree: `base` with each path set to new text (or removed when null). */
export async function writeFiles(repo: Repo, base: string | undefined, files: Map<string, string | null>): Promise<string> {
  return (await writeFilesOrEmpty(repo, base, files)) ?? objectStore(repo).write('tree', Buffer.alloc(0));
}

/** Like writeFiles, but undefined when the result is an empty tree (a directory to drop). */
async function writeFilesOrEmpty(repo: Repo, base: string | undefined, files: Map<string, string | null>): Promise<string | undefined> {
  const byDir = new Map<string, Map<string, string | null>>();
  const here = new Map<string, string | null>();
  for (const [p, v] of files) {
    const i = p.indexOf('/');
    if (i < 0) {
      here.set(p, v);
      continue;
    }
    const d = p.slice(0, i);
    if (!byDir.has(d)) byDir.set(d, new Map());
    byDir.get(d)!.set(p.slice(i + 1), v);
  }
  const entries = base ? await readEntries(repo, base) : new Map<string, Entry>();
  for (const [name, v] of here) {
    if (v === null) entries.delete(name);
    else entries.set(name, { mode: '100644', oid: await writeBlobFast(repo, v), type: 'blob' });
  }
  for (const [d, sub] of byDir) {
    const prev = entries.get(d);
    const oid = await writeFilesOrEmpty(repo, prev?.type === 'tree' ? prev.oid : undefined, sub);
    if (oid === undefined) entries.delete(d);
    else entries.set(d, { mode: '040000', oid, type: 'tree' });
  }
  return entries.size ? writeEntries(repo, entries) : undefined;
}
