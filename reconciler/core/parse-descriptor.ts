// One descriptor file on its own: what its path says it is (the layout of DESIGN.md), and its
// text parsed, checked against its schema and the rules a schema cannot say, each problem at a
// file:line:column. Pure: text in, result out. Rules across files are fleet-index.ts's.
import { LineCounter, parseDocument, visit, type Document, type YAMLError } from 'yaml';
import { load as loadFast, CORE_SCHEMA } from 'js-yaml';
import type { ClusterDescriptor, FleetDescriptor, SecretDescriptor, ServiceDescriptor } from '../../schemas/model.js';
import { parseSshKey } from './commit-signers.js';
import { serviceId } from './ids.js';
import { parsePublicKey } from './keys.js';
import { portIssues } from './service-names.js';
import { healthIssues, rolloutIssues } from './health-rules.js';
import { volumeIssues } from './volume-rules.js';
import { fileIssues, isConfigPath } from './file-rules.js';
import { connectivityIssues } from './air-gapped.js';
import { schemaIssuesUpTo, schemaValid, type Kind, type SchemaIssue } from './schema-errors.js';
import { START, displayPath, locate, positionAt, type Position } from './yaml-locate.js';

export type { Kind } from './schema-errors.js';

export interface FleetFile {
  path: string;
  oid?: string;
  text: string;
  /** Its size in bytes, when its text is not read (a config file: core/file-rules.ts). */
  size?: number;
  /** Its bytes, when its text is not read (a config file the root hands down). */
  bytes?: () => Buffer;
}
/** line and column are 1-based; 1:1 when the whole file is at fault. */
export interface Problem {
  file: string;
  line: number;
  column: number;
  message: string;
}

export type Descriptor =
  | { kind: 'Service'; value: ServiceDescriptor }
  | { kind: 'Fleet'; value: FleetDescriptor }
  | { kind: 'Cluster'; value: ClusterDescriptor }
  | { kind: 'Secret'; value: SecretDescriptor };

/**
 * `file` is the path the result was computed for: a cached result is reused only at the same
 * path, since the path picks the schema and must agree with metadata. A failed result keeps
 * its `descriptor` when only the semantic rules failed, so duplicates are still found.
 */
export type ParseResult = ({ ok: true; file: string } & Descriptor) | { ok: false; file: string; problems: Problem[]; descriptor?: Descriptor };

export const MAX_DESCRIPTOR_BYTES = 1024 * 1024;
/** Problems reported per file: past these, one line says how many more (a note stays readable). */
export const MAX_PROBLEMS_PER_FILE = 50;

export type Layout = { kind: Kind; dir?: string; name?: string } | { kind: 'ignored' } | { kind: 'unknown'; message: string };

/** What a path in the fleet repository is, by the layout of DESIGN.md. */
export function layoutOf(path: string): Layout {
  const parts = path.split('/');
  const base = parts[parts.length - 1];
  if (path === 'fleet.yaml') return { kind: 'Fleet' };
  if (parts[0] === 'clusters' && parts.length === 2 && base.endsWith('.yaml')) {
    return { kind: 'Cluster', name: base.slice(0, -'.yaml'.length) };
  }
  if (parts[0] === 'services' && parts.length === 3 && base.endsWith('.yaml')) {
    return { kind: 'Service', dir: parts[1], name: base.slice(0, -'.yaml'.length) };
  }
  if (parts[0] === 'secrets' && parts.length === 2 && base.endsWith('.yaml')) {
    return { kind: 'Secret', name: base.slice(0, -'.yaml'.length) };
  }
  // The ciphertext beside it: not a descriptor (the root hands it down unopened).
  if (parts[0] === 'secrets' && parts.length === 2 && base.endsWith('.age')) return { kind: 'ignored' };
  // Config files (spec.files[].from): handed down as they are, never parsed.
  if (isConfigPath(path)) return { kind: 'ignored' };
  if (base.startsWith('README') || base.endsWith('.md') || base === '.gitignore' || parts[0] === '.github' || parts[0] === 'schemas')
    return { kind: 'ignored' };
  const where =
    parts[0] === 'clusters'
      ? 'put cluster descriptors in clusters/<name>.yaml'
      : parts[0] === 'secrets'
        ? 'a secret is secrets/<name>.yaml and secrets/<name>.age (canopy secret set writes both)'
        : 'put service descriptors in services/<app>/<name>.yaml';
  return { kind: 'unknown', message: `unknown file: ${where}${base.endsWith('.yml') ? ' (ending in .yaml, not .yml)' : ''}` };
}

