// What the cluster hears, and what it does about it: each handler updates the observed state
// and queues work, nothing more. Node statuses and online flags come over the node bus; the
// root's placement messages over the wide-area bus go to the adoption chain (adopt.ts) rather
// than the keyed loop: a key coalesces, and every patch must be applied, in arrival order.
import type { NodeStatus } from '../../schemas/messages.js';
import { parsePayload } from '../../schemas/parse.js';
import { inAdoptionChain } from './steps/adopt.js';
import { adoptMessage } from './steps/adopt-mqtt.js';
import { timed } from './metrics.js';
import { KEYS, type ClusterPorts } from './ports.js';
import { refreshAddresses } from './steps/routes.js';
import { rollingKey } from './steps/roll.js';
import type { ClusterState } from './state.js';

/** <cluster>/desired: a snapshot or patch of the placement, adopted in the chain. */
export function onDesired(s: ClusterState, p: ClusterPorts, topic: string, payload: Buffer): Promise<void> {
  return inAdoptionChain(s, () => timed(p.metrics, 'adopt', () => adoptMessage(s, p, { topic, payload })));
}

// A node's figures as placing sees them: a change of these re-places, a change of replica states only reports.
const shape = (s?: NodeStatus) => JSON.stringify(s && [s.capacity, s.arch, s.runtimes, s.labels, s.location, s.latency]);

/** <node>/status: the node is online and reports what it runs. */
export function onNodeStatus(s: ClusterState, p: ClusterPorts, topic: string, payload: Buffer): void {
  const parts = p.topics.parse(topic);
  if (parts?.level !== 'node' || !payload.length) return;
  const parsed = parsePayload('NodeStatus', payload, topic);
  if (!parsed.ok) {
    p.nodeBus.drop(topic, parsed.error);
    return;
  }
  if (parsed.value.node !== parts.node) {
    p.nodeBus.drop(topic, `${topic}: names node ${parsed.value.node}`);
    return;
  }
  const st = s.nodes.get(parts.node) ?? { online: false, connected: true, lastHeard: 0 };
  const wasOnline = st.online;
  st.connected = true;
  st.disconnectedAt = undefined;
  const shapeChanged = shape(st.status) !== shape(parsed.value);
  // A node that names other keys than before (one back after a rotation, or one that has just
  // learned the new key) is sent its share again at once, signed with a key it trusts.
  const rekeyed = (st.status?.trusts ?? []).join() !== (parsed.value.trusts ?? []).join();
  if (rekeyed) st.sent = undefined;
  // Services it asks for beyond its workloads': its routes change.
  const interested = (st.status?.interest ?? []).join() !== (parsed.value.interest ?? []).join();
  // A replica of a rolling service that changed state or readiness may let the roll go on.
  const rolled = s.rolls.size > 0 && rollingKey(s, st.status) !== rollingKey(s, parsed.value);
  st.status = parsed.value;
  // Which of this cluster's keys the node trusts: one away during a rotation is signed for with the old one.
  p.trust?.heard(`node:${p.cfg.name}/${parts.node}`, parsed.value.trusts);
  st.online = true;
  st.lastHeard = p.now();
  s.nodes.set(parts.node, st);
  if (!wasOnline) p.log.info(`node ${parts.node} online`);
  if (!wasOnline || shapeChanged || rolled) p.work.enqueue(KEYS.place);
  if (rekeyed || interested || (st.sent && parsed.value.appliedSeq !== st.sent.seq)) p.work.enqueue(KEYS.node(parts.node));
  // Its instances' addresses: the nodes whose routes include a service that changed are told.
  refreshAddresses(s, p, parts.node);
  p.work.enqueue(KEYS.report);
}

/** <node>/online: the node's MQTT session came or went (the broker's last will says it went). */
export function onNodeOnline(s: ClusterState, p: ClusterPorts, topic: string, payload: Buffer): void {
  const parts = p.topics.parse(topic);
  if (parts?.level !== 'node' || !payload.length) return;
  const parsed = parsePayload('OnlineMessage', payload, topic);
  if (!parsed.ok) {
    p.nodeBus.drop(topic, parsed.error);
    return;
  }
  // A node that went away (last will) keeps its replicas for the grace period: an agent that
  // restarts within it adopts its workloads. After it, the report's check re-places them.
  const st = s.nodes.get(parts.node);
  if (!st) return;
  if (parsed.value.online) {
    const was = st.connected;
    st.connected = true;
    st.disconnectedAt = undefined;
    if (!was && refreshAddresses(s, p, parts.node).length) p.work.enqueue(KEYS.report);
    return;
  }
  if (!st.connected) return;
  st.connected = false;
  st.disconnectedAt = p.now();
  if (st.online) p.log.warn(`node ${parts.node} disconnected; its replicas move if it is not back within ${p.cfg.unreachableMs / 1000} s`);
  // Its instances are out of every route at once (and of what the cluster exposes); its
  // replicas stay where they are for the grace period.
  if (refreshAddresses(s, p, parts.node).length) p.work.enqueue(KEYS.report);
  p.work.enqueueAfter(KEYS.report, p.cfg.unreachableMs + 50);
}

/** The root's bus (re)connected: whatever was reported may be lost; report afresh. */
export function onRootConnect(s: ClusterState, p: ClusterPorts): void {
  s.lastReport = '';
  p.work.enqueue(KEYS.report);
}

/** The node bus (re)connected: tell every node its desired state again. */
export function onNodesConnect(s: ClusterState, p: ClusterPorts): void {
  for (const st of s.nodes.values()) st.sent = undefined;
  p.work.enqueue(KEYS.place);
}
