// Validation of a fleet repository's tree: every descriptor parsed, checked against its schema
// and the layout rules, with each problem at a file:line:column. Pure (text in, problems out),
// so `canopy validate`, CI and the root reconciler all judge a commit the same way.
import { LineCounter, parseDocument, visit, type Document, type YAMLError } from 'yaml';
import type { ClusterDescriptor, FleetDescriptor, ServiceDescriptor } from '../../schemas/model.js';
import { serviceId } from './ids.js';
import { schemaIssues, type Kind, type SchemaIssue } from './schema-errors.js';
import { START, locate, positionAt, type Position } from './yaml-locate.js';

export type { Kind } from './schema-errors.js';

export interface FleetFile { path: string; oid?: string; text: string }
/** line and column are 1-based; 1:1 when the whole file is at fault. */
export interface Problem { file: string; line: number; column: number; message: string }

export type Descriptor =
  | { kind: 'Service'; value: ServiceDescriptor }
  | { kind: 'Fleet'; value: FleetDescriptor }
  | { kind: 'Cluster'; value: ClusterDescriptor };

/**
 * `file` is the path the result was computed for: a cached result is reused only at the same
 * path, since the path picks the schema and must agree with metadata. A failed result keeps
 * its `descriptor` when only the semantic rules failed, so duplicates are still found.
 */
export type ParseResult =
  | ({ ok: true; file: string } & Descriptor)
  | { ok: false; file: string; problems: Problem[]; descriptor?: Descriptor };

export type FleetValidation =
  | { ok: true; fleet: FleetDescriptor; clusters: ClusterDescriptor[]; services: ServiceDescriptor[] }
  | { ok: false; problems: Problem[] };

export const MAX_DESCRIPTOR_BYTES = 1024 * 1024;

export type Layout =
  | { kind: Kind; dir?: string; name?: string }
  | { kind: 'ignored' }
  | { kind: 'unknown'; message: string };

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
  if (base.startsWith('README') || base.endsWith('.md') || base === '.gitignore'
    || parts[0] === '.github' || parts[0] === 'schemas') return { kind: 'ignored' };
  const where = parts[0] === 'clusters'
    ? 'put cluster descriptors in clusters/<name>.yaml'
    : 'put service descriptors in services/<app>/<name>.yaml';
  return { kind: 'unknown', message: `unknown file: ${where}${base.endsWith('.yml') ? ' (ending in .yaml, not .yml)' : ''}` };
}

export function parseDescriptor(file: FleetFile): ParseResult {
  const fail = (problems: Problem[], descriptor?: Descriptor): ParseResult =>
    ({ ok: false, file: file.path, problems, descriptor });
  const at = (pos: Position, message: string): Problem => ({ file: file.path, ...pos, message });

  const layout = layoutOf(file.path);
  if (layout.kind === 'unknown') return fail([at(START, layout.message)]);
  if (layout.kind === 'ignored') return fail([at(START, 'not a descriptor: this file is ignored')]);
  const size = utf8Length(file.text);
  if (size > MAX_DESCRIPTOR_BYTES) {
    return fail([at(START, `file is ${size} bytes: a descriptor may be at most 1 MiB (${MAX_DESCRIPTOR_BYTES} bytes); not parsed`)]);
  }

  const lines = new LineCounter();
  const doc = parseDocument(file.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) return fail(doc.errors.map((e) => at(positionAt(lines, e.pos[0]), yamlMessage(e, file.text))));
  if (doc.contents === null) return fail([at(START, `empty file: expected a ${layout.kind} descriptor`)]);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return fail([at(unresolvedAlias(doc, lines) ?? START, `YAML: ${(e as Error).message}`)]);
  }

  const located = (issues: SchemaIssue[]) => issues.map((i) => at(locate(doc, lines, i.at, i.key), i.message));
  const schemaProblems = located(schemaIssues(layout.kind, value));
  if (schemaProblems.length > 0) return fail(schemaProblems);
  const descriptor = { kind: layout.kind, value } as Descriptor;
  const ruleProblems = located(ruleIssues(descriptor, layout));
  if (ruleProblems.length > 0) return fail(ruleProblems, descriptor);
  return { ok: true, file: file.path, ...descriptor };
}

/** Rules the schema cannot say: what a runtime needs, and that the path agrees with metadata. */
function ruleIssues(d: Descriptor, layout: { dir?: string; name?: string }): SchemaIssue[] {
  const out: SchemaIssue[] = [];
  if (d.kind === 'Service') {
    const { spec, metadata } = d.value;
    if (spec.runtime === 'container' && spec.image === undefined) {
      out.push({ at: ['spec', 'runtime'], message: 'spec.image: required for runtime container (the image to run)' });
    }
    if (spec.runtime === 'process' && spec.command === undefined) {
      out.push({ at: ['spec', 'runtime'], message: 'spec.command: required for runtime process (the argv to start)' });
    }
    if (metadata.app !== layout.dir) {
      out.push({ at: ['metadata', 'app'], message: `metadata.app: "${metadata.app}" does not match the directory services/${layout.dir}/ (the path must be services/<app>/<name>.yaml)` });
    }
  }
  if (d.kind !== 'Fleet' && d.value.metadata.name !== layout.name) {
    out.push({ at: ['metadata', 'name'], message: `metadata.name: "${d.value.metadata.name}" does not match the file name ${layout.name}.yaml` });
  }
  return out;
}

