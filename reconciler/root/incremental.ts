// The root's placement at fleet scale: the same decisions as placeServices over every service,
// at the cost of the services that can change. placeServices is sticky and greedy: pass 1 gives
// every service back the replicas it had (where it may keep them and they fit), pass 2 places
// the rest in id order by policy. A service is *settled* when pass 1 alone gives it everything
// and nothing it depends on changed: same spec, its last decision was a fixed point (computed
// from the allocation it gave back) and is its previous allocation now, fully placed, no refusal
// names it, none of its clusters is unreachable, and the clusters look the same apart from free
// capacity. When in addition every cluster can hold all the pass-1 replicas at once, pass 1
// cannot fail anywhere,
// so a settled service's decision is its last one, and the others see the same free capacity in
// pass 2 as in a full run. Those others are placed by placeServices itself, with the settled
// services' consumption standing in as one pinned "reserved" service per cluster and replica
// size. Anything else (first run, clusters changed, a cluster over-committed by its previous
// allocation) places everything.
import type { Capacity } from '../../schemas/messages.js';
import { canonicalJson } from '../core/ids.js';
import { placeServices, type Allocation, type ClusterView, type PlaceOptions, type ServiceDecision, type ServiceView } from './place.js';
import { placeBeside, reserve, type Reserved } from './place-beside.js';
import { cmp } from './cluster-view.js';
import { entryOf, shapeOf, unsettledByHint, unsettledByWalk, type ChangeHint, type Entry } from './settled.js';

export type { ChangeHint } from './settled.js';
export { PlacementDocs } from './placement-docs.js';

export interface IncrementalResult {
  /** Every service's decision (after a partial run, in the order services came, not by id). */
  decisions: Map<string, ServiceDecision>;
  /** Services whose decision was computed in this call (all of them when `full`). */
  recomputed: Set<string>;
  /** Services placed before and not now. */
  removed: Set<string>;
  /** For recomputed and removed services: their allocation before this call. */
  before: Map<string, Map<string, number> | undefined>;
  full: boolean;
  /** Why the call placed everything, when it did. */
  why?: string;
  /** The change hint was enough to find what can have moved (no walk over every service). */
  hinted?: boolean;
}

/** Below this share of the fleet to re-place, a partial run pays; above it, place everything. */
const PARTIAL_SHARE = 0.5;

export class IncrementalPlacer {
  private entries = new Map<string, Entry>();
  private decisions = new Map<string, ServiceDecision>();
  private lastKey?: string;
  private lastRefused = new Set<string>();
  /** Services whose entry does not settle (short of replicas, or out of cluster order). */
  private notSettling = new Set<string>();
  /** What the entries that settle hold, per cluster and replica size (kept as entries change). */
  private held: Reserved = new Map();
  /** Every service's decision, as the last call left them. */
  get current(): Map<string, ServiceDecision> {
    return this.decisions;
  }

  /** The allocation the last call produced: pass it back as `previous` (it is kept up to date in place). */
  allocation: Allocation = new Map();

  /** `services`: every service (or a function giving them: with a hint, only a run that must place everything asks). */
  place(
    all: ServiceView[] | (() => ServiceView[]),
    views: ClusterView[],
    previous: Allocation,
    policy: string,
    o: PlaceOptions = {},
    hint?: ChangeHint,
  ): IncrementalResult {
    let list: ServiceView[] | undefined = typeof all === 'function' ? undefined : all;
    const services = () => (list ??= (all as () => ServiceView[])());
    const key = canonicalJson([policy, o, views.map(shapeOf).sort((a, b) => cmp(a.name, b.name))]);
    const refused = new Set(views.flatMap((v) => Object.keys(v.refused ?? {})));
    const offline = new Set(views.filter((v) => !v.online).map((v) => v.name));
    const firstWhy = this.lastKey === undefined ? 'first placement' : key !== this.lastKey ? 'clusters or policy changed' : undefined;
    const sameAlloc = previous === this.allocation;
    const lastRefused = this.lastRefused;
    this.lastKey = key;
    this.lastRefused = refused;

    const hinted = !!hint && !firstWhy && sameAlloc && !offline.size;
    const x = { entries: this.entries, refused, lastRefused };
    // With a usable hint, only what it names (and what a refusal names, and what did not settle
    // last time) is looked at; otherwise every service is.
    const { unsettled, removed, total } =
      hint && hinted
        ? unsettledByHint(hint, x, this.notSettling)
        : unsettledByWalk(services(), x, { first: firstWhy !== undefined, offline, sameAlloc, previous });
    const before = new Map<string, Map<string, number> | undefined>();
    let why = firstWhy ?? (unsettled.length > total * PARTIAL_SHARE ? 'most services changed' : undefined);
    if (!why) {
      for (const svc of unsettled) before.set(svc.id, previous.get(svc.id));
      for (const id of removed) before.set(id, previous.get(id));
      const recomputed = this.partial(unsettled, removed, views, previous, policy, o);
      if (recomputed) return { decisions: this.decisions, recomputed, removed, before, full: false, hinted };
      why = 'a cluster cannot hold every previous replica';
    }
    for (const svc of services()) before.set(svc.id, previous.get(svc.id));
    for (const id of removed) before.set(id, previous.get(id));
    const { decisions } = placeServices(services(), views, previous, policy, o);
    this.replace(services(), decisions, previous);
    return { decisions, recomputed: new Set(services().map((s) => s.id)), removed, before, full: true, why };
  }

