// Bad descriptors, one row each: the files a commit changes (on top of a valid fleet, BASE) and
// the problem the root must report for it, as `file:line:column: message` (a row may give only
// the start of the message). Every row is a commit the root must reject whole.
import type { FileChange } from '../helpers/corpus.js';

export const KEYS = {
  root: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBqYE084EsgRkyzqgTb1+I247XE1iApjQyvbmXlaRuSY root',
  munich: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIACf9gxgjJ980jyR+FcW9FBHXAAayb2Ert+fJKeQgZ/8 munich',
  n1: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEc2cQ1lfRVVCzDjqaMhf+gf/Q3aeenOqdwrqP4/GVuS n1',
  alice: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMmSHNH39PNhm4Wm3FPilLn3VTnzI29L2ErwtSSis9uB alice',
};
const R = KEYS.root;

// --- the valid fleet every case starts from -----------------------------------------------------

export const SERVICE = 'services/web/api.yaml';
export const FLEET = 'fleet.yaml';
export const CLUSTER = 'clusters/munich.yaml';

const SPEC = '  runtime: container\n  image: canopy/busybox:1\n  replicas: 2\n';
/** services/web/api.yaml: lines 1-6 the header, 7-9 the spec above, `extra` from line 10. */
export function svc(extra = '', o: { spec?: string; meta?: string } = {}): string {
  return `apiVersion: canopy/v1\nkind: Service\nmetadata:\n${o.meta ?? '  name: api\n  app: web\n'}spec:\n${o.spec ?? SPEC}${extra}`;
}
/** fleet.yaml: `spec` from line 6. */
export function fleet(spec: string, meta = '  name: demo\n'): string {
  return `apiVersion: canopy/v1\nkind: Fleet\nmetadata:\n${meta}spec:\n${spec}`;
}
const TARGETS = '  targets:\n    office: {lat: 48.1, lon: 11.5}\n';
/** A fleet.yaml that keeps the base's target (cart.yaml needs it): `trust` from line 8. */
const fleetTrust = (trust: string) => fleet(`${TARGETS}  trust:\n${trust}`);
/** clusters/munich.yaml: `spec` from line 6. */
export function cluster(spec: string, meta = '  name: munich\n'): string {
  return `apiVersion: canopy/v1\nkind: Cluster\nmetadata:\n${meta}spec:\n${spec}`;
}

/** A process service (line 10: its spec.files, naming APP_CONF). */
const DB = 'services/web/db.yaml';
const APP_CONF = 'config/web/app.conf';

export const SECRET = 'secrets/db.yaml';
export const SEALED = 'secrets/db.age';
/** secrets/db.yaml: `spec` from line 6. */
export function secret(spec: string, meta = '  name: db\n'): string {
  return `apiVersion: canopy/v1\nkind: Secret\nmetadata:\n${meta}spec:\n${spec}`;
}
/** Stands for a sealed secret: validation looks at the armor only (the root never opens one). */
const ARMORED = '-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n-----END AGE ENCRYPTED FILE-----\n';

export const BASE: Record<string, string> = {
  'README.md': '# a fleet for the corpus\n',
  [FLEET]: fleet(`${TARGETS}  timings: {heartbeatSeconds: 2}\n  trust:\n    root: {user: demo.root, keys: ["${R}"]}\n`),
  [CLUSTER]: cluster(`  location: {lat: 48.137, lon: 11.575}\n  identity: {user: demo.cluster.munich, keys: ["${KEYS.munich}"]}\n`),
  'clusters/paris.yaml': cluster('  nodes: 2\n', '  name: paris\n'),
  [SERVICE]: svc(),
  [DB]: svc('  files: [{path: conf/app.conf, from: config/web/app.conf}]\n', {
    meta: '  name: db\n  app: web\n',
    spec: '  runtime: process\n  command: [sleep, "3600"]\n  replicas: 1\n',
  }),
  [APP_CONF]: 'listen 8080\n',
  'services/shop/cart.yaml': svc('  constraints:\n    latency: {to: {target: office}, maxMs: 50}\n', { meta: '  name: cart\n  app: shop\n' }),
  [SECRET]: secret('  clusters: [munich]\n  keys: [password, username]\n'),
  [SEALED]: ARMORED,
};

/** A valid change on top of BASE, which any state the corpus leaves in force must still accept. */
export const FOLLOW_UP: Record<string, string> = { [SERVICE]: svc('', { spec: SPEC.replace('replicas: 2', 'replicas: 3') }) };

export interface DescriptorCase {
  name: string;
  files: Record<string, FileChange>;
  /** `file:line:column: message` (or its start), as formatProblem prints it. */
  want: string;
}

const rows: DescriptorCase[] = [];
const row = (area: string) => (name: string, files: Record<string, FileChange>, want: string) => rows.push({ name: `${area}: ${name}`, files, want });
const file = (area: string, path: string) => (name: string, text: FileChange, want: string) => row(area)(name, { [path]: text }, `${path}:${want}`);

// --- services/web/api.yaml: the document ---------------------------------------------------------
{
  const s = file('service', SERVICE);
  s('empty file', '', '1:1: empty file: expected a Service descriptor');
  s('only a comment', '# todo\n', '1:1: empty file: expected a Service descriptor');
  s('a string, not a mapping', 'just a string\n', '1:1: expected a mapping of apiVersion, kind, metadata, spec (got "just a string")');
  s('a list, not a mapping', '- a\n- b\n', '1:1: expected a mapping of apiVersion, kind, metadata, spec (got a list)');
  s('a number, not a mapping', '42\n', '1:1: expected a mapping of apiVersion, kind, metadata, spec (got 42)');
  s('null document', '~\n', '1:1: expected a mapping of apiVersion, kind, metadata, spec (got an empty value)');
  s('missing apiVersion', svc().replace('apiVersion: canopy/v1\n', ''), '1:1: missing required field "apiVersion"');
  s('apiVersion canopy/v2', svc().replace('canopy/v1', 'canopy/v2'), '1:13: apiVersion: must be "canopy/v1" (got "canopy/v2")');
  s('apiVersion a number', svc().replace('canopy/v1', '1'), '1:13: apiVersion: must be "canopy/v1" (got 1)');
  s('kind Fleet in a service path', svc().replace('kind: Service', 'kind: Fleet'), '2:7: kind: must be "Service" (got "Fleet")');
  s('kind in lower case', svc().replace('kind: Service', 'kind: service'), '2:7: kind: must be "Service" (got "service")');
  s('missing kind', svc().replace('kind: Service\n', ''), '1:1: missing required field "kind"');
  s('missing metadata', svc().replace('metadata:\n  name: api\n  app: web\n', ''), '1:1: missing required field "metadata"');
  s('missing spec', svc().replace(/spec:\n[\s\S]*$/, ''), '1:1: missing required field "spec"');
  s('unknown top-level field', `${svc()}status: {}\n`, '10:1: unknown field "status" (known fields: apiVersion, kind, metadata, spec)');
  s('metadata a list', svc('', { meta: '  - api\n' }), '4:3: metadata: must be a mapping (got a list)');
  s('spec a string', svc().replace(/spec:\n[\s\S]*$/, 'spec: run it\n'), '6:7: spec: must be a mapping (got "run it")');
}

// --- services: metadata --------------------------------------------------------------------------
{
  const s = file('service metadata', SERVICE);
  const meta = (m: string) => svc('', { meta: m });
  s(
    'name with capitals',
    meta('  name: Api\n  app: web\n'),
    '4:9: metadata.name: "Api" must be a lower-case DNS label (letters, digits and -, at most 63 characters)',
  );
  s(
    'name starting with -',
    meta('  name: -api\n  app: web\n'),
    '4:9: metadata.name: "-api" must be a lower-case DNS label (letters, digits and -, at most 63 characters)',
  );
  s(
    'name ending with -',
    meta('  name: api-\n  app: web\n'),
    '4:9: metadata.name: "api-" must be a lower-case DNS label (letters, digits and -, at most 63 characters)',
  );
  s(
    'name with _',
    meta('  name: a_b\n  app: web\n'),
    '4:9: metadata.name: "a_b" must be a lower-case DNS label (letters, digits and -, at most 63 characters)',
  );
  s(
    'name with a dot',
    meta('  name: api.v2\n  app: web\n'),
    '4:9: metadata.name: "api.v2" must be a lower-case DNS label (letters, digits and -, at most 63 characters)',
  );
  s(
    'name of 64 characters',
    meta(`  name: ${'a'.repeat(64)}\n  app: web\n`),
    '4:9: metadata.name: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" must be a lower-case DNS label (letters, digits and -, at most 63 characters)',
  );
  s('name empty', meta('  name: ""\n  app: web\n'), '4:9: metadata.name: "" must be a lower-case DNS label (letters, digits and -, at most 63 characters)');
  s('name a number', meta('  name: 123\n  app: web\n'), '4:9: metadata.name: must be a string (got 123: put it in quotes)');
  s('name null', meta('  name:\n  app: web\n'), '4:8: metadata.name: must be a string (got an empty value)');
  s(
    'app with capitals',
    meta('  name: api\n  app: Web\n'),
    '5:8: metadata.app: "Web" must be a lower-case DNS label (letters, digits and -, at most 63 characters)',
  );
  s('app missing', meta('  name: api\n'), '4:3: metadata: missing required field "app"');
  s('name missing', meta('  app: web\n'), '4:3: metadata: missing required field "name"');
  s('name differs from the file', meta('  name: apii\n  app: web\n'), '4:9: metadata.name: "apii" does not match the file name api.yaml');
  s(
    'app differs from the directory',
    meta('  name: api\n  app: shop\n'),
    '5:8: metadata.app: "shop" does not match the directory services/web/ (the path must be services/<app>/<name>.yaml)',
  );
  s(
    'labels: a key with a space',
    meta('  name: api\n  app: web\n  labels: {"bad key": x}\n'),
    '6:12: metadata.labels: key "bad key" must be a label key (letters, digits, ".", "_", "/" and "-", at most 63 characters)',
  );
  s(
    'labels: a value that is a number',
    meta('  name: api\n  app: web\n  labels: {tier: 1}\n'),
    '6:18: metadata.labels.tier: must be a string (got 1: put it in quotes)',
  );
  s(
    'labels: a value of 254 characters',
    meta(`  name: api\n  app: web\n  labels: {tier: ${'x'.repeat(254)}}\n`),
    '6:18: metadata.labels.tier: must be at most 253 characters (it has 254)',
  );
  s('labels: a list', meta('  name: api\n  app: web\n  labels: [a, b]\n'), '6:11: metadata.labels: must be a mapping (got a list)');
  s('unknown field', meta('  name: api\n  app: web\n  namespace: prod\n'), '6:3: metadata: unknown field "namespace" (known fields: name, app, labels)');
}

