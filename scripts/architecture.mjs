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

/** Every elementary cycle found by a depth-first search, each reported once (as the files in order). */
function cyclesOf(graph) {
  const cycles = [];
  const state = new Map();
  const stack = [];
  const seen = new Set();
  const dfs = (n) => {
    state.set(n, 1);
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (!graph.has(m)) continue;
      if (state.get(m) === 1) {
        const cyc = stack.slice(stack.indexOf(m));
        const key = [...cyc].sort().join('|');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cyc);
        }
      } else if (!state.has(m)) dfs(m);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of [...graph.keys()].sort()) if (!state.has(n)) dfs(n);
  return cycles;
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
  const cycles = cyclesOf(graph).map((c) => [...c, c[0]].map(rel).join(' → '));
  return { longFunctions: longFns, bigFiles, crossImports, cycles };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
  const r = checkArchitecture(root);
  for (const f of r.bigFiles) console.log(`file over ${MAX_FILE_LINES} lines: ${f.file} (${f.lines})`);
  for (const f of r.longFunctions) console.log(`function over ${MAX_FUNCTION_LINES} lines: ${f.file}:${f.line} ${f.name} (${f.lines})`);
  for (const c of r.crossImports) console.log(`root ↔ cluster import: ${c}`);
  for (const c of r.cycles) console.log(`import cycle: ${c}`);
  const n = r.bigFiles.length + r.longFunctions.length + r.crossImports.length + r.cycles.length;
  console.log(n ? `${n} problem(s)` : 'architecture: ok');
  process.exit(n ? 1 : 0);
}
