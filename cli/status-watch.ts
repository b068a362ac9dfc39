// `canopy status --watch`: the status table redrawn when it changes, reading Git alone (any
// clone, while something else fetches into it, or the repository of a running root or `up`).
// A change is learnt at once from the refs that carry one (main, the notes, the status and
// placement refs: their loose files and packed-refs, watched with chokidar), and every
// `everyMs` anyway (a missed event, and the "ago" column). On a terminal the screen is redrawn
// in place; into a pipe or a file each new table is printed once, after a time stamp, so a log
// of it reads as a history. `--json` prints one compact status document per change (NDJSON).
import path from 'node:path';
import type { Repo } from '../reconciler/git/repo.js';
import { fleetStatus, type FleetReport } from '../reconciler/report/fleet-status.js';
import { renderStatus } from '../reconciler/report/render.js';
import { SIGNALS } from './lifecycle.js';
import { writable } from './stdio.js';

export interface WatchOptions {
  json: boolean;
  all: boolean;
  /** Redraw at least this often (ms). */
  everyMs: number;
  out?: NodeJS.WriteStream;
}

/** The table without the lines that change by the clock alone ("3 s ago"): what decides a redraw. */
export const tableKey = (table: string) =>
  table
    .split('\n')
    .filter((l) => !/ago$/.test(l))
    .join('\n');

/** Runs until SIGINT, SIGTERM or SIGHUP; 0 then. A status that cannot be read is shown, and tried again. */
export async function watchStatus(repo: Repo, o: WatchOptions): Promise<number> {
  const out = o.out ?? process.stdout;
  const tty = !o.json && out.isTTY === true;
  let shown = '';
  let running: Promise<void> | undefined;
  let again = false;
  const draw = async (): Promise<void> => {
    let r: FleetReport;
    try {
      r = await fleetStatus(repo);
    } catch (e) {
      const msg = `canopy status: cannot read the fleet's status (${(e as Error).message}); trying again`;
      if (msg !== shown) out.write(`${msg}\n`);
      shown = msg;
      return;
    }
    const text = o.json ? JSON.stringify(r) : renderStatus(r, new Date(), { all: o.all });
    const key = o.json ? text : tableKey(text);
    if (tty) {
      // Home, the table, then clear what an earlier, longer table left below it.
      out.write(`\x1b[H${text.replace(/\n/g, '\x1b[K\n')}\x1b[J`);
    } else if (key !== shown) {
      out.write(o.json ? `${text}\n` : `${shown ? '\n' : ''}--- ${new Date().toISOString()}\n${text}`);
    }
    shown = key;
  };
  // One read at a time; a change during a read reads once more after it.
  const refresh = () => {
    if (running !== undefined) {
      again = true;
      return;
    }
    running = draw().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        refresh();
      }
    });
  };
  if (tty) out.write('\x1b[2J');
  refresh();
  const watched = ['refs/heads', 'refs/notes', 'refs/canopy/status', 'refs/canopy/placements', 'packed-refs'].map((p) => path.join(repo.gitdir, p));
  let debounce: NodeJS.Timeout | undefined;
  const { watch } = await import('chokidar'); // only here: a plain `status` starts without it
  const w = watch(watched, { ignoreInitial: true, depth: 2, awaitWriteFinish: false });
  const soon = () => {
    clearTimeout(debounce);
    debounce = setTimeout(refresh, 50);
  };
  w.on('add', soon).on('change', soon).on('unlink', soon).on('addDir', soon);
  w.on('error', () => undefined); // the timer below still redraws
  const timer = setInterval(refresh, o.everyMs);
  await new Promise<void>((resolve) => {
    for (const s of SIGNALS) process.once(s, () => resolve());
    out.once('close', () => resolve());
  });
  clearInterval(timer);
  clearTimeout(debounce);
  await w.close();
  await running;
  if (tty && writable(out)) out.write('\n');
  return 0;
}
