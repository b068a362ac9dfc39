// What the root records on each commit of main, under refs/notes/canopy: a few lines a person
// reads with `git notes --ref canopy show <commit>`, then the same as JSON for tools.
export type Outcome = 'accepted' | 'rejected' | 'superseded';

export interface NoteProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface NotePlacement {
  desired: number;
  placed: number;
  clusters: Record<string, number>;
  reason: string;
}

/** A signing key as a note names it: its fingerprint (`SHA256:…`), and the comment fleet.yaml gives it. */
export interface NoteKey {
  fingerprint: string;
  comment?: string;
}

/**
 * Who signed a commit, when fleet.yaml requires signed commits (spec.trust.commitSigners; no
 * such record when it does not): the keys that judged it are those of the last accepted
 * commit's fleet.yaml (`rulesFrom`), or of the commit itself when none was accepted before.
 */
export interface NoteSignature {
  /** Absent: nobody signed the commit (or its signature named no key). */
  signedBy?: NoteKey;
  trusted: NoteKey[];
  rulesFrom: string;
  /** Why the commit was refused; absent when a trusted key signed it. */
  problem?: string;
}

/** One wave of a rollout as the note tells it: its clusters and when each thing happened. */
export interface NoteWave {
  clusters: string[];
  /** When its clusters were given the new spec. */
  startedAt?: string;
  /** When every reachable cluster of the wave reported every replica on the new spec ready. */
  readyAt?: string;
  /** When it had stayed ready for bakeSeconds: the next wave may start. */
  bakedAt?: string;
  /** Clusters of the wave that were unreachable when it ran: not waited for; they take the rollout's outcome when they return. */
  skipped?: string[];
  /** Air-gapped clusters of the wave (clusters/<c>.yaml spec.connectivity): never waited for; they take the rollout's outcome by bundle. */
  airGapped?: string[];
}

/** How a service's new spec rolls out across clusters, wave by wave (`rollout` in its descriptor). */
export interface NoteRollout {
  /** progressing, then done; or paused (failed, without autoRollback) or rolled-back (failed, with it). */
  state: 'progressing' | 'done' | 'paused' | 'rolled-back';
  /** The commit whose note first told this rollout (a later commit carries on one it did not change). */
  commit: string;
  /** The last spec of the service that was ready, which replicas go back to on a rollback. */
  from: { commit: string; specHash: string };
  /** The spec rolled out (its workload hash). */
  to: string;
  startedAt: string;
  endedAt?: string;
  /** Why it stopped (paused, rolled-back). */
  reason?: string;
  waves: NoteWave[];
}

export interface CommitNote {
  outcome: Outcome;
  commit: string;
  at: string; // when the root decided
  supersededBy?: string;
  problems?: NoteProblem[];
  /** Services this commit changed (added, modified, removed) and where they went. */
  changed?: Record<string, NotePlacement | { removed: true }>;
  unschedulable?: Record<string, string>;
  convergedAt?: string;
  /** Every connected cluster had converged on it at this time, air-gapped ones awaiting a bundle (then `awaitingBundle`). */
  connectedConvergedAt?: string;
  /**
   * Until it converges: the air-gapped clusters it waits for, every connected cluster having
   * converged on it. `canopy wait` exits 5 naming them; convergedAt comes once their statuses do.
   */
  awaitingBundle?: string[];
  /**
   * Until it converges: services the clusters report failing, each with the first reason one
   * gave (`munich: shop/evil#0: refused by node policy: …`, a crash), what holds the commit up.
   */
  failing?: Record<string, string>;
  /**
   * Until it converges: services a cluster runs and reports not ready (their probe fails), each
   * as first reported: `munich: 1/3 ready, 3 running: 2 not ready: GET /health: 503`.
   */
  notReady?: Record<string, string>;
  /**
   * The images the changed services run, as the clusters report them once a cluster runs the
   * service in full (its `updated` replicas): repository digests (`name@sha256:…`), else image IDs.
   */
  images?: Record<string, string[]>;
  /** Rollouts of services this commit changed (and of those it carried on): wave by wave. */
  rollouts?: Record<string, NoteRollout>;
  /** Still in force after a rejection: the last accepted commit. */
  inForce?: string;
  signature?: NoteSignature;
}

export const MARK = '--- canopy/v1 json ---';
/** Services named in a note's text; the JSON after it has every one. */
const LISTED = 200;

