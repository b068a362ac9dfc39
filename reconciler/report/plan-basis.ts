// Which services are settled at base, and what they hold: the part of a plan that depends on
// the placement records, the clusters' shapes and base, not on head, so it is computed once
// from the records and kept (plan-cache.ts) until one of those changes.
//
// A service is settled at base when its file is the one the root placed (unchanged since the
// source commit of every placement record holding it), it holds exactly its replicas, and all
// of them on clusters that may take it (assess() says nothing against them). Such a service
// keeps its recorded clusters in any placement whose pass 1 cannot fail (plan-place.ts).
import type { Capacity } from '../../schemas/messages.js';
import { layoutOf } from '../core/validate.js';
import type { Repo } from '../git/repo.js';
import { readCommitObject } from '../git/log.js';
import { diffTrees, type Change } from '../git/tree.js';
import { assess, request, type Allocation, type ClusterView, type PlaceOptions } from '../root/place.js';
import { reserve, type Reserved } from '../root/place-beside.js';
import type { StoredBasis } from './plan-cache.js';
import type { PlacementIndex } from './plan-index.js';

export interface Basis {
  /** The base it was computed for (moveTo() carries it to another). */
  baseTree: string;
  /** Services at base. */
  count: number;
  /** Held in the records, but gone from base. */
  gone: Set<string>;
  /** Services at base that are not settled. */
  moving: Set<string>;
  clusters: string[];
  sizes: Capacity[];
  /** Settled: id → [size, cluster, n, cluster, n, …] (indexes into sizes and clusters). Plain records: a kept basis is used as parsed. */
  held: Record<string, number[]>;
  /** Held entries not parsed yet, per app (a kept basis parses only the apps it is asked about). */
  shards?: Record<string, string>;
  /** The others holding replicas (also those gone from base): id → [cluster, n, …]. */
  prev: Record<string, number[]>;
  /** What the settled hold together: [cluster, size, n]. */
  reserved: Array<[number, number, number]>;
}

/** The basis from the placement records' indexes; `ids`: the services at base. */
export async function computeBasis(
  repo: Repo,
  indexes: Map<string, PlacementIndex>,
  baseTree: string,
  ids: Set<string>,
  views: Map<string, ClusterView>,
  o: PlaceOptions,
): Promise<Basis> {
  const stale = await staleAtBase(repo, indexes, baseTree);
  // Whether a cluster may take an ask, and an ask's size: once per distinct ask.
  const okMemo = new Map<string, boolean>();
  const eligible = (c: string, idx: PlacementIndex, a: number) => {
    const k = `${c} ${a}`;
    let ok = okMemo.get(k);
    if (ok === undefined) {
      const v = views.get(c);
      okMemo.set(k, (ok = !!v && assess(v, idx.asks[a], o.targets).why === undefined));
    }
    return ok;
  };
  const moving = new Set<string>();
  const held = new Map<string, number>();
  const want = new Map<string, number>();
  for (const [c, idx] of indexes) {
    for (const id in idx.entries) {
      if (moving.has(id)) continue;
      const [n, w, a] = idx.entries[id];
      if (stale(idx, id) || !eligible(c, idx, a)) {
        moving.add(id);
        continue;
      }
      held.set(id, (held.get(id) ?? 0) + n);
      want.set(id, w);
    }
  }
  for (const [id, n] of held) if (moving.has(id) || n !== want.get(id) || !ids.has(id)) moving.add(id);
  for (const id of ids) if (!held.has(id)) moving.add(id); // not placed: short, or 0 replicas

  const clusters = [...indexes.keys()];
  const sizes: Capacity[] = [];
  const sizeIndex = new Map<string, number>();
  const sizeOf = new Map<PlacementIndex, number[]>();
  const out: Basis = {
    baseTree,
    count: ids.size,
    gone: new Set(),
    moving: new Set([...moving].filter((id) => ids.has(id))),
    clusters,
    sizes,
    held: {},
    prev: {},
    reserved: [],
  };
  const totals = new Map<string, number>();
  clusters.forEach((c, ci) => {
    const idx = indexes.get(c)!;
    const si = idx.asks.map((ask) => {
      const r = request(ask);
      const k = `${r.cpu}|${r.memoryMi}|${r.gpu}`;
      let i = sizeIndex.get(k);
      if (i === undefined) {
        sizeIndex.set(k, (i = sizes.length));
        sizes.push({ cpu: r.cpu, memoryMi: r.memoryMi, gpu: r.gpu });
      }
      return i;
    });
    sizeOf.set(idx, si);
    for (const id in idx.entries) {
      const [n, , a] = idx.entries[id];
      if (moving.has(id)) {
        push(out.prev, id, [], ci, n);
        continue;
      }
      push(out.held, id, [si[a]], ci, n);
      const t = `${ci} ${si[a]}`;
      totals.set(t, (totals.get(t) ?? 0) + n);
    }
  });
  for (const [t, n] of totals) {
    const [ci, si] = t.split(' ').map(Number);
    out.reserved.push([ci, si, n]);
  }
  return out;
}

