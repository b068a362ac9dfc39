// A process replica's output: its stdout and stderr go to <stateDir>/logs/<replica>.log, a file
// the child holds open for appending (it outlives the agent, so no pipe through the agent). The
// agent caps it: once a second, a file past PROCESS_LOG_BYTES is copied to <replica>.log.1 and
// truncated in place (logrotate's copytruncate: the child's appends go on at the new end), so a
// replica keeps at most about twice that. `canopy logs` reads the tail of both files and, with
// --follow, what is appended next.
import { closeSync, copyFileSync, existsSync, openSync, readSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { LineSplitter, lastLines, PROCESS_LOG_BYTES } from '../../reconciler/core/logs.js';
import type { LogSource } from './driver.js';

export const logFileOf = (stateDir: string, id: string): string => join(stateDir, 'logs', `${id.replace(/[^a-zA-Z0-9.-]/g, '_')}.log`);

/** Rotate each replica's file that grew past `max` (one previous file kept). */
export function capLogs(stateDir: string, ids: Iterable<string>, max = PROCESS_LOG_BYTES): void {
  for (const id of ids) {
    const file = logFileOf(stateDir, id);
    try {
      if (statSync(file).size <= max) continue;
      copyFileSync(file, `${file}.1`);
      truncateSync(file, 0);
    } catch {
      // gone, or not ours to touch: the next round tries again
    }
  }
}

/** The last `tail` lines of a replica's output, then (`follow`) what it appends, polled every 250 ms. */
export function processLogs(stateDir: string, id: string, o: { tail: number; follow: boolean }, onLine: (line: string) => void): LogSource {
  const file = logFileOf(stateDir, id);
  if (!existsSync(file)) return { done: Promise.reject(new Error(`no output file for ${id} on this node`)), stop: () => {} };
  const current = read(file, 0);
  const before = o.tail > 0 && countLines(current.text) < o.tail ? read(`${file}.1`, 0).text : '';
  for (const line of lastLines(before + current.text, o.tail)) onLine(line);
  if (!o.follow) return { done: Promise.resolve(), stop: () => {} };
  let pos = current.size;
  const split = new LineSplitter(onLine);
  let finish = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  const timer = setInterval(() => {
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return;
    }
    if (size < pos) pos = 0; // rotated (truncated): read it from the start
    if (size === pos) return;
    const next = read(file, pos, size);
    pos = next.size;
    split.push(next.text);
  }, 250);
  return {
    done,
    stop() {
      clearInterval(timer);
      split.end();
      finish();
    },
  };
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Bytes [from, to) of a file (to: its size, at most 2 × PROCESS_LOG_BYTES read); the size reached. */
function read(file: string, from: number, to?: number): { text: string; size: number } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return { text: '', size: 0 };
  }
  try {
    const end = to ?? statSync(file).size;
    const start = Math.max(from, end - 2 * PROCESS_LOG_BYTES);
    const buf = Buffer.alloc(Math.max(0, end - start));
    const n = buf.length ? readSync(fd, buf, 0, buf.length, start) : 0;
    return { text: buf.subarray(0, n).toString('utf8'), size: start + n };
  } finally {
    closeSync(fd);
  }
}
