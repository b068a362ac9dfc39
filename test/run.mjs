// Runs every uvu suite under dist/test, one folder at a time (unit → contract → integration →
// e2e), each file in its own process so a crash is contained, and closes with one line
// "N passed, N failed". Usage: node test/run.mjs [folder|file-pattern]...
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dist = path.join(root, 'dist', 'test');
const filters = process.argv.slice(2);
const folders = ['unit', 'contract', 'integration', 'e2e'];
let passed = 0,
  failed = 0,
  files = 0;
const failures = [];
/** The slowest file takes about 40 s on a 2-core machine; one hung file must not hold CI for its 90 minutes. */
const FILE_TIMEOUT_MS = Number(process.env.CANOPY_TEST_FILE_TIMEOUT_S ?? 300) * 1000;
const started = Date.now();
for (const folder of folders) {
  const dir = path.join(dist, folder);
  if (!existsSync(dir)) continue;
  const tests = readdirSync(dir)
    .filter((f) => f.endsWith('.test.js'))
    .sort();
  for (const f of tests) {
    const rel = `${folder}/${f}`;
    if (filters.length && !filters.some((x) => rel.includes(x))) continue;
    files++;
    const t0 = Date.now();
    process.stdout.write(`\n== ${rel}\n`);
    // A file that hangs is killed and counted failed: the run always ends, and says where.
    const r = spawnSync(process.execPath, [path.join(root, 'node_modules/uvu/bin.js'), dir, `^${f.replace(/\./g, '\\.')}$`], {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
      timeout: FILE_TIMEOUT_MS,
      killSignal: 'SIGKILL',
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    process.stdout.write(r.stdout ?? '');
    if (r.error?.code === 'ETIMEDOUT')
      process.stdout.write(`\n!! ${rel} did not finish within ${FILE_TIMEOUT_MS / 1000} s: killed (its output so far is above)\n`);
    const total = Number(/Total:\s+(\d+)/.exec(r.stdout ?? '')?.[1] ?? 0);
    const ok = Number(/Passed:\s+(\d+)/.exec(r.stdout ?? '')?.[1] ?? 0);
    if (r.status !== 0 || total === 0 || ok < total) {
      failures.push(`${rel} (${r.error?.code === 'ETIMEDOUT' ? 'timed out' : `exit ${r.status}`}, ${ok}/${total} passed)`);
      failed += Math.max(1, total - ok);
      passed += ok;
    } else passed += ok;
    process.stdout.write(`-- ${rel}: ${ok}/${total} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  }
}
if (!files) {
  console.error('no test files matched');
  process.exit(1);
}
process.stdout.write(`\n${files} files in ${((Date.now() - started) / 1000).toFixed(0)} s${failures.length ? `\nFAILED:\n  ${failures.join('\n  ')}` : ''}\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
