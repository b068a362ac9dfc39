// The root reconciler's composition: Git in (main), MQTT both ways (clusters), Git out
// (placement refs, notes). It wires ports to steps and starts the loop; what a pass does is in
// reconcile.ts and steps/, what the root keeps in state.ts, what it hears in inputs.ts.
import type { Bus } from '../mqtt/bus.js';
import { topics as topicsFor } from '../mqtt/topics.js';
import type { Logger } from '../core/log.js';
import { createTelemetry, type Telemetry } from '../core/telemetry.js';
import { startLoop, type Reconciler } from '../runtime/loop.js';
import type { Identity, Repo } from '../git/repo.js';
import { parseNote } from '../core/note.js';
import type { ParseResult } from '../core/validate.js';
import { PlacementBook } from './delegate.js';
import { recoverRoot } from './recover.js';
import { watchRef, watchRefDir } from '../git/watch.js';
import { startMaintenance } from '../git/maintenance.js';
import { gitCommits, gitNotes, gitSignatures } from './git-ports.js';
import { subscribeInputs } from './inputs.js';
import { rootMetrics } from './metrics.js';
import type { RootPorts } from './ports.js';
import { rootReconciler } from './reconcile.js';
import { committedStatus, seedUnheard } from './seed-unheard.js';
import { newRootState, type RootState } from './state.js';
import { recoverRollouts } from './recover-rollouts.js';
import { gitStatusRefs, syncAirGapped } from './air-gapped.js';
import { syncStore } from './steps/trust.js';
import { refreshOnTrust, type TrustStore } from '../mqtt/trust.js';
import { startNotifier } from './notify/notifier.js';
import type { OutboxOptions } from './notify/outbox.js';

export interface RootOptions {
  repo: Repo;
  bus: Bus;
  fleet: string;
  log: Logger;
  branch?: string;
  /** Wall-clock time for what the root records in notes (default: now). */
  now?: () => Date;
  /** Milliseconds for liveness, offline periods and a send's hold-back (default Date.now). */
  clock?: () => number;
  /** Where the root registers its metrics and health (default: a registry of its own). */
  telemetry?: Telemetry;
  /** Services with replica series of their own in the metrics (metrics.ts; default METRICS_SERVICES). */
  metricsServices?: number;
  /** Told of every ref the root has written (a remote sync pushes it). */
  onWrite?: (ref: string) => void;
  /** The keys the bus verifies clusters by: the root keeps it to what the good commit declares. */
  trust?: TrustStore;
  /** The repository's URL when the root mirrors a remote one: commit statuses default to it. */
  repoUrl?: string;
  /** Notification delivery tuning (tests: backoff, environment). */
  notify?: Partial<OutboxOptions>;
}

export interface Root {
  /** Resolves once the current head has been processed (tests). */
  idle(): Promise<void>;
  stop(): Promise<void>;
  readonly stats: { rejected: number; accepted: number; sent: number };
  /** The clusters declared air-gapped: their status comes back by bundle, to refs/canopy/status/<c>. */
  airGapped(): string[];
}

/** Looked at every 5 s: a new head, convergence, and the status refs of air-gapped clusters (a bundle imported). */
const RESYNC = ['main', 'converge', 'air-gapped'];

const AUTHOR: Identity = { name: 'canopy root', email: 'root@canopy.invalid' };

/** What Git says beyond the notes: clusters not heard yet, retired clusters' drains, rollouts under way. */
async function recoverState(state: RootState, o: RootOptions, book: PlacementBook, warn: (m: string) => void): Promise<void> {
  await seedUnheard(state, book, committedStatus(o.repo, o.log));
  // A retired cluster drains what its placement ref holds, also across a restart (drain.ts).
  for (const c of state.drain.retired) state.docs.seed(c, book.get(c)?.services ?? {});
  await recoverRollouts(state, o.repo, book, warn);
}

/** New commits of main and status refs moved by an import, learned of at once; the repository kept packed. */
function watchGit(o: RootOptions, branchRef: string, loop: { enqueue(key: string): void }) {
  const watcher = watchRef(o.repo, branchRef, () => loop.enqueue('main'), o.log);
  // An air-gapped cluster's status arrives by `canopy bundle import --repo`: taken at once.
  const statuses = watchRefDir(o.repo, 'refs/canopy/status', () => loop.enqueue('air-gapped'), o.log);
  // Everything the root writes is loose objects: packed as they pile up, as native git would.
  const maintenance = startMaintenance(o.repo, o.log);
  return {
    async close() {
      await watcher.close();
      await statuses.close();
      maintenance.stop();
    },
  };
}

