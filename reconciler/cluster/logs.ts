// Logs on demand, at the cluster: the relay between an operator (on the root's broker) and the
// nodes (on the site's, which may be another). A request on `clusters/<c>/logs/request/<op>`
// is taken only signed by that operator's key, as the root's placement hands the operators'
// keys down (its bus verifies: reconciler/mqtt/trust.ts); the cluster finds the nodes that run
// the replicas, asks each (signed by itself), and relays each node's chunks, which it verified
// as that node's, to `clusters/<c>/logs/answer/<op>` signed by itself. It serves at most
// MAX_STREAMS_PER_CLUSTER streams at a time and ends any whose lease ran out.
import type { Bus } from '../mqtt/bus.js';
import type { Topics } from '../mqtt/topics.js';
import type { Logger } from '../core/log.js';
import type { LogsMessage } from '../../schemas/messages.js';
import { parsePayload } from '../../schemas/parse.js';
import { firstLease, MAX_STREAMS_PER_CLUSTER, renewLease, replicasByNode, staleRequest, StreamTable } from '../core/logs.js';

type Request = Extract<LogsMessage, { kind: 'logs-request' }>;
type Answer = Extract<LogsMessage, { kind: 'logs-answer' }>;

export interface ClusterLogsOptions {
  name: string;
  bus: Bus;
  nodeBus: Bus;
  topics: Topics;
  /** Replica id → node, as the cluster last assigned them. */
  assignment(): ReadonlyMap<string, string>;
  log: Logger;
  now: () => number;
}

interface Stream {
  operator: string;
  id: string;
  /** The nodes still streaming, and their replicas. */
  nodes: Map<string, string[]>;
  leaseUntil: number;
  follow: boolean;
}

export async function startClusterLogs(o: ClusterLogsOptions): Promise<{ stop(): void }> {
  const streams = new StreamTable<Stream>(MAX_STREAMS_PER_CLUSTER, `cluster ${o.name}`);
  const t = o.topics;
  const answer = (operator: string, a: Omit<Answer, 'kind' | 'cluster'>) =>
    void o.bus
      .publish(t.logsAnswer(o.name, operator), { kind: 'logs-answer', cluster: o.name, ...a })
      .catch((e) => o.log.debug(`log answer to ${operator}: ${(e as Error).message}`));
  const ask = (s: Stream, node: string, r: Pick<Request, 'op' | 'tail' | 'follow'>) =>
    o.nodeBus
      .publish(t.nodeLogsRequest(o.name, node), {
        kind: 'node-logs-request',
        id: s.id,
        op: r.op,
        at: o.now(),
        node,
        replicas: s.nodes.get(node) ?? [],
        tail: r.tail,
        follow: r.follow,
      })
      .catch((e) => o.log.debug(`log request to ${node}: ${(e as Error).message}`));
  const close = (key: string, s: Stream, tell: boolean) => {
    streams.delete(key);
    for (const n of s.nodes.keys()) void ask(s, n, { op: 'stop', tail: 0, follow: false });
    if (tell) answer(s.operator, { id: s.id, end: true });
  };

  const start = (operator: string, r: Request) => {
    const key = `${operator}/${r.id}`;
    if (streams.has(key)) return;
    const full = streams.full();
    if (full) return answer(operator, { id: r.id, end: true, error: full });
    const byNode = replicasByNode(o.assignment(), r.service, r.replica);
    if (!byNode.size) {
      const which = r.replica === undefined ? '' : ` matching replica ${r.replica}`;
      return answer(operator, { id: r.id, end: true, error: `no replica of ${r.service}${which} is assigned on cluster ${o.name}` });
    }
    const s: Stream = { operator, id: r.id, nodes: byNode, leaseUntil: firstLease(r.follow, o.now()), follow: r.follow };
    streams.add(key, s);
    answer(operator, { id: r.id, expect: Object.fromEntries(byNode) });
    // (expect is sent before the nodes are asked: the operator knows whom to wait for.)
    for (const node of byNode.keys()) void ask(s, node, r);
  };

  await o.bus.subscribe(t.allLogsRequests(o.name), (topic, payload) => {
    const parts = t.parse(topic);
    if (parts?.level !== 'logs' || parts.cluster !== o.name) return;
    const p = parsePayload('LogsMessage', payload, topic);
    if (!p.ok) return o.bus.drop(topic, p.error);
    if (p.value.kind !== 'logs-request') return o.bus.drop(topic, `${topic}: a ${p.value.kind} is not a log request`);
    const r = p.value;
    const stale = staleRequest(r, o.now());
    if (stale) return o.bus.drop(topic, `${topic}: ${stale}`);
    const key = `${parts.operator}/${r.id}`;
    const s = streams.get(key);
    if (r.op === 'start') return start(parts.operator, r);
    if (!s) return;
    if (r.op === 'stop') return close(key, s, false);
    renewLease(s, o.now());
    for (const n of s.nodes.keys()) void ask(s, n, r);
  });

  await o.nodeBus.subscribe(t.allNodeLogsAnswers(o.name), (topic, payload) => relay(o, streams, topic, payload, answer, close));

  const timer = setInterval(() => {
    for (const [key, s] of streams.expired(o.now())) close(key, s, true);
  }, 1000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      for (const [key, s] of streams.entries()) close(key, s, true);
    },
  };
}

/** A node's chunk, verified as that node's by the bus: relayed to the operator whose stream it is. */
function relay(
  o: ClusterLogsOptions,
  streams: StreamTable<Stream>,
  topic: string,
  payload: Buffer,
  answer: (operator: string, a: Omit<Answer, 'kind' | 'cluster'>) => void,
  close: (key: string, s: Stream, tell: boolean) => void,
): void {
  const parts = o.topics.parse(topic);
  if (parts?.level !== 'node' || parts.leaf !== 'logs-answer') return;
  const p = parsePayload('LogsMessage', payload, topic);
  if (!p.ok) return void o.nodeBus.drop(topic, p.error);
  if (p.value.kind !== 'logs-answer') return void o.nodeBus.drop(topic, `${topic}: a ${p.value.kind} is not a log answer`);
  const a = p.value;
  const found = streams.entries().find(([, s]) => s.id === a.id && s.nodes.has(parts.node));
  if (!found) return; // a stream that ended (or never was ours): nothing to relay
  const [key, s] = found;
  const { kind: _k, cluster: _c, expect: _e, ...rest } = a;
  answer(s.operator, { ...rest, node: parts.node });
  if (a.end) {
    s.nodes.delete(parts.node);
    if (!s.nodes.size) close(key, s, true);
  }
}