// --- services: spec --------------------------------------------------------------------------------
{
  const s = file('service spec', SERVICE);
  const spec = (t: string) => svc('', { spec: t });
  const RI = '  runtime: container\n  image: canopy/busybox:1\n';
  s('runtime missing', spec('  image: canopy/busybox:1\n  replicas: 2\n'), '7:3: spec: missing required field "runtime"');
  s(
    'runtime docker',
    spec('  runtime: docker\n  image: canopy/busybox:1\n  replicas: 2\n'),
    '7:12: spec.runtime: must be one of: container, process (got "docker")',
  );
  s(
    'runtime Container',
    spec('  runtime: Container\n  image: canopy/busybox:1\n  replicas: 2\n'),
    '7:12: spec.runtime: must be one of: container, process (got "Container": did you mean "container"?)',
  );
  s('runtime a number', spec('  runtime: 1\n  image: canopy/busybox:1\n  replicas: 2\n'), '7:12: spec.runtime: must be one of: container, process (got 1)');
  s('container without image', spec('  runtime: container\n  replicas: 2\n'), '7:12: spec.image: required for runtime container (the image to run)');
  s('image empty', spec('  runtime: container\n  image: ""\n  replicas: 2\n'), '8:10: spec.image: must not be empty');
  s(
    'image of 513 characters',
    spec(`  runtime: container\n  image: ${'i'.repeat(513)}\n  replicas: 2\n`),
    '8:10: spec.image: must be at most 512 characters (it has 513)',
  );
  s('image a number', spec('  runtime: container\n  image: 5\n  replicas: 2\n'), '8:10: spec.image: must be a string (got 5: put it in quotes)');
  s('image a list', spec('  runtime: container\n  image: [a]\n  replicas: 2\n'), '8:10: spec.image: must be a string (got a list)');
  s(
    'imagePullPolicy unknown',
    spec('  runtime: container\n  image: canopy/busybox:1\n  imagePullPolicy: always\n  replicas: 2\n'),
    '9:20: spec.imagePullPolicy: must be one of: IfNotPresent, Always, Never (got "always": did you mean "Always"?)',
  );
  s(
    'imagePullPolicy for a process',
    spec('  runtime: process\n  command: [sleep, "10"]\n  imagePullPolicy: Always\n  replicas: 2\n'),
    '9:20: spec.imagePullPolicy: only for runtime container (a process has no image to pull)',
  );
  s('process without command', spec('  runtime: process\n  replicas: 2\n'), '7:12: spec.command: required for runtime process (the argv to start)');
  s('command empty', spec('  runtime: process\n  command: []\n  replicas: 2\n'), '8:12: spec.command: must list at least 1 item');
  s('command a string', spec('  runtime: process\n  command: sleep 10\n  replicas: 2\n'), '8:12: spec.command: must be a list (got "sleep 10")');
  s(
    'command with a number',
    spec('  runtime: process\n  command: [sleep, 10]\n  replicas: 2\n'),
    '8:20: spec.command[1]: must be a string (got 10: put it in quotes)',
  );
  s('command with null', spec('  runtime: process\n  command: [sleep, null]\n  replicas: 2\n'), '8:20: spec.command[1]: must be a string (got an empty value)');
  s(
    'command with a mapping',
    spec('  runtime: process\n  command: [sleep, {s: 1}]\n  replicas: 2\n'),
    '8:20: spec.command[1]: must be a string (got a mapping)',
  );
  s('replicas missing', spec(RI), '7:3: spec: missing required field "replicas"');
  for (const [v, why, got] of [
    ['-1', 'negative', '-1'],
    ['10001', 'over 10000', '10001'],
    ['1.5', 'a fraction', '1.5'],
    ['"2"', 'in quotes', 'the string "2": remove the quotes'],
    ['two', 'a word', '"two"'],
    ['', 'empty', 'an empty value'],
    ['true', 'a boolean', 'true'],
    ['[1]', 'a list', 'a list'],
    ['1e10', 'huge', '10000000000'],
    ['.inf', 'infinite', 'Infinity'],
  ])
    s(`replicas ${why}`, spec(`${RI}  replicas: ${v}\n`), `9:13: spec.replicas: must be an integer between 0 and 10000 (got ${got})`);
  s('unknown field, near a known one', spec(`${RI}  replica: 2\n`), '9:3: spec: unknown field "replica" (did you mean "replicas"?)');
  s(
    'unknown field',
    spec(`${SPEC}  mounts: [data]\n`),
    // Only the start: the list grows with every field the spec gains.
    '10:3: spec: unknown field "mounts" (known fields: runtime, ',
  );
  s('spread everywhere', svc('  spread: everywhere\n'), '10:11: spec.spread: must be one of: none, clusters, nodes (got "everywhere")');
  s('spread a number', svc('  spread: 1\n'), '10:11: spec.spread: must be one of: none, clusters, nodes (got 1)');
  s('failover: afterSeconds negative', svc('  failover: {afterSeconds: -1}\n'), '10:28: spec.failover.afterSeconds: must be an integer >= 0 (got -1)');
  s('failover: afterSeconds a fraction', svc('  failover: {afterSeconds: 1.5}\n'), '10:28: spec.failover.afterSeconds: must be an integer >= 0 (got 1.5)');
  s('failover: unknown field', svc('  failover: {after: 5}\n'), '10:14: spec.failover: unknown field "after" (known fields: afterSeconds)');
  s('failover: true', svc('  failover: true\n'), '10:13: spec.failover: must be a mapping (got true)');
  s('rollout: maxUnavailable negative', svc('  rollout: {maxUnavailable: -1}\n'), '10:29: spec.rollout.maxUnavailable: must be an integer >= 0 (got -1)');
  s(
    'rollout: unknown field',
    svc('  rollout: {surge: 1}\n'),
    '10:13: spec.rollout: unknown field "surge" (known fields: maxUnavailable, maxSurge, waves, bakeSeconds, progressDeadlineSeconds, autoRollback)',
  );
}

// --- services: resources -----------------------------------------------------------------------------
{
  const s = file('service resources', SERVICE);
  const res = (r: string) => svc(`  resources: {${r}}\n`);
  s('cpu negative', res('cpu: -1'), '10:20: spec.resources.cpu: must be a number between 0 and 1024 (got -1)');
  s('cpu over 1024', res('cpu: 1025'), '10:20: spec.resources.cpu: must be a number between 0 and 1024 (got 1025)');
  s('cpu a word', res('cpu: lots'), '10:20: spec.resources.cpu: must be a number between 0 and 1024 (got "lots")');
  s('cpu in quotes', res('cpu: "2"'), '10:20: spec.resources.cpu: must be a number between 0 and 1024 (got the string "2": remove the quotes)');
  s('memory a word', res('memory: lots'), '10:23: spec.resources.memory: "lots" must be a quantity like 128Mi, 1Gi or 500M');
  s('memory negative', res('memory: -5'), '10:23: spec.resources.memory: must be a number >= 0 (got -5)');
  s('memory with an unknown unit', res('memory: 1.5Xi'), '10:23: spec.resources.memory: "1.5Xi" must be a quantity like 128Mi, 1Gi or 500M');
  s('memory with a space', res('memory: 1 Gi'), '10:23: spec.resources.memory: "1 Gi" must be a quantity like 128Mi, 1Gi or 500M');
  s('gpu a fraction', res('gpu: 1.5'), '10:20: spec.resources.gpu: must be an integer between 0 and 64 (got 1.5)');
  s('gpu over 64', res('gpu: 65'), '10:20: spec.resources.gpu: must be an integer between 0 and 64 (got 65)');
  s('gpu negative', res('gpu: -1'), '10:20: spec.resources.gpu: must be an integer between 0 and 64 (got -1)');
  s('storage a word', res('storage: big'), '10:24: spec.resources.storage: "big" must be a quantity like 128Mi, 1Gi or 500M');
  s('arch empty', res('arch: []'), '10:21: spec.resources.arch: must list at least 1 item');
  s('arch sparc', res('arch: [sparc]'), '10:22: spec.resources.arch[0]: must be one of: amd64, arm64, arm, 386, riscv64 (got "sparc")');
  s('arch listed twice', res('arch: [amd64, amd64]'), '10:29: spec.resources.arch: "amd64" is listed twice');
  s('arch a string', res('arch: amd64'), '10:21: spec.resources.arch: must be a list (got "amd64")');
  s('unknown field', res('disk: 10Gi'), '10:15: spec.resources: unknown field "disk" (known fields: cpu, memory, gpu, storage, arch)');
  s('resources a list', svc('  resources: [cpu]\n'), '10:14: spec.resources: must be a mapping (got a list)');
}