export async function startRoot(o: RootOptions): Promise<Root> {
  const clock = o.clock ?? Date.now;
  const branchRef = `refs/heads/${o.branch ?? 'main'}`;
  const t = topicsFor(o.fleet);
  const wrote = (ref: string) => o.onWrite?.(ref);
  const warn = (m: string) => o.log.warn(m);
  const book = new PlacementBook(o.repo, AUTHOR, warn);
  // What the root was doing before it (re)started, from Git alone: the notes and placement refs.
  const parseCache = new Map<string, ParseResult>();
  const rec = await recoverRoot(o.repo, branchRef, book, parseCache, warn);
  const state = newRootState({ ...rec, seq: book.maxSeq(), epoch: book.maxEpoch(), parseCache, startedAt: clock() });
  await recoverState(state, o, book, warn);
  // Before the first retained status arrives: each cluster is verified by its declared keys.
  if (o.trust) syncStore(o.trust, state);

  // The loop runs the steps, and the steps enqueue on the loop: it calls them through `reconcile`.
  let reconcile: Reconciler = async () => undefined;
  const loop = startLoop({ name: 'root', log: o.log, resyncMs: 5000, resyncKeys: () => RESYNC, reconcile: (key) => reconcile(key) });
  const stats = { rejected: 0, accepted: 0, sent: 0 };
  const telemetry = o.telemetry ?? createTelemetry();
  // Webhooks and commit statuses of the fleet.yaml in force, delivered off the loop (notify/).
  const notify = await startNotifier({
    fleet: o.fleet,
    log: o.log,
    telemetry,
    config: () => state.good?.fleet,
    stateDir: o.repo.gitdir,
    repoUrl: o.repoUrl,
    now: o.now,
    outbox: o.notify,
  });
  const ports: RootPorts = {
    fleet: o.fleet,
    commits: gitCommits(o.repo, branchRef),
    signatures: gitSignatures(o.repo),
    notes: gitNotes(o.repo, AUTHOR, wrote),
    book,
    send: (cluster, msg) => o.bus.publish(t.clusterDesired(cluster), msg),
    wrote,
    queue: loop,
    log: o.log,
    now: o.now ?? (() => new Date()),
    clock,
    stats,
    metrics: rootMetrics(telemetry, state, { services: o.metricsServices }),
    trust: o.trust,
    notify,
    statusRefs: gitStatusRefs(o.repo, o.log),
  };
  reconcile = rootReconciler(state, ports);
  await syncAirGapped(state, ports); // air-gapped clusters: known by their declaration before anything is placed
  await subscribeInputs(o.bus, t, state, ports);
  // A cluster's keys arrive with a commit: its retained status, dropped before, is asked for again.
  if (o.trust) refreshOnTrust(o.trust, o.bus, (w) => (w.startsWith('cluster:') ? [t.allClusterStatus, t.allClusterOnline] : []), o.log);

  // Retained statuses arrive right after subscribing: give them a moment before the first pass,
  // so the root places onto the clusters that exist rather than onto none.
  const git = watchGit(o, branchRef, loop);
  setTimeout(() => loop.enqueue('main'), 300);
  // Rollouts left unfinished move on once the clusters' statuses are in.
  if (state.rollouts.size) loop.enqueueAfter('rollout', 1000);
  // A cluster known from Git and not heard within the fleet's unreachable period is recorded
  // unreachable beside its placement, so `canopy status` from Git says so.
  const unreachableMs = 1000 * (state.good?.fleet.spec?.timings?.unreachableAfterSeconds ?? 10);
  for (const [c, st] of state.clusters) if (st.unheard) loop.enqueueAfter(`live:${c}`, unreachableMs);

  return {
    stats,
    airGapped: () => [...state.clusters].filter(([, c]) => c.airGapped).map(([name]) => name),
    idle: () => loop.idle(),
    async stop() {
      await git.close();
      await loop.stop();
      await notify.stop();
    },
  };
}

export { parseNote };
