// The shape rules docs/architecture.md states, checked on the sources: no function in a level
// (reconciler/root, reconciler/cluster, agents) longer than MAX_FUNCTION_LINES, no file there
// longer than MAX_FILE_LINES, no import between the root and the cluster, and no import cycle
// among reconciler/, schemas/ and agents/ (type-only imports count: a cycle of types is still a
// tangle). `node scripts/architecture.mjs` prints what breaks them; test/unit/architecture.test
// fails on any.
import ts from 'typescript';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';

export const MAX_FUNCTION_LINES = 80;
export const MAX_FILE_LINES = 250;
const LEVELS = ['reconciler/root', 'reconciler/cluster', 'agents'];
const GRAPH = ['reconciler', 'schemas', 'agents'];

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Functions (declarations, methods, arrows, expressions) longer than the limit, by their own lines. */
function longFunctions(file, text) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found = [];
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > MAX_FUNCTION_LINES) {
        const name = node.name?.getText(sf) ?? (ts.isVariableDeclaration(node.parent) ? node.parent.name.getText(sf) : '(anonymous)');
        found.push({ file, line: start + 1, name, lines });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** Relative imports and re-exports of a file, resolved to source paths. */
function importsOf(file, text) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false);
  const out = [];
  for (const st of sf.statements) {
    const spec =
      (ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)
        ? st.moduleSpecifier.text
        : undefined;
    if (!spec?.startsWith('.')) continue;
    out.push(path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts'));
  }
  return out;
}

/**
 * Every tangle: each strongly connected component of more than one file (Tarjan), as its files
 * sorted. A component holds every cycle among its files, so none hides behind another.
 */
function cyclesOf(graph) {
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const out = [];
  let next = 0;
  const connect = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const comp = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
  return out;
}

export function checkArchitecture(root) {
  const rel = (p) => path.relative(root, p);
  const longFns = [];
  const bigFiles = [];
  for (const dir of LEVELS) {
    for (const f of walk(path.join(root, dir))) {
      const text = readFileSync(f, 'utf8');
      const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
      if (lines > MAX_FILE_LINES) bigFiles.push({ file: rel(f), lines });
      for (const x of longFunctions(f, text)) longFns.push({ ...x, file: rel(x.file) });
    }
  }
  const graph = new Map();
  for (const dir of GRAPH) for (const f of walk(path.join(root, dir))) graph.set(f, importsOf(f, readFileSync(f, 'utf8')));
  const crossImports = [];
  for (const [f, deps] of graph) {
    for (const d of deps) {
      const a = rel(f),
        b = rel(d);
      if (
        (a.startsWith('reconciler/root/') && b.startsWith('reconciler/cluster/')) ||
        (a.startsWith('reconciler/cluster/') && b.startsWith('reconciler/root/'))
      )
        crossImports.push(`${a} → ${b}`);
    }
  }
  const cycles = cyclesOf(graph).map((c) => c.map(rel).join(' ⇄ '));
  return { longFunctions: longFns, bigFiles, crossImports, cycles };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
  const r = checkArchitecture(root);
  for (const f of r.bigFiles) console.log(`file over ${MAX_FILE_LINES} lines: ${f.file} (${f.lines})`);
  for (const f of r.longFunctions) console.log(`function over ${MAX_FUNCTION_LINES} lines: ${f.file}:${f.line} ${f.name} (${f.lines})`);
  for (const c of r.crossImports) console.log(`root ↔ cluster import: ${c}`);
  for (const c of r.cycles) console.log(`files that import each other (a cycle): ${c}`);
  const n = r.bigFiles.length + r.longFunctions.length + r.crossImports.length + r.cycles.length;
  console.log(n ? `${n} problem(s)` : 'architecture: ok');
  process.exit(n ? 1 : 0);
}