// --- services: constraints ---------------------------------------------------------------------------
{
  const s = file('service constraints', SERVICE);
  const c = (t: string) => svc(`  constraints:\n${t}`);
  s('geo: lat 91', c('    geo: {lat: 91, lon: 0, withinKm: 10}\n'), '11:16: spec.constraints.geo.lat: must be a number between -90 and 90 (got 91)');
  s('geo: lon -181', c('    geo: {lat: 0, lon: -181, withinKm: 10}\n'), '11:24: spec.constraints.geo.lon: must be a number between -180 and 180 (got -181)');
  s('geo: withinKm 0', c('    geo: {lat: 0, lon: 0, withinKm: 0}\n'), '11:37: spec.constraints.geo.withinKm: must be a number > 0 and <= 20040 (got 0)');
  s(
    'geo: withinKm beyond half the earth',
    c('    geo: {lat: 0, lon: 0, withinKm: 30000}\n'),
    '11:37: spec.constraints.geo.withinKm: must be a number > 0 and <= 20040 (got 30000)',
  );
  s('geo: withinKm missing', c('    geo: {lat: 0, lon: 0}\n'), '11:10: spec.constraints.geo: missing required field "withinKm"');
  s(
    'geo: unknown field',
    c('    geo: {lat: 0, lon: 0, withinKm: 5, radius: 5}\n'),
    '11:40: spec.constraints.geo: unknown field "radius" (known fields: lat, lon, withinKm)',
  );
  s(
    'latency: maxMs 0',
    c('    latency: {to: {target: office}, maxMs: 0}\n'),
    '11:44: spec.constraints.latency.maxMs: must be a number > 0 and <= 60000 (got 0)',
  );
  s(
    'latency: maxMs over a minute',
    c('    latency: {to: {target: office}, maxMs: 70000}\n'),
    '11:44: spec.constraints.latency.maxMs: must be a number > 0 and <= 60000 (got 70000)',
  );
  s(
    'latency: a target with capitals',
    c('    latency: {to: {target: Office}, maxMs: 20}\n'),
    '11:28: spec.constraints.latency.to.target: "Office" must be a lower-case DNS label (letters, digits and -, at most 63 characters)',
  );
  s(
    'latency: a target fleet.yaml does not declare',
    c('    latency: {to: {target: rome}, maxMs: 20}\n'),
    '11:28: spec.constraints.latency.to.target: "rome" is not a target of fleet.yaml (declared: office)',
  );
  s(
    'latency: a point off the map',
    c('    latency: {to: {lat: 100, lon: 0}, maxMs: 20}\n'),
    '11:25: spec.constraints.latency.to.lat: must be a number between -90 and 90 (got 100)',
  );
  s('latency: to missing', c('    latency: {maxMs: 20}\n'), '11:14: spec.constraints.latency: missing required field "to"');
  s('latency: to a string', c('    latency: {to: office, maxMs: 20}\n'), '11:19: spec.constraints.latency.to: must be {lat, lon} or {target} (got "office")');
  s('clusters: names empty', c('    clusters: {names: []}\n'), '11:23: spec.constraints.clusters.names: must list at least 1 item');
  s(
    'clusters: a name with capitals',
    c('    clusters: {names: [Munich]}\n'),
    '11:24: spec.constraints.clusters.names[0]: "Munich" must be a lower-case DNS label (letters, digits and -, at most 63 characters)',
  );
  s('clusters: a name listed twice', c('    clusters: {names: [munich, munich]}\n'), '11:32: spec.constraints.clusters.names: "munich" is listed twice');
  s(
    'clusters: a bad label key',
    c('    clusters: {matchLabels: {"a b": x}}\n'),
    '11:30: spec.constraints.clusters.matchLabels: key "a b" must be a label key (letters, digits, ".", "_", "/" and "-", at most 63 characters)',
  );
  s('clusters: operator empty', c('    clusters: {operator: ""}\n'), '11:26: spec.constraints.clusters.operator: must not be empty');
  s(
    'clusters: unknown field',
    c('    clusters: {regions: [eu]}\n'),
    '11:16: spec.constraints.clusters: unknown field "regions" (known fields: names, matchLabels, operator)',
  );
  s(
    'nodes: a label value that is a number',
    c('    nodes: {matchLabels: {gpu: 1}}\n'),
    '11:32: spec.constraints.nodes.matchLabels.gpu: must be a string (got 1: put it in quotes)',
  );
  s('nodes: unknown field', c('    nodes: {names: [n1]}\n'), '11:13: spec.constraints.nodes: unknown field "names" (known fields: matchLabels)');
  s('unknown constraint', c('    zone: eu-1\n'), '11:5: spec.constraints: unknown field "zone" (known fields: geo, latency, clusters, nodes)');
}

// --- services: volumes ---------------------------------------------------------------------------
{
  const s = file('service volumes', SERVICE);
  const v = (list: string) => svc(`  volumes: [${list}]\n`);
  s(
    'a relative path in a container',
    v('{name: data, path: data}'),
    '10:32: spec.volumes[0].path: must be an absolute path in the container, such as /data (got "data")',
  );
  s('mounted at /', v('{name: data, path: /}'), '10:32: spec.volumes[0].path: cannot be / (the whole file system)');
  s('a path with ..', v('{name: data, path: /a/../b}'), '10:32: spec.volumes[0].path: must be a plain absolute path, without . or .. parts (got "/a/../b")');
  s('a path with a colon', v('{name: data, path: "/a:b"}'), '10:32: spec.volumes[0].path: may not contain ":", "," or a NUL character');
  s(
    'a name twice',
    v('{name: data, path: /data}, {name: data, path: /other}'),
    '10:47: spec.volumes[1].name: volume "data" is listed twice (also spec.volumes[0])',
  );
  s('a path twice', v('{name: data, path: /data}, {name: logs, path: /data/}'), '10:59: spec.volumes[1].path: /data is mounted twice (also spec.volumes[0])');
  s('a name in capitals', v('{name: Data, path: /data}'), '10:20: spec.volumes[0].name: "Data" must be a lower-case DNS label');
  s('no path', v('{name: data}'), '10:13: spec.volumes[0]: missing required field "path"');
  s('retain yes', v('{name: data, path: /data, retain: yes}'), '10:47: spec.volumes[0].retain: must be true or false (got "yes")');
  s('an unknown field', v('{name: data, path: /data, size: 1Gi}'), '10:39: spec.volumes[0]: unknown field "size" (known fields: name, path, retain)');
  s(
    'env sets the volume variable',
    svc('  env: {CANOPY_VOLUME_DATA: x}\n  volumes: [{name: data, path: /data}]\n'),
    '10:29: spec.env.CANOPY_VOLUME_DATA: canopy sets it to the directory of volume "data": use another name',
  );
}

