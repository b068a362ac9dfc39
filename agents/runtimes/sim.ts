// Simulated runtime: no workload, only bookkeeping, for benchmarks with thousands of nodes.
// start, stop and fail are O(1); list allocates one array. Replicas live in a module-level
// table keyed by node, like workloads that outlive their agent: a driver created again for
// the same node (an agent "restarted" in-process) adopts them.
import type { DriverOptions, ObservedReplica, RuntimeDriver, Workload } from './driver.js';

export interface SimDriver extends RuntimeDriver {
  /** Make a replica fail, as if its process exited (for tests and failure benchmarks). */
  fail(id: string, message?: string): void;
}

const nodes = new Map<string, Map<string, ObservedReplica>>();

export function simDriver(opts: DriverOptions): SimDriver {
  const key = `${opts.stateDir}\0${opts.fleet}\0${opts.node}`;
  let replicas = nodes.get(key);
  if (!replicas) nodes.set(key, (replicas = new Map()));
  const table = replicas;

  return {
    name: 'sim',
    // Entries are replaced, never mutated, so callers may keep them; they must not modify them.
    list: async () => Array.from(table.values()),
    start: async (w: Workload) => {
      table.set(w.id, { id: w.id, service: w.service, specHash: w.specHash, state: 'running', since: new Date().toISOString() });
    },
    stop: async (id: string) => {
      table.delete(id);
    },
    close: async () => {},
    fail(id, message = 'exited with code 1') {
      const r = table.get(id);
      if (r) table.set(id, { ...r, state: 'failed', message, since: new Date().toISOString() });
    },
  };
}
