// In-cluster rolling: when the root hands the cluster a new spec for a service whose replicas
// run another, the replicas are not all replaced at once. Each replica (slot 0..R-1) keeps the
// spec it was given (it is "held") until the rollout's limits let it switch: the service never
// has fewer than R - maxUnavailable ready replicas because of the rollout. Switching a ready
// replica costs one unit of that budget; switching one that is not ready (not running, failed,
// probe failing, not started) costs nothing; a new slot (scale-up) takes the new spec at once.
// While replicas are held, up to maxSurge extra replicas (index R, R+1, …) run the new spec; once
// ready they count as available, which lets more switch; they go when nothing is held and the
// slots on the new spec alone keep the floor (at the latest when every slot is ready on it).
// A rollback is the same: the old spec comes back as the placement's, and replicas on the
// failed one (not ready) switch back for free. Pure: the steps (steps/roll.ts) keep the state.
import type { Assignment } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';

/** A service being rolled: the placement's spec it goes to, and the slots still holding another. */
export interface Roll {
  /** The placement's specHash this roll goes to (until the placement says it, nothing is decided). */
  to: string;
  /** Slot index → the specHash the replica holds (only slots holding another spec than `to`). */
  held: Record<string, string>;
  /** The held specs, by hash. */
  specs: Record<string, ServiceSpec>;
}

/** The rollout's limits inside a cluster, of the spec rolled to (no `rollout` block: 1 and 1). */
export function rollLimits(spec: ServiceSpec): { maxUnavailable: number; maxSurge: number } {
  const maxSurge = spec.rollout?.maxSurge ?? 1;
  const u = spec.rollout?.maxUnavailable ?? 1;
  // Both 0 could never replace a ready replica: one may be unavailable then.
  return { maxUnavailable: u === 0 && maxSurge === 0 ? 1 : u, maxSurge };
}

/**
 * The roll a service is in once the placement moves it from `from` to `to`: each slot that had
 * a node keeps what it was given (its held spec, else `from`'s), unless that is `to`'s. A
 * service whose spec did not change keeps its roll as it is; one no longer placed has none.
 */
export function startRoll(
  prev: Roll | undefined,
  from: Assignment | undefined,
  to: Assignment | undefined,
  placed: (index: number) => boolean,
): Roll | undefined {
  if (!to) return undefined;
  if (!from || from.specHash === to.specHash) return prev && prev.to !== to.specHash ? { ...prev, to: to.specHash } : prev;
  const held: Record<string, string> = {};
  const specs: Record<string, ServiceSpec> = {};
  for (let i = 0; i < from.replicas; i++) {
    if (!placed(i)) continue;
    const hash = prev?.held[i] ?? from.specHash;
    if (hash === to.specHash) continue;
    const spec = hash === from.specHash ? from.spec : prev?.specs[hash];
    if (!spec) continue;
    held[i] = hash;
    specs[hash] = spec;
  }
  // Nothing held and nothing under way: no roll (a service on no node, say).
  if (!Object.keys(held).length && !prev) return undefined;
  return { to: to.specHash, held, specs };
}

export interface RollInput {
  /** The placement's replicas (R) and spec. */
  replicas: number;
  specHash: string;
  spec: ServiceSpec;
  roll: Roll;
  /** Whether replica `index` (a slot or a surge replica) runs `specHash`, ready, on its node. */
  ready(index: number, specHash: string): boolean;
}

export interface RollDecision {
  /** The roll after this pass (the switched slots no longer held); undefined when it is over. */
  roll: Roll | undefined;
  /** Slots switched to the new spec now. */
  switched: number[];
  /** How many surge replicas run (index R …). */
  surge: number;
  /** Ready replicas before the switch: old and new slots, surge replicas. */
  available: number;
}

export function decideRoll(i: RollInput): RollDecision {
  const { maxUnavailable, maxSurge } = rollLimits(i.spec);
  const R = i.replicas;
  const floor = Math.max(0, R - maxUnavailable);
  const held = Object.entries(i.roll.held)
    .map(([k, hash]) => [Number(k), hash] as const)
    .filter(([k]) => k < R)
    .sort((a, b) => a[0] - b[0]);
  const isHeld = new Set(held.map(([k]) => k));
  let newReady = 0;
  for (let k = 0; k < R; k++) if (!isHeld.has(k) && i.ready(k, i.specHash)) newReady++;
  let surgeReady = 0;
  for (let k = R; k < R + maxSurge; k++) if (i.ready(k, i.specHash)) surgeReady++;
  let oldReady = 0;
  const readyHeld = new Set<number>();
  for (const [k, hash] of held)
    if (i.ready(k, hash)) {
      readyHeld.add(k);
      oldReady++;
    }
  const available = newReady + oldReady + surgeReady;
  let budget = available - floor;
  const switched: number[] = [];
  // Free first (not ready), then ready ones as the budget allows, lowest index first.
  for (const [k] of held) if (!readyHeld.has(k)) switched.push(k);
  for (const [k] of held)
    if (readyHeld.has(k) && budget > 0) {
      switched.push(k);
      budget--;
    }
  const gone = new Set(switched);
  const left = held.filter(([k]) => !gone.has(k));
  // Ready without the surge once the switched are replaced: the surge stays while it is needed.
  const keptReady = newReady + left.filter(([k]) => readyHeld.has(k)).length;
  const surge = left.length || keptReady < floor ? maxSurge : 0;
  const done = !left.length && surge === 0 && newReady === R;
  if (done) return { roll: undefined, switched: switched.sort((a, b) => a - b), surge, available };
  const roll: Roll = { to: i.roll.to, held: Object.fromEntries(left.map(([k, h]) => [String(k), h])), specs: {} };
  for (const [, h] of left) roll.specs[h] = i.roll.specs[h];
  const same = left.length === Object.keys(i.roll.held).length;
  return { roll: same ? i.roll : roll, switched: switched.sort((a, b) => a - b), surge, available };
}

/** The spec slot `index` of a service holds, if it holds one other than the placement's. */
export function heldSpec(roll: Roll | undefined, index: number): { specHash: string; spec: ServiceSpec } | undefined {
  const h = roll?.held[index];
  if (h === undefined) return undefined;
  const spec = roll!.specs[h];
  return spec ? { specHash: h, spec } : undefined;
}

/** How a roll reads in the service's status: `rolling: 1/3 on the new spec, 2 ready`. */
export function rollMessage(onNew: number, replicas: number, ready: number): string {
  return `rolling: ${onNew}/${replicas} on the new spec, ${ready} ready`;
}
