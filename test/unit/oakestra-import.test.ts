// canopy import over Oakestra's own SLA cases (shared/oakestra-slas), then the mapping rule by
// rule on small hand-made SLAs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { importOakestraSla, type ImportResult } from '../../reconciler/import/oakestra.js';
import { formatProblem, validateFleet, type FleetFile } from '../../reconciler/core/validate.js';

const SLAS = join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/oakestra-slas');
// These cases are the point of the suite: without them it must fail, never pass empty.
if (!existsSync(SLAS)) throw new Error(`Oakestra SLA cases not found at ${SLAS}: the shared folder must sit beside the repository`);

type Expect = { services: string[]; notes: RegExp[] } | { errors: RegExp[] };
const CASES: Record<string, Expect> = {
  'default_app_with_services.json': {
    services: ['clientsrvr/curl', 'clientsrvr/nginx'],
    notes: [
      /^clientsrvr\/nginx: addresses = \{"rr_ip":"10\.30\.30\.30"\} not honoured/,
      /^clientsrvr\/curl: ignored, empty in the SLA: vtpus, bandwidth_in, bandwidth_out, state, added_files$/,
      /^clientsrvr\/nginx: port "6080:80\/tcp": listens on 80; host port 6080 is not published/,
      /^clientsrvr\/curl: replicas: 1 \(Oakestra has no replica count/,
    ],
  },
  'sla_correct_1.json': {
    services: ['exampleapplication33/microa4'],
    notes: [
      /state = "https:.*" not honoured/,
      /added_files = .* not honoured/,
      /bandwidth_in = 1000000 not honoured/,
      /bandwidth_out = 8000 not honoured/,
      /addresses = .* not honoured/,
      /connectivity = .* not honoured/,
      /rigidness = 0\.99 not honoured/,
      /convergence_time = 300 not honoured/,
      /ignored, empty in the SLA: vtpus$/,
      /"ExampleApplication33" becomes "exampleapplication33"/,
      /"MicroA4" becomes "microa4"/,
      /code "https:\/\/example\.com\/.*" is a URL, not an image reference/,
      /fleet\.yaml must define spec\.targets\.munich-1/,
      /"area":"berlin-1".* not imported: canopy holds one latency constraint/,
    ],
  },
  'sla_correct_2.json': { services: ['test/test'], notes: [/neither vcpus nor memory given/, /ignored, empty in the SLA: state, added_files, connectivity$/] },
  'sla_correct_3.json': {
    services: ['test/test'],
    notes: [/ignored, empty in the SLA: vtpus, bandwidth_in, bandwidth_out, state, added_files, connectivity$/],
  },
  'sla_correct_4.json': { services: [], notes: [/^applications\[0\] \(test\): no microservices: nothing to import$/] },
  'sla_flawed_1.json': { errors: [/^sla_version: required/] },
  'sla_flawed_2.json': { errors: [/^applications\[0\]\.microservices\[0\]\.microservice_name: must be a string \(got 4\)$/] },
  'sla_flawed_3.json': { errors: [/^sla_version: required/, /^applications: required/] },
  'sla_flawed_4.json': { errors: [/^applications\[0\]\.microservices\[0\]\.vcpus: required when memory is given/] },
  'sla_flawed_5.json': { errors: [/^applications\[0\]\.microservices\[0\]\.microservice_name: "test\.special\.char" cannot be a canopy service name/] },
};

const load = (file: string) => importOakestraSla(JSON.parse(readFileSync(join(SLAS, file), 'utf8')), file);

/** A minimal fleet holding the imported services, with the latency targets the notes ask for. */
function fleetOf(r: ImportResult & { ok: true }, withTargets = true): FleetFile[] {
  const targets = withTargets ? [...new Set(r.notes.flatMap((n) => /spec\.targets\.([a-z0-9-]+)/.exec(n)?.[1] ?? []))] : [];
  const fleet = [
    'apiVersion: canopy/v1',
    'kind: Fleet',
    'metadata: {name: imported}',
    ...(targets.length ? ['spec:', '  targets:', ...targets.map((t) => `    ${t}: {lat: 48.1, lon: 11.6}`)] : []),
  ];
  return [{ path: 'fleet.yaml', text: fleet.join('\n') + '\n' }, ...r.services.map((s) => ({ path: s.path, text: s.yaml }))];
}

// --- Oakestra's own cases ---------------------------------------------------------------------
const cases = suite('importOakestraSla: shared/oakestra-slas');

cases('every file there has a case here', () => {
  assert.equal(
    readdirSync(SLAS)
      .filter((f) => f.endsWith('.json'))
      .sort(),
    Object.keys(CASES).sort(),
  );
});

for (const [file, want] of Object.entries(CASES)) {
  cases(`${file}: ${'errors' in want ? 'refused, naming the field' : `${want.services.length} service(s)`}`, () => {
    const r = load(file);
    if ('errors' in want) {
      assert.not.ok(r.ok, `${file} was imported`);
      if (r.ok) return;
      for (const re of want.errors)
        assert.ok(
          r.errors.some((e) => re.test(e)),
          `no error ${re} in:\n${r.errors.join('\n')}`,
        );
      return;
    }
    assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
    if (!r.ok) return;
    assert.equal(
      r.services.map((s) => s.path),
      want.services.map((id) => `services/${id}.yaml`),
    );
    for (const re of want.notes)
      assert.ok(
        r.notes.some((n) => re.test(n)),
        `no note ${re} in:\n${r.notes.join('\n')}`,
      );
    const v = validateFleet(fleetOf(r));
    assert.ok(v.ok, v.ok ? '' : v.problems.map(formatProblem).join('\n'));
    for (const s of r.services) {
      const [first, second] = s.yaml.split('\n');
      assert.is(first, '# yaml-language-server: $schema=../../schemas/service.schema.json');
      assert.match(
        second,
        new RegExp(
          `^# Imported by canopy import from ${file.replace(/\./g, '\\.')}: Oakestra service \\S+ \\(customerID \\S+, applicationID \\S+, microserviceID \\S+\\)`,
        ),
      );
    }
  });
}

cases('sla_correct_1: without the latency target in fleet.yaml, validation says which one', () => {
  const r = load('sla_correct_1.json');
  if (!r.ok) return assert.unreachable(r.errors.join('\n'));
  const v = validateFleet(fleetOf(r, false));
  assert.not.ok(v.ok);
  if (!v.ok) assert.match(v.problems.map(formatProblem).join('\n'), /latency\.to\.target: "munich-1" is not a target of fleet\.yaml/);
});

cases('the demo app: each field where it belongs', () => {
  const r = load('default_app_with_services.json');
  if (!r.ok) return assert.unreachable(r.errors.join('\n'));
  const [curl, nginx] = r.services.map((s) => parse(s.yaml));
  assert.equal(curl.metadata, { name: 'curl', app: 'clientsrvr' });
  assert.equal(curl.spec, {
    runtime: 'container',
    image: 'docker.io/curlimages/curl:7.82.0',
    command: ['sh', '-c', 'while true; do echo --CURL-START--; curl -s http://10.30.30.30:80/; sleep 5; done'],
    replicas: 1,
    resources: { cpu: 1, memory: '100Mi' },
    ports: [{ port: 9080, protocol: 'tcp' }],
  });
  assert.equal(nginx.spec, {
    runtime: 'container',
    image: 'docker.io/library/nginx:latest',
    replicas: 1,
    resources: { cpu: 1, memory: '100Mi' },
    ports: [{ port: 80, protocol: 'tcp' }],
  });
  assert.match(r.services[0].yaml, /^# Simple demo with curl client and Nginx server$/m);
  assert.match(r.services[0].yaml, /Oakestra service clientsrvr\.test\.curl\.test \(customerID Admin, applicationID none, microserviceID none\)/);
});

cases.run();

// --- the mapping, rule by rule ----------------------------------------------------------------
const rules = suite('importOakestraSla: mapping');

const BASE = {
  microservice_name: 'web',
  microservice_namespace: 'default',
  virtualization: 'container',
  code: 'docker.io/library/nginx:latest',
  vcpus: 1,
  memory: 64,
};
const sla = (...ms: object[]) => ({
  sla_version: 'v2.0',
  customerID: 'Admin',
  applications: [{ application_name: 'shop', application_namespace: 'default', microservices: ms }],
});

const ROWS: Array<{ name: string; doc: unknown; spec?: Record<string, unknown>; error?: RegExp; note?: RegExp }> = [
  {
    name: 'resources: vcpus, memory MB, vgpus, storage MB',
    doc: sla({ ...BASE, vcpus: 0.5, memory: 256, vgpus: 1, storage: 2048 }),
    spec: { resources: { cpu: 0.5, memory: '256Mi', gpu: 1, storage: '2048Mi' } },
  },
  {
    name: 'vcpus without memory is half a request',
    doc: sla({ ...BASE, memory: undefined }),
    error: /microservices\[0\]\.memory: required when vcpus is given/,
  },
  {
    name: 'geo: "LAT,LON" within threshold km',
    doc: sla({ ...BASE, constraints: [{ type: 'geo', location: '48.13,11.58', threshold: 100 }] }),
    spec: { constraints: { geo: { lat: 48.13, lon: 11.58, withinKm: 100 } } },
  },
  {
    name: 'geo: a location that is no point',
    doc: sla({ ...BASE, constraints: [{ type: 'geo', location: 'Munich', threshold: 100 }] }),
    error: /constraints\[0\]\.location: expected "LAT,LON" in degrees/,
  },
  {
    name: 'direct: a cluster and one node',
    doc: sla({ ...BASE, constraints: [{ type: 'direct', cluster: 'Edge1', node: 'xavier1' }] }),
    spec: { constraints: { clusters: { names: ['edge1'] }, nodes: { matchLabels: { 'canopy.node': 'xavier1' } } } },
    note: /--labels canopy\.node=xavier1/,
  },
  {
    name: 'direct: a list of nodes cannot be labels',
    doc: sla({ ...BASE, constraints: [{ type: 'direct', node: 'a;b' }] }),
    spec: { constraints: undefined },
    note: /direct nodes "a;b" not imported/,
  },
  {
    name: 'clusters: allowed names',
    doc: sla({ ...BASE, constraints: [{ type: 'clusters', allowed: ['munich', 'paris'] }] }),
    spec: { constraints: { clusters: { names: ['munich', 'paris'] } } },
  },
  {
    name: 'an unknown constraint type is a note',
    doc: sla({ ...BASE, constraints: [{ type: 'addons', needs: ['gpu'] }] }),
    note: /knows no constraint of type "addons"/,
  },
  { name: 'a constraint without type', doc: sla({ ...BASE, constraints: [{ area: 'x' }] }), error: /constraints\[0\]\.type: required/ },
  { name: 'unikernels cannot be imported', doc: sla({ ...BASE, virtualization: 'unikernel' }), error: /virtualization: "unikernel" cannot be imported/ },
  {
    name: 'ports: several, with protocol',
    doc: sla({ ...BASE, port: '8080:80/udp;9090' }),
    spec: {
      ports: [
        { port: 80, protocol: 'udp' },
        { port: 9090, protocol: 'tcp' },
      ],
    },
    note: /host port 8080 is not published/,
  },
  { name: 'ports: not a mapping', doc: sla({ ...BASE, port: '8o80' }), error: /\.port: "8o80" is not a port mapping/ },
  { name: 'environment NAME=value', doc: sla({ ...BASE, environment: ['A=1', 'B=x=y'] }), spec: { env: { A: '1', B: 'x=y' } } },
  { name: 'environment without =', doc: sla({ ...BASE, environment: ['nope'] }), error: /environment\[0\]: expected "NAME=value"/ },
  {
    name: 'two names that become one',
    doc: sla(BASE, { ...BASE, microservice_name: 'Web' }),
    error: /microservices\[1\]\.microservice_name: shop\/web is also applications\[0\]\.microservices\[0\]/,
  },
  { name: 'a field canopy does not know', doc: sla({ ...BASE, one_shot: true }), note: /one_shot = true not honoured/ },
  { name: 'not an object', doc: [1, 2], error: /^\(document\): must be a JSON object/ },
];

for (const row of ROWS) {
  rules(row.name, () => {
    const r = importOakestraSla(row.doc, 'hand.json');
    if (row.error) {
      assert.not.ok(r.ok, 'imported');
      if (!r.ok)
        assert.ok(
          r.errors.some((e) => row.error!.test(e)),
          r.errors.join('\n'),
        );
      return;
    }
    if (!r.ok) return assert.unreachable(r.errors.join('\n'));
    const spec = parse(r.services[0].yaml).spec;
    for (const [k, v] of Object.entries(row.spec ?? {})) assert.equal(spec[k], v, k);
    if (row.note)
      assert.ok(
        r.notes.some((n) => row.note!.test(n)),
        r.notes.join('\n'),
      );
  });
}

rules.run();