// --- services: ports, env, health ----------------------------------------------------------------------
{
  const s = file('service ports/env/health', SERVICE);
  s('port 0', svc('  ports: [{port: 0}]\n'), '10:18: spec.ports[0].port: must be an integer between 1 and 65535 (got 0)');
  s('port 65536', svc('  ports: [{port: 65536}]\n'), '10:18: spec.ports[0].port: must be an integer between 1 and 65535 (got 65536)');
  s(
    'port in quotes',
    svc('  ports: [{port: "80"}]\n'),
    '10:18: spec.ports[0].port: must be an integer between 1 and 65535 (got the string "80": remove the quotes)',
  );
  s('protocol sctp', svc('  ports: [{port: 80, protocol: sctp}]\n'), '10:32: spec.ports[0].protocol: must be one of: tcp, udp (got "sctp")');
  s('port: unknown field', svc('  ports: [{port: 80, proto: tcp}]\n'), '10:22: spec.ports[0]: unknown field "proto" (known fields: port, hostPort, protocol)');
  s('ports a number', svc('  ports: 80\n'), '10:10: spec.ports: must be a list (got 80)');
  s('port missing', svc('  ports: [{}]\n'), '10:11: spec.ports[0]: missing required field "port"');
  s('a port twice', svc('  ports: [{port: 80}, {port: 80}]\n'), '10:30: spec.ports[1].port: 80/tcp is listed twice (also spec.ports[0])');
  s(
    'a port twice, tcp written out once',
    svc('  ports: [{port: 80}, {port: 80, protocol: tcp}]\n'),
    '10:30: spec.ports[1].port: 80/tcp is listed twice (also spec.ports[0])',
  );
  s(
    'a host port twice',
    svc('  ports: [{port: 80, hostPort: 8080}, {port: 81, hostPort: 8080}]\n'),
    '10:60: spec.ports[1].hostPort: host port 8080/tcp is listed twice (also spec.ports[0])',
  );
  s('host port 0', svc('  ports: [{port: 80, hostPort: 0}]\n'), '10:32: spec.ports[0].hostPort: must be an integer between 1 and 65535 (got 0)');
  s('host port 70000', svc('  ports: [{port: 80, hostPort: 70000}]\n'), '10:32: spec.ports[0].hostPort: must be an integer between 1 and 65535 (got 70000)');
  s('uses a string', svc('  uses: web/db\n'), '10:9: spec.uses: must be a list (got "web/db")');
  s('uses without an app', svc('  uses: [db]\n'), '10:10: spec.uses[0]: "db" must be a service as APP/NAME (two lower-case DNS labels)');
  s('uses with capitals', svc('  uses: [Shop/cart]\n'), '10:10: spec.uses[0]: "Shop/cart" must be a service as APP/NAME (two lower-case DNS labels)');
  s(
    'uses a service that does not exist',
    svc('  uses: [shop/cart, shop/till]\n'),
    '10:21: spec.uses[1]: "shop/till" is not a service of this commit (no services/shop/till.yaml)',
  );
  s(
    'env: a name starting with a digit',
    svc('  env: {1A: x}\n'),
    '10:9: spec.env: key "1A" must be a variable name (letters, digits and "_", not starting with a digit)',
  );
  s('env: a name with -', svc('  env: {A-B: x}\n'), '10:9: spec.env: key "A-B" must be a variable name (letters, digits and "_", not starting with a digit)');
  s('env: a number value', svc('  env: {A: 1}\n'), '10:12: spec.env.A: must be a string (got 1: put it in quotes)');
  s('env: an empty value', svc('  env: {A: }\n'), '10:12: spec.env.A: must be a string (got an empty value)');
  s('env: a list', svc('  env: [A=1]\n'), '10:8: spec.env: must be a mapping (got a list)');
  s(
    'health: a path without /',
    svc('  health: {http: {path: healthz, port: 80}}\n'),
    '10:25: spec.health.http.path: "healthz" must be a path starting with "/"',
  );
  s('health: http port 0', svc('  health: {http: {path: /, port: 0}}\n'), '10:34: spec.health.http.port: must be an integer between 1 and 65535 (got 0)');
  s('health: tcp port 70000', svc('  health: {tcp: {port: 70000}}\n'), '10:24: spec.health.tcp.port: must be an integer between 1 and 65535 (got 70000)');
  s('health: interval 0', svc('  health: {intervalSeconds: 0}\n'), '10:29: spec.health.intervalSeconds: must be a number between 1 and 3600 (got 0)');
  s(
    'health: interval over an hour',
    svc('  health: {intervalSeconds: 4000}\n'),
    '10:29: spec.health.intervalSeconds: must be a number between 1 and 3600 (got 4000)',
  );
  s('health: http without port', svc('  health: {http: {path: /}}\n'), '10:18: spec.health.http: missing required field "port"');
  s('health: exec a list', svc('  health: {exec: [true]}\n'), '10:18: spec.health.exec: must be a mapping (got a list)');
  s(
    'health: unknown field',
    svc('  health: {script: [true]}\n'),
    '10:12: spec.health: unknown field "script" (known fields: http, tcp, exec, intervalSeconds, timeoutSeconds, failureThreshold, startSeconds)',
  );
  const P80 = '  ports: [{port: 80}]\n';
  s(
    'health: no way to probe',
    svc(`${P80}  health: {intervalSeconds: 5}\n`),
    '11:11: spec.health: give one of http, tcp, exec (how the agent probes a replica)',
  );
  s(
    'health: both http and tcp',
    svc(`${P80}  health: {http: {path: /, port: 80}, tcp: {port: 80}}\n`),
    '11:44: spec.health: has both http and tcp: give exactly one of http, tcp, exec',
  );
  s(
    'health: http port not among the ports',
    svc(`${P80}  health: {http: {path: /, port: 8080}}\n`),
    '11:34: spec.health.http.port: 8080 is not one of spec.ports (80/tcp), so the probe could never reach it',
  );
  s(
    'health: tcp port without ports',
    svc('  health: {tcp: {port: 80}}\n'),
    '10:24: spec.health.tcp.port: 80 is not listed: the service has no tcp port in spec.ports, so the probe could never reach it',
  );
  s(
    'rollout: maxUnavailable and maxSurge both 0',
    svc('  rollout: {maxUnavailable: 0, maxSurge: 0}\n'),
    '10:42: spec.rollout: maxUnavailable and maxSurge are both 0, so no replica could ever be replaced: allow one of them (for example maxSurge: 1)',
  );
  s(
    'rollout: a wave that selects nothing in particular',
    svc('  rollout: {waves: [{names: [a]}, {}]}\n'),
    '10:35: spec.rollout.waves[1]: selects every cluster: give names, matchLabels or operator',
  );
  s(
    'health: tcp port listed as udp only',
    svc('  ports: [{port: 53, protocol: udp}]\n  health: {tcp: {port: 53}}\n'),
    '11:24: spec.health.tcp.port: 53 is not listed: the service has no tcp port in spec.ports, so the probe could never reach it',
  );
}

// --- services: YAML itself ---------------------------------------------------------------------------
{
  const s = file('service YAML', SERVICE);
  s(
    'an unclosed flow sequence',
    svc('  command: [httpd, -f\n'),
    '11:1: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]',
  );
  s('an unclosed quote', svc('  env: {A: "x}\n'), '11:1: YAML syntax: Missing closing "quote');
  s('an unclosed flow mapping', svc('  env: {A: x\n'), '11:1: YAML syntax: Flow map in block collection must be sufficiently indented and end with a }');
  s('a tab for indentation', svc('\tenv: {}\n'), '10:1: YAML syntax: Tabs are not allowed as indentation');
  s('a value and a mapping on one line', svc('  spread: none: x\n'), '10:11: YAML syntax: Nested mappings are not allowed in compact mappings');
  s('a stray ]', svc('  spread: none]\n'), '10:11: spec.spread: must be one of: none, clusters, nodes (got "none]": did you mean "none"?)');
  s('bad indentation', svc('   env: {}\n'), '9:13: YAML syntax: Implicit keys need to be on a single line');
  s('duplicate key in spec', svc('  replicas: 3\n'), '10:3: duplicate key "replicas": a key may appear only once in a mapping');
  s(
    'duplicate key in metadata',
    svc('', { meta: '  name: api\n  app: web\n  name: api\n' }),
    '6:3: duplicate key "name": a key may appear only once in a mapping',
  );
  s('duplicate top-level key', `${svc()}kind: Service\n`, '10:1: duplicate key "kind": a key may appear only once in a mapping');
  s('duplicate key in a flow mapping', svc('  env: {A: x, A: y}\n'), '10:15: duplicate key "A": a key may appear only once in a mapping');
  s('two documents', `${svc()}---\n${svc()}`, '10:1: one descriptor per file: a second YAML document starts here (remove the "---" or split the file)');
  s('an alias with no anchor', svc('  env: *vars\n'), '10:8: YAML: Unresolved alias (the anchor must be set before the alias): vars');
  s(
    'an alias bomb',
    `${svc()}x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n${Array.from({ length: 8 }, (_, i) => `x${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(', ')}]\n`).join('')}`,
    '1:1: YAML: Excessive alias count indicates a resource exhaustion attack',
  );
  s(
    'a !!str tag on a number',
    svc('', { spec: SPEC.replace('replicas: 2', 'replicas: !!str 2') }),
    '9:19: spec.replicas: must be an integer between 0 and 10000 (got the string "2": remove the quotes)',
  );
  s('a null key', svc('  ~: 1\n'), '7:3: spec: unknown field "" (known fields: runtime, ');
  s('a list as a key', svc('  ? [a, b]\n  : 1\n'), '7:3: spec: unknown field "[ a, b ]" (known fields: runtime, ');
  const big = `# ${'x'.repeat(1024 * 1024)}
${svc()}`;
  s('a file over 1 MiB', big, `1:1: file is ${big.length} bytes: a descriptor may be at most 1 MiB (1048576 bytes); not parsed`);
  s(
    'an env value of 1 MiB',
    svc(`  env: {A: ${'v'.repeat(1024 * 1024)}}\n`),
    '1:1: file is 1048725 bytes: a descriptor may be at most 1 MiB (1048576 bytes); not parsed',
  );
  // 5,000 problems, of which a note shows 50 and says how many more.
  s(
    'a command of 5,000 numbers',
    svc('', { spec: `  runtime: process\n  command: [${Array(5000).fill('1').join(', ')}]\n  replicas: 1\n` }),
    '8:163: … and 4950 more problems in this file (fix these first)',
  );
  s(
    'invalid UTF-8',
    Buffer.concat([Buffer.from(svc().replace('canopy/busybox:1', '"canopy/')), Buffer.from([0xff, 0xfe]), Buffer.from('"\n')]),
    '8:18: YAML syntax: Missing closing "quote',
  );
}

