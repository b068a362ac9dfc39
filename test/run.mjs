// Runs every uvu suite under dist/test (unit → corpus → contract → integration → e2e), each file
// in its own process so a crash is contained, and closes with one line "N passed, N failed".
// Usage: node test/run.mjs [folder|file-pattern]...
//
// Files run CANOPY_TEST_JOBS at a time (default 2: most of an end-to-end file's time is waiting on
// timers, brokers and Docker, not the CPU). Each file's output is printed whole when it ends, so
// two files never interleave; `CANOPY_TEST_JOBS=1` prints as it comes, one file at a time. Files
// share nothing but the machine: their own brokers on free ports, their own fleets' containers,
// their own TMPDIR.
//
// Each file leaves nothing behind, and the run checks it: a file runs with TMPDIR set to a
// directory of its own (under one directory for the whole run, under os.tmpdir()), which must be
// empty when the file's process has ended; every process it started carries CANOPY_TEST_RUN in
// its environment, and none may still run; each fleet it declared (test/helpers/docker.ts
// ownFleet, written to CANOPY_TEST_LEDGER) must have no container left. What is left is named,
// removed, and fails the file. Other runs on the machine (other worktrees) are not looked at.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dist = path.join(root, 'dist', 'test');
const filters = process.argv.slice(2);
const folders = ['unit', 'corpus', 'contract', 'integration', 'e2e'];
let passed = 0,
  failed = 0,
  files = 0;
const failures = [];
/** The slowest file takes about 40 s on a 2-core machine; one hung file must not hold CI for its 90 minutes. */
const FILE_TIMEOUT_MS = Number(process.env.CANOPY_TEST_FILE_TIMEOUT_S ?? 300) * 1000;
/** After SIGTERM at the timeout, how long a file has to clean up before SIGKILL. */
const GRACE_MS = 15_000;
const started = Date.now();
const runDir = mkdtempSync(path.join(os.tmpdir(), 'canopy-test-run-'));
const runId = path.basename(runDir);

const JOBS = Math.max(1, Number(process.env.CANOPY_TEST_JOBS ?? 2) || 1);
const running = new Set(); // the running files' child processes
let interrupted = '';
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    interrupted = sig;
    for (const c of running) c.kill('SIGTERM'); // a file cleans up on SIGTERM (test/helpers/cleanup.ts)
  });
}

/** Run one file: its output is kept for the summary, and shown as it comes when files run one at a time. */
function runFile(dir, f, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'node_modules/uvu/bin.js'), dir, `^${f.replace(/\./g, '\\.')}$`], {
      stdio: ['ignore', 'pipe', JOBS === 1 ? 'inherit' : 'pipe'],
      env,
    });
    running.add(child);
    let stdout = '';
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      stdout += d;
      output += d;
      if (JOBS === 1) process.stdout.write(d);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d) => {
      output += d;
    });
    let timedOut = false;
    let kill;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      kill = setTimeout(() => child.kill('SIGKILL'), GRACE_MS);
    }, FILE_TIMEOUT_MS);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      clearTimeout(kill);
      running.delete(child);
      resolve({ status, signal, stdout, output, timedOut });
    });
  });
}

/** Processes still running that a file started (its environment carries the marker). */
function processesOf(marker) {
  const found = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(marker)) continue;
      found.push({ pid: Number(d), cmd: readFileSync(`/proc/${d}/cmdline`, 'latin1').split('\0').join(' ').trim().slice(0, 120) });
    } catch {
      /* gone, or not readable */
    }
  }
  return found;
}

/** Containers of the fleets a file declared in its ledger. */
function containersOf(ledger) {
  if (!existsSync(ledger)) return [];
  const labels = [
    ...new Set(
      readFileSync(ledger, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('docker-label '))
        .map((l) => l.slice('docker-label '.length)),
    ),
  ];
  return labels.flatMap((label) => {
    try {
      return execFileSync('docker', ['ps', '-aq', '--filter', `label=${label}`], { encoding: 'utf8', timeout: 30_000 })
        .split('\n')
        .filter(Boolean)
        .map((id) => ({ id, label }));
    } catch (e) {
      return [{ id: '?', label: `${label} (docker ps failed: ${e.message.split('\n')[0]})` }];
    }
  });
}

