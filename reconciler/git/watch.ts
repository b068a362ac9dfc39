// Learn of new commits at once: watch the ref's loose file and packed-refs with chokidar (git
// replaces ref files by rename, so the directory is watched). The loop's periodic resync is the
// fallback if an event is ever missed.
import path from 'node:path';
import { watch } from 'chokidar';
import type { Repo } from './repo.js';
import type { Logger } from '../core/log.js';

export interface RefWatcher {
  close(): Promise<void>;
}

export function watchRef(repo: Repo, ref: string, onChange: () => void, log: Logger): RefWatcher {
  const file = path.join(repo.gitdir, ref);
  const packed = path.join(repo.gitdir, 'packed-refs');
  const w = watch([path.dirname(file), packed], { ignoreInitial: true, depth: 0, awaitWriteFinish: false });
  const fire = (p: string) => {
    if (p === file || p === packed) onChange();
  };
  w.on('add', fire).on('change', fire).on('unlink', fire);
  w.on('error', (e) => log.warn(`watching ${ref}: ${(e as Error).message}; falling back to polling`));
  return { close: () => w.close() };
}

/** The same for every ref under `dir` (e.g. refs/canopy/status: a status bundle imported moves one). */
export function watchRefDir(repo: Repo, dir: string, onChange: () => void, log: Logger): RefWatcher {
  const base = path.join(repo.gitdir, dir);
  const packed = path.join(repo.gitdir, 'packed-refs');
  const w = watch([base, packed], { ignoreInitial: true, depth: 1, awaitWriteFinish: false });
  const fire = (p: string) => {
    if (p === packed || (p.startsWith(base + path.sep) && !p.endsWith('.lock'))) onChange();
  };
  w.on('add', fire).on('change', fire).on('unlink', fire);
  w.on('error', (e) => log.warn(`watching ${dir}: ${(e as Error).message}; falling back to polling`));
  return { close: () => w.close() };
}