// --- fleet.yaml -----------------------------------------------------------------------------------------
{
  const f = file('fleet', FLEET);
  f('kind Service', fleet(TARGETS).replace('kind: Fleet', 'kind: Service'), '2:7: kind: must be "Fleet" (got "Service")');
  f('apiVersion v2', fleet(TARGETS).replace('canopy/v1', 'canopy/v2'), '1:13: apiVersion: must be "canopy/v1" (got "canopy/v2")');
  f(
    'name with capitals',
    fleet(TARGETS, '  name: Demo\n'),
    '4:9: metadata.name: "Demo" must be a lower-case DNS label (letters, digits and -, at most 63 characters)',
  );
  f('name missing', fleet(TARGETS, '  labels: {a: b}\n'), '4:3: metadata: missing required field "name"');
  f('metadata: unknown field', fleet(TARGETS, '  name: demo\n  owner: ops\n'), '5:3: metadata: unknown field "owner" (known fields: name)');
  f('spec: unknown field', fleet(`${TARGETS}  policies: {}\n`), '8:3: spec: unknown field "policies" (known fields: scheduler,');
  f('spec a list', fleet('  - targets\n'), '6:3: spec: must be a mapping (got a list)');
  f(
    'scheduler: unknown root policy',
    fleet(`${TARGETS}  scheduler: {root: fastest}\n`),
    '8:21: spec.scheduler.root: must be one of: bestfit, spread, closest (got "fastest")',
  );
  f(
    'scheduler: a cluster policy misspelt',
    fleet(`${TARGETS}  scheduler: {cluster: ldpp}\n`),
    '8:24: spec.scheduler.cluster: must be one of: bestfit, firstfit, spread, ldp (got "ldpp": did you mean "ldp"?)',
  );
  f('scheduler: unknown field', fleet(`${TARGETS}  scheduler: {node: spread}\n`), '8:15: spec.scheduler: unknown field "node" (known fields: root, cluster)');
  f(
    'timings: heartbeat 0',
    fleet(`${TARGETS}  timings: {heartbeatSeconds: 0}\n`),
    '8:31: spec.timings.heartbeatSeconds: must be a number between 0.1 and 3600 (got 0)',
  );
  f(
    'timings: heartbeat over an hour',
    fleet(`${TARGETS}  timings: {heartbeatSeconds: 4000}\n`),
    '8:31: spec.timings.heartbeatSeconds: must be a number between 0.1 and 3600 (got 4000)',
  );
  f(
    'timings: heartbeat in quotes',
    fleet(`${TARGETS}  timings: {heartbeatSeconds: "5"}\n`),
    '8:31: spec.timings.heartbeatSeconds: must be a number between 0.1 and 3600 (got the string "5": remove the quotes)',
  );
  f(
    'timings: unreachable after 0.1 s',
    fleet(`${TARGETS}  timings: {unreachableAfterSeconds: 0.1}\n`),
    '8:38: spec.timings.unreachableAfterSeconds: must be a number between 0.5 and 86400 (got 0.1)',
  );
  f(
    'timings: unreachable after more than a day',
    fleet(`${TARGETS}  timings: {unreachableAfterSeconds: 100000}\n`),
    '8:38: spec.timings.unreachableAfterSeconds: must be a number between 0.5 and 86400 (got 100000)',
  );
  f(
    'timings: status refresh 0.5 s',
    fleet(`${TARGETS}  timings: {statusRefreshSeconds: 0.5}\n`),
    '8:35: spec.timings.statusRefreshSeconds: must be a number between 1 and 86400 (got 0.5)',
  );
  f(
    'timings: unknown field',
    fleet(`${TARGETS}  timings: {heartbeat: 5}\n`),
    '8:13: spec.timings: unknown field "heartbeat" (known fields: heartbeatSeconds, unreachableAfterSeconds, statusRefreshSeconds)',
  );
  f(
    'targets: a name with capitals',
    fleet(`${TARGETS}    Rome: {lat: 41.9, lon: 12.5}\n`),
    '8:5: spec.targets: key "Rome" must be a lower-case DNS label (letters, digits and -, at most 63 characters)',
  );
  f('targets: lat 91', fleet(`${TARGETS}    rome: {lat: 91, lon: 12.5}\n`), '8:17: spec.targets.rome.lat: must be a number between -90 and 90 (got 91)');
  f('targets: lon 200', fleet(`${TARGETS}    rome: {lat: 41.9, lon: 200}\n`), '8:28: spec.targets.rome.lon: must be a number between -180 and 180 (got 200)');
  f('targets: lon missing', fleet(`${TARGETS}    rome: {lat: 41.9}\n`), '8:11: spec.targets.rome: missing required field "lon"');
  f(
    'targets: probe a number',
    fleet(`${TARGETS}    rome: {lat: 41.9, lon: 12.5, probe: 5}\n`),
    '8:41: spec.targets.rome.probe: must be a string (got 5: put it in quotes)',
  );
  f(
    'targets: unknown field',
    fleet(`${TARGETS}    rome: {lat: 41.9, lon: 12.5, alt: 20}\n`),
    '8:34: spec.targets.rome: unknown field "alt" (known fields: lat, lon, probe)',
  );
  f('targets: a list', fleet('  targets: [office]\n'), '6:12: spec.targets: must be a mapping (got a list)');
  f('duplicate key in spec', fleet(`${TARGETS}  targets: {}\n`), '8:3: duplicate key "targets": a key may appear only once in a mapping');
  f(
    'YAML syntax',
    fleet(`${TARGETS}  timings: {heartbeatSeconds: 2\n`),
    '9:1: YAML syntax: Flow map in block collection must be sufficiently indented and end with a }',
  );
  f('empty', '', '1:1: empty file: expected a Fleet descriptor');
}

// --- fleet.yaml: spec.notifications, spec.commitStatus ----------------------------------------------
{
  const f = file('fleet notifications', FLEET);
  /** fleet.yaml with the base's target, then `rest` from line 8. */
  const with_ = (rest: string) => fleet(`${TARGETS}${rest}`);
  f(
    'webhook: not a URL',
    with_('  notifications: [{url: hooks.example/canopy}]\n'),
    '8:25: spec.notifications[0].url: "hooks.example/canopy" must be an http:// or https:// URL',
  );
  f(
    'webhook: a password in the URL',
    with_('  notifications: [{url: "https://ops:hunter2@hooks.example/c"}]\n'),
    '8:25: spec.notifications[0].url: "https://ops:hunter2@hooks.example/c" must be an http:// or https:// URL without a user or password in it',
  );
  f('webhook: url missing', with_('  notifications: [{events: [accepted]}]\n'), '8:19: spec.notifications[0]: missing required field "url"');
  f(
    'webhook: unknown event',
    with_('  notifications: [{url: "https://h.example/c", events: [accepted, deployed]}]\n'),
    '8:67: spec.notifications[0].events[1]: must be one of: accepted, rejected, converged, unreachable, rolled-back (got "deployed")',
  );
  f(
    'webhook: an event twice',
    with_('  notifications: [{url: "https://h.example/c", events: [converged, converged]}]\n'),
    '8:68: spec.notifications[0].events: "converged" is listed twice',
  );
  f(
    'webhook: secretEnv not a variable name',
    with_('  notifications: [{url: "https://h.example/c", secretEnv: "my secret"}]\n'),
    '8:59: spec.notifications[0].secretEnv: "my secret" must be a variable name',
  );
  f(
    'webhook: the secret itself in the file',
    with_('  notifications: [{url: "https://h.example/c", secret: s3cr3t}]\n'),
    '8:48: spec.notifications[0]: unknown field "secret" (did you mean "secretEnv"?)',
  );
  f('notifications: a mapping', with_('  notifications: {url: "https://h.example/c"}\n'), '8:18: spec.notifications: must be a list');
  f(
    'commitStatus: unknown provider',
    with_('  commitStatus: {provider: gitlab}\n'),
    '8:28: spec.commitStatus.provider: must be one of: github, gitea (got "gitlab": did you mean "github"?)',
  );
  f('commitStatus: provider missing', with_('  commitStatus: {repository: acme/fleet}\n'), '8:17: spec.commitStatus: missing required field "provider"');
  f(
    'commitStatus: a github repository that is not owner/name',
    with_('  commitStatus: {provider: github, repository: acme}\n'),
    '8:48: spec.commitStatus.repository: "acme" must be a repository as OWNER/NAME',
  );
  f(
    'commitStatus: a repository URL instead of owner/name',
    with_('  commitStatus: {provider: github, repository: "https://github.com/acme/fleet"}\n'),
    '8:48: spec.commitStatus.repository: "https://github.com/acme/fleet" must be a repository as OWNER/NAME',
  );
  f(
    'commitStatus: apiUrl not a URL',
    with_('  commitStatus: {provider: gitea, apiUrl: gitea.local}\n'),
    '8:43: spec.commitStatus.apiUrl: "gitea.local" must be an http:// or https:// URL',
  );
  f(
    'commitStatus: the token itself in the file',
    with_('  commitStatus: {provider: github, token: ghp_x}\n'),
    '8:36: spec.commitStatus: unknown field "token" (known fields: provider, apiUrl, tokenEnv, repository, context)',
  );
  f('commitStatus: empty context', with_('  commitStatus: {provider: github, context: ""}\n'), '8:45: spec.commitStatus.context: must not be empty');
}

