import type { Command } from '../args.js';
import { openRepo } from '../../reconciler/git/repo.js';
import { fleetStatus } from '../../reconciler/report/fleet-status.js';
import { renderStatus } from '../../reconciler/report/render.js';

const cmd: Command = {
  name: 'status',
  summary: 'show services and clusters, from Git alone',
  usage: 'Usage: canopy status [--repo DIR] [--json]\n\nReads notes and status refs from the fleet repository: works from any clone, offline.',
  options: { repo: { type: 'string' }, json: { type: 'boolean' } },
  async run(v) {
    const repo = await openRepo(String(v.repo ?? '.'));
    const report = await fleetStatus(repo);
    process.stdout.write(v.json ? JSON.stringify(report, null, 2) + '\n' : renderStatus(report));
    return 0;
  },
};
export default cmd;
