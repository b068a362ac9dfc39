// Child processes of a benchmark: canopy parts started as users start them (`node
// dist/cli/canopy.js …`), logging to a file (kept for timestamps and profiles), and what the
// kernel says about them: RSS from /proc/<pid>/status, CPU ticks from /proc/<pid>/stat.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, readdirSync, closeSync } from 'node:fs';
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
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...o.env },
  });
  closeSync(fd);
  const part: Part = {
    name: o.name,
    child,
    pid: child.pid!,
    logFile: o.logFile,
    log: () => {
      try {
        return readFileSync(o.logFile, 'utf8');
      } catch {
        return '';
      }
    },
    async waitForLog(re, ms = 30_000) {
      const end = Date.now() + ms;
      while (!re.test(part.log())) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`${o.name} exited (${child.exitCode ?? child.signalCode}) before logging ${re}:\n${part.log().slice(-2000)}`);
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
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

export interface ProcSample {
  at: number;
  rssKiB: number;
  anonKiB: number;
  fileKiB: number;
  hwmKiB: number;
  cpuTicks: number;
}

/**
 * One reading of a live process: resident set (and its anonymous and file-backed parts: the
 * latter is mostly the node binary's code, shared by every Node process on the machine), its
 * high-water mark, user+system CPU ticks.
 */
export function sampleProc(pid: number, name = String(pid)): ProcSample {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    throw new Error(`${name} (pid ${pid}) is not running`);
  }
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces), which ends at the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(f[11]),
    stime = Number(f[12]); // fields 14 and 15 of proc(5)
  return { at: performance.now(), rssKiB: kib('VmRSS'), anonKiB: kib('RssAnon'), fileKiB: kib('RssFile'), hwmKiB: kib('VmHWM'), cpuTicks: utime + stime };
}

export interface IdleFigures {
  /** Median of the RSS samples (one a second) over every window, and their maximum. */
  rssMB: number;
  rssMaxMB: number;
  /** VmHWM at the end: the most the process ever held. */
  hwmMB: number;
  /** Medians of RssAnon and RssFile over the same samples (heap, stacks, malloc; mapped files, mostly the node binary). */
  anonMB: number;
  fileMB: number;
  /** Median over the windows of the share of one core used in each, and [min, max]. */
  cpuPercent: number;
  cpuSpread: [number, number];
  /** Every window's CPU share, in order. */
  cpuWindows: number[];
  seconds: number;
}

/**
 * Watch idle processes over `windows` consecutive windows of `ms` each: RSS sampled every second
 * (median and max over all samples), CPU as the share of one core used in each window (median
 * and spread over the windows: the machine is shared, CPU figures are noisy, RSS is not).
 */
export async function watchIdle(pids: Record<string, number>, ms: number, windows = 1): Promise<Record<string, IdleFigures>> {
  const keys = Object.keys(pids);
  const rss: Record<string, number[]> = Object.fromEntries(keys.map((k) => [k, []]));
  const anon: Record<string, number[]> = Object.fromEntries(keys.map((k) => [k, []]));
  const file: Record<string, number[]> = Object.fromEntries(keys.map((k) => [k, []]));
  const keep = (k: string, x: ProcSample) => {
    rss[k].push(x.rssKiB);
    anon[k].push(x.anonKiB);
    file[k].push(x.fileKiB);
  };
  const cpu: Record<string, number[]> = Object.fromEntries(keys.map((k) => [k, []]));
  const first = Object.fromEntries(keys.map((k) => [k, sampleProc(pids[k], k)]));
  let start = first;
  for (let w = 0; w < windows; w++) {
    for (const k of keys) keep(k, start[k]);
    const end = performance.now() + ms;
    while (performance.now() < end) {
      await sleep(Math.min(1000, end - performance.now()));
      for (const k of keys) keep(k, sampleProc(pids[k], k));
    }
    const last = Object.fromEntries(keys.map((k) => [k, sampleProc(pids[k], k)]));
    for (const k of keys) cpu[k].push((100 * (last[k].cpuTicks - start[k].cpuTicks)) / ticksPerSecond() / ((last[k].at - start[k].at) / 1000));
    start = last;
  }
  const out: Record<string, IdleFigures> = {};
  for (const k of keys) {
    const sorted = [...rss[k]].sort((a, b) => a - b);
    const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const c = [...cpu[k]].sort((a, b) => a - b);
    out[k] = {
      rssMB: sorted[Math.floor(sorted.length / 2)] / 1024,
      rssMaxMB: sorted[sorted.length - 1] / 1024,
      hwmMB: start[k].hwmKiB / 1024,
      anonMB: mid(anon[k]) / 1024,
      fileMB: mid(file[k]) / 1024,
      cpuPercent: c.length % 2 ? c[(c.length - 1) / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2,
      cpuSpread: [c[0], c[c.length - 1]],
      cpuWindows: cpu[k],
      seconds: (start[k].at - first[k].at) / 1000,
    };
  }
  return out;
}

/** Pids of a fleet's process workloads on one node (the process runtime marks each with CANOPY_FLEET and CANOPY_NODE). */
export function workloadsOf(fleet: string, node: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const env = readFileSync(`/proc/${d}/environ`, 'latin1').split('\0');
      if (env.includes(`CANOPY_FLEET=${fleet}`) && env.includes(`CANOPY_NODE=${node}`)) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}
