#!/usr/bin/env node
// canopy's command line. Each command lives in cli/commands/<name>.ts and is loaded only when
// it runs, so `canopy status` does not pay for MQTT or Docker.
import { parse, type Command } from './args.js';
import { UsageError } from '../reconciler/core/errors.js';

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  init: { summary: 'create a fleet repository from the template', load: async () => (await import('./commands/init.js')).default },
  validate: { summary: 'check a fleet repository’s descriptors (file:line:column)', load: async () => (await import('./commands/validate.js')).default },
  up: { summary: 'run a whole fleet on this machine: broker, root, clusters, agents', load: async () => (await import('./commands/up.js')).default },
  root: { summary: 'run the root reconciler', load: async () => (await import('./commands/root.js')).default },
  cluster: { summary: 'run a cluster reconciler', load: async () => (await import('./commands/cluster.js')).default },
  agent: { summary: 'run a node agent', load: async () => (await import('./commands/agent.js')).default },
  status: { summary: 'show services and clusters, from Git alone', load: async () => (await import('./commands/status.js')).default },
  plan: { summary: 'what a change would do, for a pull request (text, markdown, json)', load: async () => (await import('./commands/plan.js')).default },
  history: { summary: 'placement timeline of a service or the fleet, from Git alone', load: async () => (await import('./commands/history.js')).default },
  wait: { summary: 'wait until a commit has converged (exit 0), was rejected (2) or time ran out (1)', load: async () => (await import('./commands/wait.js')).default },
  import: { summary: 'import an Oakestra SLA as canopy descriptors', load: async () => (await import('./commands/import.js')).default },
};

function help(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'canopy: GitOps for federated edge fleets',
    '',
    'Usage: canopy <command> [options]   (canopy <command> --help for its options)',
    '',
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(w)}  ${c.summary}`),
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') { process.stdout.write(help()); return name ? 0 : 2; }
  if (name === '--version') { process.stdout.write('canopy 0.1.0\n'); return 0; }
  const entry = COMMANDS[name];
  if (!entry) throw new UsageError(`canopy: unknown command "${name}"\n\n${help()}`);
  const cmd = await entry.load();
  const { values, positionals } = parse(cmd, rest);
  if (values.help) { process.stdout.write(`${cmd.summary}\n\n${cmd.usage}\n`); return 0; }
  return cmd.run(values as Record<string, string | boolean | undefined>, positionals);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => {
    if (e instanceof UsageError) { process.stderr.write(e.message.trimEnd() + '\n'); process.exitCode = e.exitCode; return; }
    process.stderr.write(`canopy: ${(e as Error).message}\n`);
    if (process.env.CANOPY_LOG === 'debug') process.stderr.write(`${(e as Error).stack}\n`);
    process.exitCode = 1;
  },
);