export function parseDescriptor(file: FleetFile): ParseResult {
  const fail = (problems: Problem[], descriptor?: Descriptor): ParseResult => ({ ok: false, file: file.path, problems, descriptor });
  const at = (pos: Position, message: string): Problem => ({ file: file.path, ...pos, message });

  const layout = layoutOf(file.path);
  if (layout.kind === 'unknown') return fail([at(START, layout.message)]);
  if (layout.kind === 'ignored') return fail([at(START, 'not a descriptor: this file is ignored')]);
  const size = utf8Length(file.text);
  if (size > MAX_DESCRIPTOR_BYTES) {
    return fail([at(START, `file is ${size} bytes: a descriptor may be at most 1 MiB (${MAX_DESCRIPTOR_BYTES} bytes); not parsed`)]);
  }

  // Most descriptors are valid: parse them fast (js-yaml), and go the precise way (yaml, which
  // keeps positions for file:line:column) only for a file with a problem, or one that uses YAML
  // the two parsers may read differently (fastValue declines those).
  const fast = fastValue(file.text);
  if (fast !== undefined && schemaValid(layout.kind, fast)) {
    const descriptor = { kind: layout.kind, value: fast } as Descriptor;
    if (!ruleIssues(descriptor, layout).length) return { ok: true, file: file.path, ...descriptor };
  }
  return parseSlow(file, layout, fail, at);
}

function parseSlow(
  file: FleetFile,
  layout: { kind: Kind; dir?: string; name?: string },
  fail: (p: Problem[], d?: Descriptor) => ParseResult,
  at: (pos: Position, message: string) => Problem,
): ParseResult {
  const lines = new LineCounter();
  const doc = parseDocument(file.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) return fail(bounded(doc.errors.map((e) => at(positionAt(lines, e.pos[0]), yamlMessage(e, file.text)))));
  if (doc.contents === null) return fail([at(START, `empty file: expected a ${layout.kind} descriptor`)]);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return fail([at(unresolvedAlias(doc, lines) ?? START, `YAML: ${(e as Error).message}`)]);
  }

  const located = (issues: SchemaIssue[], unworded = 0) => bounded(issues, unworded).map((i) => at(locate(doc, lines, i.at, i.key), i.message));
  const schema = schemaIssuesUpTo(layout.kind, value, 4 * MAX_PROBLEMS_PER_FILE);
  const schemaProblems = located(schema.issues, schema.unworded);
  if (schemaProblems.length > 0) return fail(schemaProblems);
  const descriptor = { kind: layout.kind, value } as Descriptor;
  const ruleProblems = located(ruleIssues(descriptor, layout));
  if (ruleProblems.length > 0) return fail(ruleProblems, descriptor);
  return { ok: true, file: file.path, ...descriptor };
}

/**
 * YAML that js-yaml (YAML 1.2 core schema) reads exactly as yaml does, as a plain mapping; or
 * undefined, and the precise parser decides. Declined: anchors and aliases (yaml bounds their
 * expansion), tags, complex or collection keys, directives, merge keys, signed or prefixed
 * binary/octal/hex numbers and "+.5" (read as numbers by one and strings by the other), a null
 * key, and anything js-yaml rejects (duplicate keys, several documents, syntax). The cross-check
 * is test/unit/yaml-fast.test.ts.
 */
export function fastValue(text: string): Record<string, unknown> | undefined {
  if (RISKY.test(text)) return undefined;
  let v: unknown;
  try {
    v = loadFast(text, { schema: CORE_SCHEMA, json: false });
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v) || hasNullKey(v, 0)) return undefined;
  return v as Record<string, unknown>;
}

