import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, dirname, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatProblem, parseDescriptor, validateFleet, MAX_DESCRIPTOR_BYTES, type FleetFile, type ParseResult } from '../../reconciler/core/validate.js';

const here = dirname(fileURLToPath(import.meta.url));
const TEMPLATE = join(here, '../../../fleet-repo-template');
const SCHEMAS = join(here, '../../../schemas');

function readTree(root: string, dir = ''): FleetFile[] {
  return readdirSync(join(root, dir))
    .sort()
    .flatMap((name) => {
      const path = dir ? `${dir}/${name}` : name;
      if (statSync(join(root, path)).isDirectory()) return readTree(root, path);
      return [{ path, text: readFileSync(join(root, path), 'utf8') }];
    });
}

// A small valid tree; each case overrides files (null removes one). Line numbers in the
// expectations below count from these texts.
const FLEET = 'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: demo}\n';
function service(spec: string, meta = '  name: api\n  app: web\n'): string {
  return `apiVersion: canopy/v1\nkind: Service\nmetadata:\n${meta}spec:\n${spec}`;
}
const SPEC = '  runtime: container\n  image: canopy/busybox:1\n  replicas: 2\n';
function cluster(name: string): string {
  return `apiVersion: canopy/v1\nkind: Cluster\nmetadata:\n  name: ${name}\n`;
}
function aTree(overrides: Record<string, string | null> = {}): FleetFile[] {
  const files: Record<string, string | null> = {
    'fleet.yaml': FLEET,
    'services/web/api.yaml': service(SPEC),
    'clusters/munich.yaml': cluster('munich'),
    ...overrides,
  };
  return Object.entries(files).flatMap(([path, text]) => (text === null ? [] : [{ path, text }]));
}

// --- the template ---------------------------------------------------------------------------
const template = suite('fleet-repo-template');

template('validates clean, in a stable order', () => {
  const v = validateFleet(readTree(TEMPLATE));
  assert.ok(v.ok, v.ok ? '' : v.problems.map(formatProblem).join('\n'));
  if (!v.ok) return;
  assert.is(v.fleet.metadata.name, 'demo');
  assert.equal(
    v.clusters.map((c) => c.metadata.name),
    ['munich', 'paris'],
  );
  assert.equal(
    v.services.map((s) => `${s.metadata.app}/${s.metadata.name}`),
    ['shop/web', 'shop/worker', 'traffic-cam/detector'],
  );
});

template('each descriptor names its schema by a path that resolves to schemas/', () => {
  const kinds: Record<string, string> = { Service: 'service', Fleet: 'fleet', Cluster: 'cluster' };
  for (const f of readTree(TEMPLATE).filter((f) => f.path.endsWith('.yaml'))) {
    const m = /^# yaml-language-server: \$schema=(\S+)\n/.exec(f.text);
    assert.ok(m, `${f.path}: first line names no schema`);
    const kind = /^kind: (\w+)$/m.exec(f.text)?.[1] ?? '';
    const target = posix.normalize(posix.join(posix.dirname(f.path), m![1]));
    assert.is(target, `schemas/${kinds[kind]}.schema.json`, f.path);
    assert.ok(existsSync(join(SCHEMAS, posix.basename(target))), `${target} is not in schemas/`);
  }
});

template.run();

// --- parseDescriptor ------------------------------------------------------------------------
const parse = suite('parseDescriptor');

