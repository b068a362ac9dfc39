// The root's side of delegation: each cluster's placement document, its history (for patches),
// its placement ref in Git, and the message that brings a cluster from what it has applied to
// the current version: a JSON Patch when the root knows the cluster's base, else a snapshot.
import jsonpatch from 'fast-json-patch';
import type { Placement, Version, DesiredMessage } from '../../schemas/messages.js';
import { readRecord } from '../git/records.js';
import { readRecordHeader, writeServiceRecord } from '../git/service-records.js';
import { canonicalJson } from '../core/ids.js';
import { sameVersion } from '../core/version.js';
import { resolveRef, readCommit, readFileAt, writeCommit, updateRef, type Repo, type Identity } from '../git/repo.js';
import { writeFiles } from '../git/tree.js';

import { placementRef, PLACEMENT_FILE as FILE, LIVENESS, type Liveness } from '../core/refs.js';
export { placementRef, LIVENESS, type Liveness };
const KEEP = 64;

export { sameVersion };

export class PlacementBook {
  private readonly current = new Map<string, Placement>();
  private readonly history = new Map<string, Map<number, Placement>>();

  constructor(
    private readonly repo: Repo,
    private readonly author: Identity,
    /** Told of a placement ref whose record is damaged (it is then treated as absent). */
    private readonly warn?: (message: string) => void,
  ) {}

  /** Load every cluster's current placement from its ref (root restart). */
  async load(clusters: Iterable<string>): Promise<void> {
    for (const c of clusters) {
      const doc = await this.readAt(placementRef(c));
      if (doc) this.remember(doc);
    }
  }

  get(cluster: string): Placement | undefined {
    return this.current.get(cluster);
  }
  clusters(): string[] {
    return [...this.current.keys()];
  }
  maxSeq(): number {
    return Math.max(0, ...[...this.current.values()].map((p) => p.version.seq));
  }
  maxEpoch(): number {
    return Math.max(0, ...[...this.current.values()].map((p) => p.version.epoch));
  }

  /**
   * Record a cluster's liveness as the root sees it (online / unreachable, since when) beside
   * its placement, so readers of Git alone see what the root saw. Only transitions are written.
   */
  async recordLiveness(cluster: string, l: Liveness): Promise<void> {
    const ref = placementRef(cluster);
    const parent = await resolveRef(this.repo, ref);
    if (!parent) return;
    const cur = await readFileAt(this.repo, parent, LIVENESS);
    if (cur && (JSON.parse(cur) as Liveness).state === l.state) return;
    if (!cur && l.state === 'online') return;
    const base = (await readCommit(this.repo, parent)).tree;
    const tree = await writeFiles(this.repo, base, new Map([[LIVENESS, JSON.stringify(l, null, 1) + '\n']]));
    const why = l.state === 'online' ? 'back online' : `unreachable: last heard ${l.lastHeard ?? 'never'}`;
    const oid = await writeCommit(this.repo, { tree, parents: [parent], message: `${cluster} ${why}`, author: this.author, time: new Date(l.since) });
    await updateRef(this.repo, ref, oid, parent);
  }

  /** True when `doc` (ignoring its version) differs from the current one. */
  differs(cluster: string, services: Placement['services']): boolean {
    const cur = this.current.get(cluster)?.services ?? {};
    if (Object.keys(cur).length !== Object.keys(services).length) return true;
    // Entries that did not change are the same objects (PlacementDocs keeps them); others by value.
    for (const [id, a] of Object.entries(services)) {
      const b = cur[id];
      if (b !== a && (b === undefined || canonicalJson(b) !== canonicalJson(a))) return true;
    }
    return false;
  }

  /** Record a new placement: commit it to the cluster's ref, then remember it. */
  async commit(doc: Placement, message: string): Promise<void> {
    const ref = placementRef(doc.cluster);
    const parent = await resolveRef(this.repo, ref);
    const base = parent ? (await readCommit(this.repo, parent)).tree : undefined;
    // One file per service: only the services that changed since the current placement are written.
    const { services, ...header } = doc;
    const tree = await writeServiceRecord(this.repo, base, FILE, header, this.current.get(doc.cluster)?.services, services);
    const oid = await writeCommit(this.repo, { tree, parents: parent ? [parent] : [], message, author: this.author });
    await updateRef(this.repo, ref, oid, parent);
    this.remember(doc);
  }

  /** The message that takes a cluster from `applied` to its current placement. */
  async messageFor(cluster: string, applied: Version | null): Promise<DesiredMessage | undefined> {
    const doc = this.current.get(cluster);
    if (!doc) return undefined;
    const base = applied ? await this.find(cluster, applied) : undefined;
    if (!base) return { kind: 'snapshot', placement: doc };
    return { kind: 'patch', base: base.version, version: doc.version, ops: placementPatch(base, doc) };
  }

