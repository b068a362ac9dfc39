#!/usr/bin/env node
// Imports Oakestra's own SLA cases through the built code (npm run build first), when a checkout
// has them: by default ../shared/oakestra-slas beside the repository, or the folder given as the
// first argument. The test suite never reads them (it has its own, test/fixtures/oakestra); this
// is a separate check, for whoever has the folder.
//
//   node scripts/check-shared-slas.mjs [DIR]
//
// What is expected follows the file names: sla_correct_* and default_app_* import, and what
// they write passes `canopy validate` (with the latency targets the notes ask for in fleet.yaml);
// sla_flawed_* are refused. Other files are imported and reported. Exit 0 when every case does
// what its name says (or when there is no such folder), 1 otherwise.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.resolve(process.argv[2] ?? path.join(root, '..', 'shared', 'oakestra-slas'));
if (!existsSync(dir)) {
  console.log(`no shared Oakestra SLA cases at ${dir}: nothing to check`);
  process.exit(0);
}
const built = path.join(root, 'dist', 'reconciler', 'import', 'oakestra.js');
if (!existsSync(built)) {
  console.error(`${built} is missing: run npm run build first`);
  process.exit(1);
}
const { importOakestraSla } = await import(built);
const { validateFleet, formatProblem } = await import(path.join(root, 'dist', 'reconciler', 'core', 'validate.js'));

/** fleet.yaml naming the latency targets the import's notes ask for, and the imported files. */
function fleetOf(r) {
  const targets = [...new Set(r.notes.flatMap((n) => /spec\.targets\.([a-z0-9-]+)/.exec(n)?.[1] ?? []))];
  const fleet = ['apiVersion: canopy/v1', 'kind: Fleet', 'metadata: {name: imported}'];
  if (targets.length) fleet.push('spec:', '  targets:', ...targets.map((t) => `    ${t}: {lat: 0, lon: 0}`));
  return [{ path: 'fleet.yaml', text: `${fleet.join('\n')}\n` }, ...r.services.map((s) => ({ path: s.path, text: s.yaml }))];
}

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();
let bad = 0;
for (const f of files) {
  const want = /^sla_flawed_/.test(f) ? 'refused' : /^(sla_correct_|default_app)/.test(f) ? 'imported' : 'either';
  let r;
  try {
    r = importOakestraSla(JSON.parse(readFileSync(path.join(dir, f), 'utf8')), f);
  } catch (e) {
    r = { ok: false, errors: [`not JSON, or the import threw: ${e.message}`] };
  }
  let verdict;
  const lines = [];
  if (r.ok) {
    const v = validateFleet(fleetOf(r));
    verdict = v.ok ? 'imported' : 'imported, but canopy validate refuses it';
    lines.push(`services: ${r.services.map((s) => s.path).join(', ') || '(none)'}`, ...r.notes.map((n) => `note: ${n}`));
    if (!v.ok) lines.push(...v.problems.map((p) => `problem: ${formatProblem(p)}`));
  } else {
    verdict = 'refused';
    lines.push(...r.errors.map((e) => `error: ${e}`));
  }
  const ok = want === 'either' || verdict === want;
  if (!ok) bad++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${f}: ${verdict}${want !== 'either' && !ok ? ` (expected: ${want})` : ''}`);
  for (const l of lines) console.log(`       ${l}`);
}
console.log(`\n${files.length} cases in ${dir}: ${files.length - bad} as expected, ${bad} not`);
process.exit(bad ? 1 : 0);
