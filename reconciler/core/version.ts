// The order of placement versions: a newer epoch (after a failover) wins whatever its sequence;
// within an epoch, the higher sequence.
import type { Version } from '../../schemas/messages.js';

/** Negative when a is older than b, 0 when they are the same place in the order, positive when newer. */
export function versionOrder(a: Version, b: Version): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.seq - b.seq;
}

/** The same version: commit, sequence and epoch all equal (either missing: not the same). */
export function sameVersion(a: Version | null | undefined, b: Version | null | undefined): boolean {
  return !!a && !!b && a.commit === b.commit && a.seq === b.seq && a.epoch === b.epoch;
}