/**
 * What the settled hold once `moving` (a superset of basis.moving) no longer counts among them,
 * per cluster and size; and what the moving held before (their previous allocation).
 */
export function beside(basis: Basis, moving: Set<string>): { reserved: Reserved; previous: Allocation } {
  const totals = basis.reserved.map(([ci, si, n]) => [ci, si, n]);
  const previous: Allocation = new Map();
  for (const id of moving) {
    const h = heldOf(basis, id);
    if (h) for (let i = 1; i < h.length; i += 2) totals.find((t) => t[0] === h[i] && t[1] === h[0])![2] -= h[i + 1];
    const pairs = h ? h.slice(1) : prevOf(basis, id);
    if (!pairs) continue;
    const m = new Map<string, number>();
    for (let i = 0; i < pairs.length; i += 2) m.set(basis.clusters[pairs[i]], (m.get(basis.clusters[pairs[i]]) ?? 0) + pairs[i + 1]);
    previous.set(id, m);
  }
  const reserved: Reserved = new Map();
  for (const [ci, si, n] of totals) if (n > 0) reserve(reserved, basis.clusters[ci], basis.sizes[si], n);
  return { reserved, previous };
}

/**
 * The basis carried from its base to another with the same targets, by their tree diff: every
 * service whose file differs is no longer settled (its file may not be the one placed), those
 * added count, those deleted are gone. Its cost is that diff; undefined when fleet.yaml differs
 * (the caller computes afresh).
 */
export async function moveTo(repo: Repo, b: Basis, baseTree: string): Promise<Basis | undefined> {
  if (b.baseTree === baseTree) return b;
  const d = await diffTrees(repo, b.baseTree, baseTree).catch(() => undefined);
  if (!d || d.some((c) => c.path === 'fleet.yaml')) return undefined;
  const out: Basis = { ...b, baseTree, moving: new Set(b.moving), gone: new Set(b.gone) };
  for (const c of d) {
    const l = layoutOf(c.path);
    if (l.kind !== 'Service') continue;
    const id = `${l.dir}/${l.name}`;
    const was = !out.gone.has(id) && (out.moving.has(id) || heldOf(out, id) !== undefined);
    if (c.after) {
      out.moving.add(id);
      out.gone.delete(id);
      if (!was) out.count++;
    } else {
      out.moving.delete(id);
      out.gone.add(id);
      if (was) out.count--;
    }
  }
  return out;
}

/** Whether a service is at the basis's base. */
export const atBase = (b: Basis, id: string): boolean => !b.gone.has(id) && (b.moving.has(id) || heldOf(b, id) !== undefined);

/** Settled services (of `held`) that some cluster they are on may not take with other targets. */
export function ineligibleWith(basis: Basis, indexes: Map<string, PlacementIndex>, views: Map<string, ClusterView>, o: PlaceOptions): string[] {
  const out: string[] = [];
  const held = allHeld(basis);
  for (const id in held) {
    if (basis.gone.has(id) || basis.moving.has(id)) continue;
    const h = held[id];
    for (let i = 1; i < h.length; i += 2) {
      const c = basis.clusters[h[i]];
      const idx = indexes.get(c)!;
      if (assess(views.get(c)!, idx.asks[idx.entries[id][2]], o.targets).why !== undefined) {
        out.push(id);
        break;
      }
    }
  }
  return out;
}

