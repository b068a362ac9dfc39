// Who a part is: the root, a cluster, or a node's agent (or a tool such as `canopy status`),
// in a fleet. The bus carries it (reconciler/mqtt/bus.ts), so broker credentials and message
// signatures attach at one place; logs and metrics name the part by it.

export type PartRole = 'root' | 'cluster' | 'agent' | 'tool';

export interface PartIdentity {
  fleet: string;
  role: PartRole;
  /** The cluster's name; `cluster/node` for an agent; the root's is `root`. */
  name: string;
}

export const rootIdentity = (fleet: string): PartIdentity => ({ fleet, role: 'root', name: 'root' });
export const clusterIdentity = (fleet: string, cluster: string): PartIdentity => ({ fleet, role: 'cluster', name: cluster });
export const agentIdentity = (fleet: string, cluster: string, node: string): PartIdentity => ({ fleet, role: 'agent', name: `${cluster}/${node}` });
export const toolIdentity = (fleet: string, tool: string): PartIdentity => ({ fleet, role: 'tool', name: tool });

/**
 * The MQTT client id of a part: unique per part and stable across restarts (a broker hands a
 * reconnecting id its session), `suffix` for a second connection of the same part.
 */
export function clientIdOf(id: PartIdentity, suffix?: string): string {
  const base =
    id.role === 'root'
      ? `canopy-${id.fleet}-root`
      : id.role === 'cluster'
        ? `canopy-${id.fleet}-cluster-${id.name}`
        : `canopy-${id.fleet}-${id.role === 'agent' ? '' : `${id.role}-`}${id.name.replace('/', '-')}`;
  return suffix ? `${base}-${suffix}` : base;
}

/** "cluster munich", "agent munich/n1": for messages. */
export const describePart = (id: PartIdentity): string => (id.role === 'root' ? 'the root' : `${id.role} ${id.name}`);

/** A part's role as an identity file names it: a node's agent is a `node`; people and tools are `operator`s. */
export type IdentityRole = 'root' | 'cluster' | 'node' | 'operator';

/**
 * The user name a part has at the broker and the Git server: `<fleet>.root`,
 * `<fleet>.cluster.<c>`, `<fleet>.node.<c>.<n>`, `<fleet>.operator.<name>` (names are DNS
 * labels, so the dots are unambiguous).
 */
export function userNameOf(fleet: string, role: IdentityRole, name: string): string {
  return role === 'root' ? `${fleet}.root` : `${fleet}.${role}.${name.replace('/', '.')}`;
}

/** The part an identity speaks for, in the terms the bus uses. */
export function partOf(fleet: string, role: IdentityRole, name: string): PartIdentity {
  if (role === 'root') return rootIdentity(fleet);
  if (role === 'cluster') return clusterIdentity(fleet, name);
  if (role === 'node') {
    const [c, n] = name.split('/');
    return agentIdentity(fleet, c!, n!);
  }
  return toolIdentity(fleet, name);
}
