// Feeds one payload to the receiver it is for, as the bus hands it over, in a fresh world built
// from payload-cases.ts's valid messages with the level's fake ports: the root's inputs
// (reconciler/root/inputs.ts, subscribed on a bus that keeps its handlers), the cluster's
// events (reconciler/cluster/events.ts) and the agent's (agents/events.ts, then the adopt step
// of its next pass). Says why it was dropped (what went to the bus's drop, and the log) and
// what changed: the state as plain data before and after, and what the parts were asked to do.
// With a codec, the payload is first opened by it, as the bus does: what does not open is
// dropped there, and the handler never sees it.
import type { Bus, BusCodec, Handler } from '../../reconciler/mqtt/bus.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { subscribeInputs } from '../../reconciler/root/inputs.js';
import { onDesired, onNodeOnline, onNodeStatus } from '../../reconciler/cluster/events.js';
import { assignmentReceived } from '../../agents/events.js';
import { adoptAssignments } from '../../agents/steps/adopt.js';
import { newAgentState } from '../../agents/state.js';
import { fakeCluster, heardNode } from '../helpers/cluster-fakes.js';
import { fakePorts } from '../helpers/agent-fakes.js';
import { FakeBook, fakeRoot, START_MS } from '../helpers/root-fakes.js';
import { aNodeStatus, aNode } from '../helpers/builders.js';
import { CLUSTER_STATUS, NODE_STATUS, TOPIC, assignment, placement, type PayloadCase } from './payload-cases.js';

export interface Fed {
  topic: string;
  /** Why it was dropped: what each drop was told, then the log lines. */
  reasons: string[];
  before: unknown;
  after: unknown;
  /** What the receiver was asked to do about it (keys queued, things written or sent). */
  did: string[];
  /** Why the codec did not open it (unsigned, untrusted-key, …), when it did not. */
  unopened?: string;
}

export function bytesOf(payload: unknown): Buffer {
  if (Buffer.isBuffer(payload)) return payload;
  return Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
}

export async function feed(c: PayloadCase, codec?: BusCodec): Promise<Fed> {
  const topic = c.topic ?? TOPIC[c.to];
  const bytes = bytesOf(c.payload);
  let unopened: { reason?: string; error: string } | undefined;
  /** The payload as the handler gets it (opened by the codec), or undefined when the bus drops it. */
  const open = (): Buffer | undefined => {
    const o = codec ? codec.decode(topic, bytes) : { ok: true as const, payload: bytes };
    if (o.ok) return o.payload;
    unopened = { reason: o.reason, error: o.error };
    return undefined;
  };
  let fed: Fed;
  switch (c.to) {
    case 'root status':
    case 'root online':
      fed = await feedRoot(c.to, topic, open);
      break;
    case 'cluster desired':
    case 'cluster node status':
    case 'cluster node online':
      fed = await feedCluster(c.to, topic, open);
      break;
    case 'agent desired':
      fed = await feedAgent(topic, open);
      break;
  }
  if (!unopened) return fed;
  const u = unopened as { reason?: string; error: string };
  return { ...fed, unopened: u.reason ?? 'unopened', reasons: [u.error, ...fed.reasons] };
}

type Open = () => Buffer | undefined;

async function feedRoot(to: 'root status' | 'root online', topic: string, open: Open): Promise<Fed> {
  const book = new FakeBook(placement());
  const f = fakeRoot({ book });
  f.state.clusters.set('munich', { status: CLUSTER_STATUS(), online: true, lastHeard: START_MS });
  const handlers = new Map<string, Handler>();
  const dropped: string[] = [];
  const bus = {
    subscribe: async (pattern: string, h: Handler) => void handlers.set(pattern, h),
    drop: (_topic: string, error: string) => void dropped.push(error),
    onConnect: () => {},
  } as unknown as Bus;
  const t = topics('demo');
  await subscribeInputs(bus, t, f.state, f.ports);
  const state = () => ({
    clusters: [...f.state.clusters].map(([k, v]) => [k, structuredClone(v)]),
    seq: f.state.seq,
    epoch: f.state.epoch,
    allocation: [...f.state.allocation].map(([k, v]) => [k, [...v]]),
    off: f.state.counts.off(),
    book: [...book.docs].map(([k, v]) => [k, structuredClone(v)]),
  });
  const before = state();
  const bytes = open();
  if (bytes) handlers.get(to === 'root status' ? t.allClusterStatus : t.allClusterOnline)!(topic, bytes);
  return {
    topic,
    reasons: [...dropped, ...f.logs],
    before,
    after: state(),
    did: [...f.enqueued, ...f.after.map(([k]) => `later ${k}`), ...book.commits.map((x) => `commit ${x.message}`), ...f.sent.map((x) => `sent ${x.cluster}`)],
  };
}

async function feedCluster(to: 'cluster desired' | 'cluster node status' | 'cluster node online', topic: string, open: Open): Promise<Fed> {
  const p0 = placement();
  const f = fakeCluster({ placement: p0, assignment: { 'web/api#0': 'n1', 'web/api#1': 'n2' } });
  f.s.nodes.set('n1', heardNode(NODE_STATUS(), { sent: { seq: 10, key: 'k', at: 0 } }));
  f.s.nodes.set('n2', heardNode(aNodeStatus(aNode('n2').build())));
  const state = () => ({
    placement: structuredClone(f.s.placement),
    assignment: [...f.s.assignment],
    nodes: [...f.s.nodes].map(([k, v]) => [k, structuredClone(v)]),
    nodeSeq: f.s.nodeSeq,
    byNode: [...f.s.byNode].map(([k, v]) => [k, structuredClone(v)]),
  });
  const before = state();
  const bytes = open();
  if (!bytes) {
    /* dropped by the bus */
  } else if (to === 'cluster desired') await onDesired(f.s, f.p, topic, bytes);
  else if (to === 'cluster node status') onNodeStatus(f.s, f.p, topic, bytes);
  else onNodeOnline(f.s, f.p, topic, bytes);
  return {
    topic,
    reasons: [...f.bus.dropped, ...f.nodeBus.dropped].map((d) => d.error).concat(f.logs),
    before,
    after: state(),
    // A placement ignored makes the cluster report again (so the root learns what it holds): that is not acting on it.
    did: [
      ...f.queued.filter((k) => k !== 'report'),
      ...f.later.map(([k]) => `later ${k}`),
      ...f.placements.writes.map(() => 'journal placement'),
      ...f.placements.appends.map(() => 'journal patch'),
      ...f.bus.published.map((m) => `publish ${m.topic}`),
      ...f.nodeBus.published.map((m) => `publish ${m.topic}`),
    ],
  };
}

async function feedAgent(topic: string, open: Open): Promise<Fed> {
  const s = newAgentState(assignment(), 5000);
  const p = fakePorts();
  const queued: string[] = [];
  const state = () => ({ assignment: structuredClone(s.assignment), heartbeatMs: s.heartbeatMs });
  const before = state();
  const bytes = open();
  if (bytes) assignmentReceived(s, (k) => void queued.push(k), p.drop)(topic, bytes);
  // The next pass adopts what came in (the epoch rule is applied there).
  const adopted = adoptAssignments(s, p);
  return {
    topic,
    reasons: [...p.dropped, ...p.log.lines],
    before,
    after: state(),
    did: [...(adopted ? ['adopted'] : []), ...p.saved.map(() => 'saved'), ...p.heartbeats.map((ms) => `heartbeat ${ms}`), ...p.probed.map(() => 'probe')],
  };
}
