// Where a process workload's executable is: argv[0] looked up as spawning it would look it up
// (the workload's PATH, else the agent's, else /usr/bin:/bin; a name with a slash is taken from
// the agent's directory). Admission judges that file, and the process runtime is then handed its
// absolute path, so the workload's own PATH cannot swap in another one afterwards.
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** The absolute path `command` runs as, or undefined when there is none on the PATH. */
export function findExecutable(command: string, env?: Record<string, string>, cwd = process.cwd()): string | undefined {
  if (command.includes('/')) return path.resolve(cwd, command);
  const search = { ...process.env, ...env }.PATH ?? '/usr/bin:/bin';
  for (const dir of search.split(':')) {
    const file = path.resolve(cwd, dir, command);
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}
