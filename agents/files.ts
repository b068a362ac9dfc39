// Config files at the node (spec.files: [{path, from}]): the agent writes each file its cluster
// handed down (NodeDesired.files, by blob id, base64) read-only (0444) under its state
// directory. A container gets it as a read-only bind at `path`; a process finds it at `path`
// inside its working directory (<state-dir>/work/<replica>, where its secret files are too).
// Written at each start, removed with the replica.
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { NodeDesired, ReplicaSpec } from '../schemas/messages.js';

export interface WorkloadFiles {
  /** Docker binds, `host-file:path:ro`. */
  binds: string[];
  /** A process's working directory, which holds its files (relative paths). */
  cwd?: string;
}

export interface AgentFiles {
  /** What replica `r` is given under assignment `a` (undefined: it names no file); throws naming a file not handed down. */
  forReplica(a: NodeDesired | undefined, r: ReplicaSpec): WorkloadFiles | undefined;
  /** Remove a stopped replica's files. */
  forget(replicaId: string): void;
}

const safe = (id: string) => id.replace(/[^A-Za-z0-9.-]/g, '_');

/** Write a file read-only for everyone (a file left by an earlier start is replaced). */
function writeReadOnly(file: string, content: Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true });
  rmSync(file, { force: true });
  writeFileSync(file, content, { mode: 0o444 });
  chmodSync(file, 0o444);
}

export function agentFiles(stateDir: string): AgentFiles {
  const dirOf = (id: string) => path.join(stateDir, 'files', safe(id));
  const workDirOf = (id: string) => path.join(stateDir, 'work', safe(id));
  const written = new Map<string, Set<string>>(); // a process's files, removed when it stops
  return {
    forget(id) {
      rmSync(dirOf(id), { recursive: true, force: true });
      for (const f of written.get(id) ?? []) rmSync(f, { force: true });
      written.delete(id);
    },
    forReplica(a, r) {
      const files = r.spec.files ?? [];
      if (!files.length) return undefined;
      const out: WorkloadFiles = { binds: [] };
      const container = r.spec.runtime === 'container';
      if (container) rmSync(dirOf(r.id), { recursive: true, force: true });
      for (const [i, f] of files.entries()) {
        const content = f.oid ? a?.files?.[f.oid] : undefined;
        if (content === undefined) throw new Error(`config file ${f.from} (${f.oid ?? 'no blob id'}): not handed to this node by its cluster`);
        const bytes = Buffer.from(content, 'base64');
        if (container) {
          const host = path.join(dirOf(r.id), String(i));
          writeReadOnly(host, bytes);
          out.binds.push(`${host}:${f.path}:ro`);
        } else {
          // Relative to its working directory (validation refuses absolute paths and ..).
          out.cwd = workDirOf(r.id);
          const file = path.join(out.cwd, f.path);
          writeReadOnly(file, bytes);
          (written.get(r.id) ?? written.set(r.id, new Set()).get(r.id)!).add(file);
        }
      }
      return out;
    },
  };
}
