// How replicas of one service share a cluster's nodes: the descriptor's `spread`, applied by the
// placer before the policy's score (after constraints, room and host ports). Pure.
// - absent or `clusters`: soft anti-affinity. The node holding the fewest replicas of the
//   service first, then the policy's score: two replicas share a node only when no other node
//   fits (`clusters` is the root's choice across clusters; inside each it spreads the same way).
// - `nodes`: hard. A node already holding a replica of the service takes no other; a replica
//   that finds every fitting node holding one is refused, with the reason.
// - `none`: the policy's score alone (bestfit packs).
// Replicas already running stay where they are (the placer's pass 1): a service is never moved
// just to spread it; new and re-placed replicas spread.
import type { ServiceSpec } from '../../../schemas/model.js';

export type Spread = ServiceSpec['spread'];

/**
 * The first element of a node's score for one more replica of the service (lower is better),
 * given how many of its replicas the node holds; undefined when the node may not take it.
 */
export function spreadFirst(spread: Spread, holds: number): number | undefined {
  if (spread === 'none') return 0;
  if (spread === 'nodes' && holds > 0) return undefined;
  return holds;
}

/** Why a node that fits may not take the replica under `spread`, if it may not. */
export function spreadBars(spread: Spread, holds: number): string | undefined {
  return spreadFirst(spread, holds) === undefined ? `runs a replica of it already (spread: ${spread})` : undefined;
}

/**
 * Why no node took a replica when `spread: nodes` is the reason: every node that qualifies and
 * has room already runs a replica of the service. Undefined otherwise. (Host ports are judged
 * first: a service with host ports takes them on every node that runs one of its replicas.)
 */
export function spreadRefusal(spread: Spread, fitting: string[], holdsOn: (node: string) => number): string | undefined {
  if (spread !== 'nodes' || !fitting.length || fitting.some((n) => holdsOn(n) === 0)) return undefined;
  return `spread: nodes allows one replica per node, and every node that fits already runs one (${fitting.join(', ')})`;
}