/** Validates a whole tree. `cache` (blob oid → result) spares re-parsing unchanged files. */
export function validateFleet(files: FleetFile[], cache?: Map<string, ParseResult>): FleetValidation {
  const problems: Problem[] = [];
  const results: ParseResult[] = [];
  for (const file of files) {
    const layout = layoutOf(file.path);
    if (layout.kind === 'ignored') continue;
    if (layout.kind === 'unknown') {
      problems.push({ file: file.path, ...START, message: layout.message });
      continue;
    }
    const result = parseCached(file, cache);
    results.push(result);
    if (!result.ok) problems.push(...result.problems);
  }
  if (!files.some((f) => f.path === 'fleet.yaml')) {
    problems.push({ file: 'fleet.yaml', ...START, message: 'missing fleet.yaml: every fleet repository needs one at its root (canopy init writes one)' });
  }
  const texts = new Map(files.map((f) => [f.path, f.text]));
  problems.push(...duplicates(results, texts), ...unknownTargets(results, texts));
  if (problems.length > 0) return { ok: false, problems: problems.sort(byPosition) };

  const ok = results.filter((r): r is ParseResult & { ok: true } => r.ok);
  const pick = <K extends Kind>(kind: K) => ok.flatMap((r) => r.kind === kind ? [r.value as Extract<Descriptor, { kind: K }>['value']] : []);
  return {
    ok: true,
    fleet: pick('Fleet')[0],
    clusters: pick('Cluster').sort((a, b) => compare(a.metadata.name, b.metadata.name)),
    services: pick('Service').sort((a, b) => compare(idOf(a), idOf(b))),
  };
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}`;
}

function parseCached(file: FleetFile, cache?: Map<string, ParseResult>): ParseResult {
  const hit = file.oid === undefined ? undefined : cache?.get(file.oid);
  if (hit && hit.file === file.path) return hit;
  const result = parseDescriptor(file);
  if (file.oid !== undefined) cache?.set(file.oid, result);
  return result;
}

function descriptorOf(r: ParseResult): Descriptor | undefined {
  return r.ok ? r : r.descriptor;
}

/**
 * The same service id (or cluster name) in two files. The file whose path agrees with its
 * metadata is the original; the problem goes on the other, naming the original.
 */
function duplicates(results: ParseResult[], texts: Map<string, string>): Problem[] {
  const first = new Map<string, string>();
  const out: Problem[] = [];
  for (const r of [...results].sort((a, b) => Number(b.ok) - Number(a.ok) || compare(a.file, b.file))) {
    const d = descriptorOf(r);
    if (!d || d.kind === 'Fleet') continue;
    const what = d.kind === 'Service' ? `service ${idOf(d.value)}` : `cluster ${d.value.metadata.name}`;
    const seen = first.get(what);
    if (seen === undefined) { first.set(what, r.file); continue; }
    out.push(problemAt(r.file, texts, ['metadata', 'name'], `duplicate ${what}: also defined in ${seen}`));
  }
  return out;
}

/** `latency.to.target` must name a target of fleet.yaml, or the planner has no point to measure to. */
function unknownTargets(results: ParseResult[], texts: Map<string, string>): Problem[] {
  const fleet = results.find((r) => r.ok && r.kind === 'Fleet');
  if (!fleet || !fleet.ok || fleet.kind !== 'Fleet') return [];
  const targets = Object.keys(fleet.value.spec?.targets ?? {});
  const out: Problem[] = [];
  for (const r of results) {
    if (!r.ok || r.kind !== 'Service') continue;
    const to = r.value.spec.constraints?.latency?.to;
    if (!to || !('target' in to) || targets.includes(to.target)) continue;
    const known = targets.length ? `declared: ${targets.join(', ')}` : 'fleet.yaml declares none under spec.targets';
    out.push(problemAt(r.file, texts, ['spec', 'constraints', 'latency', 'to', 'target'],
      `spec.constraints.latency.to.target: "${to.target}" is not a target of fleet.yaml (${known})`));
  }
  return out;
}

// Positions for cross-file problems are found again from the text: rare, so not worth keeping
// every YAML tree around.
function problemAt(file: string, texts: Map<string, string>, path: string[], message: string): Problem {
  const lines = new LineCounter();
  const doc = parseDocument(texts.get(file) ?? '', { lineCounter: lines });
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
    else if (c >= 0xd800 && c < 0xdc00) { n += 4; i++; } // surrogate pair: one 4-byte character
    else n += 3;
  }
  return n;
}

function idOf(s: ServiceDescriptor): string {
  return serviceId(s.metadata.app, s.metadata.name);
}

// Code-unit order, not locale order: the same tree sorts the same everywhere.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byPosition(a: Problem, b: Problem): number {
  return compare(a.file, b.file) || a.line - b.line || a.column - b.column || compare(a.message, b.message);
}
