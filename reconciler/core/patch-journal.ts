// A document kept durably in a state directory at the cost of its changes: a snapshot
// (<name>, written atomically by the journal) and a log of JSON Patches appended after it
// (<name>.log, one line each, fsynced). A cluster holding 8,000 services writes a few hundred
// bytes for a one-service change instead of 3 MB (and an edge node's flash wears that much
// less). The log is folded into a new snapshot once it outgrows a share of the snapshot.
//
// Crash safety: the snapshot carries a generation; log lines carry the generation they follow,
// so lines left from before the latest snapshot are skipped, and a line cut short by a crash
// (not JSON) ends the replay. What is replayed is what was durably appended.
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Operation } from 'fast-json-patch';
import type { Journal } from './journal.js';
import { applyPatchShared } from './patch.js';

export interface PatchJournal<T> {
  /** The snapshot with every log line that follows it applied; undefined when there is none. */
  read(): Promise<T | undefined>;
  /** A new snapshot (the log starts afresh). */
  write(doc: T): Promise<void>;
  /**
   * Log `ops`, which turn the last written or appended document into `doc` (`doc`, or what it
   * returns, becomes the snapshot when the log is folded).
   */
  append(ops: readonly Operation[], doc: T | (() => T)): Promise<void>;
}

interface Snapshot<T> {
  generation: string;
  doc: T;
}

/** The log is folded into a snapshot past this many bytes, or half the snapshot's size if larger. */
const MIN_FOLD_BYTES = 64 * 1024;

export function openPatchJournal<T>(journal: Journal, dir: string, name: string): PatchJournal<T> {
  const logFile = path.join(dir, `${name}.log`);
  let generation: string | undefined;
  let snapshotBytes = 0;
  let logBytes = 0;

  async function write(doc: T): Promise<void> {
    const next: Snapshot<T> = { generation: randomBytes(6).toString('hex'), doc };
    await journal.write(name, next);
    generation = next.generation;
    snapshotBytes = JSON.stringify(next).length;
    // The old lines name the old generation: truncating is tidiness, not correctness.
    await writeFile(logFile, '').catch(() => undefined);
    logBytes = 0;
  }

  return {
    async read() {
      const stored = await journal.read<Snapshot<T> | T>(name);
      if (stored === undefined) return undefined;
      // A state directory from before the log existed holds the bare document.
      const snap: Snapshot<T> = isSnapshot<T>(stored) ? stored : { generation: '', doc: stored as T };
      generation = snap.generation;
      snapshotBytes = (await stat(path.join(dir, name)).catch(() => undefined))?.size ?? 0;
      let doc = snap.doc;
      const text = await readFile(logFile, 'utf8').catch(() => '');
      logBytes = text.length;
      for (const line of text.split('\n')) {
        if (!line) continue;
        let entry: { generation?: unknown; ops?: unknown };
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          break;
        } // cut short by a crash
        if (entry.generation !== snap.generation || !Array.isArray(entry.ops)) continue;
        try {
          doc = applyPatchShared(doc, entry.ops as Operation[]);
        } catch {
          break;
        }
      }
      return doc;
    },
    write,
    async append(ops, doc) {
      if (generation === undefined || logBytes > Math.max(MIN_FOLD_BYTES, snapshotBytes / 2))
        return write(typeof doc === 'function' ? (doc as () => T)() : doc);
      const line = JSON.stringify({ generation, ops }) + '\n';
      const fh = await open(logFile, 'a');
      try {
        await fh.writeFile(line);
        await fh.sync();
      } finally {
        await fh.close();
      }
      logBytes += line.length;
    },
  };
}

function isSnapshot<T>(v: unknown): v is Snapshot<T> {
  const s = v as Snapshot<T> | undefined;
  return !!s && typeof s === 'object' && typeof s.generation === 'string' && 'doc' in s && Object.keys(s).length === 2;
}
