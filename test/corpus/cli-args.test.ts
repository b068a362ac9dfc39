// The command-line corpus (cli-cases.ts): every bad argument of every command is a usage error
// (exit 64, sysexits EX_USAGE) whose lines read `canopy <command>: <problem>`, naming the
// option, followed by the command's usage line. In process, through the commands' own specs
// (cli/args.ts parse, or runCommand for what is judged by reading --repo); then a batch of them
// through the real binary, dist/cli/canopy.js, which must say and exit the same, having created
// nothing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { EX_USAGE, parse, type Command, type Options } from '../../cli/args.js';
import { runCommand } from '../../cli/run-command.js';
import { UsageError } from '../../reconciler/core/errors.js';
import { canopyAsync } from '../helpers/canopy.js';
import { printCount } from '../helpers/corpus.js';
import { commitFiles, git, tempDir } from '../helpers/git.js';
import { cliCases, type CliCase } from './cli-cases.js';

const test = suite('corpus: bad command lines exit 64, naming the option');
const work = tempDir('canopy-corpus-cli-');
const paths = { repo: path.join(work, 'fleet'), plain: path.join(work, 'plain'), none: path.join(work, 'none'), state: path.join(work, 'state') };
mkdirSync(paths.repo);
mkdirSync(paths.plain);
git(paths.repo, 'init', '-q', '-b', 'main');
commitFiles(paths.repo, { 'fleet.yaml': 'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: demo}\n' });
const CASES = cliCases(paths);
/** Every command, as the bundler finds them: each file in cli/commands/. */
const COMMANDS = readdirSync(new URL('../../cli/commands/', import.meta.url))
  .filter((f) => f.endsWith('.js'))
  .map((f) => f.slice(0, -'.js'.length))
  .sort();

const commands = new Map<string, Command<Options>>();
async function commandOf(name: string): Promise<Command<Options>> {
  let c = commands.get(name);
  if (!c) commands.set(name, (c = (await import(`../../cli/commands/${name}.js`)).default as Command<Options>));
  return c;
}

/** runCommand with stdout and stderr kept: its exit code and what it wrote. */
async function runQuiet(cmd: Command<Options>, argv: string[]): Promise<{ code: number; stderr: string }> {
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stdout.write = () => true;
  process.stderr.write = ((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await runCommand(cmd, argv), stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** The usage error's message: every wanted line there, then the usage line. */
function says(c: CliCase, message: string): void {
  const label = `canopy ${c.command} ${c.argv.join(' ')}`;
  for (const w of c.want) {
    const line = `canopy ${c.command}: ${w}`;
    assert.ok(
      message.split('\n').some((l) => l.startsWith(line)),
      `${label}\nwant a line starting: ${line}\ngot:\n${message}`,
    );
  }
  assert.match(message, new RegExp(`\\n\\nUsage: canopy ${c.command}[ \\n][\\s\\S]*\\(canopy ${c.command} --help describes every option\\)\\n?$`), label);
}

const name = (c: CliCase) => `${c.command} ${c.argv.map((a) => (a.startsWith(work) ? a.replace(work, '…') : a)).join(' ') || '(nothing)'}`;

for (const c of CASES) {
  test(name(c), async () => {
    const cmd = await commandOf(c.command);
    if (c.run) {
      const r = await runQuiet(cmd, c.argv);
      assert.is(r.code, EX_USAGE, `${name(c)}: exit ${r.code}\n${r.stderr}`);
      says(c, r.stderr.trimEnd());
      return;
    }
    try {
      parse(cmd, c.argv);
    } catch (e) {
      assert.ok(e instanceof UsageError, `${name(c)}: ${(e as Error).message}`);
      assert.is((e as UsageError).exitCode, EX_USAGE);
      says(c, (e as Error).message);
      return;
    }
    assert.unreachable(`${name(c)}: accepted`);
  });
}

test('every command has its cases', () => {
  const have = new Set(CASES.map((c) => c.command));
  assert.equal(
    COMMANDS.filter((c) => !have.has(c)),
    [],
  );
});

// The real binary: the first case of each command, the run-time ones, and no command at all.
const BINARY: Array<{ argv: string[]; want: RegExp }> = [
  { argv: [], want: /^Usage: canopy <command>/m },
  { argv: ['nope'], want: /^canopy: unknown command "nope"/m },
  { argv: ['Up'], want: /^canopy: unknown command "Up"/m },
  { argv: ['--verbose'], want: /^canopy: unknown command "--verbose"/m },
  ...COMMANDS.map((command) => {
    const c = CASES.find((x) => x.command === command)!;
    return { argv: [command, ...c.argv], want: new RegExp(`^canopy ${command}: ${c.want[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm') };
  }),
  ...CASES.filter((c) => c.run).map((c) => ({
    argv: [c.command, ...c.argv],
    want: new RegExp(`^canopy ${c.command}: ${c.want[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'),
  })),
];

test(`the real binary: ${BINARY.length} command lines, 4 at a time`, async () => {
  const results: Array<{ argv: string[]; code: number; stderr: string; stdout: string }> = [];
  for (let i = 0; i < BINARY.length; i += 4) {
    const batch = BINARY.slice(i, i + 4);
    results.push(...(await Promise.all(batch.map(async (b) => ({ argv: b.argv, ...(await canopyAsync(b.argv, { cwd: work, timeoutMs: 30_000 })) })))));
  }
  results.forEach((r, i) => {
    assert.is(r.code, EX_USAGE, `canopy ${r.argv.join(' ')}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, BINARY[i].want, `canopy ${r.argv.join(' ')}`);
    assert.is(r.stdout, '', `canopy ${r.argv.join(' ')} wrote to stdout`);
  });
  // Nothing was created by any of them.
  assert.equal([existsSync(paths.none), existsSync(paths.state)], [false, false]);
});

test.after(() => {
  const counts: Record<string, number> = {};
  for (const c of CASES) counts[c.command] = (counts[c.command] ?? 0) + 1;
  printCount('command lines', counts);
  console.log(`corpus command lines: ${BINARY.length} of them again through the real binary`);
});

test.run();
