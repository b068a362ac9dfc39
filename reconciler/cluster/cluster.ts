// The cluster reconciler's composition: placement in (MQTT from the root, journal on disk),
// node choice (pure), node assignments out, node status in, aggregated status out (MQTT to the
// root, commits to refs/canopy/status/<cluster>). It keeps enforcing its last placement when
// the root is away: everything it needs is in its state directory.
import type { Operation } from 'fast-json-patch';
import { applyPlacementPatch } from './placement-patch.js';
import type { Bus } from '../mqtt/bus.js';
import { topics as topicsFor } from '../mqtt/topics.js';
import type { Placement, NodeStatus as NodeStatusT, ClusterStatus, NodeDesired, ReplicaSpec, LatencyTarget } from '../../schemas/messages.js';
import { parsePayload } from '../../schemas/parse.js';
import type { Logger } from '../core/log.js';
import { startLoop } from '../runtime/loop.js';
import { openJournal } from '../core/journal.js';
import { openPatchJournal } from '../core/patch-journal.js';
import { canonicalJson } from '../core/ids.js';
import type { Repo } from '../git/repo.js';
import { placeReplicas, type NodeView, type ClusterPolicy } from './place.js';
import { aggregate } from './aggregate.js';
import { StatusRecorder } from './status-ref.js';
import { startMaintenance } from '../git/maintenance.js';
import type { LatLon } from '../core/geo.js';
import { versionOrder } from '../core/version.js';

export interface ClusterOptions {
  name: string;
  fleet: string;
  /** Wide-area bus to the root. */
  bus: Bus;
  /** Site-local bus to the agents (may be the same). */
  nodeBus: Bus;
  stateDir: string;
  repo?: Repo;
  labels?: Record<string, string>;
  operator?: string;
  location?: LatLon;
  policy?: ClusterPolicy;
  /** fleet.yaml's latency targets: sent to the agents to probe, reported as the best round trip to each. */
  targets?: Record<string, LatencyTarget>;
  heartbeatMs?: number;
  unreachableMs?: number;
  statusRefreshMs?: number;
  /** The placement as committed to Git (refs/canopy/placements/<name>): the way in when the broker is not. */
  placementFromGit?: (have?: Placement['version']) => Promise<Placement | undefined>;
  /** Told after each status commit (a remote sync pushes it). */
  onStatusCommit?: () => void;
  log: Logger;
}

export interface Cluster {
  idle(): Promise<void>;
  stop(): Promise<void>;
  readonly stats: { dropped: number };
}

// `connected` is the node's MQTT session (its retained online flag; the broker sets it false by
// the last will when the session dies, also after 1.5 × keepalive of silence). `online` is
// whether replicas may stay on it: it turns false only after the grace period.
interface NodeState {
  status?: NodeStatusT;
  online: boolean;
  connected: boolean;
  disconnectedAt?: number;
  lastHeard: number;
  sent?: { seq: number; key: string; at: number };
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const t = topicsFor(o.fleet);
  const journal = openJournal(o.stateDir);
  const heartbeatMs = o.heartbeatMs ?? 2000;
  const unreachableMs = o.unreachableMs ?? 10_000;
  const recorder = o.repo ? new StatusRecorder(o.repo, o.name, { name: `canopy cluster ${o.name}`, email: `${o.name}@canopy.invalid` }) : undefined;
  // The placement and the replica → node assignment are journaled as a snapshot plus a log of
  // patches: a one-service change writes what changed, not the whole cluster.
  const placementJournal = openPatchJournal<Placement>(journal, o.stateDir, 'placement.json');
  const assignmentJournal = openPatchJournal<Record<string, string>>(journal, o.stateDir, 'assignments.json');
  let placement: Placement | undefined = await placementJournal.read();
  let assignment = new Map<string, string>(Object.entries((await assignmentJournal.read()) ?? {}));
  const nodes = new Map<string, NodeState>();
  let nodeSeq = Date.now();
  let byNode = new Map<string, ReplicaSpec[]>();
  let pending = new Map<string, string>();
  // Replicas no node can take are refused to the root only once they have stayed so for a grace
  // period: a restarted cluster whose nodes are still reporting in refuses nothing.
  let unplaced = new Map<string, number>();
  const unplacedSince = new Map<string, number>();
  const refuseAfterMs = Math.max(2 * heartbeatMs, 1000);
  const slowMs = Math.min(30_000, Math.max(heartbeatMs, (o.statusRefreshMs ?? 60_000) / 2));
  let lastSlow = Date.now();
  let lastReport = '';
  // Placements are adopted one at a time: MQTT messages in arrival order (a patch depends on the
  // one before it), and what was read from Git in the same chain.
  let adopting: Promise<void> = Promise.resolve();
  const serially = (f: () => Promise<void>): Promise<void> => {
    const r = adopting.then(f);
    adopting = r.catch(() => undefined);
    return r;
  };

