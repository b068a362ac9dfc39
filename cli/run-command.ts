// Runs one command: parses its options, prints its help, runs it and turns an error into a
// message and an exit code. Each command's bundle (dist/cli/bundle/<name>.cjs) holds this with
// the command, so an error class thrown by the command is the one checked here.
import { parse, type Command } from './args.js';
import { UsageError } from '../reconciler/core/errors.js';

export async function runCommand(cmd: Command, argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parse(cmd, argv);
    if (values.help) {
      process.stdout.write(`${cmd.summary}\n\n${cmd.usage}\n`);
      return 0;
    }
    return await cmd.run(values as Record<string, string | boolean | undefined>, positionals);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(e.message.trimEnd() + '\n');
      return e.exitCode;
    }
    process.stderr.write(`canopy: ${(e as Error).message}\n`);
    if (process.env.CANOPY_LOG === 'debug') process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}
