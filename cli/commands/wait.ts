import { command, duration, flag, text, usageError } from '../args.js';
import { openRepo, resolveRef, type Repo } from '../../reconciler/git/repo.js';
import { firstParents } from '../../reconciler/git/log.js';
import { resolveRev, RevisionError } from '../../reconciler/git/revision.js';
import { readNote, NOTES_REF } from '../../reconciler/git/notes.js';
import { parseNote } from '../../reconciler/core/note.js';
import { fleetStatus } from '../../reconciler/report/fleet-status.js';
import { awaitingBundleMessage, timeoutMessage } from '../../reconciler/report/wait.js';
import { failedRollouts, rolloutFailedMessage } from '../../reconciler/report/rollouts.js';
import { readRecordHeader } from '../../reconciler/git/service-records.js';
import { PLACEMENT_FILE, placementRef, STATUS_FILE, statusRef } from '../../reconciler/core/refs.js';
import type { Version } from '../../schemas/messages.js';

const cmd = command({
  name: 'wait',
  summary:
    'wait until a commit has converged, every replica ready (exit 0), was rejected (2), its rollout failed (3), only air-gapped clusters await a bundle (5) or time ran out (1)',
  usage:
    'Usage: canopy wait [--repo DIR] --rev REV [--timeout SECONDS] [--quiet]\n\nREV: HEAD, a branch or a commit. Exit 0 once the fleet has converged on it (every replica it\nasks for running and ready), 2 if it was rejected (the problems are printed), 3 if a rollout\nfailed for it (paused or rolled back: which services, why, and that a new commit is the way\nforward are printed), 5 when every connected cluster converged on it and only air-gapped\nclusters (clusters/C.yaml spec.connectivity: air-gapped) await a bundle (their names on stdout, one\na line; how to export one on stderr; 0 once their statuses come back by bundle and the root\nhas taken them: it watches the status refs, and wait keeps waiting meanwhile), 1 on timeout (default 300 s; or 90s, 5m, 1h), saying which services are\nnot ready and why. A rollout in progress is waited for.\n64 on usage errors: an unknown option or revision, a --repo that is no Git repository.',
  options: { repo: text({ default: '.' }), rev: text({ required: true }), timeout: duration({ default: 300_000 }), quiet: flag() },
  async run(v) {
    const timeoutMs = v.timeout;
    const repo = await openRepo(v.repo).catch((e: Error) => {
      throw usageError(this, `--repo ${v.repo}: ${e.message}`);
    });
    let target = await resolveRev(repo, v.rev).catch((e: unknown) => {
      throw e instanceof RevisionError ? usageError(this, `--rev ${v.rev}: ${e.message}`) : e;
    });
    const say = (s: string) => {
      if (!v.quiet) process.stderr.write(s + '\n');
    };
    const warned = new Set<string>();
    const warnOnce = (m: string) => {
      if (!warned.has(m)) process.stderr.write(`warning: ${m}\n`);
      warned.add(m);
    };
    const deadline = Date.now() + timeoutMs;
    let notesHead: string | undefined;
    let last = '';
    for (;;) {
      const nh = await resolveRef(repo, NOTES_REF);
      if (nh !== notesHead) {
        notesHead = nh;
        const text = await readNote(repo, target);
        const n = text ? parseNote(text) : undefined;
        if (n?.outcome === 'rejected') {
          process.stderr.write(`${target.slice(0, 12)} was rejected:\n`);
          for (const p of n.problems ?? []) process.stderr.write(`  ${p.file}:${p.line}:${p.column}: ${p.message}\n`);
          return 2;
        }
        if (n?.outcome === 'superseded' && n.supersededBy) {
          say(`${target.slice(0, 12)} was superseded by ${n.supersededBy.slice(0, 12)}; waiting for that`);
          target = n.supersededBy;
          notesHead = undefined;
          continue;
        }
        // The root writes convergedAt once every replica the commit asks for is ready.
        if (n?.convergedAt) {
          say(`${target.slice(0, 12)} converged at ${n.convergedAt}`);
          return 0;
        }
        // A rollout that failed (paused or rolled back) for it, as its note or a later one carrying
        // it tells (such a commit never converges; one that did is not walked for it).
        if (n?.outcome === 'accepted') {
          const failed = await failedRollouts(repo, target, n, warnOnce);
          if (failed.length) {
            process.stderr.write(rolloutFailedMessage(target, failed));
            return 3;
          }
          // Every connected cluster converged; only air-gapped ones await a bundle: named, one a line on stdout.
          if (n.awaitingBundle?.length && !(await caughtUp(repo, n.awaitingBundle))) {
            process.stderr.write(awaitingBundleMessage(target, n.awaitingBundle, n.connectedConvergedAt));
            process.stdout.write(n.awaitingBundle.map((c) => `${c}\n`).join(''));
            return 5;
          }
        }
        // Main moved on before the root looked at this commit (two commits before a root
        // started, or one made while it started): a later commit carries its changes; follow it.
        const later = n || !notesHead ? undefined : await notedAfter(repo, target);
        if (later) {
          say(`${target.slice(0, 12)} was never reconciled on its own: main moved on to ${later.slice(0, 12)}, which carries it; waiting for that`);
          target = later;
          notesHead = undefined;
          continue;
        }
        const state = n ? 'accepted, converging' : 'waiting for the root to pick it up';
        if (state !== last) {
          say(`${target.slice(0, 12)}: ${state}…`);
          last = state;
        }
      }
      if (Date.now() >= deadline) {
        // Which services are not ready and why, as status reads it (none when status cannot tell).
        const report = await fleetStatus(repo).catch(() => undefined);
        process.stderr.write(timeoutMessage(target, timeoutMs / 1000, v.repo, report));
        return 1;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  },
});
export default cmd;

/** The oldest commit of main after `target` (on its first-parent line) that has a note, if any. */
async function notedAfter(repo: Repo, target: string): Promise<string | undefined> {
  const head = await resolveRef(repo, 'refs/heads/main');
  if (!head || head === target) return undefined;
  let found: string | undefined;
  for await (const c of firstParents(repo, head, 10_000)) {
    if (c.oid === target) return found;
    if (await readNote(repo, c.oid)) found = c.oid;
  }
  return undefined;
}

/**
 * Whether every awaited air-gapped cluster's status ref already says it applied the placement its
 * placement ref holds: a status bundle was imported after the note was written, and the root is
 * about to take it (it watches the status refs), so this is no time to say "awaiting a bundle".
 */
async function caughtUp(repo: Repo, clusters: readonly string[]): Promise<boolean> {
  for (const c of clusters) {
    const [status, placement] = [await resolveRef(repo, statusRef(c)), await resolveRef(repo, placementRef(c))];
    if (!status || !placement) return false;
    const applied = (await readRecordHeader(repo, status, STATUS_FILE).catch(() => undefined))?.applied as Version | null | undefined;
    const version = (await readRecordHeader(repo, placement, PLACEMENT_FILE).catch(() => undefined))?.version as Version | undefined;
    if (!applied || !version || applied.seq !== version.seq || applied.epoch !== version.epoch || applied.commit !== version.commit) return false;
  }
  return true;
}