function push(m: Record<string, number[]>, id: string, head: number[], ci: number, n: number): void {
  if (Object.hasOwn(m, id)) m[id].push(ci, n);
  else m[id] = [...head, ci, n];
}

/** The settled record of a service, if it is settled (ids hold a "/": no clash with Object's own names, but be exact). */
export function heldOf(b: Basis, id: string): number[] | undefined {
  const app = id.slice(0, id.indexOf('/'));
  if (b.shards && Object.hasOwn(b.shards, app)) unshard(b, app);
  return Object.hasOwn(b.held, id) ? b.held[id] : undefined;
}

/** Every held entry (parses what is left of a kept basis). */
export function allHeld(b: Basis): Record<string, number[]> {
  for (const app of Object.keys(b.shards ?? {})) unshard(b, app);
  return b.held;
}

function unshard(b: Basis, app: string): void {
  const part = JSON.parse(b.shards![app]) as Record<string, number[]>;
  delete b.shards![app];
  for (const name in part) b.held[`${app}/${name}`] = part[name];
}
export const prevOf = (b: Basis, id: string): number[] | undefined => (Object.hasOwn(b.prev, id) ? b.prev[id] : undefined);

/**
 * Whether a record's file of a service differs at base from the one the root placed (at the
 * record's source commit): one tree diff per distinct source; a source this clone does not
 * have makes every file it placed differ.
 */
async function staleAtBase(repo: Repo, indexes: Map<string, PlacementIndex>, baseTree: string): Promise<(p: PlacementIndex, id: string) => boolean> {
  const bySource = new Map<string, Set<string> | null>();
  for (const p of indexes.values()) {
    if (bySource.has(p.source)) continue;
    const tree = await readCommitObject(repo, p.source).then(
      (c) => c.tree,
      () => undefined,
    );
    const d: Change[] | undefined = tree ? await diffTrees(repo, tree, baseTree) : undefined;
    bySource.set(
      p.source,
      d
        ? new Set(
            d.flatMap((c) => {
              const l = layoutOf(c.path);
              return l.kind === 'Service' ? [`${l.dir}/${l.name}`] : [];
            }),
          )
        : null,
    );
  }
  return (p, id) => {
    const s = bySource.get(p.source);
    return !s || s.has(id);
  };
}

export function storeBasis(b: Basis, key: string): StoredBasis {
  return {
    key,
    baseTree: b.baseTree,
    count: b.count,
    gone: [...b.gone],
    moving: [...b.moving],
    clusters: b.clusters,
    sizes: b.sizes.map((r) => [r.cpu, r.memoryMi, r.gpu]),
    held: shardsOf(allHeld(b)),
    prev: b.prev,
    reserved: b.reserved,
  };
}

export function loadBasis(s: StoredBasis): Basis {
  return {
    baseTree: s.baseTree,
    count: s.count,
    gone: new Set(s.gone),
    moving: new Set(s.moving),
    clusters: s.clusters,
    sizes: s.sizes.map(([cpu, memoryMi, gpu]) => ({ cpu, memoryMi, gpu })),
    held: {},
    shards: s.held,
    prev: s.prev,
    reserved: s.reserved,
  };
}

/** Held entries as one JSON text per app: a kept basis is read without building 10,000 arrays. */
function shardsOf(held: Record<string, number[]>): Record<string, string> {
  const byApp = new Map<string, Record<string, number[]>>();
  for (const id in held) {
    const i = id.indexOf('/');
    const app = id.slice(0, i);
    let m = byApp.get(app);
    if (!m) byApp.set(app, (m = {}));
    m[id.slice(i + 1)] = held[id];
  }
  return Object.fromEntries([...byApp].map(([app, m]) => [app, JSON.stringify(m)]));
}
