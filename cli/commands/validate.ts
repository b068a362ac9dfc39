import path from 'node:path';
import { lstat, readFile } from 'node:fs/promises';
import { command, Failure, flag } from '../args.js';
import { validateFleet, formatProblem, type FleetFile, type Problem } from '../../reconciler/core/validate.js';
import { listWorkTree } from '../fleet-repo.js';
import { sealedFileProblems } from '../../reconciler/core/secret-rules.js';

const cmd = command({
  name: 'validate',
  summary: 'check a fleet repository’s descriptors (file:line:column)',
  usage:
    'Usage: canopy validate [DIR] [--json]\n\nChecks the files in DIR (default .) as they are on disk: YAML, schemas, layout, cross-file rules.\nExit 0 when valid, 1 with one line per problem otherwise.',
  options: { json: flag() },
  args: { max: 1, what: 'at most one directory' },
  async run(v, pos) {
    const dir = path.resolve(pos[0] ?? '.');
    const files: FleetFile[] = [];
    const problems: Problem[] = [];
    let names: string[];
    try {
      names = await listWorkTree(dir);
    } catch (e) {
      throw new Failure(`canopy validate: cannot read ${dir}: ${(e as Error).message}`);
    }
    for (const f of names) {
      const st = await lstat(path.join(dir, f));
      if (st.isSymbolicLink()) {
        problems.push({ file: f, line: 1, column: 1, message: 'symbolic links are not allowed in a fleet repository: commit the file itself' });
        continue;
      }
      if (st.size > 1024 * 1024 && /\.ya?ml$/.test(f)) {
        problems.push({ file: f, line: 1, column: 1, message: `file is ${st.size} bytes; descriptors are limited to 1 MiB` });
        continue;
      }
      files.push({ path: f, text: st.size > 1024 * 1024 ? '' : await readFile(path.join(dir, f), 'utf8'), size: st.size });
    }
    const r = validateFleet(files);
    if (!r.ok) problems.push(...r.problems);
    problems.push(...sealedFileProblems(new Map(files.map((f) => [f.path, f]))));
    // Code-point order, as the root sorts a rejected commit's problems (and no ICU collator to start).
    problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
    if (v.json) {
      process.stdout.write(JSON.stringify({ ok: !problems.length, problems, services: r.ok ? r.services.length : undefined }, null, 2) + '\n');
    } else if (problems.length) {
      for (const p of problems) process.stderr.write(formatProblem(p) + '\n');
      process.stderr.write(`${problems.length} problem(s): fix them and run canopy validate again.\n`);
    } else if (r.ok) {
      process.stdout.write(`ok: fleet ${r.fleet.metadata.name}, ${r.services.length} service(s), ${r.clusters.length} cluster(s)\n`);
    }
    return problems.length ? 1 : 0;
  },
});
export default cmd;
