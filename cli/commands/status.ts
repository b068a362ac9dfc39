import type { Command } from '../args.js';
import { openRepo } from '../../reconciler/git/repo.js';
import { fleetStatus } from '../../reconciler/report/fleet-status.js';
import { renderStatus } from '../../reconciler/report/render.js';

const cmd: Command = {
  name: 'status',
  summary: 'show services and clusters, from Git alone',
  usage:
    'Usage: canopy status [--repo DIR] [--all] [--json]\n\nReads notes and status refs from the fleet repository: works from any clone, offline.\nA large fleet shows the services and clusters that need a look first (at most 40 of each);\n--all lists every one.',
  options: { repo: { type: 'string' }, json: { type: 'boolean' }, all: { type: 'boolean' } },
  async run(v) {
    const repo = await openRepo(String(v.repo ?? '.'));
    const report = await fleetStatus(repo);
    process.stdout.write(v.json ? JSON.stringify(report, null, 2) + '\n' : renderStatus(report, new Date(), { all: v.all === true }));
    return 0;
  },
};
export default cmd;
