// The labels that say whose a Docker object is (a replica's container, its volumes): fleet,
// cluster, node, service and replica. The agent finds and adopts what it made by them.
export const OWNER_LABEL = {
  fleet: 'canopy.fleet',
  cluster: 'canopy.cluster',
  node: 'canopy.node',
  service: 'canopy.service',
  replica: 'canopy.replica',
} as const;

export function ownerLabels(o: { fleet: string; cluster: string; node: string }, w: { service: string; id: string }): Record<string, string> {
  return {
    [OWNER_LABEL.fleet]: o.fleet,
    [OWNER_LABEL.cluster]: o.cluster,
    [OWNER_LABEL.node]: o.node,
    [OWNER_LABEL.service]: w.service,
    [OWNER_LABEL.replica]: w.id,
  };
}
