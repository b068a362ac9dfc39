// Housekeeping for the repositories canopy writes to. Every placement, status and note canopy
// commits is written as loose objects (as native git writes them); left alone, a root or a
// cluster running for months piles up hundreds of thousands of small files, and every reader
// pays for them. Native git packs them as they pile up (`gc --auto`); canopy asks for the same:
// now and then (every 10 minutes by default) it estimates the loose objects the way git does
// (one fan-out directory of 256) and, past git's own threshold (gc.auto, 6,700), runs
// `git gc --auto --quiet` in the background. That is safe beside canopy's writers: git packs
// what refs reach, takes the same lock files for refs, and never prunes recent objects. Without
// a git binary (a minimal edge image) it says so once and does nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../core/log.js';
import type { Repo } from './repo.js';

export interface MaintenanceOptions {
  everyMs?: number;
  /** Loose objects above which a gc is asked for (git's gc.auto default). */
  looseLimit?: number;
}

export interface Maintenance {
  /** Check now; resolves when a gc it started (or one already running) has finished. */
  check(): Promise<'packed' | 'not needed' | 'unavailable'>;
  stop(): void;
}

/** git's estimate: the objects in one fan-out directory (objects/17), times 256. */
export async function estimateLoose(repo: Repo): Promise<number> {
  const names = await readdir(path.join(repo.gitdir, 'objects', '17')).catch(() => [] as string[]);
  return names.filter((n) => /^[0-9a-f]{38}$/.test(n)).length * 256;
}

/** One gc at a time per repository in this process (two repacks at once can delete each other's packs). */
const running = new Map<string, { done: Promise<'packed' | 'unavailable'>; child: ChildProcess }>();
let missing = false;

/**
 * `git gc --auto` (not detached) with these limits; joins one already running for the repository.
 * gc itself takes gc.pid, so another git process does not gc beside it either.
 */
export function gcAuto(repo: Repo, o: { looseLimit?: number; packLimit?: number } = {}, log?: Logger): Promise<'packed' | 'unavailable'> {
  if (missing) return Promise.resolve('unavailable');
  const now = running.get(repo.gitdir);
  if (now) return now.done;
  const args = [
    '--git-dir',
    repo.gitdir,
    '-c',
    `gc.auto=${o.looseLimit ?? 6700}`,
    '-c',
    `gc.autoPackLimit=${o.packLimit ?? 50}`,
    '-c',
    'gc.autoDetach=false',
    'gc',
    '--auto',
    '--quiet',
  ];
  const c = spawn('git', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const done = new Promise<'packed' | 'unavailable'>((resolve) => {
    let err = '';
    c.stderr!.on('data', (d) => {
      err += d;
    });
    c.once('error', (e) => {
      missing = true;
      log?.warn(`no git binary to pack ${repo.gitdir} (${e.message}); loose objects are left as they are`);
      resolve('unavailable');
    });
    c.once('exit', (code) => {
      if (code !== 0) log?.warn(`git gc --auto in ${repo.gitdir} exited ${code}: ${err.trim().split('\n')[0]}`);
      resolve('packed');
    });
  }).finally(() => running.delete(repo.gitdir));
  running.set(repo.gitdir, { done, child: c });
  return done;
}

export function startMaintenance(repo: Repo, log: Logger, o: MaintenanceOptions = {}): Maintenance {
  const limit = o.looseLimit ?? 6700;
  let stopped = false;

  async function check(): Promise<'packed' | 'not needed' | 'unavailable'> {
    if (missing) return 'unavailable';
    const now = running.get(repo.gitdir);
    if (now) return now.done;
    const loose = await estimateLoose(repo);
    if (loose <= limit) return 'not needed';
    log.debug(`about ${loose} loose objects in ${repo.gitdir}: git gc --auto`);
    // gc.auto is passed so git agrees with the estimate that asked for it.
    return gcAuto(repo, { looseLimit: limit }, log);
  }

  const timer = setInterval(() => {
    if (!stopped) void check();
  }, o.everyMs ?? 600_000);
  timer.unref();
  void check();
  return {
    check,
    stop() {
      stopped = true;
      clearInterval(timer);
      running.get(repo.gitdir)?.child.kill('SIGTERM');
    },
  };
}
