// JSON Patch (RFC 6902) applied without copying the whole document: only the containers on
// each operation's path are copied (copy on write), so a patch that changes one service of a
// 10,000-service placement costs what it touches; the input document is never modified.
import jsonpatch, { type Operation } from 'fast-json-patch';

type Container = Record<string, unknown> | unknown[];

export function applyPatchShared<T>(doc: T, ops: readonly Operation[]): T {
  const copied = new Set<unknown>();
  let root = copyOf(doc as unknown, copied) as T;
  for (const op of ops) {
    root = ownPath(root, op.path, copied);
    if ((op.op === 'move' || op.op === 'copy') && typeof op.from === 'string') root = ownPath(root, op.from, copied);
    root = jsonpatch.applyOperation(root, op, true, true).newDocument;
  }
  return root;
}

function copyOf(v: unknown, copied: Set<unknown>): unknown {
  if (!v || typeof v !== 'object' || copied.has(v)) return v;
  const c = Array.isArray(v) ? [...v] : { ...(v as Record<string, unknown>) };
  copied.add(c);
  return c;
}

/** Copies every container on the way to `pointer`'s parent that this patch has not copied yet. */
function ownPath<T>(root: T, pointer: string, copied: Set<unknown>): T {
  if (pointer === '') return root;
  const tokens = pointer
    .split('/')
    .slice(1)
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node = root as unknown;
  for (const t of tokens.slice(0, -1)) {
    if (!node || typeof node !== 'object') return root; // applyOperation reports the bad path
    const parent = node as Container;
    const key = Array.isArray(parent) ? Number(t) : t;
    const child = (parent as Record<string | number, unknown>)[key];
    if (!child || typeof child !== 'object') return root;
    const own = copyOf(child, copied);
    (parent as Record<string | number, unknown>)[key] = own;
    node = own;
  }
  return root;
}
