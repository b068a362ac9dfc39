// Air-gapped clusters (clusters/<c>.yaml `spec.connectivity: air-gapped`): they never speak over
// MQTT; placements reach them and their statuses come back by bundle files only. What every
// level needs of that declaration: the rule a schema cannot say (an air-gapped cluster declares
// its capacity), which clusters of a commit are air-gapped, the status the root places on before
// one came back (from the declaration), overlaid by the last one that did, and the words users
// read. Pure.
import type { ClusterDescriptor } from '../../schemas/model.js';
import type { ClusterStatus } from '../../schemas/messages.js';
import type { SchemaIssue } from './schema-errors.js';
import { mebibytes } from './quantity.js';

export type ClusterSpec = NonNullable<ClusterDescriptor['spec']>;

/** An air-gapped cluster declares its capacity; only an air-gapped one does (an online one reports its own). */
export function connectivityIssues(spec: ClusterDescriptor['spec']): SchemaIssue[] {
  if (spec?.connectivity === 'air-gapped' && !spec.capacity) {
    return [
      {
        at: ['spec', 'connectivity'],
        message: 'spec.capacity: required for an air-gapped cluster (the root places on it from what it declares: cpu, memory; nodes, runtimes, arch optional)',
      },
    ];
  }
  if (spec?.capacity && spec.connectivity !== 'air-gapped') {
    return [
      { at: ['spec', 'capacity'], message: 'spec.capacity: only for an air-gapped cluster (spec.connectivity: air-gapped); an online cluster reports its own' },
    ];
  }
  return [];
}

export const isAirGapped = (d: Pick<ClusterDescriptor, 'spec'> | undefined): boolean => d?.spec?.connectivity === 'air-gapped';

/** The air-gapped clusters among the declared ones, by name. */
export function airGappedOf(clusters: readonly ClusterDescriptor[]): Map<string, ClusterDescriptor> {
  return new Map(clusters.filter(isAirGapped).map((d) => [d.metadata.name, d]));
}

/**
 * The status the root places on for an air-gapped cluster: what it declares (capacity, node size,
 * runtimes, architectures, labels, operator, location), overlaid by the last status that came
 * back by bundle (what it applied and runs, and what it measured of itself), if any.
 */
export function declaredStatus(d: ClusterDescriptor, last: ClusterStatus | undefined, at: string): ClusterStatus {
  const cap = d.spec?.capacity ?? { cpu: 0, memory: 0 };
  const nodes = cap.nodes ?? 1;
  const capacity = { cpu: cap.cpu, memoryMi: mebibytes(cap.memory), gpu: cap.gpu ?? 0 };
  const node = { cpu: capacity.cpu / nodes, memoryMi: capacity.memoryMi / nodes, gpu: Math.floor(capacity.gpu / nodes) };
  const declared: ClusterStatus = {
    kind: 'cluster-status',
    cluster: d.metadata.name,
    at,
    applied: null,
    capacity,
    free: capacity,
    maxNodeFree: node,
    maxNode: node,
    arch: [...(cap.arch ?? ['amd64'])],
    runtimes: [...(cap.runtimes ?? ['container'])],
    labels: { ...(d.metadata.labels ?? {}) },
    ...(d.spec?.operator ? { operator: d.spec.operator } : {}),
    ...(d.spec?.location ? { location: d.spec.location } : {}),
    nodes: { total: nodes, online: 0 },
    services: {},
  };
  if (!last) return declared;
  // The declaration says where it is and who runs it; what came back says what it holds and runs.
  return {
    ...declared,
    ...last,
    cluster: d.metadata.name,
    labels: { ...declared.labels, ...last.labels },
    ...(declared.operator && !last.operator ? { operator: declared.operator } : {}),
    ...(declared.location && !last.location ? { location: declared.location } : {}),
  };
}

/** How a user brings an air-gapped cluster its placement. */
export const exportHint = (cluster: string): string => `export a bundle: canopy bundle export --repo DIR --cluster ${cluster} --out FILE`;
