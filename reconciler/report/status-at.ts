// The fleet as it stood at a past moment (`canopy status --at`), from Git alone: the commit of
// main in force then (the last one whose note says accepted at or before it), each cluster's
// placement and status records then (the last commit on its ref dated at or before it: status
// commits are dated when the change was observed), judged as `status` judged them at that time.
// Each ref is walked from its tip back only to the moment, by commit dates (no trees read on
// the way); only the records in force then are read.
import { CanopyError } from '../core/errors.js';
import { checkNoteOn, type CommitNote } from '../core/note.js';
import { listRefs, resolveRef, resolveRevision, RevisionError, type Repo } from '../git/repo.js';
import { firstParents } from '../git/log.js';
import { NOTES_REF, readNote } from '../git/notes.js';
import { reportFrom, type FleetReport, type RecordTips } from './fleet-status.js';
import { parseSince } from './history.js';

/** `--at` names no moment of this fleet's history: `message` says why (the CLI prefixes the option). */
export class MomentError extends CanopyError {
  constructor(message: string) {
    super('bad-moment', message);
  }
}

/** `--at`: an ISO time (or a date, or "N days ago"), else a revision: the moment the root accepted it, from its note. */
export async function momentOf(repo: Repo, text: string): Promise<Date> {
  const d = parseSince(text);
  if (d) return d;
  let oid: string;
  try {
    oid = await resolveRevision(repo, text);
  } catch (e) {
    if (e instanceof RevisionError) throw new MomentError(`expected an ISO time (2026-11-20T08:00:00Z) or a revision: ${e.why}`);
    throw e;
  }
  const text2 = await readNote(repo, oid);
  const note = text2 === undefined ? undefined : checkNoteOn(oid, text2).note;
  if (note?.outcome !== 'accepted')
    throw new MomentError(
      `the root never accepted ${oid.slice(0, 12)} (${note ? `its note says ${note.outcome}` : `it has no note on ${NOTES_REF}; fetch 'refs/notes/*:refs/notes/*'`})`,
    );
  return new Date(note.at);
}

/** Dated at or before `at`: a commit's time has whole seconds. */
const upTo = (seconds: number, at: Date) => seconds * 1000 <= at.getTime();

/** The last commit on `tip`'s first-parent line dated at or before `at`, reading commit objects only. */
async function commitAt(repo: Repo, tip: string, at: Date): Promise<string | undefined> {
  for await (const { oid, commit } of firstParents(repo, tip)) if (upTo(commit.committer.timestamp, at)) return oid;
  return undefined;
}

/** The refs under `prefix` as they stood at `at` (a ref with no commit by then left out). */
async function refsAt(repo: Repo, prefix: string, at: Date): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [name, tip] of await listRefs(repo, prefix)) {
    const oid = await commitAt(repo, tip, at);
    if (oid) out.set(name, oid);
  }
  return out;
}

/** The fleet's status as `status` would have shown it at `at`; `at` in the report says the moment shown. */
export async function fleetStatusAt(repo: Repo, at: Date, branch = 'main'): Promise<FleetReport & { at: string }> {
  const report: FleetReport & { at: string } = { at: at.toISOString(), fleet: null, head: null, inForce: null, services: {}, clusters: {} };
  const tip = await resolveRef(repo, `refs/heads/${branch}`);
  if (!tip) return report;
  const warn = (m: string) => void (report.warnings ??= []).push(m);
  let head: string | undefined;
  let headNote: CommitNote | undefined;
  let good: CommitNote | undefined;
  let first: number | undefined;
  for await (const { oid, commit } of firstParents(repo, tip)) {
    first = commit.committer.timestamp;
    if (!head && !upTo(commit.committer.timestamp, at)) continue;
    const text = await readNote(repo, oid);
    const checked = text === undefined ? undefined : checkNoteOn(oid, text);
    if (checked?.why) warn(`${NOTES_REF}: the note on ${oid.slice(0, 12)}: ${checked.why}: ignored`);
    // A note written after the moment was not there yet: the commit was pending then.
    const n = checked?.note && Date.parse(checked.note.at) <= at.getTime() ? checked.note : undefined;
    if (!head) {
      head = oid;
      headNote = n;
    }
    if (n?.outcome === 'accepted') {
      good = n;
      break;
    }
  }
  if (!head)
    throw new MomentError(
      `${at.toISOString()} is before the fleet's history (the first commit of ${branch} is dated ${new Date((first ?? 0) * 1000).toISOString()})`,
    );
  report.head = {
    commit: head,
    outcome: headNote?.outcome ?? 'pending',
    ...(headNote?.convergedAt && Date.parse(headNote.convergedAt) <= at.getTime() ? { convergedAt: headNote.convergedAt } : {}),
    ...(headNote?.problems ? { problems: headNote.problems } : {}),
    ...(headNote?.signature ? { signature: headNote.signature } : {}),
  };
  report.inForce = good?.commit ?? null;
  if (!good) return report;
  const tips: RecordTips = { placements: await refsAt(repo, 'refs/canopy/placements/', at), statuses: await refsAt(repo, 'refs/canopy/status/', at) };
  await reportFrom(repo, report, { good, headNote, tips, now: at, cutAt: at });
  return report;
}
