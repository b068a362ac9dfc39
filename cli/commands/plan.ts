import { command, flag, oneOf, text, usageError } from '../args.js';
import { openRepo } from '../../reconciler/git/repo.js';
import { planChange, RevisionError } from '../../reconciler/report/plan.js';
import { renderPlanText, renderPlanMarkdown } from '../../reconciler/report/render-plan.js';

const cmd = command({
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
    'merge would be rejected, 64 on usage errors such as an unknown revision.',
  ].join('\n'),
  options: {
    repo: text({ default: '.' }),
    base: text({ required: true }),
    head: text({ required: true }),
    format: oneOf(['text', 'markdown', 'json'], { default: 'text' }),
    full: flag(),
  },
  async run(v) {
    const format = v.format;
    const repo = await openRepo(v.repo).catch((e: Error) => {
      throw usageError(this, `--repo ${v.repo}: ${e.message}`);
    });
    const plan = await planChange(repo, { base: v.base, head: v.head, full: v.full }).catch((e: unknown) => {
      if (!(e instanceof RevisionError)) throw e;
      throw usageError(this, `${e.rev === v.base ? `--base ${v.base}` : e.rev === v.head ? `--head ${v.head}` : 'a revision'}: ${e.message}`);
    });
    const text = format === 'json' ? JSON.stringify(plan, null, 2) + '\n' : format === 'markdown' ? renderPlanMarkdown(plan) : renderPlanText(plan);
    process.stdout.write(text);
    return plan.accepted ? 0 : 1;
  },
});
export default cmd;
