// Everything a cluster keeps between reconcile passes, in one typed object: the placement in
// force and the replica → node assignment (both journaled in the state directory, so a restarted
// cluster enforces them with no root), what it has heard of its nodes, the plan of the last
// placing pass, the index its nodes' routes are made from, what it last told the root, and the
// two queues beside the loop (placements being adopted, the status waiting to be recorded in
// Git). Steps read and write it; nothing else holds state.
import type { ClusterStatus, NodeStatus, Placement, ReplicaSpec } from '../../schemas/messages.js';
import type { NodeView } from './node-view.js';
import { createRouteIndex, type RouteIndex } from './route-index.js';
import type { Roll } from './rolling.js';
import type { VolumeMove } from './volumes.js';

// `connected` is the node's MQTT session (its retained online flag; the broker sets it false by
// the last will when the session dies, also after 1.5 × keepalive of silence). `online` is
// whether replicas may stay on it: it turns false only after the grace period.
export interface NodeState {
  status?: NodeStatus;
  online: boolean;
  connected: boolean;
  disconnectedAt?: number;
  lastHeard: number;
  /** The last node-desired message sent: its seq, what it said (as a key), when. */
  sent?: { seq: number; key: string; at: number };
}

export interface ClusterState {
  /** The placement in force: the newest adopted from MQTT or Git. */
  placement?: Placement;
  /** replica → node, as the last placing pass decided. */
  assignment: Map<string, string>;
  nodes: Map<string, NodeState>;
  /** The last seq handed to a node's desired state: ever rising, also across restarts (it starts at the clock). */
  nodeSeq: number;
  /** The last placing pass: node → replicas, and per service why and how many replicas have no node. */
  byNode: Map<string, ReplicaSpec[]>;
  pending: Map<string, string>;
  unplaced: Map<string, number>;
  /** Since when each service has had replicas no node can take (a refusal waits out a grace period). */
  unplacedSince: Map<string, number>;
  /** The last status sent to the root, as a key ('' sends the next whatever it is). */
  lastReport: string;
  /** When the last full re-place and report of the resync ran. */
  lastSlow: number;
  startedAt: number;
  /** Placements are adopted one at a time, in arrival order: the tail of that chain. */
  adoption: Promise<void>;
  /** The Git record of the status: the write under way, and the latest status waiting for it. */
  record: { running?: Promise<void>; next?: ClusterStatus; failures: number };
  /** Live addresses of the instances here by service, and which nodes' routes include each service. */
  routes: RouteIndex;
  /** The services in a roll: the replicas still holding the spec they were given (journaled: rolls.json). */
  rolls: Map<string, Roll>;
  /** How many surge replicas each rolling service runs, as the last placing pass decided. */
  surge: Map<string, number>;
  /** The rolls' journal writes, one after another: the tail of that chain, and whether a write failed (the next is a snapshot). */
  rollsJournal: { tail: Promise<void>; failed: boolean };
  /** Replicas with volumes moved off a node that is not back (volumes.ts): stated in their service's message. */
  volumeMoves: Map<string, VolumeMove>;
  /** Services main deleted (Placement.deleted), and when this cluster learned it: its nodes drop their volumes. */
  deleted: Map<string, number>;
}

export function createClusterState(o: { placement?: Placement; assignment?: Record<string, string>; rolls?: Map<string, Roll>; now: number }): ClusterState {
  return {
    placement: o.placement,
    assignment: new Map(Object.entries(o.assignment ?? {})),
    nodes: new Map(),
    nodeSeq: o.now,
    byNode: new Map(),
    pending: new Map(),
    unplaced: new Map(),
    unplacedSince: new Map(),
    lastReport: '',
    lastSlow: o.now,
    startedAt: o.now,
    adoption: Promise.resolve(),
    record: { failures: 0 },
    routes: createRouteIndex(),
    rolls: o.rolls ?? new Map(),
    surge: new Map(),
    rollsJournal: { tail: Promise.resolve(), failed: false },
    volumeMoves: new Map(),
    deleted: new Map((o.placement?.deleted ?? []).map((id) => [id, o.now])),
  };
}

/** The nodes that have reported, as the placer and the aggregate see them. */
export function nodeViews(s: ClusterState): NodeView[] {
  return [...s.nodes]
    .filter(([, n]) => n.status)
    .map(([name, n]) => ({
      name,
      online: n.online,
      capacity: n.status!.capacity,
      arch: n.status!.arch,
      runtimes: n.status!.runtimes,
      labels: n.status!.labels,
      ...(n.status!.location ? { location: n.status!.location } : {}),
      ...(n.status!.address ? { address: n.status!.address } : {}),
      ...(n.status!.latency ? { latency: Object.fromEntries(Object.entries(n.status!.latency).map(([k, v]) => [k, v.ms])) } : {}),
    }));
}