// --- fleet.yaml: spec.trust --------------------------------------------------------------------------
{
  const f = file('fleet trust', FLEET);
  const root = (r: string) => fleetTrust(`    root: ${r}\n`);
  f('unknown field', fleetTrust(`    rooot: {user: demo.root, keys: ["${R}"]}\n`), '9:5: spec.trust: unknown field "rooot" (did you mean "root"?)');
  f('a list', fleet(`${TARGETS}  trust: ["${R}"]\n`), '8:10: spec.trust: must be a mapping (got a list)');
  f('root: user missing', root(`{keys: ["${R}"]}`), '9:11: spec.trust.root: missing required field "user"');
  f('root: keys missing', root('{user: demo.root}'), '9:11: spec.trust.root: missing required field "keys"');
  f('root: keys empty', root('{user: demo.root, keys: []}'), '9:35: spec.trust.root.keys: must list at least 1 item');
  f(
    'root: keys a string',
    fleetTrust(`    root:\n      user: demo.root\n      keys: "${R}"\n`),
    '11:13: spec.trust.root.keys: must be a list (got "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBqYE084EsgRkyzqgTb1+I…)',
  );
  f(
    'root: an RSA key',
    root('{user: demo.root, keys: ["ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ root"]}'),
    '9:36: spec.trust.root.keys[0]: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ root" must be an Ed25519 public key as OpenSSH writes it: ssh-ed25519 AAAA… comment',
  );
  f(
    'root: a key without its type',
    root(`{user: demo.root, keys: ["${R.slice('ssh-ed25519 '.length)}"]}`),
    '9:36: spec.trust.root.keys[0]: "AAAAC3NzaC1lZDI1NTE5AAAAIBqYE084EsgRkyzqgTb1+I247XE1iApjQyvbmXlaRuSY root" must be an Ed25519 public key as OpenSSH writes it: ssh-ed25519 AAAA… comment',
  );
  f(
    'root: a key with bad characters',
    root('{user: demo.root, keys: ["ssh-ed25519 AAAA!!!! root"]}'),
    '9:36: spec.trust.root.keys[0]: "ssh-ed25519 AAAA!!!! root" must be an Ed25519 public key as OpenSSH writes it: ssh-ed25519 AAAA… comment',
  );
  f(
    'root: a key that is not an Ed25519 key inside',
    root('{user: demo.root, keys: ["ssh-ed25519 AAAAbogus root"]}'),
    '9:36: spec.trust.root.keys[0]: malformed ssh-ed25519 key (the base64 does not hold a 32-byte Ed25519 key): ssh-ed25519 AAAAbogus root',
  );
  f(
    'root: a key cut short',
    root(`{user: demo.root, keys: ["${R.slice(0, 60)}"]}`),
    '9:36: spec.trust.root.keys[0]: malformed ssh-ed25519 key (the base64 does not hold a 32-byte Ed25519 key): ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBqYE084EsgRkyzqgTb1+I24',
  );
  f(
    'root: a key listed twice',
    root(`{user: demo.root, keys: ["${R}", "${R}"]}`),
    '9:125: spec.trust.root.keys: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBqYE084EsgRkyzqgTb1+I247XE1iApjQyvbmXlaRuSY root" is listed twice',
  );
  f(
    'root: nine keys',
    root(`{user: demo.root, keys: [${Array.from({ length: 9 }, (_, i) => `"${R}${i}"`).join(', ')}]}`),
    '9:35: spec.trust.root.keys: must NOT have more than 8 items',
  );
  f(
    'root: a key of 401 characters',
    root(`{user: demo.root, keys: ["${R} ${'c'.repeat(400 - R.length)}"]}`),
    '9:36: spec.trust.root.keys[0]: must be at most 400 characters (it has 401)',
  );
  f(
    'root: user with a space',
    root(`{user: "demo root", keys: ["${R}"]}`),
    '9:18: spec.trust.root.user: "demo root" must be a user name (letters, digits, ".", "_", "@" and "-", 1 to 128 characters)',
  );
  f(
    'root: user empty',
    root(`{user: "", keys: ["${R}"]}`),
    '9:18: spec.trust.root.user: "" must be a user name (letters, digits, ".", "_", "@" and "-", 1 to 128 characters)',
  );
  f(
    'root: user of 129 characters',
    root(`{user: ${'u'.repeat(129)}, keys: ["${R}"]}`),
    '9:18: spec.trust.root.user: "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu" must be a user name (letters, digits, ".", "_", "@" and "-", 1 to 128 characters)',
  );
  f('root: user a number', root(`{user: 7, keys: ["${R}"]}`), '9:18: spec.trust.root.user: must be a string (got 7: put it in quotes)');
  f('root: unknown field', root(`{user: demo.root, keys: ["${R}"], extra: 1}`), '9:126: spec.trust.root: unknown field "extra" (known fields: user, keys');
  f(
    'operators: a name with capitals',
    fleetTrust(`    operators:\n      Alice: {user: demo.operator.alice, keys: ["${KEYS.alice}"]}\n`),
    '10:7: spec.trust.operators: key "Alice" must be a lower-case DNS label (letters, digits and -, at most 63 characters)',
  );
  f(
    'operators: keys missing',
    fleetTrust('    operators:\n      alice: {user: demo.operator.alice}\n'),
    '10:14: spec.trust.operators.alice: missing required field "keys"',
  );
  f(
    'operators: a bad key',
    fleetTrust('    operators:\n      alice: {user: demo.operator.alice, keys: ["ssh-ed25519 AAAAbogus"]}\n'),
    '10:49: spec.trust.operators.alice.keys[0]: malformed ssh-ed25519 key (the base64 does not hold a 32-byte Ed25519 key): ssh-ed25519 AAAAbogus',
  );
  f('operators: a list', fleetTrust('    operators: [alice]\n'), '9:16: spec.trust.operators: must be a mapping (got a list)');
  f('commitSigners: empty', fleetTrust('    commitSigners: []\n'), '9:20: spec.trust.commitSigners: must list at least 1 item');
  f(
    'commitSigners: an OpenPGP key id',
    fleetTrust('    commitSigners: ["pgp ABCDEF0123456789"]\n'),
    '9:21: spec.trust.commitSigners[0]: "pgp ABCDEF0123456789" must be an SSH public key as in allowed_signers: ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521 or sk-… then AAAA… and a comment',
  );
  f(
    'commitSigners: a DSA key',
    fleetTrust('    commitSigners: ["ssh-dss AAAAB3NzaC1kc3MAAACBAP alice"]\n'),
    '9:21: spec.trust.commitSigners[0]: "ssh-dss AAAAB3NzaC1kc3MAAACBAP alice" must be an SSH public key as in allowed_signers: ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521 or sk-… then AAAA… and a comment',
  );
  f(
    'commitSigners: a key listed twice',
    fleetTrust(`    commitSigners: ["${KEYS.alice}", "${KEYS.alice}"]\n`),
    '9:111: spec.trust.commitSigners: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMmSHNH39PNhm4Wm3FPilLn3VTnzI29L2ErwtSSis9uB alice" is listed twice',
  );
  f(
    'commitSigners: a string',
    fleetTrust(`    commitSigners: "${KEYS.alice}"\n`),
    '9:20: spec.trust.commitSigners: must be a list (got "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMmSHNH39PNhm4Wm3FPilL…)',
  );
  f(
    'commitSigners: 101 keys',
    fleetTrust(`    commitSigners: [${Array.from({ length: 101 }, (_, i) => `"${KEYS.alice}${i}"`).join(', ')}]\n`),
    '9:20: spec.trust.commitSigners: must NOT have more than 100 items',
  );
  f(
    'commitSigners: an Ed25519 key that is not one inside',
    fleetTrust('    commitSigners: ["ssh-ed25519 AAAAbogus alice"]\n'),
    '9:21: spec.trust.commitSigners[0]: malformed ssh-ed25519 key (its base64 does not hold a ssh-ed25519 key): ssh-ed25519 AAAAbogus alice',
  );
  f(
    'commitSigners: an Ed25519 key labelled ssh-rsa',
    fleetTrust(`    commitSigners: ["ssh-rsa ${KEYS.alice.split(' ')[1]} alice"]\n`),
    '9:21: spec.trust.commitSigners[0]: malformed ssh-rsa key (its base64 does not hold a ssh-rsa key)',
  );
}

// --- clusters/munich.yaml ------------------------------------------------------------------------------
{
  const c = file('cluster', CLUSTER);
  c('kind Service', cluster('  nodes: 1\n').replace('kind: Cluster', 'kind: Service'), '2:7: kind: must be "Cluster" (got "Service")');
  c('name differs from the file', cluster('  nodes: 1\n', '  name: paris\n'), '4:9: metadata.name: "paris" does not match the file name munich.yaml');
  c(
    'name with capitals',
    cluster('  nodes: 1\n', '  name: Munich\n'),
    '4:9: metadata.name: "Munich" must be a lower-case DNS label (letters, digits and -, at most 63 characters)',
  );
  c(
    'labels: a bad key',
    cluster('  nodes: 1\n', '  name: munich\n  labels: {"zone a": x}\n'),
    '5:12: metadata.labels: key "zone a" must be a label key (letters, digits, ".", "_", "/" and "-", at most 63 characters)',
  );
  c(
    'labels: a value of 254 characters',
    cluster('  nodes: 1\n', `  name: munich\n  labels: {zone: ${'z'.repeat(254)}}\n`),
    '5:18: metadata.labels.zone: must be at most 253 characters (it has 254)',
  );
  c('metadata: unknown field', cluster('  nodes: 1\n', '  name: munich\n  region: eu\n'), '5:3: metadata: unknown field "region" (known fields: name, labels)');
  c('location: lat 91', cluster('  location: {lat: 91, lon: 0}\n'), '6:19: spec.location.lat: must be a number between -90 and 90 (got 91)');
  c('location: lon 181', cluster('  location: {lat: 0, lon: 181}\n'), '6:27: spec.location.lon: must be a number between -180 and 180 (got 181)');
  c('location: lon missing', cluster('  location: {lat: 0}\n'), '6:13: spec.location: missing required field "lon"');
  c('location: a string', cluster('  location: munich\n'), '6:13: spec.location: must be a mapping (got "munich")');
  c('location: unknown field', cluster('  location: {lat: 0, lon: 0, alt: 500}\n'), '6:30: spec.location: unknown field "alt" (known fields: lat, lon)');
  c('operator empty', cluster('  operator: ""\n'), '6:13: spec.operator: must not be empty');
  c('nodes negative', cluster('  nodes: -1\n'), '6:10: spec.nodes: must be an integer between 0 and 10000 (got -1)');
  c('nodes over 10000', cluster('  nodes: 10001\n'), '6:10: spec.nodes: must be an integer between 0 and 10000 (got 10001)');
  c('nodes a fraction', cluster('  nodes: 1.5\n'), '6:10: spec.nodes: must be an integer between 0 and 10000 (got 1.5)');
  c('nodes in quotes', cluster('  nodes: "3"\n'), '6:10: spec.nodes: must be an integer between 0 and 10000 (got the string "3": remove the quotes)');
  c('spec: unknown field', cluster('  region: eu\n'), '6:3: spec: unknown field "region" (known fields: location, operator, nodes, identity, nodeIdentities, ');
  c('spec.retired: not a boolean', cluster('  retired: yes\n'), '6:12: spec.retired: must be true or false (got "yes")');
  c('empty', '', '1:1: empty file: expected a Cluster descriptor');
  c('YAML syntax', cluster('  location: {lat: 0, lon: 0\n'), '7:1: YAML syntax: Flow map in block collection must be sufficiently indented and end with a }');
}

