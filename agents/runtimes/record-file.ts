// A record file the agent keeps in its state directory (process pids, retained volumes): its
// text, or undefined when there is none yet. Any other read error is the caller's to raise.
import { readFileSync } from 'node:fs';

export function readRecordFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
