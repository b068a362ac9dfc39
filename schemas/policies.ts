// The scheduling policies fleet.yaml may name (spec.scheduler.root / .cluster), each with the
// line the schema and `--help` show. This is the contract; reconciler/root/policies/ and
// reconciler/cluster/policies/ implement it (their registries are typed by these names, so a
// name without an implementation does not compile). A new policy: a line here, a file there.

export const ROOT_POLICY_SUMMARIES = {
  bestfit: 'the cluster left fullest (packs, keeps room elsewhere for large services)',
  spread: 'the cluster left emptiest (evens out load across the fleet)',
  closest: 'the cluster nearest the latency target or geo centre (lowest round trip), then best fit',
} as const;

export const CLUSTER_POLICY_SUMMARIES = {
  bestfit: 'the node left fullest (packs, keeps whole nodes free for large replicas)',
  firstfit: 'the first node by name with room',
  spread: 'the node left emptiest (evens out load across nodes)',
  ldp: 'latency- and distance-aware: the node nearest the latency target or geo centre, then best fit',
} as const;

export type RootPolicy = keyof typeof ROOT_POLICY_SUMMARIES;
export type ClusterPolicy = keyof typeof CLUSTER_POLICY_SUMMARIES;

export const ROOT_POLICIES = Object.keys(ROOT_POLICY_SUMMARIES) as RootPolicy[];
export const CLUSTER_POLICIES = Object.keys(CLUSTER_POLICY_SUMMARIES) as ClusterPolicy[];

/** "bestfit: …; spread: …", for a schema description. */
export function describePolicies(summaries: Readonly<Record<string, string>>): string {
  return Object.entries(summaries)
    .map(([name, s]) => `${name}: ${s}`)
    .join('; ');
}
