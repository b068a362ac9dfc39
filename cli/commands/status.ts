import { command, flag, text } from '../args.js';
import { openRepo } from '../../reconciler/git/repo.js';
import { fleetStatus } from '../../reconciler/report/fleet-status.js';
import { renderStatus } from '../../reconciler/report/render.js';

const cmd = command({
  name: 'status',
  summary: 'show services and clusters, from Git alone',
  usage:
    'Usage: canopy status [--repo DIR] [--all] [--json]\n\nReads notes and status refs from the fleet repository: works from any clone, offline.\nA large fleet shows the services and clusters that need a look first (at most 40 of each);\n--all lists every one.',
  options: { repo: text({ default: '.' }), json: flag(), all: flag() },
  async run(v) {
    const repo = await openRepo(v.repo);
    const report = await fleetStatus(repo);
    process.stdout.write(v.json ? JSON.stringify(report, null, 2) + '\n' : renderStatus(report, new Date(), { all: v.all }));
    return 0;
  },
});
export default cmd;