/** What a file left behind, named; then removed so the next file starts clean. */
function leftovers(tmp, marker, ledger) {
  const left = [];
  const procs = processesOf(marker);
  for (const p of procs) {
    left.push(`process ${p.pid}: ${p.cmd}`);
    for (const target of [-p.pid, p.pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  const cs = containersOf(ledger);
  for (const c of cs) left.push(`container ${c.id} (${c.label})`);
  const ids = cs.map((c) => c.id).filter((id) => id !== '?');
  if (ids.length) {
    try {
      execFileSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore', timeout: 60_000 });
    } catch {
      /* named above */
    }
  }
  for (const e of readdirSync(tmp)) left.push(`${path.join(tmp, e)}`);
  rmSync(tmp, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  rmSync(ledger, { force: true });
  return left;
}

const queue = [];
for (const folder of folders) {
  const dir = path.join(dist, folder);
  if (!existsSync(dir)) continue;
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith('.test.js'))
    .sort()) {
    const rel = `${folder}/${f}`;
    if (!filters.length || filters.some((x) => rel.includes(x))) queue.push({ folder, dir, f, rel });
  }
}
if (!queue.length) {
  console.error('no test files matched');
  process.exit(1);
}

/** Run one file and account for it; its whole output is printed when it ends (when files run side by side). */
async function runOne({ folder, dir, f, rel }) {
  files++;
  const t0 = Date.now();
  process.stdout.write(JOBS === 1 ? `\n== ${rel}\n` : `>> ${rel} started\n`);
  const tmp = path.join(runDir, `${folder}-${f.replace(/\.test\.js$/, '')}`);
  mkdirSync(tmp);
  const ledger = path.join(runDir, `${folder}-${f}.ledger`);
  const marker = `CANOPY_TEST_RUN=${runId}/${rel}`;
  // A file that hangs is stopped and counted failed: the run always ends, and says where.
  const r = await runFile(dir, f, {
    ...process.env,
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    TMPDIR: tmp,
    CANOPY_TEST_RUN: `${runId}/${rel}`,
    CANOPY_TEST_LEDGER: ledger,
  });
  let out = JOBS === 1 ? '' : `\n== ${rel}\n${r.output}`;
  if (r.timedOut) out += `\n!! ${rel} did not finish within ${FILE_TIMEOUT_MS / 1000} s: stopped (its output so far is above)\n`;
  const left = leftovers(tmp, marker, ledger);
  if (left.length) out += `\n!! ${rel} left behind (now removed):\n  ${left.join('\n  ')}\n`;
  const total = Number(/Total:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0);
  const ok = Number(/Passed:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0);
  const why = r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
  if (r.status !== 0 || total === 0 || ok < total) {
    failures.push(`${rel} (${why}, ${ok}/${total} passed)`);
    failed += Math.max(1, total - ok);
    passed += ok;
  } else if (left.length) {
    failures.push(`${rel} (passed, but left ${left.length} thing(s) behind)`);
    failed += 1;
    passed += ok;
  } else passed += ok;
  out += `-- ${rel}: ${ok}/${total} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`;
  process.stdout.write(out);
}

await Promise.all(
  Array.from({ length: Math.min(JOBS, queue.length) }, async () => {
    for (let next = queue.shift(); next && !interrupted; next = queue.shift()) await runOne(next);
  }),
);
const strays = readdirSync(runDir);
if (strays.length) {
  failures.push(`left in ${runDir} by the run itself: ${strays.join(', ')}`);
  failed += 1;
}
rmSync(runDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
if (interrupted) failures.push(`interrupted by ${interrupted}`);
process.stdout.write(`\n${files} files in ${((Date.now() - started) / 1000).toFixed(0)} s${failures.length ? `\nFAILED:\n  ${failures.join('\n  ')}` : ''}\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed || interrupted ? 1 : 0);
