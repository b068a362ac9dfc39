// Every MQTT topic canopy uses, built in one place: canopy/v1/<fleet>/clusters/<c>/...
export interface Topics {
  root: string;
  clusterDesired(c: string): string;
  /** Not a topic anyone publishes on: what a placement bundle's signature covers (core/bundle-manifest.ts). */
  clusterBundle(c: string): string;
  clusterStatus(c: string): string;
  clusterOnline(c: string): string;
  /** A bridged site's link to the central broker: Mosquitto's bridge notification, `1` up and `0` (its last will) down. */
  clusterBridge(c: string): string;
  nodeDesired(c: string, n: string): string;
  nodeStatus(c: string, n: string): string;
  nodeOnline(c: string, n: string): string;
  /** Wildcards the root subscribes to. */
  allClusterStatus: string;
  allClusterOnline: string;
  allClusterBridge: string;
  /** Wildcards a cluster subscribes to for its nodes. */
  allNodeStatus(c: string): string;
  allNodeOnline(c: string): string;
  /** Logs on demand (not retained): operator → cluster, cluster → node, node → cluster, cluster → operator. */
  logsRequest(c: string, operator: string): string;
  allLogsRequests(c: string): string;
  logsAnswer(c: string, operator: string): string;
  nodeLogsRequest(c: string, n: string): string;
  nodeLogsAnswer(c: string, n: string): string;
  allNodeLogsAnswers(c: string): string;
  /** Parse a topic back into its parts; undefined when it is not one of ours. */
  parse(topic: string): TopicParts | undefined;
  /**
   * A filter narrowed to cluster c's topics (`clusters/+/…` becomes `clusters/c/…`): undefined
   * when it matches none of them (another cluster's, or not under `clusters/`). For a site broker
   * that carries one cluster's traffic only.
   */
  onCluster(filter: string, c: string): string | undefined;
}

export type TopicParts =
  | { level: 'cluster'; cluster: string; leaf: 'desired' | 'status' | 'online' | 'bridge' }
  | { level: 'node'; cluster: string; node: string; leaf: 'desired' | 'status' | 'online' | 'logs-request' | 'logs-answer' }
  | { level: 'logs'; cluster: string; operator: string; leaf: 'logs-request' | 'logs-answer' };

const LEAVES = new Set(['desired', 'status', 'online']);
const LOG_LEAVES = new Set(['request', 'answer']);

export function topics(fleet: string): Topics {
  const root = `canopy/v1/${fleet}`;
  const c = (cl: string) => `${root}/clusters/${cl}`;
  const n = (cl: string, no: string) => `${c(cl)}/nodes/${no}`;
  return {
    root,
    clusterDesired: (cl) => `${c(cl)}/desired`,
    clusterBundle: (cl) => `${c(cl)}/bundle`,
    clusterStatus: (cl) => `${c(cl)}/status`,
    clusterOnline: (cl) => `${c(cl)}/online`,
    clusterBridge: (cl) => `${c(cl)}/bridge`,
    nodeDesired: (cl, no) => `${n(cl, no)}/desired`,
    nodeStatus: (cl, no) => `${n(cl, no)}/status`,
    nodeOnline: (cl, no) => `${n(cl, no)}/online`,
    allClusterStatus: `${root}/clusters/+/status`,
    allClusterOnline: `${root}/clusters/+/online`,
    allClusterBridge: `${root}/clusters/+/bridge`,
    allNodeStatus: (cl) => `${c(cl)}/nodes/+/status`,
    allNodeOnline: (cl) => `${c(cl)}/nodes/+/online`,
    logsRequest: (cl, op) => `${c(cl)}/logs/request/${op}`,
    allLogsRequests: (cl) => `${c(cl)}/logs/request/+`,
    logsAnswer: (cl, op) => `${c(cl)}/logs/answer/${op}`,
    nodeLogsRequest: (cl, no) => `${n(cl, no)}/logs/request`,
    nodeLogsAnswer: (cl, no) => `${n(cl, no)}/logs/answer`,
    allNodeLogsAnswers: (cl) => `${c(cl)}/nodes/+/logs/answer`,
    onCluster(filter, cl) {
      const head = `${root}/clusters/`;
      if (!filter.startsWith(head)) return undefined;
      const [seg, ...rest] = filter.slice(head.length).split('/');
      if (seg === '#') return `${c(cl)}/#`;
      if (seg !== '+' && seg !== cl) return undefined;
      return [c(cl), ...rest].join('/');
    },
    parse(topic) {
      if (!topic.startsWith(root + '/clusters/')) return undefined;
      const parts = topic.slice(root.length + 1).split('/');
      if (parts.some((p) => p === '')) return undefined;
      if (parts.length === 3 && (LEAVES.has(parts[2]) || parts[2] === 'bridge')) {
        return { level: 'cluster', cluster: parts[1], leaf: parts[2] as 'desired' };
      }
      if (parts.length === 5 && parts[2] === 'nodes' && LEAVES.has(parts[4])) {
        return { level: 'node', cluster: parts[1], node: parts[3], leaf: parts[4] as 'desired' };
      }
      if (parts.length === 6 && parts[2] === 'nodes' && parts[4] === 'logs' && LOG_LEAVES.has(parts[5]))
        return { level: 'node', cluster: parts[1], node: parts[3], leaf: `logs-${parts[5]}` as 'logs-request' };
      if (parts.length === 5 && parts[2] === 'logs' && LOG_LEAVES.has(parts[3]))
        return { level: 'logs', cluster: parts[1], operator: parts[4], leaf: `logs-${parts[3]}` as 'logs-request' };
      return undefined;
    },
  };
}
