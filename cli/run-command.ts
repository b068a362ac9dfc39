// Runs one command: parses and checks all its arguments (args.ts), prints its help, runs it and
// turns an error into a message and an exit code: 64 for a usage error (and only for one), a
// Failure's own code, else 1. Each command's bundle (dist/cli/bundle/<name>.cjs) holds this with
// the command, so an error class thrown by the command is the one checked here.
import { EX_USAGE, Failure, parse, type Command, type Options } from './args.js';
import { UsageError } from '../reconciler/core/errors.js';
import { guardStdio } from './stdio.js';

export async function runCommand<O extends Options>(cmd: Command<O>, argv: string[]): Promise<number> {
  guardStdio();
  try {
    const { values, positionals, help } = parse(cmd, argv);
    if (help) {
      process.stdout.write(`${cmd.summary}\n\n${cmd.usage}\n`);
      return 0;
    }
    const code = await cmd.run(values, positionals);
    // 64 says "usage error" to scripts: no other outcome may use it.
    return code === EX_USAGE ? 1 : code;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(e.message.trimEnd() + '\n');
      return EX_USAGE;
    }
    if (e instanceof Failure) {
      process.stderr.write(e.message.trimEnd() + '\n');
      return e.exitCode === EX_USAGE ? 1 : e.exitCode;
    }
    process.stderr.write(`canopy: ${(e as Error).message}\n`);
    if (process.env.CANOPY_LOG === 'debug') process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}
