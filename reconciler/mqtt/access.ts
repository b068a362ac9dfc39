// Who may read and write which topics: one table, from which `canopy broker-config` writes
// Mosquitto's ACL file and the embedded broker of `canopy up` checks every publish and
// subscribe. The root publishes desired state and reads status; cluster C reads only its own
// desired topic, publishes only its own status and online topics and talks to its own nodes;
// node N of C only its own topics; an operator reads status, never publishes desired state.
// Logs on demand: an operator publishes only its own log requests and reads only its own
// answers; cluster C reads the requests to it and answers, asks its nodes and reads their
// answers; node N reads its log requests and writes its answers.
import type { IdentityRole } from '../core/identity.js';
import { topics } from './topics.js';

export type Access = 'read' | 'write';

export interface AccessRule {
  /** An MQTT topic filter (`+`, `#`). */
  pattern: string;
  access: Access;
}

export function accessRules(fleet: string, role: IdentityRole, name: string): AccessRule[] {
  const t = topics(fleet);
  const r = (pattern: string): AccessRule => ({ pattern, access: 'read' });
  const w = (pattern: string): AccessRule => ({ pattern, access: 'write' });
  switch (role) {
    case 'root':
      return [w(t.clusterDesired('+')), w(`${t.root}/root/online`), r(t.allClusterStatus), r(t.allClusterOnline), r(t.allClusterBridge)];
    case 'cluster':
      return [
        r(t.clusterDesired(name)),
        w(t.clusterStatus(name)),
        w(t.clusterOnline(name)),
        // Its site broker's bridge logs in as the cluster and says on this topic whether the link is up.
        w(t.clusterBridge(name)),
        w(t.nodeDesired(name, '+')),
        r(t.allNodeStatus(name)),
        r(t.allNodeOnline(name)),
        r(t.allLogsRequests(name)),
        w(t.logsAnswer(name, '+')),
        w(t.nodeLogsRequest(name, '+')),
        r(t.allNodeLogsAnswers(name)),
      ];
    case 'node': {
      const [c, n] = name.split('/') as [string, string];
      return [r(t.nodeDesired(c, n)), w(t.nodeStatus(c, n)), w(t.nodeOnline(c, n)), r(t.nodeLogsRequest(c, n)), w(t.nodeLogsAnswer(c, n))];
    }
    case 'operator':
      return [
        r(t.allClusterStatus),
        r(t.allClusterOnline),
        r(t.allNodeStatus('+')),
        r(t.allNodeOnline('+')),
        w(t.logsRequest('+', name)),
        r(t.logsAnswer('+', name)),
      ];
  }
}

/**
 * The rules a site broker of cluster `cluster` grants a part (a bridged site, bridge-config.ts):
 * the table's own rules narrowed to that cluster's topics, for the parts that talk to the site
 * broker: the cluster itself, its nodes, and the operators (whose log requests and answers for
 * it may be sent there by someone at the site). Undefined for the parts that do not: the root
 * (it reaches the site through the bridge), other clusters and their nodes.
 */
export function siteRules(fleet: string, role: IdentityRole, name: string, cluster: string): AccessRule[] | undefined {
  if (role === 'root' || (role === 'cluster' && name !== cluster) || (role === 'node' && !name.startsWith(`${cluster}/`))) return undefined;
  const t = topics(fleet);
  return accessRules(fleet, role, name).flatMap((r) => {
    const pattern = t.onCluster(r.pattern, cluster);
    return pattern ? [{ pattern, access: r.access }] : [];
  });
}

/**
 * What crosses the bridge between cluster C's site broker and the central one: what C reads that
 * the centre sends (`in`: its desired state, the operators' log requests) and what C writes for
 * the centre (`out`: its status and online flag, its log answers). Its nodes' topics stay at the
 * site. Both come from C's own rules, so the central broker grants the bridge (which logs in as
 * C) exactly what it does.
 */
export function bridgeTopics(fleet: string, cluster: string): { in: string[]; out: string[] } {
  const t = topics(fleet);
  // The bridge's own notification is published to the centre by the bridge itself, not relayed.
  const rules = accessRules(fleet, 'cluster', cluster).filter((r) => t.parse(r.pattern)?.level !== 'node' && r.pattern !== t.clusterBridge(cluster));
  return { in: rules.filter((r) => r.access === 'read').map((r) => r.pattern), out: rules.filter((r) => r.access === 'write').map((r) => r.pattern) };
}

/** May a client with `rules` publish on `topic` (a topic name, no wildcards)? */
export function mayPublish(rules: readonly AccessRule[], topic: string): boolean {
  if (/[+#]/.test(topic)) return false;
  return rules.some((r) => r.access === 'write' && covers(r.pattern, topic));
}

/** May a client with `rules` subscribe to `filter`: is every topic it matches one it may read? */
export function maySubscribe(rules: readonly AccessRule[], filter: string): boolean {
  return rules.some((r) => r.access === 'read' && covers(r.pattern, filter));
}

/** Does the filter `rule` match every topic `filter` matches? (A topic name is a filter without wildcards.) */
export function covers(rule: string, filter: string): boolean {
  const a = rule.split('/');
  const b = filter.split('/');
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '#') return true;
    if (i >= b.length) return false;
    if (b[i] === '#') return false;
    if (a[i] === '+') continue;
    if (a[i] !== b[i]) return false;
  }
  return a.length === b.length;
}
