// Where in a YAML file a value lives: turns a JSON pointer (as ajv reports it) into the
// line:column an author can jump to, and into the dotted path they read in messages.
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export interface Position {
  line: number;
  column: number;
}

export const START: Position = { line: 1, column: 1 };

/** `/spec/ports/0` → ['spec', 'ports', '0'] (RFC 6901 unescaping). */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** ['spec', 'ports', '0', 'port'] → `spec.ports[0].port`; odd keys are quoted: labels["a.b/c"]. */
export function displayPath(segments: readonly string[]): string {
  let out = '';
  for (const s of segments) {
    if (/^[0-9]+$/.test(s)) out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

export function positionAt(lines: LineCounter, offset: number): Position {
  const { line, col } = lines.linePos(offset);
  // linePos reports line 0 before the first newline it has seen.
  return line < 1 ? { line: 1, column: offset + 1 } : { line, column: col };
}

/**
 * Position of the node at `segments`; with `key`, of that key in the mapping at `segments`
 * (where an unknown field is). A path that does not exist resolves to its deepest existing
 * ancestor, so a problem is always placed somewhere sensible.
 */
export function locate(doc: Document, lines: LineCounter, segments: readonly string[], key?: string): Position {
  let node: unknown = doc.contents;
  let at = start(node, lines) ?? START;
  for (const seg of segments) {
    const child = childOf(doc, node, seg);
    if (!child) return at;
    // `key:` with nothing after it has no value node: point at the key.
    at = start(child.value, lines) ?? start(child.key, lines) ?? at;
    node = child.value;
  }
  if (key === undefined) return at;
  return start(childOf(doc, node, key)?.key, lines) ?? at;
}

function childOf(doc: Document, node: unknown, seg: string): { key?: unknown; value: unknown } | undefined {
  if (isAlias(node)) node = node.resolve(doc);
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && keyText(p.key) === seg);
    return pair && { key: pair.key, value: pair.value };
  }
  if (isSeq(node) && /^[0-9]+$/.test(seg) && Number(seg) < node.items.length) {
    return { value: node.items[Number(seg)] };
  }
  return undefined;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return key === null || key === undefined ? undefined : String(key);
}

function start(node: unknown, lines: LineCounter): Position | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? positionAt(lines, range[0]) : undefined;
}