  const loop = startLoop({
    // Events drive the work; the resync is a safety net: Git every heartbeat while the broker is
    // away (cheap: a ref read, and a fetch when the ref moved), a full
    // re-place and report every slowMs (and the report then refreshes the Git record if due).
    name: `cluster ${o.name}`,
    log: o.log,
    resyncMs: heartbeatMs,
    resyncKeys: () => {
      // Git is the way in when the root's broker is not: while the bus is up the root's patches
      // arrive there, and a site's uplink should not also fetch every placement it already has.
      const keys = o.placementFromGit && (!o.bus.isConnected() || !placement) ? ['git'] : [];
      if (Date.now() - lastSlow >= slowMs) {
        lastSlow = Date.now();
        keys.push('report', 'place');
      }
      return keys;
    },
    reconcile: async (key) => {
      if (key === 'place') return reconcilePlace();
      if (key === 'report') return reconcileReport();
      if (key === 'git') return readGit();
      if (key.startsWith('node:')) return sendNode(key.slice(5));
    },
  });

  const nodeViews = (): NodeView[] =>
    [...nodes]
      .filter(([, s]) => s.status)
      .map(([name, s]) => ({
        name,
        online: s.online,
        capacity: s.status!.capacity,
        arch: s.status!.arch,
        runtimes: s.status!.runtimes,
        labels: s.status!.labels,
        ...(s.status!.location ? { location: s.status!.location } : {}),
        ...(s.status!.latency ? { latency: Object.fromEntries(Object.entries(s.status!.latency).map(([k, v]) => [k, v.ms])) } : {}),
      }));

  const startedAt = Date.now();
  const targetsKey = canonicalJson(o.targets ?? null);

  async function reconcilePlace(): Promise<void> {
    // Just restarted: a node that held replicas may not have been heard yet (its retained status
    // is on its way). Wait for it, up to the grace period, rather than move its replicas.
    const waiting = [...new Set(assignment.values())].filter((n) => !nodes.get(n)?.status);
    if (waiting.length && Date.now() - startedAt < unreachableMs) {
      loop.enqueueAfter('place', 250);
      return;
    }
    const plan = placeReplicas(placement, nodeViews(), assignment, o.policy ?? 'bestfit', { targets: o.targets, location: o.location });
    byNode = plan.byNode;
    pending = plan.pending;
    unplaced = plan.unplaced;
    for (const id of unplacedSince.keys()) if (!unplaced.has(id)) unplacedSince.delete(id);
    for (const id of unplaced.keys()) if (!unplacedSince.has(id)) unplacedSince.set(id, Date.now());
    // A refusal is reported once replicas have stayed unplaced for refuseAfterMs.
    if (unplaced.size) loop.enqueueAfter('report', refuseAfterMs + 50);
    const next = plan.assignment;
    const ops = mapPatch(assignment, next);
    if (ops.length) {
      assignment = next;
      await assignmentJournal.append(ops, () => Object.fromEntries(next));
    }
    for (const n of nodes.keys()) loop.enqueue(`node:${n}`);
    loop.enqueue('report');
  }

  async function sendNode(node: string): Promise<void> {
    const st = nodes.get(node);
    if (!st?.online) return;
    const replicas = byNode.get(node) ?? [];
    // What the node is told, as a key: each replica's id and workload hash (what it runs; a
    // change of placement-only fields such as constraints does not concern the node), and the
    // targets it probes.
    const key = `${replicas.map((r) => `${r.id}@${r.specHash}`).join(',')}|${targetsKey}`;
    const applied = st.status?.appliedSeq;
    if (st.sent && st.sent.key === key && (applied === st.sent.seq || Date.now() - st.sent.at < 1000)) return;
    const seq = st.sent && st.sent.key === key ? st.sent.seq : (nodeSeq = Math.max(nodeSeq + 1, Date.now()));
    const msg: NodeDesired = {
      kind: 'node-desired',
      seq,
      epoch: placement?.version.epoch ?? 0,
      heartbeatSeconds: heartbeatMs / 1000,
      ...(o.targets ? { targets: o.targets } : {}),
      replicas,
    };
    st.sent = { seq, key, at: Date.now() };
    await o.nodeBus.publish(t.nodeDesired(o.name, node), msg, { retain: true });
  }