// --- clusters/munich.yaml: spec.connectivity and spec.capacity (air-gapped clusters) ---------------------
{
  const c = file('cluster connectivity', CLUSTER);
  c(
    'air-gapped without a capacity',
    cluster('  connectivity: air-gapped\n'),
    '6:17: spec.capacity: required for an air-gapped cluster (the root places on it from what it declares: cpu, memory; nodes, runtimes, arch optional)',
  );
  c(
    'a capacity on an online cluster',
    cluster('  capacity: {cpu: 4, memory: 8Gi}\n'),
    '6:13: spec.capacity: only for an air-gapped cluster (spec.connectivity: air-gapped); an online cluster reports its own',
  );
  c(
    'connectivity offline',
    cluster('  connectivity: offline\n'),
    '6:17: spec.connectivity: must be one of: online, air-gapped (got "offline": did you mean "online"?)',
  );
  c('capacity: memory missing', cluster('  connectivity: air-gapped\n  capacity: {cpu: 4}\n'), '7:13: spec.capacity: missing required field "memory"');
  c('capacity: cpu negative', cluster('  connectivity: air-gapped\n  capacity: {cpu: -1, memory: 1Gi}\n'), '7:19: spec.capacity.cpu: must be');
  c('capacity: nodes 0', cluster('  connectivity: air-gapped\n  capacity: {cpu: 4, memory: 1Gi, nodes: 0}\n'), '7:42: spec.capacity.nodes: must be');
  c(
    'capacity: a runtime unknown',
    cluster('  connectivity: air-gapped\n  capacity: {cpu: 4, memory: 1Gi, runtimes: [docker]}\n'),
    '7:46: spec.capacity.runtimes[0]: must be one of: container, process (got "docker")',
  );
}

// --- clusters/munich.yaml: spec.identity and spec.nodeIdentities ---------------------------------------
{
  const c = file('cluster identity', CLUSTER);
  const id = (t: string) => cluster(`  identity: ${t}\n`);
  const M = KEYS.munich;
  c('user missing', id(`{keys: ["${M}"]}`), '6:13: spec.identity: missing required field "user"');
  c('keys missing', id('{user: demo.cluster.munich}'), '6:13: spec.identity: missing required field "keys"');
  c('keys empty', id('{user: demo.cluster.munich, keys: []}'), '6:47: spec.identity.keys: must list at least 1 item');
  c(
    'an RSA key',
    id('{user: demo.cluster.munich, keys: ["ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ m"]}'),
    '6:48: spec.identity.keys[0]: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ m" must be an Ed25519 public key as OpenSSH writes it: ssh-ed25519 AAAA… comment',
  );
  c(
    'a key that is not an Ed25519 key inside',
    id('{user: demo.cluster.munich, keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 m"]}'),
    '6:48: spec.identity.keys[0]: malformed ssh-ed25519 key (the base64 does not hold a 32-byte Ed25519 key): ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 m',
  );
  c(
    'a key listed twice',
    id(`{user: demo.cluster.munich, keys: ["${M}", "${M}"]}`),
    '6:139: spec.identity.keys: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIACf9gxgjJ980jyR+FcW9FBHXAAayb2Ert+fJKeQgZ/8 munich" is listed twice',
  );
  c(
    'nine keys',
    id(`{user: demo.cluster.munich, keys: [${Array.from({ length: 9 }, (_, i) => `"${M}${i}"`).join(', ')}]}`),
    '6:47: spec.identity.keys: must NOT have more than 8 items',
  );
  c(
    'user with a slash',
    id(`{user: demo/munich, keys: ["${M}"]}`),
    '6:20: spec.identity.user: "demo/munich" must be a user name (letters, digits, ".", "_", "@" and "-", 1 to 128 characters)',
  );
  c(
    'unknown field',
    id(`{user: demo.cluster.munich, keys: ["${M}"], password: x}`),
    '6:140: spec.identity: unknown field "password" (known fields: user, keys',
  );
  c('a string', id(`"${M}"`), '6:13: spec.identity: must be a mapping (got "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIACf9gxgjJ980jyR+FcW9F…)');
  c(
    'nodes: a node name with capitals',
    cluster(`  nodeIdentities:\n    N1: {user: demo.node.munich.n1, keys: ["${KEYS.n1}"]}\n`),
    '7:5: spec.nodeIdentities: key "N1" must be a lower-case DNS label (letters, digits and -, at most 63 characters)',
  );
  c(
    'nodes: a node name with _',
    cluster(`  nodeIdentities:\n    n_1: {user: demo.node.munich.n1, keys: ["${KEYS.n1}"]}\n`),
    '7:5: spec.nodeIdentities: key "n_1" must be a lower-case DNS label (letters, digits and -, at most 63 characters)',
  );
  c('nodes: keys missing', cluster('  nodeIdentities:\n    n1: {user: demo.node.munich.n1}\n'), '7:9: spec.nodeIdentities.n1: missing required field "keys"');
  c(
    'nodes: a bad key',
    cluster('  nodeIdentities:\n    n1: {user: demo.node.munich.n1, keys: ["ecdsa-sha2-nistp256 AAAA n1"]}\n'),
    '7:44: spec.nodeIdentities.n1.keys[0]: "ecdsa-sha2-nistp256 AAAA n1" must be an Ed25519 public key as OpenSSH writes it: ssh-ed25519 AAAA… comment',
  );
  c(
    'nodes: a key that is not an Ed25519 key inside',
    cluster('  nodeIdentities:\n    n1: {user: demo.node.munich.n1, keys: ["ssh-ed25519 AAAA n1"]}\n'),
    '7:44: spec.nodeIdentities.n1.keys[0]: malformed ssh-ed25519 key (the base64 does not hold a 32-byte Ed25519 key): ssh-ed25519 AAAA n1',
  );
  c('nodes: a list', cluster('  nodeIdentities: [n1]\n'), '6:19: spec.nodeIdentities: must be a mapping (got a list)');
}

// --- the tree: paths, links, and rules across files ----------------------------------------------------
{
  const t = row('tree');
  t(
    'a .yml file',
    { 'services/web/cache.yml': svc('', { meta: '  name: cache\n  app: web\n' }) },
    'services/web/cache.yml:1:1: unknown file: put service descriptors in services/<app>/<name>.yaml (ending in .yaml, not .yml)',
  );
  t('a service one level up', { 'services/api.yaml': svc() }, 'services/api.yaml:1:1: unknown file: put service descriptors in services/<app>/<name>.yaml');
  t(
    'a service one level down',
    { 'services/web/v2/api.yaml': svc() },
    'services/web/v2/api.yaml:1:1: unknown file: put service descriptors in services/<app>/<name>.yaml',
  );
  t(
    'a cluster in a subdirectory',
    { 'clusters/eu/munich.yaml': cluster('  nodes: 1\n') },
    'clusters/eu/munich.yaml:1:1: unknown file: put cluster descriptors in clusters/<name>.yaml',
  );
  t('a stray file', { 'notes.txt': 'remember the milk\n' }, 'notes.txt:1:1: unknown file: put service descriptors in services/<app>/<name>.yaml');
  t(
    'Services with a capital',
    { 'Services/web/api.yaml': svc() },
    'Services/web/api.yaml:1:1: unknown file: put service descriptors in services/<app>/<name>.yaml',
  );
  t(
    'a symbolic link',
    { 'services/web/link.yaml': { symlink: 'api.yaml' } },
    'services/web/link.yaml:1:1: symbolic links are not allowed in a fleet repository: commit the file itself',
  );
  t(
    'a submodule',
    { 'services/web/vendor.yaml': { submodule: 'c0ffee'.padEnd(40, '0') } },
    'services/web/vendor.yaml:1:1: submodules are not allowed in a fleet repository',
  );
  t('fleet.yaml deleted', { [FLEET]: null }, 'fleet.yaml:1:1: missing fleet.yaml: every fleet repository needs one at its root (canopy init writes one)');
  t(
    'fleet.yaml as a directory',
    { [FLEET]: null, 'fleet.yaml/x.yaml': fleet(TARGETS) },
    'fleet.yaml:1:1: missing fleet.yaml: every fleet repository needs one at its root (canopy init writes one)',
  );
  t(
    'a service defined twice',
    { 'services/web/api-2.yaml': svc() },
    'services/web/api-2.yaml:4:9: duplicate service web/api: also defined in services/web/api.yaml',
  );
  t(
    'a cluster defined twice',
    { 'clusters/munich-2.yaml': cluster('  nodes: 1\n') },
    'clusters/munich-2.yaml:4:9: duplicate cluster munich: also defined in clusters/munich.yaml',
  );
  t(
    'a target removed that a service uses',
    { [FLEET]: fleet('  timings: {heartbeatSeconds: 2}\n') },
    'services/shop/cart.yaml:11:28: spec.constraints.latency.to.target: "office" is not a target of fleet.yaml (fleet.yaml declares none under spec.targets)',
  );
  t(
    'two services with one variable name (a-b/c and a/b-c)',
    {
      'services/a-b/c.yaml': svc('', { meta: '  name: c\n  app: a-b\n' }),
      'services/a/b-c.yaml': svc('', { meta: '  name: b-c\n  app: a\n' }),
    },
    'services/a/b-c.yaml:4:9: service a/b-c and service a-b/c (services/a-b/c.yaml) both have the variable CANOPY_ADDR_A_B_C',
  );
  t(
    'a service used by another is removed',
    { 'services/shop/cart.yaml': svc('  uses: [web/db]\n', { meta: '  name: cart\n  app: shop\n' }), 'services/web/db.yaml': null },
    'services/shop/cart.yaml:10:10: spec.uses[0]: "web/db" is not a service of this commit (no services/web/db.yaml)',
  );
  t(
    'a valid file beside a bad one: rejected whole',
    { 'services/web/new.yaml': svc('', { meta: '  name: new\n  app: web\n' }), [SERVICE]: svc('  replicas: 3\n') },
    'services/web/api.yaml:10:3: duplicate key "replicas": a key may appear only once in a mapping',
  );
}

