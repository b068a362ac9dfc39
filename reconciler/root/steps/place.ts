// Step 3: decide every service's clusters (the placer, ../place.ts and ../incremental.ts) from
// what the clusters last reported. Only services that can have moved are re-placed; a failover
// opens a new epoch; a service on an unreachable cluster is looked at again when its failover
// deadline passes.
import type { DesiredState } from '../desired.js';
import type { IncrementalResult } from '../incremental.js';
import { clusterViewOf, type Allocation, type ClusterView, type RootPolicy } from '../place.js';
import type { RootPorts } from '../ports.js';
import type { ClusterState, RootState } from '../state.js';
import type { Pass, StepResult } from './pass.js';

export function place(state: RootState, ports: Pick<RootPorts, 'log' | 'queue' | 'clock' | 'metrics'>, pass: Pass): StepResult {
  const good = state.good;
  if (!good) return 'done';
  const views = clusterViews(state.clusters, ports.clock(), state.drain.retired);
  const policy = (good.fleet.spec?.scheduler?.root ?? 'bestfit') as RootPolicy;
  const services = good.services;
  // Told what the commit changed, the placer looks at those services only (the full list is
  // for a run that must place everything).
  const result = state.placer.place(
    () => [...services.values()],
    views,
    state.allocation,
    policy,
    { targets: good.fleet.spec?.targets },
    { changed: pass.changed, removed: pass.removed, get: (id) => services.get(id), size: services.size },
  );
  if (result.full) ports.log.debug(`placed all ${result.decisions.size} services: ${result.why ?? 'full'}`);
  // A failover (replicas taken from an unreachable cluster under its failover policy) opens a
  // new epoch: every placement written from now on carries it, and a returning cluster stops
  // the replicas the newer epoch has moved away.
  const failedOver = hasFailedOver(result);
  if (failedOver) {
    state.epoch++;
    ports.metrics.failovers.inc();
    ports.log.warn(`failover: epoch ${state.epoch}`);
  }
  state.allocation = state.placer.allocation;
  const next = nextFailoverMs(views, state.allocation, good);
  if (next !== undefined) ports.queue.enqueueAfter('place', Math.max(0, next) + 50);
  const touched = state.docs.update(result.decisions, [...result.recomputed, ...result.removed], services);
  pass.placed = { result, touched, failedOver, clusters: views.map((v) => v.name) };
}

/** The clusters placement works on: those the root has a status of. */
export function clusterViews(clusters: ReadonlyMap<string, ClusterState>, nowMs: number, retired?: ReadonlySet<string>): ClusterView[] {
  const out: ClusterView[] = [];
  for (const [name, s] of clusters) {
    if (!s.status) continue;
    // Known only by its placement: offline until heard, whatever its online flag says.
    const online = s.online && s.unheard !== 'unknown';
    const offlineForMs = online ? 0 : nowMs - (s.offlineSince ?? nowMs);
    const r = retired?.has(name);
    out.push({ ...clusterViewOf(s.status, { online, offlineForMs, refused: s.refused, unheard: s.unheard, retired: r, airGapped: !!s.airGapped }), name });
  }
  return out;
}

/** Some service lost replicas on a cluster because it failed over from there. */
export function hasFailedOver(placed: Pick<IncrementalResult, 'before' | 'decisions'>): boolean {
  return [...placed.before].some(([id, was]) => {
    const d = placed.decisions.get(id);
    return !!d && [...(was ?? [])].some(([c, n]) => n > (d.clusters.get(c) ?? 0) && /failed over/.test(d.excluded[c] ?? ''));
  });
}

/** How long until the first failover deadline of a service on an unreachable cluster passes. */
export function nextFailoverMs(views: readonly ClusterView[], allocation: Allocation, good: Pick<DesiredState, 'services'>): number | undefined {
  let next = Infinity;
  for (const v of views) {
    if (v.online) continue;
    for (const [id, where] of allocation) {
      const after = good.services.get(id)?.spec.failover?.afterSeconds;
      if (after !== undefined && where.get(v.name)) next = Math.min(next, after * 1000 - (v.offlineForMs ?? 0));
    }
  }
  return next < Infinity ? next : undefined;
}