  private remember(doc: Placement): void {
    this.current.set(doc.cluster, doc);
    let h = this.history.get(doc.cluster);
    if (!h) this.history.set(doc.cluster, (h = new Map()));
    h.set(doc.version.seq, doc);
    if (h.size > KEEP) h.delete(h.keys().next().value as number);
  }

  /** A past placement of the cluster at exactly `v`: from memory, else from the ref's history. */
  private async find(cluster: string, v: Version): Promise<Placement | undefined> {
    const mem = this.history.get(cluster)?.get(v.seq);
    if (mem) return sameVersion(mem.version, v) ? mem : undefined;
    // Back along the ref, reading each commit's header only (its version); the whole placement
    // only at the commit that has the version asked for.
    let oid = await resolveRef(this.repo, placementRef(cluster));
    for (let i = 0; oid && i < 256; i++) {
      const h = (await readRecordHeader(this.repo, oid, FILE).catch(() => undefined))?.version as Version | undefined;
      if (h && h.seq < v.seq) return undefined;
      if (h && sameVersion(h, v)) return this.readCommitDoc(oid);
      oid = (await readCommit(this.repo, oid)).parent[0];
    }
    return undefined;
  }

  private async readAt(ref: string): Promise<Placement | undefined> {
    const oid = await resolveRef(this.repo, ref);
    return oid ? readRecord(this.repo, oid, FILE, 'Placement', { ref, warn: this.warn }) : undefined;
  }

  private async readCommitDoc(oid: string): Promise<Placement | undefined> {
    return readRecord(this.repo, oid, FILE, 'Placement');
  }
}

type PatchOp = Extract<DesiredMessage, { kind: 'patch' }>['ops'][number];

/**
 * The JSON Patch (RFC 6902) from one placement to another, per service: a service entry the
 * book kept from the earlier version is the same object (PlacementDocs copies only what
 * changed), so unchanged ones cost a comparison of references, and a change costs what it
 * touched, down to the fields that changed inside the entry. Entries read back from Git (after
 * a restart) are compared by value.
 */
export function placementPatch(base: Placement, doc: Placement): PatchOp[] {
  const ops: PatchOp[] = [];
  const path = (id: string) => `/services/${pointerPart(id)}`;
  for (const [id, a] of Object.entries(doc.services)) {
    const b = base.services[id];
    if (b === a) continue;
    if (b === undefined) ops.push({ op: 'add', path: path(id), value: a });
    // Inside a changed entry, only what changed (a new env value, not the whole spec and reason).
    else for (const op of jsonpatch.compare(b, a)) ops.push({ ...op, path: path(id) + op.path } as PatchOp);
  }
  for (const id of Object.keys(base.services)) if (!(id in doc.services)) ops.push({ op: 'remove', path: path(id) });
  for (const k of ['fleet', 'cluster'] as const) if (base[k] !== doc[k]) ops.push({ op: 'replace', path: `/${k}`, value: doc[k] });
  if (canonicalJson(base.trust ?? null) !== canonicalJson(doc.trust ?? null)) {
    ops.push(doc.trust ? { op: base.trust ? 'replace' : 'add', path: '/trust', value: doc.trust } : { op: 'remove', path: '/trust' });
  }
  for (const k of ['secrets', 'registries', 'files'] as const) {
    if (canonicalJson(base[k] ?? null) === canonicalJson(doc[k] ?? null)) continue;
    ops.push(doc[k] ? { op: base[k] ? 'replace' : 'add', path: `/${k}`, value: doc[k] } : { op: 'remove', path: `/${k}` });
  }
  routesPatch(base.routes, doc.routes, ops);
  if (canonicalJson(base.deleted ?? null) !== canonicalJson(doc.deleted ?? null)) {
    ops.push(doc.deleted ? { op: base.deleted ? 'replace' : 'add', path: '/deleted', value: doc.deleted } : { op: 'remove', path: '/deleted' });
  }
  ops.push({ op: 'replace', path: '/version', value: doc.version });
  return ops;
}

/**
 * Per route: `add`, `remove` or `replace` of `/routes/<id>` for the routes that changed (an
 * unchanged route is the same object, else compared by value); `/routes` itself only appears or
 * goes with its first or last route.
 */
function routesPatch(base: Placement['routes'], doc: Placement['routes'], ops: PatchOp[]): void {
  if (!doc) {
    if (base) ops.push({ op: 'remove', path: '/routes' });
    return;
  }
  if (!base) ops.push({ op: 'add', path: '/routes', value: {} });
  const path = (id: string) => `/routes/${pointerPart(id)}`;
  for (const [id, a] of Object.entries(doc)) {
    const b = base?.[id];
    if (b === a) continue;
    if (b === undefined) ops.push({ op: 'add', path: path(id), value: a });
    else if (canonicalJson(b) !== canonicalJson(a)) ops.push({ op: 'replace', path: path(id), value: a });
  }
  for (const id of Object.keys(base ?? {})) if (!(id in doc)) ops.push({ op: 'remove', path: path(id) });
}

const pointerPart = (id: string) => id.replace(/~/g, '~0').replace(/\//g, '~1');
