// A cluster's status as the benchmarks feed it to a root or write it to a status ref: the tests'
// builder (test/helpers/root-fakes.ts) with a big cluster (400 cores, 800,000 Mi, nodes of 8 cores
// and 16 GiB, 50 of them online); each benchmark overrides what it measures (free capacity,
// services, location).
import type { ClusterStatus } from '../../schemas/messages.js';
import { aClusterStatus } from '../../test/helpers/root-fakes.js';

export function benchClusterStatus(cluster: string, o: Partial<ClusterStatus> = {}): ClusterStatus {
  const cap = { cpu: 400, memoryMi: 800_000, gpu: 0 };
  const node = { cpu: 8, memoryMi: 16384, gpu: 0 };
  return aClusterStatus(cluster, {
    at: new Date().toISOString(),
    capacity: cap,
    free: cap,
    maxNodeFree: node,
    maxNode: node,
    nodes: { total: 50, online: 50 },
    ...o,
  });
}
