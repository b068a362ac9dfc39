// A cluster's status as the benchmarks feed it to a root or write it to a status ref: a big
// cluster (400 cores, 800,000 Mi, nodes of 8 cores and 16 GiB), every node online, nothing
// applied; each benchmark overrides what it measures (free capacity, services, location).
import type { ClusterStatus } from '../../schemas/messages.js';

export function benchClusterStatus(cluster: string, o: Partial<ClusterStatus> = {}): ClusterStatus {
  const cap = { cpu: 400, memoryMi: 800_000, gpu: 0 };
  return {
    kind: 'cluster-status',
    cluster,
    at: new Date().toISOString(),
    applied: null,
    capacity: cap,
    free: cap,
    maxNodeFree: { cpu: 8, memoryMi: 16384, gpu: 0 },
    maxNode: { cpu: 8, memoryMi: 16384, gpu: 0 },
    arch: ['amd64'],
    runtimes: ['container', 'process'],
    labels: {},
    nodes: { total: 50, online: 50 },
    services: {},
    ...o,
  };
}
