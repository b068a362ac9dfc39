// The root's state: everything one root keeps between passes, in one typed object. Steps read
// and change it; the MQTT inputs change only what they observed of the clusters. It is rebuilt
// from Git on start (recover.ts, seed-unheard.ts): nothing here needs to survive a restart.
import type { ClusterStatus } from '../../schemas/messages.js';
import type { CommitNote } from '../core/note.js';
import type { ParseResult } from '../core/validate.js';
import type { DesiredState } from './desired.js';
import type { Allocation, ClusterView, Refusal } from './place.js';
import { IncrementalPlacer, PlacementDocs } from './incremental.js';
import { RunningCounts } from './running-counts.js';
import { RouteIndex } from './route-index.js';
import { Rollouts } from './rollouts.js';
import { fleetTrust, type FleetTrust } from './trust.js';
import { Drain, retiredOf } from './drain.js';

/** What the root knows of one cluster: its last status and its liveness as the root sees it. */
export interface ClusterState {
  status?: ClusterStatus;
  online: boolean;
  lastHeard: number;
  offlineSince?: number;
  /** The last send of its current version: when, and how many times it was sent (delegate.ts retries). */
  lastSent?: { seq: number; at: number; tries?: number };
  recorded?: 'online' | 'unreachable';
  refused?: Record<string, Refusal>;
  /** Known from Git only (placed by an earlier root), not yet heard over MQTT. */
  unheard?: ClusterView['unheard'];
  /** Declared air-gapped (clusters/<c>.yaml): known by its declaration and the last status that came back by bundle (air-gapped.ts). */
  airGapped?: AirGapped;
}

/** What the root keeps of an air-gapped cluster (air-gapped.ts): what it last took, so an unchanged one costs a ref read. */
export interface AirGapped {
  /** The declaration taken (canonical JSON of its labels and spec). */
  declared: string;
  /** The status ref's commit taken (none: nothing came back yet). */
  tip?: string;
  /** When the last status that came back was observed at the site. */
  lastStatusAt?: string;
}

export interface RootState {
  /** The last accepted desired state: a rejected commit leaves it in force. */
  good?: DesiredState;
  /** The last head of main handled (accepted or rejected). */
  seen?: string;
  /** The good commit's note, until it converges. */
  pending?: CommitNote;
  /** Accepted before `pending` and not converged: they converge with it. */
  older: CommitNote[];
  /** The pending note as last written (a pass that changes nothing in it writes nothing). */
  lastPendingText: string;
  /** The pending note gained failures since it was last written (failing.ts): convergence writes it. */
  failingUnwritten: boolean;
  /**
   * Notes a pass decided on and could not write (a ref lock left by a root killed mid-write):
   * written with the next notes commit, so no commit loses its outcome (steps/notes.ts).
   */
  unwrittenNotes: Map<string, string>;
  /** The last placement sequence number and epoch handed out (every placement carries both). */
  seq: number;
  epoch: number;
  /** service → cluster → replicas, as last placed. */
  allocation: Allocation;
  clusters: Map<string, ClusterState>;
  counts: RunningCounts;
  /** The placer's memory between passes, and each cluster's placement document. */
  placer: IncrementalPlacer;
  docs: PlacementDocs;
  /** Who exposes and who routes to each service, and the clusters whose routes to compute again. */
  routes: RouteIndex;
  /** Services rolling out wave by wave (or whose rollout failed), by id. */
  rollouts: Rollouts;
  /** Parsed descriptors by blob oid. */
  parseCache: Map<string, ParseResult>;
  /** When this root started (ms): clusters known only from Git are offline since then. */
  startedAt: number;
  /** The keys the good commit declares (none: the fleet runs unsigned). */
  trust?: FleetTrust;
  /** Retired clusters and what they still run until it is ready elsewhere (drain.ts). */
  drain: Drain;
}

export interface StateSeed {
  good?: DesiredState;
  seen?: string;
  pending?: CommitNote;
  allocation: Allocation;
  seq: number;
  epoch: number;
  parseCache?: Map<string, ParseResult>;
  startedAt: number;
}

export function newRootState(s: StateSeed): RootState {
  const counts = new RunningCounts();
  const rollouts = new Rollouts();
  const docs = new PlacementDocs();
  docs.held = (id, cluster) => rollouts.specFor(id, cluster);
  const drain = new Drain();
  drain.setRetired(retiredOf(s.good?.index?.accepted('Cluster') ?? []));
  docs.keeps = (id, cluster) => drain.keeps(id, cluster);
  if (s.good) counts.desiredChanged(s.good.services.keys(), s.good.services);
  return {
    good: s.good,
    seen: s.seen,
    pending: s.pending,
    older: [],
    lastPendingText: '',
    failingUnwritten: false,
    unwrittenNotes: new Map(),
    seq: s.seq,
    epoch: s.epoch,
    allocation: s.allocation,
    clusters: new Map(),
    counts,
    placer: new IncrementalPlacer(),
    docs,
    routes: new RouteIndex(),
    rollouts,
    parseCache: s.parseCache ?? new Map(),
    startedAt: s.startedAt,
    trust: fleetTrust(s.good),
    drain,
  };
}
