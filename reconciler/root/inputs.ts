// The root's MQTT inputs: each cluster's retained status and online flag. A message only updates
// what the root observed of that cluster and enqueues the keys that must look again; the loop
// runs the steps. A payload that does not parse, or names another cluster, is dropped.
//
// Liveness is each cluster's MQTT session: its retained online flag, which the broker turns
// false by the last will when the session dies (also after 1.5 × keepalive of silence). A root
// cut off from the broker learns the truth again from the retained flags on reconnect.
import type { ClusterStatus } from '../../schemas/messages.js';
import { parsePayload } from '../../schemas/parse.js';
import type { Bus } from '../mqtt/bus.js';
import type { Topics } from '../mqtt/topics.js';
import { sameVersion } from './delegate.js';
import { keepRefusals } from './place.js';
import { noteFailures } from './failing.js';
import type { RootPorts } from './ports.js';
import type { RootState } from './state.js';

export type InputPorts = Pick<RootPorts, 'book' | 'queue' | 'clock' | 'log' | 'trust'>;

/** A cluster reported its status: it is online, heard now; re-place when what placement sees of it changed. */
export function clusterStatusIn(state: RootState, ports: InputPorts, cluster: string, status: ClusterStatus, fromGit = false): void {
  const st = state.clusters.get(cluster) ?? { online: true, lastHeard: 0 };
  if (st.airGapped && !fromGit) {
    ports.log.debug(`status of ${cluster} over MQTT ignored: it is declared air-gapped`);
    return;
  }
  const before = st.status;
  st.status = status;
  st.unheard = undefined;
  // Which of the root's keys it trusts: a cluster away during a rotation is signed for with the old one.
  ports.trust?.heard(`cluster:${cluster}`, status.trusts);
  state.counts.statusChanged(before, status, state.good?.services);
  noteFailures(state, cluster, status);
  // A cluster that could not place what it was given: full there for that service; re-place.
  const refusals = keepRefusals(st.refused, before, status, ports.book.get(cluster));
  st.refused = refusals.refused;
  st.lastHeard = ports.clock();
  const wasOnline = st.online;
  st.online = true;
  st.offlineSince = undefined;
  state.clusters.set(cluster, st);
  const { queue } = ports;
  const replace = !before || !wasOnline || shapeChanged(before, status) || refusals.changed;
  if (replace) queue.enqueue('place');
  if (!wasOnline) queue.enqueue(`live:${cluster}`);
  // Endpoints, interest or location changed: the clusters routing to what changed look again
  // (in the place pass when there is one: its delegate step takes them).
  if (state.routes.statusChanged(cluster, before, status, wasOnline) && !replace) queue.enqueue('routes');
  // Resend when the cluster is behind (sendTo holds back a send in flight for a moment).
  if (!sameVersion(status.applied, ports.book.get(cluster)?.version)) queue.enqueue(`send:${cluster}`);
  // A wave waiting for this cluster looks again.
  if (state.rollouts.involves(cluster)) queue.enqueue('rollout');
  // A retired cluster drains: replicas may be ready elsewhere now.
  if (state.drain.active) queue.enqueue('drain');
  queue.enqueue('converge');
}

/** A cluster's online flag changed: re-place, and record the transition. */
export function clusterOnlineIn(state: RootState, ports: InputPorts, cluster: string, online: boolean): void {
  const st = state.clusters.get(cluster) ?? { online: false, lastHeard: 0 };
  if (st.online === online || st.airGapped) return;
  st.online = online;
  if (online) {
    st.lastHeard = ports.clock();
    st.offlineSince = undefined;
  } else st.offlineSince = ports.clock();
  state.clusters.set(cluster, st);
  ports.log.info(`cluster ${cluster} ${online ? 'online' : 'offline'}`);
  // The clusters routing to what it exposes look again, in the place pass's delegate step.
  state.routes.onlineChanged(cluster, st.status);
  ports.queue.enqueue('place');
  ports.queue.enqueue(`live:${cluster}`);
}

/** What placement looks at in a status, apart from free capacity and what runs. */
export function shapeChanged(a: ClusterStatus, b: ClusterStatus): boolean {
  const key = (s: ClusterStatus) =>
    JSON.stringify([s.capacity, s.maxNode, s.shapes, s.arch, s.runtimes, s.labels, s.operator, s.location, s.footprint, s.latency]);
  return key(a) !== key(b);
}

/** Subscribe to every cluster's status and online flag; on each (re)connect, send everyone their placement. */
export async function subscribeInputs(bus: Bus, t: Topics, state: RootState, ports: InputPorts): Promise<void> {
  await bus.subscribe(t.allClusterStatus, (topic, payload) => {
    const parts = t.parse(topic);
    if (parts?.level !== 'cluster') return;
    if (!payload.length) return;
    const p = parsePayload('ClusterStatus', payload, topic);
    if (!p.ok) return bus.drop(topic, p.error);
    if (p.value.cluster !== parts.cluster) return bus.drop(topic, `${topic}: names cluster ${p.value.cluster}`);
    clusterStatusIn(state, ports, parts.cluster, p.value);
  });
  await bus.subscribe(t.allClusterOnline, (topic, payload) => {
    const parts = t.parse(topic);
    if (parts?.level !== 'cluster' || !payload.length) return;
    const p = parsePayload('OnlineMessage', payload, topic);
    if (!p.ok) return bus.drop(topic, p.error);
    clusterOnlineIn(state, ports, parts.cluster, p.value.online);
  });
  // A bridged site's link (its site broker's bridge notification): `0` when it drops is the site
  // cut off, though the cluster's own connection (to its site broker) never dropped; the site
  // is back when its status or online flag crosses again.
  await bus.subscribe(t.allClusterBridge, (topic, payload) => {
    const parts = t.parse(topic);
    if (parts?.level !== 'cluster') return;
    const text = payload.toString().trim();
    if (text !== '0' && text !== '1') return bus.drop(topic, `${topic}: a bridge notification is 0 or 1, not ${JSON.stringify(text.slice(0, 40))}`);
    if (text === '0' && state.clusters.has(parts.cluster)) clusterOnlineIn(state, ports, parts.cluster, false);
  });
  bus.onConnect(() => {
    for (const c of state.clusters.keys()) ports.queue.enqueue(`send:${c}`);
  });
}
