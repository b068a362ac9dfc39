// The desired state in force at base: base's own when it validates, else the last good one
// before it, as the root keeps (at most IN_FORCE_WALK first parents back). Walked two ways:
// inForceAt loads each commit whole (the full plan, plan-full.ts); inForceFrom takes the root's
// notes and judges the rest against a commit known to validate (plan-incremental.ts).
import { parseNote, type CommitNote } from '../core/note.js';
import type { ParseResult } from '../core/validate.js';
import type { Repo } from '../git/repo.js';
import { firstParents, readCommitObject } from '../git/log.js';
import { readNote } from '../git/notes.js';
import { loadDesired, type DesiredState } from '../root/desired.js';
import { newestSource, type PlanInputs } from './plan-inputs.js';
import { judgeAgainst } from './plan-judge.js';

/** How many first-parent commits back from base the desired state in force is looked for. */
export const IN_FORCE_WALK = 200;

/** A commit and its tree. */
export interface Commit {
  oid: string;
  tree: string;
}

/**
 * The desired state in force at `commit`: its own when it validates, else (it was or would be
 * rejected) the last good one before it, as the root would keep. Bounded walk.
 */
export async function inForceAt(repo: Repo, commit: string, cache: Map<string, ParseResult>): Promise<DesiredState | undefined> {
  for await (const { oid } of firstParents(repo, commit, IN_FORCE_WALK)) {
    const text = await readNote(repo, oid);
    const note = text ? parseNote(text) : undefined;
    const at = note?.outcome === 'rejected' && note.inForce ? note.inForce : oid;
    const r = await loadDesired(repo, at, undefined, cache).catch(() => undefined);
    if (r?.ok) return r.state;
  }
  return undefined;
}

/**
 * The desired state in force at base, walked as inForceAt walks it: each commit's own
 * verdict when the root noted it accepted, else judged against a commit known to validate (the
 * nearest the root accepted, else the one its placements came from).
 */
export async function inForceFrom(repo: Repo, baseOid: string, inputs: PlanInputs, cache: Map<string, ParseResult>): Promise<Commit | string> {
  const notes = new Map<string, CommitNote | undefined>();
  const noteOf = async (oid: string) => {
    if (!notes.has(oid)) {
      const t = await readNote(repo, oid);
      notes.set(oid, t ? parseNote(t) : undefined);
    }
    return notes.get(oid);
  };
  let anchor: Commit | undefined | null;
  const findAnchor = async (): Promise<Commit | undefined> => {
    if (anchor !== undefined) return anchor ?? undefined;
    anchor = null;
    for await (const { oid } of firstParents(repo, baseOid, IN_FORCE_WALK)) {
      if ((await noteOf(oid))?.outcome === 'accepted') return (anchor = (await commitAt(repo, oid)) ?? null) ?? undefined;
    }
    const placed = newestSource(await inputs.envelopes());
    return (anchor = (placed && (await commitAt(repo, placed))) || null) ?? undefined;
  };
  const validates = async (oid: string): Promise<boolean | undefined> => {
    const c = await commitAt(repo, oid);
    if (!c) return false;
    if ((await noteOf(oid))?.outcome === 'accepted') return true;
    const a = await findAnchor();
    if (!a) return undefined;
    if (a.oid === oid) return true;
    const j = await judgeAgainst(repo, a.tree, c.tree, cache).catch(() => null);
    return j === null ? false : j && j.problems.length === 0;
  };
  for await (const { oid } of firstParents(repo, baseOid, IN_FORCE_WALK)) {
    const note = await noteOf(oid);
    const at = note?.outcome === 'rejected' && note.inForce ? note.inForce : oid;
    const ok = await validates(at);
    if (ok === undefined) return 'no commit known to validate (no note from the root, no placement recorded) to judge base against';
    if (ok) return (await commitAt(repo, at))!;
  }
  return 'no commit at or before base validates';
}

export const commitAt = (repo: Repo, oid: string): Promise<Commit | undefined> =>
  readCommitObject(repo, oid).then(
    (c) => ({ oid, tree: c.tree }),
    () => undefined,
  );
