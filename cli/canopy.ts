#!/usr/bin/env node
// canopy's command line. This entry knows only the commands' names and summaries; each command
// is a bundle of its own (dist/cli/bundle/<name>.cjs: the command and exactly the code it
// needs) loaded when it runs, so `canopy status` does not pay for MQTT, Docker or a Git client.
import { UsageError } from '../reconciler/core/errors.js';
import { loadCommand } from './load-command.js';
import { leanV8 } from './parts/lean.js';
import { guardStdio } from './stdio.js';

/** sysexits.h EX_USAGE: every usage error, and nothing else (args.ts has the same). */
const EX_USAGE = 64;

/** Every command, with its summary (each command's file repeats it for its own --help). */
export const COMMANDS: Record<string, string> = {
  init: 'create a fleet repository from the template',
  validate: 'check a fleet repository’s descriptors (file:line:column)',
  up: 'run a whole fleet on this machine: broker, root, clusters, agents',
  root: 'run the root reconciler',
  cluster: 'run a cluster reconciler',
  agent: 'run a node agent',
  status: 'show services and clusters, from Git alone',
  plan: 'what a change would do, for a pull request (text, markdown, json)',
  logs: 'a service’s output from the nodes that run it (over MQTT, bounded)',
  history: 'placement timeline of a service or the fleet, from Git alone',
  ui: 'serve the web dashboard from a clone, Git alone',
  wait: 'wait until a commit has converged (exit 0), was rejected (2) or time ran out (1)',
  import: 'import an Oakestra SLA as canopy descriptors',
  identity: 'create a part’s identity: broker credential, signing key, age key',
  secret: 'seal a secret to the clusters that use it; list its keys',
  'git-hook': 'one writer per canopy ref: a pre-receive hook for the fleet’s Git server',
  'broker-config': 'write Mosquitto’s password file, ACL file and configuration from identity files',
  retire: 'retire a cluster: commit clusters/C.yaml spec.retired: true (its services drain first)',
  bundle: 'carry placements to an air-gapped site and its status back, as Git bundle files',
};

function help(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'canopy: GitOps for federated edge fleets',
    '',
    'Usage: canopy <command> [options]   (canopy <command> --help for its options)',
    '',
    ...Object.entries(COMMANDS).map(([n, s]) => `  ${n.padEnd(w)}  ${s}`),
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  guardStdio();
  const [name, ...rest] = argv;
  if (!name) {
    process.stderr.write(help());
    return EX_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    return 0;
  }
  if (name === '--version') {
    process.stdout.write('canopy 0.1.0\n');
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, name)) throw new UsageError(`canopy: unknown command "${name}"\n\n${help()}`, EX_USAGE);
  // Stack traces in the .ts sources (the bundles carry source maps in a checkout) when debugging.
  if (process.env.CANOPY_LOG === 'debug') process.setSourceMapsEnabled(true);
  // The agent's V8 settings (parts/lean.ts) before its bundle is compiled: V8 takes a code cache
  // only under the flags it was made with, and the cache is written under these.
  if (name === 'agent') await leanV8();
  return loadCommand(name)(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    if (e instanceof UsageError) {
      process.stderr.write(e.message.trimEnd() + '\n');
      process.exitCode = EX_USAGE;
      return;
    }
    process.stderr.write(`canopy: ${(e as Error).message}\n`);
    if (process.env.CANOPY_LOG === 'debug') process.stderr.write(`${(e as Error).stack}\n`);
    process.exitCode = 1;
  },
);
