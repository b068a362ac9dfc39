import type { Command } from '../args.js';
import { required, num } from '../args.js';
import { openRepo, resolveRef } from '../../reconciler/git/repo.js';
import { resolveRev } from '../../reconciler/git/revision.js';
import { readNote, NOTES_REF } from '../../reconciler/git/notes.js';
import { parseNote } from '../../reconciler/core/note.js';

const cmd: Command = {
  name: 'wait',
  summary: 'wait until a commit has converged (exit 0), was rejected (2) or time ran out (1)',
  usage:
    'Usage: canopy wait [--repo DIR] --rev REV [--timeout SECONDS] [--quiet]\n\nREV: HEAD, a branch or a commit. Exit 0 once the fleet has converged on it, 2 if it was\nrejected (the problems are printed), 1 on timeout (default 300 s).',
  options: { repo: { type: 'string' }, rev: { type: 'string' }, timeout: { type: 'string' }, quiet: { type: 'boolean' } },
  async run(v) {
    required(this, v, 'rev');
    const timeoutMs = 1000 * (num('timeout', v.timeout, 0) ?? 300);
    const repo = await openRepo(String(v.repo ?? '.'));
    let target = await resolveRev(repo, String(v.rev));
    const say = (s: string) => {
      if (!v.quiet) process.stderr.write(s + '\n');
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
        if (n?.convergedAt) {
          say(`${target.slice(0, 12)} converged at ${n.convergedAt}`);
          return 0;
        }
        const state = n ? 'accepted, converging' : 'waiting for the root to pick it up';
        if (state !== last) {
          say(`${target.slice(0, 12)}: ${state}…`);
          last = state;
        }
      }
      if (Date.now() >= deadline) {
        process.stderr.write(`timed out after ${timeoutMs / 1000} s: ${target.slice(0, 12)} has not converged (see canopy status --repo ${v.repo ?? '.'})\n`);
        return 1;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  },
};
export default cmd;