export function renderNote(n: CommitNote): string {
  const lines: string[] = [];
  const short = (o: string) => o.slice(0, 12);
  if (n.outcome === 'rejected') {
    lines.push(`canopy: REJECTED at ${n.at}; nothing from this commit was applied.`);
    if (n.inForce) lines.push(`Still in force: ${short(n.inForce)}.`);
    lines.push('', 'Problems (fix them in a new commit):');
    for (const p of n.problems ?? []) lines.push(`  ${p.file}:${p.line}:${p.column}: ${p.message}`);
    if (n.signature) lines.push('', ...signatureLines(n.signature));
  } else if (n.outcome === 'superseded') {
    lines.push(`canopy: superseded by ${short(n.supersededBy ?? '')} before it was reconciled on its own (its changes are in that commit's outcome).`);
  } else {
    lines.push(`canopy: accepted at ${n.at}.`);
    lines.push(n.convergedAt ? `Converged at ${n.convergedAt}.` : 'Not converged yet.');
    if (n.awaitingBundle?.length)
      lines.push(`Every connected cluster converged at ${n.connectedConvergedAt ?? '?'}; awaiting a bundle from air-gapped ${n.awaitingBundle.join(', ')}.`);
    if (n.signature) lines.push(...signatureLines(n.signature));
    const changed = Object.entries(n.changed ?? {});
    if (changed.length) {
      lines.push('', 'Changed services:');
      for (const [id, p] of changed.slice(0, LISTED)) {
        if ('removed' in p) lines.push(`  ${id}: removed`);
        else lines.push(`  ${id}: ${p.placed}/${p.desired} replicas placed — ${p.reason}`);
      }
      if (changed.length > LISTED) lines.push(`  … and ${changed.length - LISTED} more (all of them in the JSON below; canopy history SERVICE tells one)`);
    } else lines.push('', 'No service changed.');
    const un = Object.entries(n.unschedulable ?? {});
    if (un.length) {
      lines.push('', 'Unschedulable:');
      for (const [id, why] of un.slice(0, LISTED)) lines.push(`  ${id}: ${why}`);
      if (un.length > LISTED) lines.push(`  … and ${un.length - LISTED} more (all of them in the JSON below)`);
    }
    const failing = Object.entries(n.failing ?? {});
    if (failing.length) {
      lines.push('', 'Failing, as the clusters report it:');
      for (const [id, why] of failing.slice(0, LISTED)) lines.push(`  ${id}: ${why}`);
    }
    for (const [id, r] of Object.entries(n.rollouts ?? {}).slice(0, LISTED)) lines.push('', ...rolloutLines(id, r));
    const images = Object.entries(n.images ?? {});
    if (images.length) {
      lines.push('', 'Images, as the clusters report them:');
      for (const [id, digests] of images.slice(0, LISTED)) lines.push(`  ${id}: ${digests.join(', ')}`);
    }
    const unready = Object.entries(n.notReady ?? {});
    if (unready.length) {
      lines.push('', 'Not ready, as the clusters first reported it (ready/desired there):');
      for (const [id, why] of unready.slice(0, LISTED)) lines.push(`  ${id}: ${why}`);
    }
  }
  lines.push('', MARK, JSON.stringify(n));
  return lines.join('\n') + '\n';
}

const ROLLOUT_STATE: Record<NoteRollout['state'], string> = {
  progressing: 'in progress',
  done: 'done',
  paused: 'PAUSED',
  'rolled-back': 'ROLLED BACK',
};

/** `Rollout of shop/web: ROLLED BACK at …: reason`, then a line per wave with its times. */
export function rolloutLines(id: string, r: NoteRollout): string[] {
  const end = r.endedAt ? ` at ${r.endedAt}` : '';
  const lines = [`Rollout of ${id} (from ${r.from.commit.slice(0, 12)}): ${ROLLOUT_STATE[r.state]}${end}${r.reason ? `: ${r.reason}` : ''}`];
  r.waves.forEach((w, i) => {
    const times = [
      w.startedAt ? `started ${w.startedAt}` : 'not started',
      w.readyAt ? `ready ${w.readyAt}` : '',
      w.bakedAt ? `baked ${w.bakedAt}` : '',
      w.skipped?.length ? `skipped (unreachable): ${w.skipped.join(', ')}` : '',
      w.airGapped?.length ? `not waited for (air-gapped, by bundle): ${w.airGapped.join(', ')}` : '',
    ].filter(Boolean);
    lines.push(`  wave ${i + 1} (${w.clusters.join(', ')}): ${times.join(', ')}`);
  });
  return lines;
}

/** A key as people read it: `SHA256:… (comment)`. */
export const keyName = (k: NoteKey): string => (k.comment ? `${k.fingerprint} (${k.comment})` : k.fingerprint);

/**
 * Who signed; on a refused commit also which keys were trusted (at most 100, the schema's limit).
 * An accepted one names only the commit whose fleet.yaml listed them (its JSON has the list).
 */
export function signatureLines(s: NoteSignature): string[] {
  const rules = `spec.trust.commitSigners in fleet.yaml of ${s.rulesFrom.slice(0, 12)}`;
  if (!s.problem) return [`Signed by: ${s.signedBy ? keyName(s.signedBy) : 'nobody'}, a trusted commit signer (${rules}).`];
  return [`Signed by: ${s.signedBy ? keyName(s.signedBy) : 'nobody'}.`, `Trusted commit signers (${rules}):`, ...s.trusted.map((k) => `  ${keyName(k)}`)];
}

export function parseNote(text: string): CommitNote | undefined {
  return checkNote(text).note;
}

const OUTCOMES: readonly string[] = ['accepted', 'rejected', 'superseded'];

/** A note's record, or why the note holds none canopy wrote (a reader ignores it, and may say so). */
export function checkNote(text: string): { note?: CommitNote; why?: string } {
  // The marker on a line of its own: problem lines are indented, so one quoting it never matches.
  const at = `\n${MARK}\n`;
  const i = text.lastIndexOf(at);
  if (i < 0) return { why: `no "${MARK}" line: not a note canopy wrote` };
  let v: CommitNote;
  try {
    v = JSON.parse(text.slice(i + at.length).trim()) as CommitNote;
  } catch (e) {
    return { why: `its JSON does not parse (${(e as Error).message})` };
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { why: 'its JSON is not an object' };
  if (!OUTCOMES.includes(v.outcome)) return { why: `outcome ${JSON.stringify(v.outcome) ?? 'missing'} is not accepted, rejected or superseded` };
  if (typeof v.commit !== 'string' || !/^[0-9a-f]{40}$/.test(v.commit)) return { why: `commit ${JSON.stringify(v.commit) ?? 'missing'} is not a commit id` };
  return { note: v };
}

/** The record of the note on commit `oid`, or why it holds none for that commit. */
export function checkNoteOn(oid: string, text: string): { note?: CommitNote; why?: string } {
  const r = checkNote(text);
  return r.note && r.note.commit !== oid ? { why: `it speaks of commit ${r.note.commit.slice(0, 12)}` } : r;
}
