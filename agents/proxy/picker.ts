// Which endpoint a new connection tries first, and which next: round-robin turns over every
// endpoint, closest takes the lowest tier and turns within it (then the next tiers, each in
// turn). An endpoint that failed is suspect for a while (passive health): new connections try it
// only after every endpoint that is not, so a dead instance costs one failed attempt, not one
// per connection. An endpoint that takes a connection is no longer suspect.
import type { Policy } from './types.js';

export interface Candidate {
  addr: string;
  tier: number;
}

export class Picker {
  private readonly suspects = new Map<string, number>(); // addr → suspect until (ms)
  private readonly turns = new Map<string, number>(); // service|policy → connections so far

  constructor(
    private readonly suspectMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every endpoint once, in the order one new connection of (key, policy) tries them. */
  order<E extends Candidate>(key: string, policy: Policy, endpoints: readonly E[]): E[] {
    if (endpoints.length === 0) return [];
    const turn = this.turns.get(key) ?? 0;
    this.turns.set(key, turn + 1 === Number.MAX_SAFE_INTEGER ? 0 : turn + 1);
    const ordered = policy === 'closest' ? byTier(endpoints, turn) : rotate(endpoints, turn);
    if (this.suspects.size === 0) return ordered;
    const healthy: E[] = [];
    const suspect: E[] = [];
    for (const e of ordered) (this.isSuspect(e.addr) ? suspect : healthy).push(e);
    return suspect.length ? healthy.concat(suspect) : ordered;
  }

  /** A connect to addr failed: later connections try it last, for suspectMs. */
  failed(addr: string): void {
    this.suspects.set(addr, this.now() + this.suspectMs);
  }

  /** A connect to addr worked: it is not suspect any more. */
  worked(addr: string): void {
    if (this.suspects.size) this.suspects.delete(addr);
  }

  isSuspect(addr: string): boolean {
    const until = this.suspects.get(addr);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.suspects.delete(addr);
    return false;
  }

  /** Forget the turn of a key (its listener is gone). */
  forget(key: string): void {
    this.turns.delete(key);
  }
}

function rotate<E>(xs: readonly E[], turn: number): E[] {
  const k = turn % xs.length;
  return k === 0 ? xs.slice() : xs.slice(k).concat(xs.slice(0, k));
}

/** Tiers lowest first, each one turned by `turn`. */
function byTier<E extends Candidate>(endpoints: readonly E[], turn: number): E[] {
  const tiers = new Map<number, E[]>();
  for (const e of endpoints) {
    const t = tiers.get(e.tier);
    if (t) t.push(e);
    else tiers.set(e.tier, [e]);
  }
  const out: E[] = [];
  for (const tier of [...tiers.keys()].sort((a, b) => a - b)) out.push(...rotate(tiers.get(tier)!, turn));
  return out;
}
