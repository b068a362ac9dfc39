// Durable small JSON files in a state directory, written atomically (temp file, fsync, rename),
// so a process killed at any moment finds either the old or the new content, never half.
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';

export interface Journal {
  read<T>(name: string): Promise<T | undefined>;
  write(name: string, value: unknown): Promise<void>;
}

let writes = 0;

export function openJournal(dir: string): Journal {
  let made = false;
  return {
    async read<T>(name: string) {
      try {
        return JSON.parse(await readFile(path.join(dir, name), 'utf8')) as T;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new Error(`state file ${path.join(dir, name)} is unreadable (${(e as Error).message}): move it away to start fresh`);
      }
    },
    async write(name, value) {
      if (!made) {
        await mkdir(dir, { recursive: true });
        made = true;
      }
      const file = path.join(dir, name);
      const tmp = `${file}.${process.pid}.${++writes}.tmp`;
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(JSON.stringify(value));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
    },
  };
}