const RISKY = /[*&!?%]|<<|[\]}]\s*:(\s|$)|(^|[^\w.])[-+]?0[box]|\+\./m;

function hasNullKey(v: unknown, depth: number): boolean {
  if (!v || typeof v !== 'object' || depth > 64) return depth > 64;
  if (Array.isArray(v)) return v.some((x) => hasNullKey(x, depth + 1));
  for (const [k, x] of Object.entries(v)) {
    if (k === 'null' || k === 'Null' || k === 'NULL' || k === '~' || hasNullKey(x, depth + 1)) return true;
  }
  return false;
}

/**
 * The first MAX_PROBLEMS_PER_FILE of `xs`; past them, the next one stands for the rest (placed
 * where it is, its message saying how many more there are, `unworded` ones included).
 */
function bounded<T extends { message: string }>(xs: T[], unworded = 0): T[] {
  const more = xs.length - MAX_PROBLEMS_PER_FILE + unworded;
  if (more <= 0 || xs.length === 0) return xs;
  const message = `… and ${more} more problems in this file (fix these first)`;
  return [...xs.slice(0, MAX_PROBLEMS_PER_FILE), { ...xs[Math.min(MAX_PROBLEMS_PER_FILE, xs.length - 1)], message }];
}

/** Rules the schema cannot say: what a runtime needs, that the path agrees with metadata, that declared keys are keys. */
function ruleIssues(d: Descriptor, layout: { dir?: string; name?: string }): SchemaIssue[] {
  const out: SchemaIssue[] = keyIssues(d);
  if (d.kind === 'Service') {
    const { spec, metadata } = d.value;
    if (spec.runtime === 'container' && spec.image === undefined) {
      out.push({ at: ['spec', 'runtime'], message: 'spec.image: required for runtime container (the image to run)' });
    }
    if (spec.runtime !== 'container' && spec.imagePullPolicy !== undefined) {
      out.push({ at: ['spec', 'imagePullPolicy'], message: 'spec.imagePullPolicy: only for runtime container (a process has no image to pull)' });
    }
    if (spec.runtime === 'process' && spec.command === undefined) {
      out.push({ at: ['spec', 'runtime'], message: 'spec.command: required for runtime process (the argv to start)' });
    }
    out.push(...portIssues(spec));
    out.push(...healthIssues(spec));
    out.push(...rolloutIssues(spec));
    out.push(...secretRefIssues(spec));
    out.push(...volumeIssues(spec));
    out.push(...fileIssues(spec));
    if (metadata.app !== layout.dir) {
      out.push({
        at: ['metadata', 'app'],
        message: `metadata.app: "${metadata.app}" does not match the directory services/${layout.dir}/ (the path must be services/<app>/<name>.yaml)`,
      });
    }
  }
  if (d.kind === 'Fleet') {
    // git would skip a key it cannot read: say so here rather than refuse every commit later.
    (d.value.spec?.trust?.commitSigners ?? []).forEach((k, i) => {
      try {
        parseSshKey(k);
      } catch (e) {
        out.push({ at: ['spec', 'trust', 'commitSigners', String(i)], message: `spec.trust.commitSigners[${i}]: ${(e as Error).message}` });
      }
    });
  }
  if (d.kind === 'Cluster') out.push(...connectivityIssues(d.value.spec));
  if (d.kind !== 'Fleet' && d.value.metadata.name !== layout.name) {
    out.push({ at: ['metadata', 'name'], message: `metadata.name: "${d.value.metadata.name}" does not match the file name ${layout.name}.yaml` });
  }
  return out;
}

