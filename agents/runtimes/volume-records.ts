// Which of a runtime's volumes are retained, as the spec said when their replica last started:
// <stateDir>/volumes-<runtime>.json, so that `retain: true` set after a volume was made (a Docker
// volume's labels are fixed at creation) still protects it once its service is deleted.
import { readRecordFile } from './record-file.js';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface RetainRecords {
  /** What was recorded for a volume (undefined: nothing, e.g. a state directory lost). */
  get(name: string): boolean | undefined;
  /** Record the volumes a replica starts with; writes only when something changed. */
  set(entries: Array<[name: string, retain: boolean]>): void;
  forget(name: string): void;
}

export function retainRecords(stateDir: string, runtime: string): RetainRecords {
  const file = join(stateDir, `volumes-${runtime}.json`);
  const map = load(file);
  const save = () => {
    mkdirSync(stateDir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify({ version: 1, retain: Object.fromEntries(map) }));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  };
  return {
    get: (name) => map.get(name),
    set(entries) {
      let changed = false;
      for (const [name, retain] of entries) {
        if (map.get(name) === retain) continue;
        map.set(name, retain);
        changed = true;
      }
      if (changed) save();
    },
    forget(name) {
      if (map.delete(name)) save();
    },
  };
}

function load(file: string): Map<string, boolean> {
  const text = readRecordFile(file);
  if (text === undefined) return new Map();
  try {
    const { retain } = JSON.parse(text) as { retain: Record<string, boolean> };
    return new Map(Object.entries(retain).map(([k, v]) => [k, v === true]));
  } catch (err) {
    // Forgetting what is retained could remove data someone asked to keep: stop instead.
    throw new Error(`${file} is not a valid volume record file (${(err as Error).message}); inspect it, or remove it`);
  }
}
