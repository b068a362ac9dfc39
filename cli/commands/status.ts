import { command, flag, text } from '../args.js';
import { openRepo } from '../../reconciler/git/repo.js';
import { fleetStatus } from '../../reconciler/report/fleet-status.js';
import { renderStatus } from '../../reconciler/report/render.js';
import { watchStatus } from '../status-watch.js';

const cmd = command({
  name: 'status',
  summary: 'show services and clusters, from Git alone',
  usage:
    'Usage: canopy status [--repo DIR] [--all] [--json] [--watch]\n\nReads notes and status refs from the fleet repository: works from any clone, offline.\nA large fleet shows the services and clusters that need a look first (at most 40 of each);\n--all lists every one. --watch redraws the table when it changes (the same columns as\ncanopy up shows) until Ctrl-C; with --json it prints one status document per change, a line each.',
  options: { repo: text({ default: '.' }), json: flag(), all: flag(), watch: flag('w') },
  async run(v) {
    const repo = await openRepo(v.repo);
    if (v.watch) return watchStatus(repo, { json: v.json, all: v.all, everyMs: 2000 });
    const report = await fleetStatus(repo);
    process.stdout.write(v.json ? JSON.stringify(report, null, 2) + '\n' : renderStatus(report, new Date(), { all: v.all }));
    return 0;
  },
});
export default cmd;