/** Each `spec.secrets` entry gives its key as exactly one of env and file, in a path its runtime can take. */
function secretRefIssues(spec: ServiceDescriptor['spec']): SchemaIssue[] {
  const out: SchemaIssue[] = [];
  (spec.secrets ?? []).forEach((r, i) => {
    const at = ['spec', 'secrets', String(i)];
    const name = `spec.secrets[${i}]`;
    if ((r.env === undefined) === (r.file === undefined)) {
      out.push({ at, message: `${name}: give exactly one of env (a variable) and file (a path) for key ${r.key} of secret ${r.secret}` });
    } else if (r.file !== undefined && spec.runtime === 'container' && !r.file.startsWith('/')) {
      out.push({ at: [...at, 'file'], message: `${name}.file: "${r.file}" must be an absolute path in the container` });
    } else if (r.file !== undefined && spec.runtime === 'process' && (r.file.startsWith('/') || r.file.split('/').includes('..'))) {
      out.push({ at: [...at, 'file'], message: `${name}.file: "${r.file}" must be relative to the process's working directory, without ..` });
    }
  });
  return out;
}

/**
 * Declared signing keys that have the form the schema asks for but hold no Ed25519 key (a key
 * cut short, or base64 of something else): a part could never verify with one. (Commit signers,
 * of any SSH key type, are checked above.)
 */
function keyIssues(d: Descriptor): SchemaIssue[] {
  const lists: Array<[string[], readonly string[]]> = [];
  if (d.kind === 'Fleet') {
    const t = d.value.spec?.trust;
    if (t?.root) lists.push([['spec', 'trust', 'root', 'keys'], t.root.keys]);
    for (const [name, o] of Object.entries(t?.operators ?? {})) lists.push([['spec', 'trust', 'operators', name, 'keys'], o.keys]);
  } else if (d.kind === 'Cluster') {
    const s = d.value.spec;
    if (s?.identity) lists.push([['spec', 'identity', 'keys'], s.identity.keys]);
    for (const [name, o] of Object.entries(s?.nodeIdentities ?? {})) lists.push([['spec', 'nodeIdentities', name, 'keys'], o.keys]);
  }
  return lists.flatMap(([path, keys]) =>
    keys.flatMap((k, i) => {
      const at = [...path, String(i)];
      try {
        parsePublicKey(k);
        return [];
      } catch (e) {
        return [{ at, message: `${displayPath(at)}: ${(e as Error).message}` }];
      }
    }),
  );
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}`;
}

/** A parse result, memoised by blob oid: reused only at the same path (the path picks the schema). */
export function parseCached(file: FleetFile, cache?: Map<string, ParseResult>): ParseResult {
  const hit = file.oid === undefined ? undefined : cache?.get(file.oid);
  if (hit && hit.file === file.path) return hit;
  const result = parseDescriptor(file);
  if (file.oid !== undefined) cache?.set(file.oid, result);
  return result;
}

export function descriptorOf(r: ParseResult): Descriptor | undefined {
  return r.ok ? r : r.descriptor;
}

// Positions for cross-file problems are found again from the text: rare, so not worth keeping
// every YAML tree around.
export function problemAt(file: string, text: string, path: string[], message: string): Problem {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  return { file, ...locate(doc, lines, path), message };
}

function yamlMessage(e: YAMLError, text: string): string {
  switch (e.code) {
    case 'MULTIPLE_DOCS':
      return 'one descriptor per file: a second YAML document starts here (remove the "---" or split the file)';
    case 'DUPLICATE_KEY': {
      const key = text.slice(e.pos[0]).split(/[:\n]/)[0].trim();
      return `duplicate key "${key}": a key may appear only once in a mapping`;
    }
    default:
      return `YAML syntax: ${e.message}`;
  }
}

function unresolvedAlias(doc: Document, lines: LineCounter): Position | undefined {
  let pos: Position | undefined;
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc) !== undefined || !node.range) return undefined;
      pos = positionAt(lines, node.range[0]);
      return visit.BREAK;
    },
  });
  return pos;
}

function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      n += 4;
      i++;
    } // surrogate pair: one 4-byte character
    else n += 3;
  }
  return n;
}

export function idOf(s: ServiceDescriptor): string {
  return serviceId(s.metadata.app, s.metadata.name);
}

// Code-unit order, not locale order: the same tree sorts the same everywhere.
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function byPosition(a: Problem, b: Problem): number {
  return compare(a.file, b.file) || a.line - b.line || a.column - b.column || compare(a.message, b.message);
}
