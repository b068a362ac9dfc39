// Fakes of the root's ports (reconciler/root/ports.ts) for unit tests of its steps: a placement
// book in memory, commits and notes that record what they were asked, a clock the test moves,
// and a queue that lists the keys enqueued. Plus the few root-level values a step needs: a
// desired state, a cluster's status.
import type { CanopyEvent } from '../../reconciler/root/notify/events.js';
import type { ClusterStatus, DesiredMessage, Placement, Version } from '../../schemas/messages.js';
import type { FleetDescriptor } from '../../schemas/model.js';
import type { Liveness } from '../../reconciler/core/refs.js';
import { createLogger } from '../../reconciler/core/log.js';
import { parseNote, type CommitNote } from '../../reconciler/core/note.js';
import { canonicalJson, specHash } from '../../reconciler/core/ids.js';
import { createTelemetry, type Telemetry } from '../../reconciler/core/telemetry.js';
import type { DesiredState, LoadResult } from '../../reconciler/root/desired.js';
import { placementPatch, sameVersion } from '../../reconciler/root/delegate.js';
import { rootMetrics } from '../../reconciler/root/metrics.js';
import type { SignatureVerdict } from '../../reconciler/core/commit-signers.js';
import type { BookPort, CommitRules, CommitsPort, RootPorts, SignaturesPort } from '../../reconciler/root/ports.js';
import { newRootState, type RootState, type StateSeed } from '../../reconciler/root/state.js';
import { capacity, type ServiceBuilder } from './builders.js';

/** A commit id from a short name: `oid('a1')` is 'a1' padded to 40 characters. */
export const oid = (name: string) => name.padEnd(40, '0');

/** The desired state at `commit`: these services, and a fleet with this spec. */
export function desiredState(commit: string, services: ServiceBuilder[], spec: FleetDescriptor['spec'] = {}): DesiredState {
  return {
    commit,
    tree: oid('tree'),
    files: new Map(),
    fleet: { apiVersion: 'canopy/v1', kind: 'Fleet', metadata: { name: 'demo' }, spec },
    services: new Map(
      services.map((s) => {
        const spec = s.spec();
        return [s.id, { id: s.id, spec, specHash: specHash(spec), file: `services/${s.id}.yaml` }];
      }),
    ),
  };
}

/** An accepted load of `state`, having changed and removed these services. */
export const loaded = (state: DesiredState, changed: string[] = [...state.services.keys()], removed: string[] = []): LoadResult => ({
  ok: true,
  state,
  changed: new Set(changed),
  removed: new Set(removed),
});

/** A cluster's status: 8 CPUs and 16 GiB on one node, nothing running, nothing applied. */
export function aClusterStatus(cluster: string, o: Partial<ClusterStatus> = {}): ClusterStatus {
  const c = capacity(8, '16Gi');
  return {
    kind: 'cluster-status',
    cluster,
    at: '2025-01-01T00:00:00Z',
    applied: null,
    capacity: c,
    free: c,
    maxNodeFree: c,
    maxNode: c,
    arch: ['amd64'],
    runtimes: ['container', 'process'],
    labels: {},
    nodes: { total: 1, online: 1 },
    services: {},
    ...o,
  };
}

/** The placement book in memory: every commit and liveness record is kept for the test to read. */
export class FakeBook implements BookPort {
  readonly docs = new Map<string, Placement>();
  readonly commits: Array<{ doc: Placement; message: string }> = [];
  readonly liveness: Array<[string, Liveness]> = [];
  constructor(...placements: Placement[]) {
    for (const p of placements) this.docs.set(p.cluster, p);
  }
  get(cluster: string): Placement | undefined {
    return this.docs.get(cluster);
  }
  clusters(): string[] {
    return [...this.docs.keys()];
  }
  differs(cluster: string, services: Placement['services']): boolean {
    return canonicalJson(this.docs.get(cluster)?.services ?? {}) !== canonicalJson(services);
  }
  async commit(doc: Placement, message: string): Promise<void> {
    this.commits.push({ doc, message });
    this.docs.set(doc.cluster, doc);
  }
  async messageFor(cluster: string, applied: Version | null): Promise<DesiredMessage | undefined> {
    const doc = this.docs.get(cluster);
    if (!doc) return undefined;
    const base = applied && this.commits.find((c) => c.doc.cluster === cluster && sameVersion(c.doc.version, applied))?.doc;
    if (!base) return { kind: 'snapshot', placement: doc };
    return { kind: 'patch', base: base.version, version: doc.version, ops: placementPatch(base, doc) };
  }
  async recordLiveness(cluster: string, l: Liveness): Promise<void> {
    this.liveness.push([cluster, l]);
  }
}

