// canopy import over Oakestra-format SLAs of the project's own (test/fixtures/oakestra: valid
// ones using every constraint type and every field canopy cannot honour, and each kind of flawed
// one), then the mapping rule by rule on small hand-made SLAs. Oakestra's own cases, when a
// checkout has them beside it, are checked by scripts/check-shared-slas.mjs, not here.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { importOakestraSla, type ImportResult } from '../../reconciler/import/oakestra.js';
import { formatProblem, validateFleet, type FleetFile } from '../../reconciler/core/validate.js';

// From dist/test/unit back to the sources: the fixtures are data, not compiled.
const SLAS = join(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/oakestra');

type Expect = { services: string[]; notes: RegExp[] } | { errors: RegExp[] };
const CASES: Record<string, Expect> = {
  'demo-two-services.json': {
    services: ['webpair/client', 'webpair/server'],
    notes: [
      /^webpair\/server: addresses\.rr_ip 10\.44\.0\.7 becomes server\.webpair\.canopy \(round-robin; CANOPY_ADDR_WEBPAIR_SERVER in workloads\)$/,
      /^webpair\/client: cmd\[2\]: ".*curl -s http:\/\/10\.44\.0\.7:80\/;.*" → ".*curl -s http:\/\/server\.webpair\.canopy:80\/;.*" \(round-robin to webpair\/server\)$/,
      /^webpair\/client: ignored, empty in the SLA: state, added_files, vtpus, bandwidth_in, bandwidth_out$/,
      /^webpair\/server: port "7080:80\/tcp": listens on 80, published at 7080 on its node's address \(hostPort\)/,
      /^webpair\/client: replicas: 1 \(Oakestra has no replica count/,
    ],
  },
  'latency-and-unhonoured-fields.json': {
    services: ['sensorhub/ingesta1'],
    notes: [
      /state = "https:.*" not honoured/,
      /added_files = .* not honoured/,
      /bandwidth_in = 500000 not honoured/,
      /bandwidth_out = 20000 not honoured/,
      /^sensorhub\/ingesta1: addresses\.rr_ip 10\.8\.0\.12 becomes ingesta1\.sensorhub\.canopy \(round-robin/,
      /connectivity = .* not honoured/,
      /rigidness = 0\.95 not honoured/,
      /convergence_time = 120 not honoured/,
      /ignored, empty in the SLA: vtpus$/,
      /^\(document\): ignored, empty in the SLA: args$/,
      /"SensorHub" becomes "sensorhub"/,
      /"IngestA1" becomes "ingesta1"/,
      /code "https:\/\/code\.example\.org\/.*" is a URL, not an image reference/,
      /fleet\.yaml must define spec\.targets\.hamburg-2/,
      /"area":"vienna-1".* not imported: canopy holds one latency constraint/,
    ],
  },
  'placement-constraints.json': {
    services: ['fieldkit/camera', 'fieldkit/uploader', 'fieldkit/relay'],
    notes: [
      /^fieldkit\/camera: direct node "jetson-7" becomes nodes\.matchLabels canopy\.node=jetson-7/,
      /allowed\[0\]: "Edge-North" becomes "edge-north"/,
      /^fieldkit\/relay: direct nodes "gw-1;gw-2" not imported/,
      /^fieldkit\/relay: constraint .* not imported: canopy knows no constraint of type "addons"$/,
      /^fieldkit\/relay: port "6001:5001": listens on 5001, published at 6001 on its node's address/,
    ],
  },
  'video-pipeline.json': {
    services: ['pipeline/source', 'pipeline/aggregator', 'pipeline/detector', 'pipeline/tracker', 'ops/dashboard'],
    notes: [/^pipeline\/tracker: uses: \[ops\/dashboard\] \(it calls services of another app\)$/],
  },
  'client-server.json': {
    services: ['clientsrvapp/client', 'clientsrvapp/server'],
    notes: [/^clientsrvapp\/server: addresses\.rr_ip 10\.30\.55\.55 becomes server\.clientsrvapp\.canopy/],
  },
  'no-resources-stated.json': {
    services: ['notes/board'],
    notes: [/neither vcpus nor memory given/, /ignored, empty in the SLA: added_files, state, connectivity$/],
  },
  'all-zero-resources.json': {
    services: ['notes/board'],
    notes: [/ignored, empty in the SLA: vtpus, bandwidth_in, bandwidth_out, state, added_files, connectivity$/],
  },
  'no-microservices.json': { services: [], notes: [/^applications\[0\] \(placeholder\): no microservices: nothing to import$/] },
  'flawed-no-sla-version.json': {
    errors: [/^sla_version: required/, /^applications\[0\]\.microservices\[0\]\.microservice_name: "Worker \(9\)" cannot be a canopy service name/],
  },
  'flawed-numeric-name.json': { errors: [/^applications\[0\]\.microservices\[0\]\.microservice_name: must be a string \(got 7\)$/] },
  'flawed-empty-document.json': { errors: [/^sla_version: required/, /^applications: required/] },
  'flawed-memory-without-vcpus.json': { errors: [/^applications\[0\]\.microservices\[0\]\.vcpus: required when memory is given/] },
  'flawed-dotted-name.json': { errors: [/^applications\[0\]\.microservices\[0\]\.microservice_name: "metrics\.exporter\.v2" cannot be a canopy service name/] },
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

// --- the fixtures ------------------------------------------------------------------------------
const cases = suite('importOakestraSla: test/fixtures/oakestra');

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

cases('latency-and-unhonoured-fields: without the latency target in fleet.yaml, validation says which one', () => {
  const r = load('latency-and-unhonoured-fields.json');
  if (!r.ok) return assert.unreachable(r.errors.join('\n'));
  const v = validateFleet(fleetOf(r, false));
  assert.not.ok(v.ok);
  if (!v.ok) assert.match(v.problems.map(formatProblem).join('\n'), /latency\.to\.target: "hamburg-2" is not a target of fleet\.yaml/);
});

cases('the demo app: each field where it belongs', () => {
  const r = load('demo-two-services.json');
  if (!r.ok) return assert.unreachable(r.errors.join('\n'));
  const [client, server] = r.services.map((s) => parse(s.yaml));
  assert.equal(client.metadata, { name: 'client', app: 'webpair' });
  assert.equal(client.spec, {
    runtime: 'container',
    image: 'docker.io/curlimages/curl:8.5.0',
    command: ['sh', '-c', 'while true; do echo --CLIENT-TICK--; curl -s http://server.webpair.canopy:80/; sleep 4; done'],
    replicas: 1,
    resources: { cpu: 0.5, memory: '64Mi' },
    ports: [{ port: 9090, protocol: 'tcp' }],
  });
  assert.equal(server.spec, {
    runtime: 'container',
    image: 'docker.io/library/nginx:1.25-alpine',
    replicas: 1,
    resources: { cpu: 1, memory: '128Mi' },
    ports: [{ port: 80, hostPort: 7080, protocol: 'tcp' }],
  });
  assert.match(r.services[0].yaml, /^# A polling client beside a small web server, for canopy import tests$/m);
  assert.match(r.services[0].yaml, /Oakestra service webpair\.demo\.client\.demo \(customerID Operator, applicationID none, microserviceID none\)/);
});

cases('every constraint type: each where it belongs', () => {
  const r = load('placement-constraints.json');
  if (!r.ok) return assert.unreachable(r.errors.join('\n'));
  const [camera, uploader, relay] = r.services.map((s) => parse(s.yaml).spec);
  assert.equal(camera.resources, { cpu: 2, memory: '1024Mi', gpu: 1, storage: '4096Mi' });
  assert.equal(camera.constraints, { geo: { lat: 52.52, lon: 13.4, withinKm: 50 }, nodes: { matchLabels: { 'canopy.node': 'jetson-7' } } });
  assert.equal(uploader.constraints, { clusters: { names: ['edge-north', 'edge-south'] } });
  assert.equal(uploader.env, { BUCKET: 'field-archive', FLAGS: 'a=b' });
  assert.equal(relay.constraints, { clusters: { names: ['edge-south'] } });
  assert.equal(relay.ports, [
    { port: 5000, protocol: 'udp' },
    { port: 5001, hostPort: 6001, protocol: 'tcp' },
  ]);
});

cases('video pipeline: each call by address becomes a call by name, one note per rewrite, exactly', () => {
  const r = load('video-pipeline.json');
  if (!r.ok) return assert.unreachable(r.errors.join('\n'));
  const about = r.notes.filter((n) => /addresses\.|→|service addresses|uses:/.test(n));
  assert.equal(about, [
    'pipeline/source: addresses.rr_ip 10.30.31.1 becomes source.pipeline.canopy (round-robin; CANOPY_ADDR_PIPELINE_SOURCE in workloads)',
    'pipeline/aggregator: addresses.rr_ip 10.30.31.10 becomes aggregator.pipeline.canopy (round-robin; CANOPY_ADDR_PIPELINE_AGGREGATOR in workloads)',
    'pipeline/detector: addresses.rr_ip 10.30.31.20 becomes detector.pipeline.canopy (round-robin; CANOPY_ADDR_PIPELINE_DETECTOR in workloads)',
    'pipeline/tracker: addresses.rr_ip 10.30.31.30 becomes tracker.pipeline.canopy (round-robin; CANOPY_ADDR_PIPELINE_TRACKER in workloads)',
    'ops/dashboard: addresses.rr_ip 10.40.0.1 becomes dashboard.ops.canopy (round-robin; CANOPY_ADDR_OPS_DASHBOARD in workloads)',
    'ops/dashboard: addresses.closest_ip 10.40.0.2 becomes closest.dashboard.ops.canopy (closest; CANOPY_CLOSEST_OPS_DASHBOARD in workloads)',
    'pipeline/source: cmd[5]: "10.30.31.10:5000" → "aggregator.pipeline.canopy:5000" (round-robin to pipeline/aggregator)',
    'pipeline/aggregator: environment DETECTOR_ADDR: "10.30.31.20:5001" → "detector.pipeline.canopy:5001" (round-robin to pipeline/detector)',
    'pipeline/detector: cmd[3]: "--tracker-address 10.30.31.30:8181" → "--tracker-address tracker.pipeline.canopy:8181" (round-robin to pipeline/tracker)',
    'pipeline/tracker: environment RESULTS_URL: "http://10.40.0.2:9000/results" → "http://closest.dashboard.ops.canopy:9000/results" (closest to ops/dashboard)',
    "pipeline/tracker: environment ARCHIVE: 10.30.31.300 is not one of this SLA's service addresses: kept as it is",
    "pipeline/tracker: environment CAMERA_GATEWAY: 192.168.1.50 is not one of this SLA's service addresses: kept as it is",
    'pipeline/tracker: uses: [ops/dashboard] (it calls services of another app)',
  ]);
  const [source, aggregator, detector, tracker, dashboard] = r.services.map((s) => parse(s.yaml).spec);
  assert.equal(source.command, ['python3', 'source.py', '--fps', '15', '--aggregator', 'aggregator.pipeline.canopy:5000']);
  assert.equal(aggregator.env, { DETECTOR_ADDR: 'detector.pipeline.canopy:5001', BATCH: '8' });
  assert.equal(detector.command, ['python3', 'detect.py', '--model=yolov5n', '--tracker-address tracker.pipeline.canopy:8181']);
  assert.equal(tracker.env, {
    RESULTS_URL: 'http://closest.dashboard.ops.canopy:9000/results',
    ARCHIVE: '10.30.31.300:9000',
    CAMERA_GATEWAY: '192.168.1.50',
  });
  assert.equal(tracker.uses, ['ops/dashboard']);
  // Calls inside one app need no declaration.
  for (const spec of [source, aggregator, detector, dashboard]) assert.is(spec.uses, undefined);
  assert.not.ok(
    r.notes.some((n) => /addresses = /.test(n)),
    'an address is still called not honoured',
  );
});

cases('client-server: the bare address in a URL becomes the name, the server keeps 0.0.0.0', () => {
  const r = load('client-server.json');
  if (!r.ok) return assert.unreachable(r.errors.join('\n'));
  const [client, server] = r.services.map((s) => parse(s.yaml).spec);
  assert.equal(client.command, ['sh', '-c', 'while true; do wget -qO- http://server.clientsrvapp.canopy/ || true; sleep 5; done']);
  assert.equal(server.command, ['httpd', '-f', '-p', '0.0.0.0:80', '-h', '/www']);
  assert.equal(
    r.notes.filter((n) => n.includes('→') || n.includes('service addresses')),
    [
      'clientsrvapp/client: cmd[2]: "while true; do wget -qO- http://10.30.55.55/ || true; sleep 5; done" → "while true; do wget -qO- http://server.clientsrvapp.canopy/ || true; sleep 5; done" (round-robin to clientsrvapp/server)',
    ],
  );
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

const ROWS: Array<{
  name: string;
  doc: unknown;
  spec?: Record<string, unknown>;
  second?: Record<string, unknown>;
  error?: RegExp;
  note?: RegExp;
}> = [
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
        { port: 80, hostPort: 8080, protocol: 'udp' },
        { port: 9090, protocol: 'tcp' },
      ],
    },
    note: /listens on 80, published at 8080 on its node's address/,
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
  {
    name: 'two services with one rr_ip: an error naming both',
    doc: sla({ ...BASE, addresses: { rr_ip: '10.30.0.9' } }, { ...BASE, microservice_name: 'api', addresses: { rr_ip: '10.30.0.9' } }),
    error:
      /^applications\[0\]\.microservices\[1\]\.addresses\.rr_ip: 10\.30\.0\.9 is also applications\[0\]\.microservices\[0\]\.addresses\.rr_ip \(shop\/web\): shop\/api and shop\/web cannot share one service address$/,
  },
  {
    name: 'an rr_ip that is no IPv4 address',
    doc: sla({ ...BASE, addresses: { rr_ip: '10.30.0.300' } }),
    error: /microservices\[0\]\.addresses\.rr_ip: must be an IPv4 address/,
  },
  { name: 'addresses that is no object', doc: sla({ ...BASE, addresses: '10.30.0.1' }), error: /microservices\[0\]\.addresses: must be an object/ },
  {
    name: 'other keys of addresses are notes',
    doc: sla({ ...BASE, addresses: { rr_ip: '10.30.0.1', rr_ip_v6: 'fdff:2000::1' } }),
    note: /^shop\/web \(addresses\): rr_ip_v6 = "fdff:2000::1" not honoured/,
  },
  {
    name: 'a bare address in an env value; a longer number is not the address',
    doc: sla(
      { ...BASE, addresses: { rr_ip: '10.30.0.1' } },
      { ...BASE, microservice_name: 'cli', environment: ['WEB=10.30.0.1', 'OTHER=10.30.0.10', 'MORE=110.30.0.1:80', 'V=10.30.0.1.5'] },
    ),
    spec: { env: undefined },
    note: /^shop\/cli: environment WEB: "10\.30\.0\.1" → "web\.shop\.canopy" \(round-robin to shop\/web\)$/,
    second: { env: { WEB: 'web.shop.canopy', OTHER: '10.30.0.10', MORE: '110.30.0.1:80', V: '10.30.0.1.5' } },
  },
  {
    name: 'an address of no service of the SLA stays, with a note',
    doc: sla({ ...BASE, cmd: ['sh', '-c', 'curl http://10.30.9.9:8080/'] }),
    spec: { command: ['sh', '-c', 'curl http://10.30.9.9:8080/'] },
    note: /^shop\/web: cmd\[2\]: 10\.30\.9\.9 is not one of this SLA's service addresses: kept as it is$/,
  },
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
    for (const [k, v] of Object.entries(row.second ?? {})) assert.equal(parse(r.services[1].yaml).spec[k], v, k);
    if (row.note)
      assert.ok(
        r.notes.some((n) => row.note!.test(n)),
        r.notes.join('\n'),
      );
  });
}

rules.run();
