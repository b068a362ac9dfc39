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

export function startMaintenance(repo: Repo, log: Logger, o: MaintenanceOptions = {}): Maintenance {
  const limit = o.looseLimit ?? 6700;
  let child: ChildProcess | undefined;
  let running: Promise<'packed' | 'unavailable'> | undefined;
  let missing = false;
  let stopped = false;

  async function check(): Promise<'packed' | 'not needed' | 'unavailable'> {
    if (missing) return 'unavailable';
    if (running) return running;
    const loose = await estimateLoose(repo);
    if (loose <= limit) return 'not needed';
    if (running) return running;
    log.debug(`about ${loose} loose objects in ${repo.gitdir}: git gc --auto`);
    running = new Promise<'packed' | 'unavailable'>((resolve) => {
      // gc.auto is passed so git agrees with the estimate that asked for it; not detached, so
      // this process knows when it is done (and never runs two).
      const c = spawn('git', ['--git-dir', repo.gitdir, '-c', `gc.auto=${limit}`, '-c', 'gc.autoDetach=false', 'gc', '--auto', '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
      child = c;
      let err = '';
      c.stderr!.on('data', (d) => { err += d; });
      c.once('error', (e) => {
        child = undefined;
        missing = true;
        log.warn(`no git binary to pack ${repo.gitdir} (${e.message}); loose objects are left as they are`);
        resolve('unavailable');
      });
      c.once('exit', (code) => {
        child = undefined;
        if (code !== 0) log.warn(`git gc --auto in ${repo.gitdir} exited ${code}: ${err.trim().split('\n')[0]}`);
        resolve('packed');
      });
    }).finally(() => { running = undefined; });
    return running;
  }

  const timer = setInterval(() => { if (!stopped) void check(); }, o.everyMs ?? 600_000);
  timer.unref();
  void check();
  return {
    check,
    stop() { stopped = true; clearInterval(timer); child?.kill('SIGTERM'); },
  };
}