/** Commits that answer from a table: the head, a load result per commit, the skipped commits. */
export function fakeCommits(o: { head?: string; loads?: Record<string, LoadResult>; skipped?: string[] } = {}) {
  const calls: string[] = [];
  /** `branchHead` is the head it answers (a test may move it); `calls` what it was asked. */
  const port: CommitsPort & { branchHead: string | undefined; calls: string[] } = {
    branchHead: o.head,
    calls,
    async head() {
      return this.branchHead;
    },
    async load(head) {
      calls.push(`load ${head}`);
      const r = o.loads?.[head];
      if (!r) throw new Error(`no load result for ${head}`);
      return r;
    },
    async skipped(from, head) {
      calls.push(`skipped ${from}..${head}`);
      return o.skipped ?? [];
    },
  };
  return port;
}

/** Signatures that answer from a table: each commit's fleet.yaml rules and its verdict; `calls` what it was asked. */
export function fakeSignatures(o: { rules?: Record<string, CommitRules>; verdicts?: Record<string, SignatureVerdict> } = {}) {
  const calls: string[] = [];
  const port: SignaturesPort & { calls: string[] } = {
    calls,
    async rulesAt(commit) {
      calls.push(`rules ${commit}`);
      return o.rules?.[commit];
    },
    async verify(commit, keys) {
      calls.push(`verify ${commit} against ${keys.length}`);
      const v = o.verdicts?.[commit];
      if (!v) throw new Error(`no verdict for ${commit}`);
      return v;
    },
  };
  return port;
}

export interface FakeRoot {
  state: RootState;
  ports: RootPorts;
  book: FakeBook;
  telemetry: Telemetry;
  /** The clock in ms: move it with `clock.ms += …`. */
  clock: { ms: number };
  enqueued: string[];
  after: Array<[string, number]>;
  notes: Array<{ notes: Map<string, string>; message: string }>;
  sent: Array<{ cluster: string; msg: DesiredMessage }>;
  wrote: string[];
  logs: string[];
  /** What the steps emitted for notifications. */
  events: CanopyEvent[];
}

export const START_MS = Date.parse('2025-01-01T12:00:00Z');

/** A root's state and fake ports: every port records what it was asked. */
export function fakeRoot(o: { book?: FakeBook; commits?: CommitsPort; signatures?: SignaturesPort; seed?: Partial<StateSeed> } = {}): FakeRoot {
  const clock = { ms: START_MS };
  const book = o.book ?? new FakeBook();
  const telemetry = createTelemetry();
  const state = newRootState({
    allocation: new Map(),
    seq: book.clusters().length ? Math.max(...book.clusters().map((c) => book.get(c)!.version.seq)) : 0,
    epoch: 0,
    startedAt: clock.ms,
    ...o.seed,
  });
  const f: Omit<FakeRoot, 'ports'> = { state, book, telemetry, clock, enqueued: [], after: [], notes: [], sent: [], wrote: [], logs: [], events: [] };
  const ports: RootPorts = {
    fleet: 'demo',
    commits: o.commits ?? fakeCommits(),
    signatures: o.signatures ?? fakeSignatures(),
    notes: { write: async (notes, message) => void f.notes.push({ notes: new Map(notes), message }) },
    book,
    send: async (cluster, msg) => void f.sent.push({ cluster, msg }),
    wrote: (ref) => void f.wrote.push(ref),
    queue: { enqueue: (k) => void f.enqueued.push(k), enqueueAfter: (k, ms) => void f.after.push([k, ms]) },
    log: createLogger('root', 'debug', (line) => void f.logs.push(line.replace(/^\S+ /, ''))),
    now: () => new Date(clock.ms),
    clock: () => clock.ms,
    stats: { rejected: 0, accepted: 0, sent: 0 },
    metrics: rootMetrics(telemetry, state),
    notify: { emit: (e) => void f.events.push(e) },
  };
  return { ...f, ports };
}

/** A metric's value for one label set (0 when it has none yet); histograms: how many observations. */
export function metric(t: Telemetry, name: string, labels: Record<string, string> = {}): number {
  const f = t.collect().find((x) => x.name === name);
  const s = f?.samples.find((x) => canonicalJson(x.labels) === canonicalJson(labels));
  return s ? (f!.kind === 'histogram' ? (s.count ?? 0) : s.value) : 0;
}

/** The last note the fake root wrote on `commit`, parsed. */
export function lastNote(f: Pick<FakeRoot, 'notes'>, commit: string): CommitNote {
  const written = [...f.notes].reverse().find((n) => n.notes.has(commit));
  if (!written) throw new Error(`no note written on ${commit.slice(0, 12)}`);
  return parseNote(written.notes.get(commit)!)!;
}