  async function reconcileReport(): Promise<void> {
    const now = new Date();
    for (const [name, st] of nodes) {
      if (st.online && !st.connected && st.disconnectedAt !== undefined && now.getTime() - st.disconnectedAt >= unreachableMs) {
        st.online = false;
        o.log.warn(`node ${name} unreachable: disconnected for ${Math.round((now.getTime() - st.disconnectedAt) / 1000)} s; re-placing its replicas`);
        loop.enqueue('place');
      }
    }
    const t0 = performance.now();
    const status: ClusterStatus = aggregate({
      cluster: o.name,
      at: now.toISOString(),
      placement,
      nodes: nodeViews(),
      statuses: new Map([...nodes].map(([n, s]) => [n, s.status])),
      online: new Set([...nodes].filter(([, s]) => s.online).map(([n]) => n)),
      assignment,
      pending,
      labels: o.labels ?? {},
      operator: o.operator,
      location: o.location,
      targets: o.targets,
      refused: new Map(
        [...unplaced]
          .filter(([id]) => now.getTime() - (unplacedSince.get(id) ?? Infinity) >= refuseAfterMs)
          .map(([id, count]) => [id, { count, reason: pending.get(id) ?? 'no node can take a replica' }]),
      ),
    });
    // Built in the same order every time, so plain JSON serves as the key (no sorting of 10,000 entries).
    const t1 = performance.now();
    const key = JSON.stringify({ ...status, at: undefined, free: undefined, maxNodeFree: undefined });
    const t2 = performance.now();
    // Sent on change only (and on every reconnect): liveness is the MQTT session, not a stream
    // of identical reports.
    if (key !== lastReport && o.bus.isConnected()) {
      lastReport = key;
      await o.bus.publish(t.clusterStatus(o.name), status, { retain: true });
    }
    if (performance.now() - t0 >= 20)
      o.log.debug(`report: aggregate ${(t1 - t0).toFixed(1)} ms, key ${(t2 - t1).toFixed(1)} ms, publish ${(performance.now() - t2).toFixed(1)} ms`);
    if (recorder) recordLater(status);
  }

  // The Git record of the status is written beside the loop, not in it: it costs more than the
  // report itself in a cluster holding thousands of services (tens of ms), and nothing the
  // cluster does next waits for it. One write at a time; a status that comes while one is being
  // written replaces any other waiting (the latest state is what gets recorded).
  let recording: Promise<void> | undefined;
  let toRecord: ClusterStatus | undefined;
  function recordLater(status: ClusterStatus): void {
    toRecord = status;
    recording ??= (async () => {
      while (toRecord) {
        const s = toRecord;
        toRecord = undefined;
        const t = performance.now();
        try {
          const r = await recorder!.record(s, o.statusRefreshMs ?? 60_000);
          if (r !== 'unchanged') o.onStatusCommit?.();
          if (performance.now() - t >= 20) o.log.debug(`status record (${r}): ${(performance.now() - t).toFixed(1)} ms`);
        } catch (e) {
          o.log.warn(`recording status in Git: ${(e as Error).message}; trying again`);
          loop.enqueueAfter('report', 2000);
        }
      }
    })().finally(() => {
      recording = undefined;
    });
  }

  async function applyDesired(topic: string, payload: Buffer): Promise<void> {
    const p = parsePayload('DesiredMessage', payload, topic);
    if (!p.ok) return o.bus.drop(topic, p.error);
    const m = p.value;
    let next: Placement;
    if (m.kind === 'snapshot') {
      next = m.placement;
    } else {
      const cur = placement?.version;
      if (cur && versionOrder(m.version, cur) <= 0) return; // already there (e.g. from Git)
      if (!cur || cur.seq !== m.base.seq || cur.commit !== m.base.commit || cur.epoch !== m.base.epoch) {
        o.log.info(`patch for base #${m.base.seq} but applied #${cur?.seq ?? 'none'}: asking for a snapshot`);
        loop.enqueue('report');
        return;
      }
      const c = applyPlacementPatch(placement!, m.ops as Operation[], topic);
      if (!c.ok) return o.bus.drop(topic, c.error);
      return adopt(c.value, topic, m.ops as Operation[]);
    }
    await adopt(next, topic);
  }

  /** Take a placement (from MQTT or Git) if it is for us and not older than what we have. */
  async function adopt(next: Placement, from: string, ops?: Operation[]): Promise<void> {
    if (next.cluster !== o.name || next.fleet !== o.fleet) return o.bus.drop(from, `${from}: placement is for ${next.fleet}/${next.cluster}`);
    if (placement && versionOrder(next.version, placement.version) < 0) {
      o.log.info(`ignoring stale placement #${next.version.seq} from ${from} (have #${placement.version.seq})`);
      loop.enqueue('report');
      return;
    }
    if (placement && versionOrder(next.version, placement.version) === 0) return;
    // A patch of the placement in force is logged as it came; anything else is a new snapshot.
    // (applyDesired applies a patch only to the placement it is based on, so that is the one logged.)
    if (ops && placement) await placementJournal.append(ops, next);
    else await placementJournal.write(next);
    placement = next;
    o.log.info(`applied placement #${next.version.seq} from ${next.version.commit.slice(0, 12)} (${from}): ${Object.keys(next.services).length} service(s)`);
    loop.enqueue('place');
  }

