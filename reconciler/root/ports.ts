// What the root's steps reach outside its state, as narrow interfaces: the commits of main, the
// notes, the placement book (placement refs in Git), the bus towards clusters, the loop's queue,
// the clock, the log and telemetry. startRoot wires the real ones (git-ports.ts, the bus, the
// loop); unit tests hand a step fakes of just the ports it takes. A new capability (signatures,
// health probes, rollouts) adds a port here, not lines in a closure.
import type { ClusterStatus, DesiredMessage } from '../../schemas/messages.js';
import type { SignatureVerdict } from '../core/commit-signers.js';
import type { Logger } from '../core/log.js';
import type { ParseResult } from '../core/validate.js';
import type { DesiredState, LoadResult } from './desired.js';
import type { PlacementBook } from './delegate.js';
import type { RootMetrics } from './metrics.js';
import type { TrustStore } from '../mqtt/trust.js';
import type { NotifyPort } from './notify/notifier.js';

/** The commits of the branch the root follows. */
export interface CommitsPort {
  /** The branch's head now. */
  head(): Promise<string | undefined>;
  /** The desired state at `head`, judged against (and handed over from) the last good one. */
  load(head: string, good: DesiredState | undefined, cache: Map<string, ParseResult>): Promise<LoadResult>;
  /** Commits after `from` up to (not including) `head` that were never reconciled (recover.ts). */
  skipped(from: string, head: string): Promise<string[]>;
}

/** Which keys may sign commits of main (fleet.yaml's spec.trust.commitSigners), and from where. */
export interface CommitRules {
  keys: string[];
  /** The commit whose fleet.yaml lists them, and that file's text (to point a problem at the list). */
  from: string;
  fleetYaml: string;
}

/** Signed commits (only asked when fleet.yaml requires them: nothing runs otherwise). */
export interface SignaturesPort {
  /** The rules of fleet.yaml at `commit`, when it sets any and parses (when it does not, the load says why). */
  rulesAt(commit: string): Promise<CommitRules | undefined>;
  /** Who signed `commit`, judged against `keys` (git verify-commit). */
  verify(commit: string, keys: readonly string[]): Promise<SignatureVerdict>;
}

/** refs/notes/canopy: the root's word on each commit. */
export interface NotesPort {
  write(notes: Map<string, string>, message: string): Promise<void>;
}

/** Each cluster's placement as the book keeps it (delegate.ts), and its ref in Git. */
export type BookPort = Pick<PlacementBook, 'get' | 'clusters' | 'differs' | 'commit' | 'messageFor' | 'recordLiveness'>;

/** The air-gapped clusters' status refs (root/air-gapped.ts): where what comes back by bundle lands. */
export interface StatusRefsPort {
  tip(cluster: string): Promise<string | undefined>;
  /** The status at `oid` (every service), if it is a valid record of `cluster`. */
  read(cluster: string, oid: string): Promise<ClusterStatus | undefined>;
}

/** The loop: what a step or an input wants run (now, or after a while). */
export interface QueuePort {
  enqueue(key: string): void;
  enqueueAfter(key: string, ms: number): void;
}

/** The counts `Root.stats` has always exposed. */
export interface RootStats {
  rejected: number;
  accepted: number;
  sent: number;
}

export interface RootPorts {
  fleet: string;
  commits: CommitsPort;
  signatures: SignaturesPort;
  notes: NotesPort;
  book: BookPort;
  /** Publish a message on a cluster's desired topic. */
  send(cluster: string, msg: DesiredMessage): Promise<void>;
  /** Told of every ref written besides the notes (placement refs): a remote sync pushes it. */
  wrote(ref: string): void;
  queue: QueuePort;
  log: Logger;
  /** Wall-clock time for what the root records (notes). */
  now(): Date;
  /** Milliseconds for liveness and timing (when a cluster was heard, a send's hold-back). */
  clock(): number;
  stats: RootStats;
  metrics: RootMetrics;
  /** The keys the root verifies clusters by (none: the bus does not verify). */
  trust?: TrustStore;
  /** Events for fleet.yaml's webhooks and commit statuses (notify/): emitting never waits. */
  notify?: NotifyPort;
  /** The status refs air-gapped clusters' statuses come back to by bundle (none: they are placed on from their declaration alone). */
  statusRefs?: StatusRefsPort;
}