const BIG = `# ${'x'.repeat(MAX_DESCRIPTOR_BYTES)}\n${service(SPEC)}`;
const bad: Array<[string, string, string, string[]]> = [
  [
    'YAML syntax error',
    'services/web/api.yaml',
    service('  runtime: container\n  command: [httpd, -f\n  replicas: 2\n'),
    ['services/web/api.yaml:9:3: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  ],
  [
    'duplicate key',
    'services/web/api.yaml',
    service(`${SPEC}  replicas: 3\n`),
    ['services/web/api.yaml:10:3: duplicate key "replicas": a key may appear only once in a mapping'],
  ],
  [
    'multi-document file',
    'services/web/api.yaml',
    `${service(SPEC)}---\n${service(SPEC)}`,
    ['services/web/api.yaml:10:1: one descriptor per file: a second YAML document starts here (remove the "---" or split the file)'],
  ],
  [
    'oversized file',
    'services/web/api.yaml',
    BIG,
    [`services/web/api.yaml:1:1: file is ${BIG.length} bytes: a descriptor may be at most 1 MiB (1048576 bytes); not parsed`],
  ],
  ['empty file', 'clusters/munich.yaml', '# nothing yet\n', ['clusters/munich.yaml:1:1: empty file: expected a Cluster descriptor']],
  [
    'wrong type',
    'services/web/api.yaml',
    service('  runtime: container\n  image: canopy/busybox:1\n  replicas: two\n'),
    ['services/web/api.yaml:9:13: spec.replicas: must be an integer between 0 and 10000 (got "two")'],
  ],
  [
    'number in quotes',
    'services/web/api.yaml',
    service('  runtime: container\n  image: canopy/busybox:1\n  replicas: "2"\n'),
    ['services/web/api.yaml:9:13: spec.replicas: must be an integer between 0 and 10000 (got the string "2": remove the quotes)'],
  ],
  [
    'unknown field, with a suggestion',
    'services/web/api.yaml',
    service('  runtime: container\n  image: canopy/busybox:1\n  replica: 2\n'),
    [
      'services/web/api.yaml:7:3: spec: missing required field "replicas"',
      'services/web/api.yaml:9:3: spec: unknown field "replica" (did you mean "replicas"?)',
    ],
  ],
  ['missing required field', 'services/web/api.yaml', service(SPEC, '  name: api\n'), ['services/web/api.yaml:4:3: metadata: missing required field "app"']],
  [
    'bad name',
    'services/web/api.yaml',
    service(SPEC, '  name: Api\n  app: web\n'),
    ['services/web/api.yaml:4:9: metadata.name: "Api" must be a lower-case DNS label (letters, digits and -, at most 63 characters)'],
  ],
  [
    'enum with a near miss',
    'services/web/api.yaml',
    service('  runtime: Container\n  image: canopy/busybox:1\n  replicas: 2\n'),
    ['services/web/api.yaml:7:12: spec.runtime: must be one of: container, process (got "Container": did you mean "container"?)'],
  ],
  [
    'quantity',
    'services/web/api.yaml',
    service(`${SPEC}  resources: {cpu: 0.5, memory: lots}\n`),
    ['services/web/api.yaml:10:33: spec.resources.memory: "lots" must be a quantity like 128Mi, 1Gi or 500M'],
  ],
  [
    'unquoted number in a list of strings',
    'services/web/api.yaml',
    service(`${SPEC}  command: [httpd, -p, 8080]\n`),
    ['services/web/api.yaml:10:24: spec.command[2]: must be a string (got 8080: put it in quotes)'],
  ],
  [
    'wrong kind for the path',
    'clusters/munich.yaml',
    'apiVersion: canopy/v1\nkind: Service\nmetadata: {name: munich}\n',
    ['clusters/munich.yaml:2:7: kind: must be "Cluster" (got "Service")'],
  ],
  [
    'container without image',
    'services/web/api.yaml',
    service('  runtime: container\n  replicas: 2\n'),
    ['services/web/api.yaml:7:12: spec.image: required for runtime container (the image to run)'],
  ],
  [
    'process without command',
    'services/web/api.yaml',
    service('  runtime: process\n  replicas: 2\n'),
    ['services/web/api.yaml:7:12: spec.command: required for runtime process (the argv to start)'],
  ],
  [
    'service name differs from the path',
    'services/web/api.yaml',
    service(SPEC, '  name: apii\n  app: web\n'),
    ['services/web/api.yaml:4:9: metadata.name: "apii" does not match the file name api.yaml'],
  ],
  [
    'app differs from the path',
    'services/web/api.yaml',
    service(SPEC, '  name: api\n  app: shop\n'),
    ['services/web/api.yaml:5:8: metadata.app: "shop" does not match the directory services/web/ (the path must be services/<app>/<name>.yaml)'],
  ],
  [
    'cluster name differs from the path',
    'clusters/munich.yaml',
    cluster('paris'),
    ['clusters/munich.yaml:4:9: metadata.name: "paris" does not match the file name munich.yaml'],
  ],
  ['not a descriptor path', 'services/api.yaml', service(SPEC), ['services/api.yaml:1:1: unknown file: put service descriptors in services/<app>/<name>.yaml']],
];

for (const [name, path, text, expected] of bad) {
  parse(name, () => {
    const r = parseDescriptor({ path, text });
    assert.is(r.ok, false);
    if (!r.ok) assert.equal(r.problems.map(formatProblem), expected);
  });
}

parse('a valid descriptor gives its kind and value', () => {
  const r = parseDescriptor({ path: 'services/web/api.yaml', text: service(SPEC) });
  assert.ok(r.ok);
  if (r.ok && r.kind === 'Service') assert.is(r.value.spec.replicas, 2);
  else assert.unreachable('not a Service');
});

parse.run();

// --- validateFleet --------------------------------------------------------------------------
const fleet = suite('validateFleet');

const badTrees: Array<[string, FleetFile[], string[]]> = [
  [
    'missing fleet.yaml',
    aTree({ 'fleet.yaml': null }),
    ['fleet.yaml:1:1: missing fleet.yaml: every fleet repository needs one at its root (canopy init writes one)'],
  ],
  [
    'unknown files',
    aTree({ 'services/api.yaml': service(SPEC), 'clusters/eu/munich.yaml': cluster('munich'), 'notes.txt': 'hi' }),
    [
      'clusters/eu/munich.yaml:1:1: unknown file: put cluster descriptors in clusters/<name>.yaml',
      'notes.txt:1:1: unknown file: put service descriptors in services/<app>/<name>.yaml',
      'services/api.yaml:1:1: unknown file: put service descriptors in services/<app>/<name>.yaml',
    ],
  ],
  [
    '.yml instead of .yaml',
    aTree({ 'services/web/db.yml': service(SPEC, '  name: db\n  app: web\n') }),
    ['services/web/db.yml:1:1: unknown file: put service descriptors in services/<app>/<name>.yaml (ending in .yaml, not .yml)'],
  ],
  [
    'duplicate service across files',
    aTree({ 'services/web/api-canary.yaml': service(SPEC) }),
    [
      'services/web/api-canary.yaml:4:9: duplicate service web/api: also defined in services/web/api.yaml',
      'services/web/api-canary.yaml:4:9: metadata.name: "api" does not match the file name api-canary.yaml',
    ],
  ],
  [
    'duplicate cluster across files',
    aTree({ 'clusters/munich-2.yaml': cluster('munich') }),
    [
      'clusters/munich-2.yaml:4:9: duplicate cluster munich: also defined in clusters/munich.yaml',
      'clusters/munich-2.yaml:4:9: metadata.name: "munich" does not match the file name munich-2.yaml',
    ],
  ],
  [
    'latency target not in fleet.yaml',
    aTree({
      'services/web/api.yaml': service(`${SPEC}  constraints:\n    latency: {to: {target: rome}, maxMs: 20}\n`),
    }),
    ['services/web/api.yaml:11:28: spec.constraints.latency.to.target: "rome" is not a target of fleet.yaml (fleet.yaml declares none under spec.targets)'],
  ],
  [
    'problems sorted by file, then line',
    aTree({
      'services/web/api.yaml': service('  runtime: container\n  replicas: -1\n', '  name: API\n  app: web\n'),
      'clusters/munich.yaml': cluster('Munich'),
    }),
    [
      'clusters/munich.yaml:4:9: metadata.name: "Munich" must be a lower-case DNS label (letters, digits and -, at most 63 characters)',
      'services/web/api.yaml:4:9: metadata.name: "API" must be a lower-case DNS label (letters, digits and -, at most 63 characters)',
      'services/web/api.yaml:8:13: spec.replicas: must be an integer between 0 and 10000 (got -1)',
    ],
  ],
];

for (const [name, files, expected] of badTrees) {
  fleet(name, () => {
    const v = validateFleet(files);
    assert.is(v.ok, false);
    if (!v.ok) assert.equal(v.problems.map(formatProblem), expected);
  });
}

fleet('ignores READMEs, docs, .gitignore, .github/ and schemas/', () => {
  const v = validateFleet(
    aTree({
      'README.md': '# fleet',
      'services/web/README': 'notes',
      'docs/howto.md': '',
      '.gitignore': '*.tmp',
      '.github/workflows/ci.yml': 'on: push',
      'schemas/service.schema.json': '{}',
    }),
  );
  assert.ok(v.ok, v.ok ? '' : v.problems.map(formatProblem).join('\n'));
});

fleet('a cluster named by a constraint need not be declared (clusters may register later)', () => {
  const v = validateFleet(aTree({ 'services/web/api.yaml': service(`${SPEC}  constraints: {clusters: {names: [rome]}}\n`) }));
  assert.ok(v.ok);
});

fleet('a cached oid is not parsed again', () => {
  const cached = parseDescriptor({ path: 'services/web/api.yaml', text: service(SPEC) });
  const cache = new Map<string, ParseResult>([['b10b', cached]]);
  const files = aTree().map((f) => (f.path === 'services/web/api.yaml' ? { ...f, oid: 'b10b', text: 'not: [valid' } : f));
  const v = validateFleet(files, cache);
  assert.ok(v.ok, v.ok ? '' : v.problems.map(formatProblem).join('\n'));
  if (v.ok) assert.is(v.services[0].spec.replicas, 2);
});

fleet('parsed files are cached by oid', () => {
  const cache = new Map<string, ParseResult>();
  validateFleet(
    aTree().map((f, i) => ({ ...f, oid: `oid-${i}` })),
    cache,
  );
  assert.equal([...cache.keys()].sort(), ['oid-0', 'oid-1', 'oid-2']);
  assert.is(cache.get('oid-1')?.file, 'services/web/api.yaml');
});

fleet('a cached result is not reused at another path (a rename must agree with metadata)', () => {
  const cache = new Map<string, ParseResult>([['b10b', parseDescriptor({ path: 'services/web/api.yaml', text: service(SPEC) })]]);
  const files = aTree({ 'services/web/api.yaml': null, 'services/web/gateway.yaml': service(SPEC) }).map((f) =>
    f.path === 'services/web/gateway.yaml' ? { ...f, oid: 'b10b' } : f,
  );
  const v = validateFleet(files, cache);
  assert.is(v.ok, false);
  if (!v.ok) assert.equal(v.problems.map(formatProblem), ['services/web/gateway.yaml:4:9: metadata.name: "api" does not match the file name gateway.yaml']);
});

fleet.run();

// --- formatProblem --------------------------------------------------------------------------
const format = suite('formatProblem');

format('file:line:column: message', () => {
  const cases: Array<[Parameters<typeof formatProblem>[0], string]> = [
    [
      { file: 'services/web/api.yaml', line: 7, column: 5, message: 'spec.replicas: must be an integer' },
      'services/web/api.yaml:7:5: spec.replicas: must be an integer',
    ],
    [{ file: 'fleet.yaml', line: 1, column: 1, message: 'missing fleet.yaml' }, 'fleet.yaml:1:1: missing fleet.yaml'],
  ];
  for (const [p, want] of cases) assert.is(formatProblem(p), want);
});

format.run();