  async function readGit(): Promise<void> {
    const p = await o.placementFromGit!(placement?.version);
    if (!p) return;
    // Reading Git takes a while (a fetch): a newer placement may have come over MQTT meanwhile,
    // and may still be being journalled. Adopt in the same chain as MQTT messages, so the two
    // never interleave and the newer one wins whatever order they finish in.
    await serially(async () => {
      if (!placement || versionOrder(p.version, placement.version) > 0) await adopt(p, 'git');
    });
  }

  // ---- inputs ----
  await o.bus.subscribe(t.clusterDesired(o.name), (topic, payload) => {
    serially(() => applyDesired(topic, payload)).catch((e) => o.log.error(`applying ${topic}: ${(e as Error).message}`));
  });
  await o.nodeBus.subscribe(t.allNodeStatus(o.name), (topic, payload) => {
    const parts = t.parse(topic);
    if (parts?.level !== 'node' || !payload.length) return;
    const p = parsePayload('NodeStatus', payload, topic);
    if (!p.ok) return o.nodeBus.drop(topic, p.error);
    if (p.value.node !== parts.node) return o.nodeBus.drop(topic, `${topic}: names node ${p.value.node}`);
    const st = nodes.get(parts.node) ?? { online: false, connected: true, lastHeard: 0 };
    const wasOnline = st.online;
    st.connected = true;
    st.disconnectedAt = undefined;
    const shape = (s?: NodeStatusT) => JSON.stringify(s && [s.capacity, s.arch, s.runtimes, s.labels, s.location, s.latency]);
    const shapeChanged = shape(st.status) !== shape(p.value);
    st.status = p.value;
    st.online = true;
    st.lastHeard = Date.now();
    nodes.set(parts.node, st);
    if (!wasOnline) o.log.info(`node ${parts.node} online`);
    if (!wasOnline || shapeChanged) loop.enqueue('place');
    if (st.sent && p.value.appliedSeq !== st.sent.seq) loop.enqueue(`node:${parts.node}`);
    loop.enqueue('report');
  });
  await o.nodeBus.subscribe(t.allNodeOnline(o.name), (topic, payload) => {
    const parts = t.parse(topic);
    if (parts?.level !== 'node' || !payload.length) return;
    const p = parsePayload('OnlineMessage', payload, topic);
    if (!p.ok) return o.nodeBus.drop(topic, p.error);
    // A node that went away (last will) keeps its replicas for the grace period: an agent that
    // restarts within it adopts its workloads. After it, the heartbeat check re-places them.
    const st = nodes.get(parts.node);
    if (!st) return;
    if (p.value.online) {
      st.connected = true;
      st.disconnectedAt = undefined;
      return;
    }
    if (st.connected) {
      st.connected = false;
      st.disconnectedAt = Date.now();
      if (st.online) o.log.warn(`node ${parts.node} disconnected; its replicas move if it is not back within ${unreachableMs / 1000} s`);
      loop.enqueueAfter('report', unreachableMs + 50);
    }
  });
  o.bus.onConnect(() => {
    lastReport = '';
    loop.enqueue('report');
  });
  o.nodeBus.onConnect(() => {
    for (const st of nodes.values()) st.sent = undefined;
    loop.enqueue('place');
  });
  // Its status history is written as loose objects: packed as they pile up, as native git would.
  const maintenance = o.repo ? startMaintenance(o.repo, o.log) : undefined;
  // Nodes' retained statuses arrive right after subscribing: place once they are in, so a
  // restarted cluster keeps its replicas where they run instead of placing onto no nodes.
  loop.enqueueAfter('place', 500);

  return {
    stats: {
      get dropped() {
        return o.bus.stats.dropped + (o.nodeBus === o.bus ? 0 : o.nodeBus.stats.dropped);
      },
    },
    idle: async () => {
      await loop.idle();
      while (recording !== undefined) await recording;
    },
    async stop() {
      maintenance?.stop();
      await loop.stop();
      await adopting;
      while (recording !== undefined) await recording;
    },
  };
}

/** The JSON Patch from one replica → node map (as an object) to another. */
function mapPatch(a: Map<string, string>, b: Map<string, string>): Operation[] {
  const ops: Operation[] = [];
  const at = (id: string) => `/${id.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  for (const [k, v] of b) {
    const was = a.get(k);
    if (was === v) continue;
    ops.push(was === undefined ? { op: 'add', path: at(k), value: v } : { op: 'replace', path: at(k), value: v });
  }
  for (const k of a.keys()) if (!b.has(k)) ops.push({ op: 'remove', path: at(k) });
  return ops;
}