// --- secrets: spec.secrets, fleet.yaml registries, secrets/<name>.yaml and .age ------------------
{
  const s = file('secrets', SERVICE);
  const uses = (item: string) => svc(`  secrets:\n    - ${item}\n`);
  s(
    'env and file both',
    uses('{secret: db, key: password, env: DB_PASSWORD, file: /run/db}'),
    '11:7: spec.secrets[0]: give exactly one of env (a variable) and file (a path)',
  );
  s('neither env nor file', uses('{secret: db, key: password}'), '11:7: spec.secrets[0]: give exactly one of env (a variable) and file (a path)');
  s(
    'a relative file in a container',
    uses('{secret: db, key: password, file: run/db}'),
    '11:41: spec.secrets[0].file: "run/db" must be an absolute path in the container',
  );
  s(
    'a secret that does not exist',
    uses('{secret: cache, key: password, env: P}'),
    '11:16: spec.secrets[0].secret: secret "cache" does not exist (no secrets/cache.yaml',
  );
  s(
    'a key the secret does not have',
    uses('{secret: db, key: token, env: P}'),
    '11:25: spec.secrets[0].key: secret "db" has no key "token" (its keys: password, username)',
  );
  s('a bad variable name', uses('{secret: db, key: password, env: 1X}'), '11:40: spec.secrets[0].env: "1X" must be a variable name');
  const t = row('secrets');
  t(
    'a registry whose secret does not exist',
    { [FLEET]: fleet(`${TARGETS}  registries:\n    - {host: "127.0.0.1:5000", secret: hub}\n`) },
    'fleet.yaml:9:40: spec.registries[0].secret: secret "hub" does not exist',
  );
  t(
    'a registry whose secret has no username',
    {
      [FLEET]: fleet(`${TARGETS}  registries:\n    - {host: "127.0.0.1:5000", secret: db}\n`),
      [SECRET]: secret('  clusters: [munich]\n  keys: [password]\n'),
    },
    'fleet.yaml:9:40: spec.registries[0].secret: secret "db" has no key username (a registry needs username and password)',
  );
  t(
    'a key used by a service is dropped',
    { [SECRET]: secret('  clusters: [munich]\n  keys: [username]\n'), [SERVICE]: uses('{secret: db, key: password, env: P}') },
    'services/web/api.yaml:11:25: spec.secrets[0].key: secret "db" has no key "password" (its keys: username)',
  );
  t('a secret without its ciphertext', { [SEALED]: null }, 'secrets/db.yaml:1:1: no secrets/db.age beside it');
  t('a ciphertext without its secret', { 'secrets/cache.age': ARMORED }, 'secrets/cache.age:1:1: no secrets/cache.yaml beside it');
  t('a ciphertext that is not armored', { [SEALED]: Buffer.from([0x61, 0x67, 0x65, 0x00, 0xff]) }, 'secrets/db.age:1:1: not an armored age file');
  t(
    'a secret named unlike its file',
    { [SECRET]: secret('  clusters: [munich]\n  keys: [password]\n', '  name: dbx\n') },
    'secrets/db.yaml:4:9: metadata.name: "dbx" does not match the file name db.yaml',
  );
  t('a secret sealed to no cluster', { [SECRET]: secret('  clusters: []\n  keys: [password]\n') }, 'secrets/db.yaml:6:13: spec.clusters: ');
  t(
    'a value in secrets/*.yaml',
    { [SECRET]: secret('  clusters: [munich]\n  keys: [password]\n  password: hunter2\n') },
    'secrets/db.yaml:8:3: spec: unknown field "password" (known fields: clusters, keys)',
  );
  t('another file under secrets/', { 'secrets/db.json': '{}' }, 'secrets/db.json:1:1: unknown file: a secret is secrets/<name>.yaml and secrets/<name>.age');
}

// --- config files: spec.files ---------------------------------------------------------------------
{
  const s = file('config files', SERVICE);
  const f = (list: string) => svc(`  files: [${list}]\n`);
  s(
    'a from not in the commit',
    f('{path: /etc/a.conf, from: config/web/nope.conf}'),
    '10:37: spec.files[0].from: config/web/nope.conf is not a file of this commit',
  );
  s('a from that is a directory', f('{path: /etc/a.conf, from: config/web}'), '10:37: spec.files[0].from: config/web is not a file of this commit');
  s('an absolute from', f('{path: /etc/a.conf, from: /etc/passwd}'), '10:37: spec.files[0].from: must be a path relative to the root of the fleet repository');
  s(
    'a from with ..',
    f('{path: /etc/a.conf, from: config/../fleet.yaml}'),
    '10:37: spec.files[0].from: must be a plain relative path, without ., .. or empty parts',
  );
  s('a from under .git', f('{path: /etc/a.conf, from: .git/config}'), '10:37: spec.files[0].from: may not be under .git');
  s(
    'a relative path in a container',
    f('{path: etc/a.conf, from: config/web/app.conf}'),
    '10:18: spec.files[0].path: must be an absolute path in the container',
  );
  s(
    'a container path with ..',
    f('{path: /etc/../a.conf, from: config/web/app.conf}'),
    '10:18: spec.files[0].path: must be a plain absolute path, without . or .. parts',
  );
  s(
    'a path twice',
    f('{path: /etc/a.conf, from: config/web/app.conf}, {path: /etc/a.conf, from: config/web/app.conf}'),
    '10:66: spec.files[1].path: /etc/a.conf is given twice (also spec.files[0].path)',
  );
  s(
    'a path a secret file takes',
    svc('  secrets: [{secret: db, key: password, file: /etc/a.conf}]\n  files: [{path: /etc/a.conf, from: config/web/app.conf}]\n'),
    '11:18: spec.files[0].path: /etc/a.conf is given twice (also spec.secrets[0].file)',
  );
  s(
    'an oid in a descriptor',
    f(`{path: /etc/a.conf, from: config/web/app.conf, oid: ${'a'.repeat(40)}}`),
    '10:63: spec.files[0].oid: set by canopy in what it hands down',
  );
  s('no from', f('{path: /etc/a.conf}'), '10:11: spec.files[0]: missing required field "from"');
  const t = row('config files');
  const proc = (path: string) =>
    svc(`  files: [{path: ${path}, from: config/web/app.conf}]\n`, {
      meta: '  name: db\n  app: web\n',
      spec: '  runtime: process\n  command: [sleep, "3600"]\n  replicas: 1\n',
    });
  t(
    'a process path with ..',
    { [DB]: proc('../app.conf') },
    'services/web/db.yaml:10:18: spec.files[0].path: must be a plain relative path, without .. or empty parts',
  );
  t(
    'an absolute process path',
    { [DB]: proc('/etc/app.conf') },
    "services/web/db.yaml:10:18: spec.files[0].path: must be relative to the process's working directory",
  );
  t(
    'a config file a service uses is deleted',
    { [APP_CONF]: null },
    'services/web/db.yaml:10:39: spec.files[0].from: config/web/app.conf is not a file of this commit',
  );
  t(
    'a config file over 256 KiB',
    { [APP_CONF]: 'x'.repeat(256 * 1024 + 1) },
    'services/web/db.yaml:10:39: spec.files[0].from: config/web/app.conf is 262145 bytes: a config file may be at most 256 KiB (262144 bytes)',
  );
  const five = Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`config/web/${i}.conf`, 'y'.repeat(250 * 1024)]));
  t(
    "a service's config files over 1 MiB together",
    { ...five, [SERVICE]: f([1, 2, 3, 4, 5].map((i) => `{path: /etc/${i}.conf, from: config/web/${i}.conf}`).join(', ')) },
    "services/web/api.yaml:10:10: spec.files: 1280000 bytes in all: a service's config files may be at most 1 MiB (1048576 bytes) together",
  );
  t('a file outside the layout no service names', { 'nginx.conf': 'x\n' }, 'nginx.conf:1:1: unknown file');
  t(
    'a config file that is a symbolic link',
    { [SERVICE]: f('{path: /etc/a.conf, from: config/web/link.conf}'), 'config/web/link.conf': { symlink: 'app.conf' } },
    'config/web/link.conf:1:1: symbolic links are not allowed',
  );
}

export const DESCRIPTOR_CASES: readonly DescriptorCase[] = rows;
