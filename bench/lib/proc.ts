// Child processes of a benchmark: canopy parts started as users start them (`node
// dist/cli/canopy.js …`), logging to a file (kept for timestamps and profiles), and what the
// kernel says about them: RSS from /proc/<pid>/status, CPU ticks from /proc/<pid>/stat.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, closeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Scope } from './cleanup.js';
import { sleep } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The compiled CLI, as the `canopy` bin runs it. */
export const CLI = path.resolve(here, '../../cli/canopy.js');
export const DIST = path.resolve(here, '../..');

export interface Part {
  name: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  log(): string;
  waitForLog(re: RegExp, ms?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  /** Where the part's stdout and stderr go. */
  logFile: string;
  env?: Record<string, string>;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=DIR']. */
  nodeArgs?: string[];
  scope: Scope;
}

/** Start `node <script> ...args` (default script: the canopy CLI). */
export function spawnPart(args: string[], o: SpawnOptions & { script?: string }): Part {
  const fd = openSync(o.logFile, 'a');
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), o.script ?? CLI, ...args], {
    stdio: ['ignore', fd, fd], env: { ...process.env, ...o.env },
  });
  closeSync(fd);
  const part: Part = {
    name: o.name, child, pid: child.pid!, logFile: o.logFile,
    log: () => { try { return readFileSync(o.logFile, 'utf8'); } catch { return ''; } },
    async waitForLog(re, ms = 30_000) {
      const end = Date.now() + ms;
      while (!re.test(part.log())) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${o.name} exited (${child.exitCode ?? child.signalCode}) before logging ${re}:\n${part.log().slice(-2000)}`);
        if (Date.now() > end) throw new Error(`${o.name}: no ${re} within ${ms} ms:\n${part.log().slice(-2000)}`);
        await sleep(50);
      }
    },
    stop: () => stopChild(child),
  };
  o.scope.add(() => part.stop());
  return part;
}

/** SIGTERM, then SIGKILL after 10 s. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(t);
}

let clkTck: number | undefined;
/** Kernel clock ticks per second (USER_HZ), the unit of utime/stime in /proc/<pid>/stat. */
export function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try { clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { clkTck = 100; }
  }
  return clkTck;
}

export interface ProcSample { at: number; rssKiB: number; hwmKiB: number; cpuTicks: number }

/** One reading of a live process: resident set, its high-water mark, user+system CPU ticks. */
export function sampleProc(pid: number, name = String(pid)): ProcSample {
  let status: string;
  try { status = readFileSync(`/proc/${pid}/status`, 'utf8'); } catch { throw new Error(`${name} (pid ${pid}) is not running`); }
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces), which ends at the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(f[11]), stime = Number(f[12]);   // fields 14 and 15 of proc(5)
  return { at: performance.now(), rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), cpuTicks: utime + stime };
}

export interface IdleFigures { rssMB: number; rssMaxMB: number; hwmMB: number; cpuPercent: number; seconds: number }

/**
 * Watch idle processes for `ms`: RSS sampled every second (median and max), CPU as the share of
 * one core used over the whole window.
 */
export async function watchIdle(pids: Record<string, number>, ms: number): Promise<Record<string, IdleFigures>> {
  const first = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, sampleProc(p, k)]));
  const rss: Record<string, number[]> = Object.fromEntries(Object.keys(pids).map((k) => [k, [first[k].rssKiB]]));
  const end = performance.now() + ms;
  while (performance.now() < end) {
    await sleep(Math.min(1000, end - performance.now()));
    for (const [k, p] of Object.entries(pids)) rss[k].push(sampleProc(p, k).rssKiB);
  }
  const out: Record<string, IdleFigures> = {};
  for (const [k, p] of Object.entries(pids)) {
    const last = sampleProc(p, k);
    const seconds = (last.at - first[k].at) / 1000;
    const sorted = [...rss[k]].sort((a, b) => a - b);
    out[k] = {
      rssMB: sorted[Math.floor(sorted.length / 2)] / 1024,
      rssMaxMB: sorted[sorted.length - 1] / 1024,
      hwmMB: last.hwmKiB / 1024,
      cpuPercent: (100 * (last.cpuTicks - first[k].cpuTicks) / ticksPerSecond()) / seconds,
      seconds,
    };
  }
  return out;
}
