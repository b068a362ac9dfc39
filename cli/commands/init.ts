import path from 'node:path';
import type { Command } from '../args.js';
import { UsageError } from '../../reconciler/core/errors.js';
import { initFleetRepo, isEmptyDir } from '../fleet-repo.js';

const cmd: Command = {
  name: 'init',
  summary: 'create a fleet repository from the template',
  usage: 'Usage: canopy init DIR\n\nWrites fleet.yaml, clusters/, services/ and schemas/ into DIR (absent or empty) and commits them on main.',
  options: {},
  async run(_v, pos) {
    if (pos.length !== 1) throw new UsageError(`canopy init: expected one directory\n\n${this.usage}`);
    const dir = path.resolve(pos[0]);
    if (!(await isEmptyDir(dir))) throw new UsageError(`canopy init: ${pos[0]} is not empty: choose a new directory`, 1);
    const commit = await initFleetRepo(dir);
    process.stdout.write(`Created fleet repository ${pos[0]} (main ${commit.slice(0, 12)}).\nNext: canopy up --repo ${pos[0]}\n`);
    return 0;
  },
};
export default cmd;