  /** Places the unsettled services beside stand-ins for the settled ones; undefined when that would not equal a full run. */
  private partial(
    unsettled: ServiceView[],
    removed: Set<string>,
    views: ClusterView[],
    previous: Allocation,
    policy: string,
    o: PlaceOptions,
  ): Set<string> | undefined {
    // What the settled services hold (place-beside.ts does the rest): all that settling entries
    // hold, less what the unsettled and removed ones among them hold.
    const reserved: Reserved = new Map(views.map((v) => [v.name, new Map()]));
    for (const [c, bySize] of this.held) {
      const mine = reserved.get(c) ?? new Map();
      reserved.set(c, mine);
      for (const [k, { r, n }] of bySize) mine.set(k, { r, n });
    }
    for (const id of [...unsettled.map((s) => s.id), ...removed]) {
      const e = this.entries.get(id);
      if (e?.settles) for (const [c, n] of e.hold) reserve(reserved, c, e.r, -n);
    }
    for (const bySize of reserved.values()) for (const [k, x] of bySize) if (x.n === 0) bySize.delete(k);
    const prev: Allocation = new Map();
    for (const svc of unsettled) {
      const p = previous.get(svc.id);
      if (p) prev.set(svc.id, p);
    }
    const decisions = placeBeside(unsettled, reserved, views, prev, policy, o);
    if (!decisions) return undefined;
    this.update(unsettled, decisions, prev, removed);
    return new Set(unsettled.map((s) => s.id));
  }

  /** After a full run: every decision and entry afresh. */
  private replace(services: ServiceView[], decisions: Map<string, ServiceDecision>, previous: Allocation): void {
    const byId = new Map(services.map((s) => [s.id, s]));
    this.decisions = decisions;
    this.entries = new Map();
    this.notSettling = new Set();
    this.held = new Map();
    for (const [id, d] of decisions) this.setEntry(id, entryOf(byId.get(id)!, d, previous.get(id)));
    this.allocation = new Map([...decisions].map(([id, d]) => [id, d.clusters]));
  }

  /** After a partial run: the recomputed decisions replace theirs (maps in the order services came). */
  private update(unsettled: ServiceView[], decisions: Map<string, ServiceDecision>, previous: Allocation, removed: Set<string>): void {
    for (const id of removed) {
      this.setEntry(id, undefined);
      this.decisions.delete(id);
      this.allocation.delete(id);
    }
    for (const svc of unsettled) {
      const d = decisions.get(svc.id)!;
      this.setEntry(svc.id, entryOf(svc, d, previous.get(svc.id)));
      this.decisions.set(svc.id, d);
      // The same Map object stays the allocation: a caller holding it passes it back.
      this.allocation.set(svc.id, d.clusters);
    }
  }

  /** Sets (or removes) an entry, keeping what settling entries hold and which do not settle. */
  private setEntry(id: string, e: Entry | undefined): void {
    const old = this.entries.get(id);
    if (old?.settles) for (const [c, n] of old.hold) this.hold(c, old.r, -n);
    if (e) this.entries.set(id, e);
    else this.entries.delete(id);
    if (e?.settles) for (const [c, n] of e.hold) this.hold(c, e.r, n);
    if (e && !e.settles) this.notSettling.add(id);
    else this.notSettling.delete(id);
  }

  private hold(c: string, r: Capacity, n: number): void {
    reserve(this.held, c, r, n);
    const bySize = this.held.get(c)!;
    for (const [k, x] of bySize) if (x.n === 0) bySize.delete(k);
  }
}
