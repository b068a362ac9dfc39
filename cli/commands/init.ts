import path from 'node:path';
import { command, Failure } from '../args.js';
import { initFleetRepo, isEmptyDir } from '../fleet-repo.js';

const cmd = command({
  name: 'init',
  summary: 'create a fleet repository from the template',
  usage: 'Usage: canopy init DIR\n\nWrites fleet.yaml, clusters/, services/ and schemas/ into DIR (absent or empty) and commits them on main.',
  options: {},
  args: { min: 1, max: 1, what: 'one directory' },
  async run(_v, pos) {
    const dir = path.resolve(pos[0]);
    if (!(await isEmptyDir(dir))) throw new Failure(`canopy init: ${pos[0]} is not empty: choose a new directory`);
    const commit = await initFleetRepo(dir);
    process.stdout.write(`Created fleet repository ${pos[0]} (main ${commit.slice(0, 12)}).\nNext: canopy up --repo ${pos[0]}\n`);
    return 0;
  },
});
export default cmd;
