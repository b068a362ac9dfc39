// What a test file creates outside itself is removed when its process ends, whether its tests
// passed, failed, threw outside a test or were stopped by a signal (test/run.mjs sends SIGTERM to
// a file that runs too long): temporary directories, the processes it started (and theirs), and
// the Docker containers of the fleets it ran. uvu runs each test file in a process of its own
// (test/run.mjs), so "at exit" is "after the file".
//
// - tempDir(prefix): a fresh directory under os.tmpdir(), removed at exit.
// - processes: every child inherits CANOPY_TEST_OWNER=<a value unique to this process> through
//   its environment (brokers, git servers, canopy parts, and the workloads the process runtime
//   starts, which keep their agent's environment); at exit each process on the machine that
//   carries this value is killed, detached or not. Linux only (/proc), as the tests are.
// - containers: ownFleet(name) (test/helpers/docker.ts) registers a fleet whose containers are
//   removed at exit; atExit(fn) registers any other synchronous clean-up.
//
// CANOPY_KEEP_TEMP=1 (or BENCH_KEEP=1, for the benchmarks that share these helpers) keeps the
// directories for a look afterwards; processes and containers are removed all the same.
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

const OWNER_VAR = 'CANOPY_TEST_OWNER';
const owner = `${process.pid}-${randomBytes(6).toString('hex')}`;
process.env[OWNER_VAR] = owner;

const KEEP = Boolean(process.env.CANOPY_KEEP_TEMP || process.env.BENCH_KEEP);
const dirs: string[] = [];
const hooks: Array<() => void> = [];
let done = false;

/** A fresh directory under os.tmpdir() (TMPDIR), removed when this process exits. */
export function tempDir(prefix = 'canopy-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Run `fn` (synchronous: nothing asynchronous runs at exit) when this process exits. */
export function atExit(fn: () => void): void {
  hooks.push(fn);
}

/**
 * Tell test/run.mjs what to check after this file: it passes a ledger path in
 * CANOPY_TEST_LEDGER, and checks each line's resource is gone (e.g. "docker-label canopy.fleet=x").
 */
export function record(line: string): void {
  const ledger = process.env.CANOPY_TEST_LEDGER;
  if (ledger) appendFileSync(ledger, `${line}\n`);
}

/** Pids of the processes (other than this one) started from this one, at any depth. */
export function ownedProcesses(): number[] {
  const needle = `${OWNER_VAR}=${owner}`;
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(needle)) pids.push(Number(d));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return pids;
}

/** Kill what this process started, run the registered hooks, remove the directories. Runs once. */
export function cleanUp(): void {
  if (done) return;
  done = true;
  for (const pid of ownedProcesses()) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL'); // -pid: the whole group, when it leads one (detached workloads)
      } catch {
        /* not a group leader, or gone */
      }
    }
  }
  for (const fn of hooks.reverse()) {
    try {
      fn();
    } catch (e) {
      process.stderr.write(`clean-up at exit: ${(e as Error).message}\n`);
    }
  }
  if (KEEP) {
    if (dirs.length) process.stderr.write(`kept (CANOPY_KEEP_TEMP): ${dirs.join(' ')}\n`);
    return;
  }
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    } catch (e) {
      process.stderr.write(`clean-up at exit: cannot remove ${dir}: ${(e as Error).message}\n`);
    }
  }
}

process.on('exit', cleanUp);
// A signal's default action ends the process without 'exit': exit instead, which cleans up. When
// something else listens too (the benchmark runner stops its parts first), it decides when to
// exit, and 'exit' cleans up then.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (process.listenerCount(sig) === 1) process.exit(128 + os.constants.signals[sig]);
  });
}
