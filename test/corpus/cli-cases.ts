// Bad command lines, one row each, for every command: the arguments and the problem the usage
// error must name (each line of it reads `canopy <command>: <problem>`). `run` rows are caught
// when the command runs (a revision or a --repo judged by reading it), the others when the
// arguments are parsed; all must exit 64 before anything starts.

export interface CliCase {
  command: string;
  argv: string[];
  /** Each a line of the error, after `canopy <command>: ` (or its start). */
  want: string[];
  /** Only found when the command runs (it reads --repo): run it, do not just parse. */
  run?: boolean;
}

/** Paths the rows name: a fleet repository, a directory that is none, a path that does not exist. */
export interface Paths {
  repo: string;
  plain: string;
  none: string;
  state: string;
}

export function cliCases(p: Paths): CliCase[] {
  const rows: CliCase[] = [];
  const on =
    (command: string, base: string[] = []) =>
    (argv: string[], ...want: string[]) =>
      rows.push({ command, argv: [...base, ...argv], want });
  const run =
    (command: string, base: string[] = []) =>
    (argv: string[], ...want: string[]) =>
      rows.push({ command, argv: [...base, ...argv], want, run: true });
  const B = 'mqtt://127.0.0.1:1';
  const broker = 'expected mqtt://HOST:PORT or mqtts://HOST:PORT';
  const duration = 'expected a duration from 0.1 s to 24 days';

  const init = on('init');
  init([], 'expected one directory, got none');
  init(['a', 'b'], 'expected one directory, got a b');
  init(['x', '--bare'], "Unknown option '--bare'");
  init(['x', '-q'], "Unknown option '-q'");
  init(['x', '--help=yes'], "Option '-h, --help' does not take an argument");

  const validate = on('validate');
  validate(['a', 'b'], 'expected at most one directory, got a b');
  validate(['--strict'], "Unknown option '--strict'");
  validate(['--json=yes'], "Option '--json' does not take an argument");

  const up = on('up', ['--repo', p.none]);
  up(['--clusters', 'x'], '--clusters x: expected a whole number >= 1');
  up(['--clusters', '0'], '--clusters 0: expected a whole number >= 1');
  up(['--clusters', '1.5'], '--clusters 1.5: expected a whole number >= 1');
  up(['--clusters=-1'], '--clusters -1: expected a whole number >= 1');
  up(['--clusters='], '--clusters: expected a value, got an empty one');
  up(['--clusters', '0x10'], '--clusters 0x10: expected a whole number >= 1');
  up(['--nodes', '0'], '--nodes 0: expected a whole number >= 1');
  up(['--nodes', 'two'], '--nodes two: expected a whole number >= 1');
  up(['--runtime', 'dockr'], '--runtime dockr: expected docker, process or sim');
  up(['--runtime', 'Docker'], '--runtime Docker: expected docker, process or sim');
  up(['--broker', 'http://x:1'], `--broker http://x:1: ${broker}`);
  up(['--broker', 'localhost:1883'], `--broker localhost:1883: ${broker}`);
  up(['--broker', 'mqtt://'], `--broker mqtt://: ${broker}`);
  up(['--cluster', '2'], "Unknown option '--cluster'");
  up(['--nodes'], "Option '--nodes <value>' argument missing");
  up(['extra'], 'unexpected argument extra');
  up(['--keep-workloads=yes'], "Option '--keep-workloads' does not take an argument");
  up(['--ui', 'localhost'], '--ui localhost: expected HOST:PORT or PORT');
  up(['--ui', '70000'], '--ui 70000: expected HOST:PORT or PORT');
  up(['--no-ui', '--ui', '8080'], '--no-ui goes without --ui and --ui-token-file');
  up(['--no-ui=yes'], "Option '--no-ui' does not take an argument");
  run('up', ['--repo', p.none])(['--ui-token-file', p.none], `--ui-token-file ${p.none}: no such file`);
  up(
    ['--clusters', '1.5', '--nodes=-1', '--runtime', 'dockr'],
    '--clusters 1.5: expected a whole number >= 1',
    '--nodes -1: expected a whole number >= 1',
    '--runtime dockr',
  );

  const root = on('root', ['--repo', p.repo, '--broker', B]);
  on('root')([], 'missing --repo, --broker');
  on('root')(['--repo', p.repo], 'missing --broker');
  on('root')(['--repo', p.repo, '--broker', 'nope'], `--broker nope: ${broker}`);
  root(['--poll-seconds', '0'], `--poll-seconds 0: ${duration}`);
  root(['--poll-seconds', '50ms'], `--poll-seconds 50ms: ${duration}`);
  root(['--poll-seconds', '1000h'], `--poll-seconds 1000h: ${duration}`);
  root(['--poll-seconds', '5 minutes'], `--poll-seconds 5 minutes: ${duration}`);
  root(['--poll-seconds=-1'], `--poll-seconds -1: ${duration}`);
  root(['--webhook', '99999'], '--webhook 99999: expected HOST:PORT or PORT');
  root(['--webhook', 'host:'], '--webhook host:: expected HOST:PORT or PORT');
  root(['--webhook', '8090'], '--webhook needs a remote --repo URL');
  root(['--webhook-secret', 's'], '--webhook-secret needs --webhook');
  root(['--identity='], '--identity: expected a value, got an empty one');
  root(['--ui', 'host:'], '--ui host:: expected HOST:PORT or PORT');
  root(['--ui-token-file', 'f'], '--ui-token-file needs --ui');
  run('root', ['--repo', p.repo, '--broker', B])(['--ui', '0', '--ui-token-file', p.none], `--ui-token-file ${p.none}: no such file`);
  root(['--identity-file', 'x'], "Unknown option '--identity-file'");
  root(['--tls-ca='], '--tls-ca: expected a value, got an empty one');
  on('root')(['--repo', p.repo, '--broker', 'mqtts://'], `--broker mqtts://: ${broker}`);
  on('root')(['--repo=', '--broker', B], 'missing --repo');

  const cluster = on('cluster', ['--name', 'munich', '--broker', B, '--state-dir', p.state]);
  on('cluster')([], 'missing --name, --broker, --state-dir');
  on('cluster')(['--name', 'c', '--broker', 'nope', '--state-dir', p.state], `--broker nope: ${broker}`);
  cluster(['--node-broker', 'http://x'], `--node-broker http://x: ${broker}`);
  cluster(['--labels', 'x'], '--labels x: expected key=value[,key=value…]');
  cluster(['--labels', 'a=1,b'], '--labels a=1,b: expected key=value[,key=value…]');
  cluster(['--labels', 'bad key=1'], '--labels bad key=1: expected key=value[,key=value…]');
  cluster(['--location', '100,0'], '--location 100,0: expected LAT,LON in degrees');
  cluster(['--location', '0,181'], '--location 0,181: expected LAT,LON in degrees');
  cluster(['--location', 'munich'], '--location munich: expected LAT,LON in degrees');
  cluster(['--location', '48.1;11.5'], '--location 48.1;11.5: expected LAT,LON in degrees');
  cluster(['--operator='], '--operator: expected a value, got an empty one');
  on('cluster')(['--name', 'munich', '--broker', B, '--state-dir='], 'missing --state-dir');
  cluster(['--operator'], "Option '--operator <value>' argument missing");
  cluster(['extra'], 'unexpected argument extra');
  cluster(['--log-format', 'xml'], '--log-format xml: expected text or json');
  root(['--log-format', 'JSON'], '--log-format JSON: expected text or json');
  up(['--log-format='], '--log-format: expected a value, got an empty one');
  cluster(['--tls-key='], '--tls-key: expected a value, got an empty one');

  const agent = on('agent', ['--cluster', 'munich', '--name', 'n1', '--broker', B, '--runtime', 'sim', '--state-dir', p.state]);
  on('agent')(['--cluster', 'c'], 'missing --name, --broker, --runtime, --state-dir');
  on('agent')(
    ['--cluster', 'c', '--name', 'n', '--broker', B, '--runtime', 'dockr', '--state-dir', p.state],
    '--runtime dockr: expected docker, process or sim (docker,process for both)',
  );
  on('agent')(
    ['--cluster', 'c', '--name', 'n', '--broker', B, '--runtime', 'docker,sim', '--state-dir', p.state],
    '--runtime docker,sim: expected docker, process or sim',
  );
  agent(['--broker', 'mqtt://'], `--broker mqtt://: ${broker}`);
  agent(['--cpu=-1'], '--cpu -1: expected a number >= 0');
  agent(['--log-format', 'logfmt'], '--log-format logfmt: expected text or json');
  agent(['--cpu', 'two'], '--cpu two: expected a number >= 0');
  agent(['--cpu', 'Infinity'], '--cpu Infinity: expected a number >= 0');
  agent(['--gpu', '1.5'], '--gpu 1.5: expected a whole number >= 0');
  agent(['--gpu=-2'], '--gpu -2: expected a whole number >= 0');
  agent(['--memory', 'lots'], '--memory lots: expected a quantity like 512Mi or 2Gi');
  agent(['--memory', '1.5Xi'], '--memory 1.5Xi: expected a quantity like 512Mi or 2Gi');
  agent(['--memory=-1Gi'], '--memory -1Gi: expected a quantity like 512Mi or 2Gi');
  agent(['--labels', 'x'], '--labels x: expected key=value[,key=value…]');
  agent(['--location', '91,0'], '--location 91,0: expected LAT,LON in degrees');
  agent(['--probe-every', '0'], `--probe-every 0: ${duration}`);
  agent(['--probe-every', '10x'], `--probe-every 10x: ${duration}`);
  agent(['--allow-image='], '--allow-image: expected a value, got an empty one');
  agent(['--allow-image', 'nginx:*,,redis:*'], '--allow-image nginx:*,,redis:*: expected a comma-separated list without empty items');
  agent(['--allow-image', 'bad image!'], '--allow-image bad image!: image pattern "bad image!": expected an image reference');
  agent(['--allow-image', 'nginx:*', '--allow-image', 'a b'], '--allow-image nginx:*,a b: image pattern "a b"');
  agent(['--allow-command', 'sleep'], '--allow-command sleep: command pattern "sleep": expected an absolute path');
  agent(['--allow-command', ' /bin/sleep'], '--allow-command  /bin/sleep: command pattern " /bin/sleep": has spaces at its ends');
  agent(['--node', 'n1'], "Unknown option '--node'");
  agent(['--tls-cert='], '--tls-cert: expected a value, got an empty one');

  const status = on('status', ['--repo', p.repo]);
  status(['--nope'], "Unknown option '--nope'");
  status(['extra'], 'unexpected argument extra');
  status(['--all=yes'], "Option '--all' does not take an argument");
  status(['--at'], "Option '--at <value>' argument missing");
  run('status', ['--repo', p.repo])(['--at', 'nosuchrev'], '--at nosuchrev: expected an ISO time (2026-11-20T08:00:00Z) or a revision');
  run('status', ['--repo', p.repo])(['--at', '2026-13-45T00:00:00Z'], '--at 2026-13-45T00:00:00Z: expected an ISO time');
  run('status', ['--repo', p.repo])(['--at', '1970-01-02T00:00:00Z'], "--at 1970-01-02T00:00:00Z: 1970-01-02T00:00:00.000Z is before the fleet's history");
  run('status', ['--repo', p.repo])(['--at', 'HEAD', '--watch'], '--at and --watch');

  const plan = on('plan', ['--repo', p.repo]);
  plan([], 'missing --base, --head');
  plan(['--base', 'HEAD'], 'missing --head');
  plan(['--base', 'HEAD', '--head', 'HEAD', '--format', 'yaml'], '--format yaml: expected text, markdown or json');
  plan(['--base=', '--head', 'HEAD'], 'missing --base');
  plan(['--base', 'HEAD', '--head', 'HEAD', 'extra'], 'unexpected argument extra');
  run('plan', ['--repo', p.repo])(['--base', 'nosuchrev', '--head', 'HEAD'], '--base nosuchrev: unknown revision nosuchrev');
  run('plan', ['--repo', p.repo])(['--base', 'HEAD', '--head', 'HEAD~99'], '--head HEAD~99: unknown revision HEAD~99');
  run('plan')(['--repo', p.plain, '--base', 'HEAD', '--head', 'HEAD'], `--repo ${p.plain}: ${p.plain} is not a Git repository`);

  const history = on('history', ['--repo', p.repo]);
  history(['--limit', '0'], '--limit 0: expected a whole number >= 1');
  history(['--limit', '2.5'], '--limit 2.5: expected a whole number >= 1');
  history(['--limit', 'many'], '--limit many: expected a whole number >= 1');
  history(['--since', 'last tuesday'], '--since last tuesday: expected a date (2026-11-20), an ISO time or "N days ago"');
  history(['--since', '2026-13-45'], '--since 2026-13-45: expected a date');
  history(['--since', '3 fortnights ago'], '--since 3 fortnights ago: expected a date');
  history(['--until', 'next tuesday'], '--until next tuesday: expected a date (2026-11-20), an ISO time or "N days ago"');
  history(['--until', '2026-02-30T25:00:00Z'], '--until 2026-02-30T25:00:00Z: expected a date');
  history(['--since', '2026-11-20', '--until', '2026-11-19'], '--until: before --since');
  history(['web/api', 'web/db'], 'expected at most one service, got web/api web/db');
  run('history')(['--repo', p.none], `--repo ${p.none}: ${p.none} is not a Git repository`);

  const ui = on('ui', ['--repo', p.repo]);
  ui(['--listen', 'nowhere'], '--listen nowhere: expected HOST:PORT or PORT');
  ui(['--listen', '99999'], '--listen 99999: expected HOST:PORT or PORT');
  ui(['--ui', '8080'], "Unknown option '--ui'");
  ui(['extra'], 'unexpected argument extra');
  run('ui')(['--repo', p.plain], `--repo ${p.plain}: ${p.plain} is not a Git repository`);
  run('ui', ['--repo', p.repo])(['--ui-token-file', p.none], `--ui-token-file ${p.none}: no such file`);

  const wait = on('wait', ['--repo', p.repo]);
  wait([], 'missing --rev');
  wait(['--rev', 'HEAD', '--timeout', 'soon'], `--timeout soon: ${duration}`.replace('0.1 s', '0 s'));
  wait(['--rev', 'HEAD', '--timeout=-1'], `--timeout -1: ${duration}`.replace('0.1 s', '0 s'));
  wait(['--rev', 'HEAD', '--timeout', '1000h'], `--timeout 1000h: ${duration}`.replace('0.1 s', '0 s'));
  wait(['--rev', 'HEAD', 'extra'], 'unexpected argument extra');
  wait(['--rev'], "Option '--rev <value>' argument missing");
  run('wait', ['--repo', p.repo])(['--rev', 'nosuchrev'], '--rev nosuchrev: unknown revision nosuchrev');
  run('wait')(['--repo', p.plain, '--rev', 'HEAD'], `--repo ${p.plain}: ${p.plain} is not a Git repository`);

  const imp = on('import');
  imp([], 'expected one SLA file, got none');
  imp(['a.json', 'b.json'], 'expected one SLA file, got a.json b.json');
  imp(['a.json', '--dryrun'], "Unknown option '--dryrun'");
  run('import')(['sla.json', '--repo', p.none], `--repo ${p.none}: not a directory`);

  const id = on('identity', ['--repo', p.repo, '--out', `${p.none}/id.json`]);
  id([], 'expected the action: create, got none');
  id(['make', '--root'], 'unknown action "make": the action is create');
  id(['create'], 'give exactly one of --root, --cluster C, --node C/N, --operator NAME (got none)');
  id(['create', '--root', '--cluster', 'munich'], 'give exactly one of --root, --cluster C, --node C/N, --operator NAME (got --root, --cluster)');
  id(['create', '--cluster', 'Munich'], '--cluster Munich: a name is a lower-case DNS label (letters, digits, -)');
  id(['create', '--cluster', 'munich_1'], '--cluster munich_1: a name is a lower-case DNS label');
  id(['create', '--node', 'munich'], '--node munich: expected CLUSTER/NODE, both lower-case DNS labels');
  id(['create', '--node', 'munich/N1'], '--node munich/N1: expected CLUSTER/NODE');
  id(['create', '--node', 'a/b/c'], '--node a/b/c: expected CLUSTER/NODE');
  id(['create', '--operator', 'Alice Smith'], '--operator Alice Smith: a name is a lower-case DNS label');
  id(['create', '--root=yes'], "Option '--root' does not take an argument");
  on('identity')(['create', '--root'], 'missing --repo, --out');
  run('identity')(['create', '--root', '--repo', p.plain, '--out', `${p.none}/root.json`], `--repo ${p.plain}: no fleet.yaml there`);

  const sec = on('secret', ['--repo', p.repo]);
  sec([], 'expected the action (set or keys) and its arguments, got none');
  sec(['show', 'db'], 'unknown action "show": the actions are set and keys');
  sec(['keys'], 'keys takes one secret NAME (a lower-case DNS label)');
  sec(['keys', 'Db'], 'keys takes one secret NAME');
  sec(['set', 'password=x'], '--name NAME: required, a lower-case DNS label', '--clusters C1,C2: required, the clusters that may open the secret');
  sec(['set', '--name', 'db', '--clusters', 'munich'], 'give at least one KEY=VALUE');
  // The argument is never echoed: it may hold a value.
  sec(['set', '--name', 'db', '--clusters', 'munich', 'hunter2'], 'argument 2 is not KEY=VALUE with KEY of letters, digits, ".", "_", "-"');
  sec(['set', '--name', 'db', '--clusters', 'munich', 'a=1', 'a=2'], 'key a is given twice');
  sec(['set', '--name', 'db', '--clusters', 'munich', 'a=-', 'b=-'], 'at most one KEY=- (standard input)');
  sec(['set', '--name', 'db', '--clusters', 'Munich', 'a=1'], '--clusters: "Munich" is not a cluster name (a lower-case DNS label)');
  on('secret')(['keys', 'db'], 'missing --repo');
  run('secret')(['keys', 'db', '--repo', p.plain], `--repo ${p.plain}: no fleet.yaml there`);

  const bundle = on('bundle');
  bundle([], 'expected the action (export or import) and, for import, the bundle FILE, got none');
  bundle(['send'], 'unknown action "send": the actions are export and import');
  bundle(['export', '--repo', p.repo], 'export: --cluster C is required (the site the bundle is for)', 'export: --out FILE is required');
  bundle(['export', '--repo', p.repo, '--cluster', 'Ship', '--out', 'b'], '--cluster: "Ship" is not a cluster name (a lower-case DNS label)');
  bundle(['export', 'f.bundle', '--repo', p.repo, '--cluster', 'ship', '--out', 'b'], 'export takes no FILE argument (give --out FILE): "f.bundle"');
  bundle(
    ['export', '--repo', p.repo, '--cluster', 'ship', '--out', 'b', '--state-dir', p.state],
    'export: --state-dir belongs to export --status (at the site)',
  );
  bundle(['export', '--status', '--out', 'b'], 'export --status: --state-dir DIR is required (the site cluster’s state directory)');
  bundle(['export', '--status', '--state-dir', p.state, '--out', 'b', '--cluster', 'ship'], 'export --status takes --state-dir and --out only');
  bundle(['import', '--state-dir', p.state], 'import: give the bundle FILE');
  bundle(['import', 'f.bundle'], 'import: give --state-dir DIR (at the site) or --repo DIR (at the root), one of them');
  bundle(
    ['import', 'f.bundle', '--repo', p.repo, '--state-dir', p.state],
    'import: give --state-dir DIR (at the site) or --repo DIR (at the root), one of them',
  );
  bundle(['import', 'f.bundle', '--repo', p.repo, '--images', 'i.tar'], 'import --repo: --images belongs to the site’s import (--state-dir)');
  run('bundle')(['export', '--repo', p.plain, '--cluster', 'ship', '--out', `${p.none}/b`], `--repo ${p.plain}: `);

  const hook = on('git-hook');
  hook([], 'expected pre-receive or install, got none');
  hook(['post-receive'], 'unknown subcommand post-receive: expected pre-receive or install');
  hook(['pre-receive', 'install'], 'expected pre-receive or install, got pre-receive install');
  hook(['install'], 'install needs --repo BARE_DIR');
  hook(['pre-receive', '--repo', p.repo], '--repo and --force are for install');
  hook(['pre-receive', '--force'], '--repo and --force are for install');
  hook(['pre-receive', '--branch', 'a..b'], '--branch a..b: expected a branch name');
  hook(['pre-receive', '--branch', 'main branch'], '--branch main branch: expected a branch name');

  const bc = on('broker-config', ['--identities', p.plain, '--out', p.none]);
  on('broker-config')([], 'missing --identities, --out');
  bc(['--tls-cert', 'c.pem'], '--tls-cert and --tls-key go together');
  bc(['--tls-ca', 'ca.pem', '--listen', '8883'], '--tls-ca needs --tls-cert and --tls-key');
  bc(['--tls-cert', 'c.pem', '--tls-key', 'k.pem'], '--tls-* configure a listener: give --listen HOST:PORT too');
  bc(['--require-certificate'], '--require-certificate needs --tls-ca');
  bc(['--listen', '70000'], '--listen 70000: expected HOST:PORT or PORT');
  bc(['--listen', 'host:port'], '--listen host:port: expected HOST:PORT or PORT');
  bc(['extra'], 'unexpected argument extra');
  // A site broker bridged to the centre (issue 19).
  bc(['--bridge-to', B], '--bridge-to needs --cluster C');
  bc(['--cluster', 'munich'], '--cluster is for a site broker: give --bridge-to URL');
  bc(['--bridge-to', 'http://central:1883', '--cluster', 'munich'], '--bridge-to http://central:1883: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]');
  bc(['--bridge-to', 'mqtt://u:p@central:1883', '--cluster', 'munich'], '--bridge-to mqtt://u:p@central:1883: no credentials in the URL');
  bc(['--bridge-to', B, '--cluster', 'munich', '--bridge-ca', 'ca.pem'], '--bridge-ca is for a TLS bridge: give --bridge-to mqtts://HOST:PORT');
  bc(['--bridge-to', 'mqtts://central:8883', '--cluster', 'munich', '--bridge-cert', 'c.pem'], '--bridge-cert and --bridge-key go together');
  run('broker-config', ['--identities', p.plain, '--out', p.none])(
    ['--bridge-to', B, '--cluster', 'munich'],
    '--cluster munich: no identity for cluster munich under',
  );

  // --metrics HOST:PORT on every part and on up (issue 18).
  const metrics = 'expected HOST:PORT or PORT (0 for a free port)';
  root(['--metrics', '70000'], `--metrics 70000: ${metrics}`);
  root(['--metrics', 'host:'], `--metrics host:: ${metrics}`);
  root(['--metrics='], '--metrics: expected a value, got an empty one');
  root(['--metrics-services=-1', '--metrics', '0'], '--metrics-services -1: expected a whole number >= 0');
  root(['--metrics-services=1.5', '--metrics', '0'], '--metrics-services 1.5: expected a whole number >= 0');
  root(['--metrics-services', '5'], '--metrics-services needs --metrics');
  cluster(['--metrics', 'bad host:9100'], `--metrics bad host:9100: ${metrics}`);
  agent(['--metrics', 'http://127.0.0.1:9100'], `--metrics http://127.0.0.1:9100: ${metrics}`);
  agent(['--metrics'], "Option '--metrics <value>' argument missing");
  up(['--metrics', '127.0.0.1:port'], `--metrics 127.0.0.1:port: ${metrics}`);
  const logs = on('logs', ['--repo', p.repo]);
  logs([], 'expected one service, APP/NAME, got none');
  logs(['shop/web', 'shop/api'], 'expected one service, APP/NAME, got shop/web shop/api');
  logs(['web'], 'web: expected a service as APP/NAME (lower case, digits, -)');
  logs(['Shop/Web'], 'Shop/Web: expected a service as APP/NAME (lower case, digits, -)');
  logs(['shop/web', '--tail', '10001'], '--tail 10001: expected a whole number >= 0 and <= 10000');
  logs(['shop/web', '--tail=-1'], '--tail -1: expected a whole number >= 0 and <= 10000');
  logs(['shop/web', '--tail', 'all'], '--tail all: expected a whole number >= 0 and <= 10000');
  logs(['shop/web', '--broker', 'localhost'], `--broker localhost: ${broker}`);
  on('logs')(['shop/web'], 'give --repo DIR (a running canopy up) or --broker URL --identity FILE');
  logs(['shop/web', '--follow=yes'], "Option '-f, --follow' does not take an argument");

  const retire = on('retire', ['--repo', p.repo]);
  on('retire')(['munich'], 'missing --repo');
  retire([], 'expected the cluster to retire, got none');
  retire(['munich', 'paris'], 'expected the cluster to retire, got munich paris');
  retire(['Munich'], 'Munich: a cluster name is a lower-case DNS label (letters, digits, -)');
  retire(['munich_1'], 'munich_1: a cluster name is a lower-case DNS label (letters, digits, -)');
  retire(['munich', '--force'], "Unknown option '--force'");
  run('retire', ['--repo', p.repo])(['munich'], 'munich: unknown cluster (no clusters/munich.yaml, no placement or status ref): nothing to retire');
  run('retire')(['munich', '--repo', p.plain], `--repo ${p.plain}: not a Git working tree`);
  // bundle, status history up (issue 19): export --status at the site, import --repo at the root.
  const statusBundle = on('bundle');
  statusBundle(['export', '--status', '--state-dir', p.state], 'export --status: --out FILE is required');
  statusBundle(['import', '--repo', p.repo], 'import: give the bundle FILE');
  statusBundle(['import', 'x.bundle', '--repo', p.repo, '--status'], 'import takes FILE with --state-dir or --repo (and --images, --identity)');
  const bundleRun = run('bundle');
  bundleRun(['import', p.none, '--repo', p.repo], `import: ${p.none}: no such file`);
  bundleRun(['import', `${p.repo}/fleet.yaml`, '--repo', p.plain], `--repo ${p.plain}: ${p.plain} is not a Git repository`);
  // A root on a Git server: --repo URL, mirrored in --cache-dir.
  statusBundle(['import', 'x.bundle', '--state-dir', p.state, '--cache-dir', 'c'], '--cache-dir needs a remote --repo URL (where it is mirrored)');
  statusBundle(
    ['export', '--repo', p.repo, '--cluster', 'ship', '--out', 'b', '--cache-dir', 'c'],
    '--cache-dir needs a remote --repo URL (where it is mirrored)',
  );
  return rows;
}
