// Logs on demand, at the node: its cluster asks (`…/nodes/<n>/logs/request`, signed by the
// cluster), the agent reads the replicas' output from their runtime (Docker's logs, a process's
// capped file) and answers on `…/nodes/<n>/logs/answer` in chunks, each stream held to the
// bounds of reconciler/core/logs.ts: a rate (what does not fit is dropped and counted), a line
// length, a lease that ends a --follow stream nobody renews, and a few streams at a time.
import type { Bus } from '../reconciler/mqtt/bus.js';
import type { Topics } from '../reconciler/mqtt/topics.js';
import type { Logger } from '../reconciler/core/log.js';
import type { LogsMessage } from '../schemas/messages.js';
import { parsePayload } from '../schemas/parse.js';
import {
  LogLimiter,
  LOG_CHUNK_BYTES,
  LOG_CHUNK_LINES,
  LOG_FLUSH_MS,
  firstLease,
  MAX_STREAMS_PER_NODE,
  renewLease,
  staleRequest,
  StreamTable,
} from '../reconciler/core/logs.js';
import type { LogSource, RuntimeDriver } from './runtimes/driver.js';

type NodeRequest = Extract<LogsMessage, { kind: 'node-logs-request' }>;
type Answer = Extract<LogsMessage, { kind: 'logs-answer' }>;

export interface AgentLogsOptions {
  bus: Bus;
  topics: Topics;
  cluster: string;
  node: string;
  drivers: readonly RuntimeDriver[];
  log: Logger;
  now?: () => number;
}

interface Stream {
  id: string;
  sources: LogSource[];
  leaseUntil: number;
  follow: boolean;
  limiter: LogLimiter;
  /** Lines waiting for the next chunk, by replica. */
  pending: Map<string, string[]>;
  pendingBytes: number;
  droppedSent: number;
  timer: NodeJS.Timeout;
  ended: boolean;
}

/** What the stream functions share. */
interface Ctx {
  o: AgentLogsOptions;
  now: () => number;
  streams: StreamTable<Stream>;
  answer(a: Omit<Answer, 'kind' | 'cluster' | 'node'>): void;
}

export async function startAgentLogs(o: AgentLogsOptions): Promise<{ stop(): void; readonly streams: number }> {
  const answerTopic = o.topics.nodeLogsAnswer(o.cluster, o.node);
  const c: Ctx = {
    o,
    now: o.now ?? Date.now,
    streams: new StreamTable<Stream>(MAX_STREAMS_PER_NODE, `node ${o.node}`),
    answer: (a) =>
      void o.bus
        .publish(answerTopic, { kind: 'logs-answer', cluster: o.cluster, node: o.node, ...a })
        .catch((e) => o.log.debug(`log answer: ${(e as Error).message}`)),
  };
  await o.bus.subscribe(o.topics.nodeLogsRequest(o.cluster, o.node), (topic, payload) => {
    const p = parsePayload('LogsMessage', payload, topic);
    if (!p.ok) return o.bus.drop(topic, p.error);
    const r = p.value;
    if (r.kind !== 'node-logs-request' || r.node !== o.node) return o.bus.drop(topic, `${topic}: not a log request for node ${o.node}`);
    const stale = staleRequest(r, c.now());
    if (stale) return o.bus.drop(topic, `${topic}: ${stale}`);
    const s = c.streams.get(r.id);
    if (r.op === 'start') startStream(c, r).catch((e) => o.log.warn(`log stream ${r.id}: ${(e as Error).message}`));
    else if (s && r.op === 'renew') renewLease(s, c.now());
    else if (s && r.op === 'stop') endStream(c, s);
  });
  return {
    get streams() {
      return c.streams.size;
    },
    stop() {
      for (const [, s] of c.streams.entries()) endStream(c, s);
    },
  };
}

/** Send what is pending, one chunk per replica, with the count of lines dropped since the last. */
function flush(c: Ctx, s: Stream): void {
  for (const [replica, lines] of s.pending) {
    if (!lines.length) continue;
    const dropped = s.limiter.dropped - s.droppedSent;
    s.droppedSent = s.limiter.dropped;
    c.answer({ id: s.id, replica, lines, ...(dropped ? { dropped } : {}) });
  }
  s.pending.clear();
  s.pendingBytes = 0;
  if (s.limiter.dropped > s.droppedSent) {
    c.answer({ id: s.id, dropped: s.limiter.dropped - s.droppedSent });
    s.droppedSent = s.limiter.dropped;
  }
}

function endStream(c: Ctx, s: Stream, error?: string): void {
  if (s.ended) return;
  s.ended = true;
  clearInterval(s.timer);
  for (const src of s.sources) src.stop();
  flush(c, s);
  c.streams.delete(s.id);
  c.answer({ id: s.id, end: true, ...(error ? { error } : {}) });
}

async function startStream(c: Ctx, r: NodeRequest): Promise<void> {
  if (c.streams.has(r.id)) return;
  const full = c.streams.full();
  if (full) return c.answer({ id: r.id, end: true, error: full });
  const t0 = c.now();
  const s: Stream = {
    id: r.id,
    sources: [],
    leaseUntil: firstLease(r.follow, t0),
    follow: r.follow,
    limiter: new LogLimiter(t0),
    pending: new Map(),
    pendingBytes: 0,
    droppedSent: 0,
    ended: false,
    timer: setInterval(() => (c.now() > s.leaseUntil ? endStream(c, s) : flush(c, s)), LOG_FLUSH_MS),
  };
  s.timer.unref();
  c.streams.add(r.id, s);
  const onLine = (replica: string) => (line: string) => {
    if (s.ended || !s.limiter.admit(line, c.now())) return;
    const list = s.pending.get(replica) ?? [];
    list.push(line);
    s.pending.set(replica, list);
    s.pendingBytes += line.length;
    if (s.pendingBytes >= LOG_CHUNK_BYTES || list.length >= LOG_CHUNK_LINES) flush(c, s);
  };
  const problems: string[] = [];
  const owners = await ownersOf(c.o.drivers, r.replicas);
  for (const id of r.replicas) {
    const d = owners.get(id);
    if (!d?.logs) {
      problems.push(d ? `${id}: its runtime (${d.name}) keeps no logs` : `${id} does not run on node ${c.o.node}`);
      continue;
    }
    try {
      const src = d.logs(id, { tail: r.tail, follow: r.follow }, onLine(id));
      src.done.catch((e) => problems.push(`${id}: ${(e as Error).message}`));
      s.sources.push(src);
    } catch (e) {
      problems.push(`${id}: ${(e as Error).message}`);
    }
  }
  // A tail without --follow ends once every source has given its lines; a follow stream by its lease (or a stop).
  await Promise.allSettled(s.sources.map((x) => x.done));
  if (!s.follow || s.sources.length === 0) setImmediate(() => endStream(c, s, problems.join('; ') || undefined));
}

/** Which driver runs each replica (its list()). */
async function ownersOf(drivers: readonly RuntimeDriver[], ids: readonly string[]): Promise<Map<string, RuntimeDriver>> {
  const want = new Set(ids);
  const out = new Map<string, RuntimeDriver>();
  for (const d of drivers) {
    const listed = await d.list().catch(() => []);
    for (const r of listed) if (want.has(r.id) && !out.has(r.id)) out.set(r.id, d);
  }
  return out;
}
