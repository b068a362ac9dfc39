import type { Command } from '../args.js';
import { required } from '../args.js';
import { UsageError } from '../../reconciler/core/errors.js';
import { openRepo } from '../../reconciler/git/repo.js';
import { planChange, RevisionError } from '../../reconciler/report/plan.js';
import { renderPlanText, renderPlanMarkdown } from '../../reconciler/report/render-plan.js';

const cmd: Command = {
  name: 'plan',
  summary: 'what a change would do, for a pull request (text, markdown, json)',
  usage: [
    'Usage: canopy plan [--repo DIR] --base REV --head REV [--format text|markdown|json] [--full]',
    '',
    '  --repo DIR     the fleet repository (default .)',
    '  --base REV     what the change starts from, e.g. origin/main',
    '  --head REV     the change, e.g. HEAD; REV may be a branch, ref, commit, REV~N or REV^N',
    '  --format F     text (default), markdown (for a pull-request comment) or json',
    '  --full         judge and place every service, not only what the change can move (slow in',
    '                 a large fleet; the answer is the same: for checking)',
    '',
    "Validates head, places base and head with the root's own placement against the clusters'",
    'last status refs and current placements, and says what changes where and why, and where the',
    'root may decide otherwise. Reads Git alone: in a clone, first fetch',
    "'refs/canopy/*:refs/canopy/*' 'refs/notes/*:refs/notes/*'. Its cost follows the change: it",
    'reads what head changed and places what can move; what it learns of the placement records is',
    'kept in .git/canopy/ for the next plan.',
    'Exit 0 when head validates (unschedulable services are reported, not fatal), 1 when the',
    'merge would be rejected, 2 on usage errors such as an unknown revision.',
  ].join('\n'),
  options: { repo: { type: 'string' }, base: { type: 'string' }, head: { type: 'string' }, format: { type: 'string' }, full: { type: 'boolean' } },
  async run(v, pos) {
    if (pos.length) throw new UsageError(`canopy plan: unexpected argument ${pos[0]}\n\n${this.usage}`);
    required(this, v, 'base', 'head');
    const format = String(v.format ?? 'text');
    if (!['text', 'markdown', 'json'].includes(format)) throw new UsageError(`canopy plan: --format ${format}: expected text, markdown or json`);
    const repo = await openRepo(String(v.repo ?? '.')).catch((e: Error) => {
      throw new UsageError(`canopy plan: ${e.message}`);
    });
    const plan = await planChange(repo, { base: String(v.base), head: String(v.head), full: v.full === true }).catch((e: unknown) => {
      throw e instanceof RevisionError ? new UsageError(`canopy plan: ${e.message}`) : e;
    });
    const text = format === 'json' ? JSON.stringify(plan, null, 2) + '\n' : format === 'markdown' ? renderPlanMarkdown(plan) : renderPlanText(plan);
    process.stdout.write(text);
    return plan.accepted ? 0 : 1;
  },
};
export default cmd;
