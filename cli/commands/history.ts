import { ArgProblem, command, custom, flag, number, text, usageError } from '../args.js';
import { openRepo } from '../../reconciler/git/repo.js';
import { fleetHistory, parseSince, UnknownServiceError, WALK_LIMIT } from '../../reconciler/report/history.js';
import { renderHistory } from '../../reconciler/report/render-history.js';

const cmd = command({
  name: 'history',
  summary: 'placement timeline of a service or the fleet, from Git alone',
  usage: [
    'Usage: canopy history [SERVICE] [--repo DIR] [--since DATE] [--until DATE] [--limit N] [--json]',
    '',
    '  SERVICE       app/name (or name, when one app has it); without it, the whole fleet',
    '  --repo DIR    the fleet repository (default .)',
    '  --since DATE  2026-11-20, 2026-11-20T08:00:00Z or "3 days ago" (UTC)',
    '  --until DATE  the same forms: events after it are left out (newer commits do not count toward --limit)',
    `  --limit N     commits walked per ref (default ${WALK_LIMIT}); a cut walk is reported`,
    '  --json        the events as JSON',
    '',
    'Reads the notes on main, the placement refs and the status refs: works from any clone,',
    "offline, once 'refs/canopy/*:refs/canopy/*' and 'refs/notes/*:refs/notes/*' are fetched.",
  ].join('\n'),
  options: {
    repo: text({ default: '.' }),
    since: custom(aDate),
    until: custom(aDate),
    limit: number({ min: 1, integer: true }),
    json: flag(),
  },
  args: { max: 1, what: 'at most one service' },
  check: (v) => (v.since && v.until && v.until < v.since ? ['--until: before --since'] : []),
  async run(v, pos) {
    const repo = await openRepo(v.repo).catch((e: Error) => {
      throw usageError(this, `--repo ${v.repo}: ${e.message}`);
    });
    try {
      const h = await fleetHistory(repo, { service: pos[0], since: v.since, until: v.until, limit: v.limit });
      process.stdout.write(v.json ? JSON.stringify(h, null, 2) + '\n' : renderHistory(h));
      return 0;
    } catch (e) {
      if (e instanceof UnknownServiceError) {
        process.stderr.write(`canopy history: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
  },
});
export default cmd;

function aDate(t: string): Date {
  const d = parseSince(t);
  if (!d) throw new ArgProblem('expected a date (2026-11-20), an ISO time or "N days ago"');
  return d;
}
