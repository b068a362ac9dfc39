// The systemd units shipped in packaging/systemd: each one's ExecStart, expanded as systemd would
// with its example environment file, is a command line that canopy's own parser accepts (an
// option renamed or removed in the CLI fails here, not on a site at boot); the identity is the
// credential the unit loads; every variable it uses is set by its example or by systemd.
// test/e2e/package.test.ts checks the same units with systemd-analyze verify, as installed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, type Command, type Options } from '../../cli/args.js';
import agent from '../../cli/commands/agent.js';
import cluster from '../../cli/commands/cluster.js';
import root from '../../cli/commands/root.js';
import { ROOT } from '../helpers/canopy.js';

const test = suite('systemd units');
const DIR = path.join(ROOT, 'packaging/systemd');

interface Unit {
  file: string;
  part: 'root' | 'cluster' | 'agent';
  instance?: string;
  env: string;
}
const UNITS: Unit[] = [
  { file: 'canopy-root.service', part: 'root', env: 'root.env.example' },
  { file: 'canopy-cluster@.service', part: 'cluster', instance: 'munich', env: 'cluster.env.example' },
  { file: 'canopy-agent@.service', part: 'agent', instance: 'edge-1', env: 'agent.env.example' },
];
const COMMANDS: Record<Unit['part'], Command<Options>> = { root, cluster, agent } as unknown as Record<Unit['part'], Command<Options>>;

/** Key → values of a unit file's [Service] section (a key may repeat). */
function serviceSection(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('[')) section = line;
    else if (section === '[Service]') {
      const eq = line.indexOf('=');
      const key = line.slice(0, eq);
      out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
    }
  }
  return out;
}

/** An EnvironmentFile's assignments (no quoting is used in ours). */
function envFile(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/**
 * ExecStart= as systemd turns it into argv: specifiers (%i, %S, %C, %%), then per word `${VAR}`
 * as one word (inside a word too) and a lone `$VAR` split on whitespace. An unset variable throws.
 */
export function expandExecStart(line: string, instance: string | undefined, env: Record<string, string>): string[] {
  const spec: Record<string, string> = { i: instance ?? '', S: '/var/lib', C: '/var/cache', '%': '%' };
  const value = (name: string) => {
    if (!Object.hasOwn(env, name)) throw new Error(`ExecStart uses $${name}, set by neither its environment file nor systemd`);
    return env[name];
  };
  return line
    .replace(/%(.)/g, (_, c: string) => {
      if (!Object.hasOwn(spec, c)) throw new Error(`unexpected specifier %${c}`);
      return spec[c];
    })
    .split(/\s+/)
    .filter(Boolean)
    .flatMap((word) => {
      const lone = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(word);
      if (lone) return value(lone[1]).split(/\s+/).filter(Boolean);
      return [word.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, n: string) => value(n))];
    });
}

function load(u: Unit) {
  const service = serviceSection(readFileSync(path.join(DIR, u.file), 'utf8'));
  const env: Record<string, string> = { ...envFile(readFileSync(path.join(DIR, u.env), 'utf8')), CREDENTIALS_DIRECTORY: `/run/credentials/${u.file}` };
  const exec = service.get('ExecStart') ?? [];
  assert.is(exec.length, 1, `${u.file}: one ExecStart`);
  return { service, env, argv: expandExecStart(exec[0], u.instance, env) };
}

test('each ExecStart, expanded with its example environment file, is accepted by the part’s own option parser', () => {
  for (const u of UNITS) {
    const { argv } = load(u);
    assert.equal(argv.slice(0, 2), ['canopy', u.part], u.file);
    const parsed = parse(COMMANDS[u.part], argv.slice(2));
    assert.not.ok(parsed.help, u.file);
    assert.ok(parsed.values.broker, `${u.file}: --broker from CANOPY_BROKER`);
    if (u.instance) assert.is(parsed.values.name, u.instance, `${u.file}: the instance is the part's name`);
  }
});

test('the check fails on what a site would see fail: an unknown option, a bad value, a variable nobody sets', () => {
  const u = UNITS[2];
  const { argv, env } = load(u);
  assert.throws(() => parse(COMMANDS.agent, [...argv.slice(2), '--no-such-option']), /no-such-option/);
  const badRuntime = argv.slice(2).map((a) => (a === env.CANOPY_RUNTIME ? 'kubernetes' : a));
  assert.throws(() => parse(COMMANDS.agent, badRuntime), /--runtime kubernetes/);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: systemd's ${VAR}, not a template
  assert.throws(() => expandExecStart('canopy agent --name ${NOT_SET}', 'x', env), /NOT_SET/);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: systemd's ${VAR}, not a template
  assert.equal(expandExecStart('canopy x --a ${A} $B --c %i/%S', 'n', { A: 'one two', B: 'p  q' }), [
    'canopy',
    'x',
    '--a',
    'one two',
    'p',
    'q',
    '--c',
    'n//var/lib',
  ]);
});

test('the identity is a loaded credential; the parts restart; the state is the unit’s own directory', () => {
  for (const u of UNITS) {
    const { service, argv, env } = load(u);
    const cred = service.get('LoadCredential') ?? [];
    assert.is(cred.length, 1, u.file);
    const [name, source] = cred[0].split(':');
    assert.is(argv[argv.indexOf('--identity') + 1], `${env.CREDENTIALS_DIRECTORY}/${name}`, u.file);
    assert.match(source, /^\/etc\/canopy\/identities\/[a-z%-]+\.json$/, u.file);
    assert.equal(service.get('Restart'), ['always'], u.file);
    assert.equal(service.get('User'), ['canopy'], u.file);
    assert.ok(service.get('EnvironmentFile')?.[0].startsWith('/etc/canopy/'), u.file);
    assert.equal(service.get('NoNewPrivileges'), ['yes'], u.file);
    if (u.part !== 'root') {
      const stateDir = argv[argv.indexOf('--state-dir') + 1];
      assert.is(stateDir, `/var/lib/${service.get('StateDirectory')?.[0].replace('%i', u.instance ?? '')}`, u.file);
    }
  }
  // The agent keeps what Docker and the node's networking need; the reconcilers keep no capability.
  const agentUnit = load(UNITS[2]).service;
  assert.equal(agentUnit.get('SupplementaryGroups'), ['docker']);
  assert.match(agentUnit.get('AmbientCapabilities')?.[0] ?? '', /CAP_NET_ADMIN/);
  assert.match(agentUnit.get('RestrictAddressFamilies')?.[0] ?? '', /AF_UNIX.*AF_NETLINK/);
  assert.not.ok(agentUnit.has('PrivateTmp'), 'a private /tmp would hide bind sources from the Docker daemon');
  for (const u of UNITS.slice(0, 2)) assert.equal(load(u).service.get('CapabilityBoundingSet'), [''], u.file);
});

test.run();
