import { command, flag, text, usageError } from '../args.js';
import { openRepo } from '../../reconciler/git/repo.js';
import { fleetStatus } from '../../reconciler/report/fleet-status.js';
import { renderStatus } from '../../reconciler/report/render.js';
import { fleetStatusAt, MomentError, momentOf } from '../../reconciler/report/status-at.js';
import { watchStatus } from '../status-watch.js';

const cmd = command({
  name: 'status',
  summary: 'show services and clusters, from Git alone',
  usage:
    'Usage: canopy status [--repo DIR] [--all] [--json] [--watch] [--at TIME|REV]\n\nReads notes and status refs from the fleet repository: works from any clone, offline.\nA large fleet shows the services and clusters that need a look first (at most 40 of each);\n--all lists every one. --watch redraws the table when it changes (the same columns as\ncanopy up shows) until Ctrl-C; with --json it prints one status document per change, a line each.\n--at shows the fleet as it stood at a past moment: an ISO time (2026-11-20T08:00:00Z, UTC when\nno zone is given) or a revision (the moment the root accepted that commit, from its note).',
  options: { repo: text({ default: '.' }), json: flag(), all: flag(), watch: flag('w'), at: text() },
  async run(v) {
    const repo = await openRepo(v.repo);
    if (v.at !== undefined) {
      if (v.watch) throw usageError(this, '--at and --watch: a past moment does not change; give one of them');
      const at = await momentOf(repo, v.at).catch((e: Error) => {
        throw e instanceof MomentError ? usageError(this, `--at ${v.at}: ${e.message}`) : e;
      });
      const report = await fleetStatusAt(repo, at).catch((e: Error) => {
        throw e instanceof MomentError ? usageError(this, `--at ${v.at}: ${e.message}`) : e;
      });
      process.stdout.write(v.json ? JSON.stringify(report, null, 2) + '\n' : `as of ${report.at}\n${renderStatus(report, at, { all: v.all })}`);
      return 0;
    }
    if (v.watch) return watchStatus(repo, { json: v.json, all: v.all, everyMs: 2000 });
    const report = await fleetStatus(repo);
    process.stdout.write(v.json ? JSON.stringify(report, null, 2) + '\n' : renderStatus(report, new Date(), { all: v.all }));
    return 0;
  },
});
export default cmd;
