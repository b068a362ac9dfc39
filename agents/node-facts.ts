// What a node says about itself in every status: its name, capacity, architecture, the workload
// kinds it runs, its labels and location. Fixed for the agent's life, so worked out once.
import os from 'node:os';
import type { Capacity } from '../schemas/messages.js';
import type { LatLon } from '../reconciler/core/geo.js';

export interface NodeFacts {
  node: string;
  capacity: Capacity;
  arch: string;
  /** Workload kinds this node has a driver for (`container`, `process`). */
  runtimes: string[];
  labels: Record<string, string>;
  location?: LatLon;
  /** The address other nodes reach it at (node-address.ts). */
  address?: string;
  /** The fingerprints of the cluster keys this node trusts (reported, so the cluster signs with one of them). */
  trusts?(): string[] | undefined;
}

/** The node's architecture in the names images use (amd64, not x64). */
export function nodeArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', riscv64: 'riscv64' } as Record<string, string>)[process.arch] ?? process.arch;
}

export function nodeFacts(o: {
  node: string;
  drivers: Record<string, unknown>;
  capacity?: Capacity;
  labels?: Record<string, string>;
  location?: LatLon;
  address?: string;
}): NodeFacts {
  return {
    node: o.node,
    // The whole machine unless told otherwise.
    capacity: o.capacity ?? { cpu: os.cpus().length, memoryMi: Math.floor(os.totalmem() / 1024 ** 2), gpu: 0 },
    arch: nodeArch(),
    runtimes: Object.keys(o.drivers).filter((k) => o.drivers[k]),
    labels: o.labels ?? {},
    ...(o.location ? { location: o.location } : {}),
    ...(o.address ? { address: o.address } : {}),
  };
}
