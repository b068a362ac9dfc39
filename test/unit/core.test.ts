import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { renderNote, parseNote, type CommitNote } from '../../reconciler/core/note.js';
import { topics, type TopicParts } from '../../reconciler/mqtt/topics.js';
import { patternToRegExp } from '../../reconciler/mqtt/bus.js';
import { bytes, mebibytes } from '../../reconciler/core/quantity.js';
import { distanceKm } from '../../reconciler/core/geo.js';
import { canonicalJson, specHash, serviceId, replicaId, parseReplicaId } from '../../reconciler/core/ids.js';
import { parsePayload, checkValue } from '../../schemas/parse.js';
import type { NodeStatus, ClusterStatus, DesiredMessage } from '../../schemas/messages.js';
import { aNode, aNodeStatus, aPlacement, aService, replicaState, MUNICH, PARIS, COMMIT, prng } from '../helpers/builders.js';

const HEAD = 'a'.repeat(40);
const OTHER = 'b'.repeat(40);
const AT = '2025-01-01T12:00:00.000Z';

// --- note: renderNote / parseNote --------------------------------------------------------------

const accepted: CommitNote = {
  outcome: 'accepted',
  commit: HEAD,
  at: AT,
  convergedAt: '2025-01-01T12:00:05.000Z',
  changed: {
    'shop/web': { desired: 3, placed: 2, clusters: { munich: 2 }, reason: 'only 2 of 3 replicas fit (munich×2); paris: unreachable' },
    'shop/old': { removed: true },
  },
  unschedulable: { 'shop/web': 'only 2 of 3 replicas fit (munich×2); paris: unreachable' },
};
const rejected: CommitNote = {
  outcome: 'rejected',
  commit: HEAD,
  at: AT,
  inForce: OTHER,
  problems: [
    { file: 'services/web/api.yaml', line: 7, column: 13, message: 'spec.replicas: must be an integer between 0 and 10000 (got -1)' },
    { file: 'fleet.yaml', line: 2, column: 1, message: 'kind: must be "Fleet"' },
  ],
};
const superseded: CommitNote = { outcome: 'superseded', commit: HEAD, at: AT, supersededBy: OTHER };

const Render = suite('renderNote');

Render('rejected: says REJECTED, what is still in force, and every problem as file:line:column', () => {
  const text = renderNote(rejected);
  assert.ok(text.startsWith(`canopy: REJECTED at ${AT}; nothing from this commit was applied.\n`), text);
  assert.ok(text.includes(`Still in force: ${OTHER.slice(0, 12)}.`), text);
  assert.ok(text.includes('  services/web/api.yaml:7:13: spec.replicas: must be an integer between 0 and 10000 (got -1)\n'), text);
  assert.ok(text.includes('  fleet.yaml:2:1: kind: must be "Fleet"\n'), text);
});

Render('accepted: convergence, each changed service and the unschedulable ones', () => {
  const text = renderNote(accepted);
  assert.ok(text.startsWith(`canopy: accepted at ${AT}.\nConverged at 2025-01-01T12:00:05.000Z.\n`), text);
  assert.ok(text.includes('  shop/web: 2/3 replicas placed — only 2 of 3 replicas fit'), text);
  assert.ok(text.includes('  shop/old: removed\n'), text);
  assert.ok(/Unschedulable:\n {2}shop\/web: only 2 of 3/.test(text), text);
});

Render('accepted without changes, not converged yet', () => {
  const text = renderNote({ outcome: 'accepted', commit: HEAD, at: AT });
  assert.ok(text.includes('Not converged yet.'), text);
  assert.ok(text.includes('No service changed.'), text);
  assert.not.ok(text.includes('Unschedulable'), text);
});

Render('superseded: names the superseding commit, shortened', () => {
  const text = renderNote(superseded);
  assert.ok(text.startsWith(`canopy: superseded by ${OTHER.slice(0, 12)} before`), text);
  assert.not.ok(text.includes(OTHER.slice(0, 13) + ' '), 'the human line uses the short form');
});

Render('ends with one newline', () => {
  for (const n of [accepted, rejected, superseded]) assert.ok(renderNote(n).endsWith('}\n'));
});

const Parse = suite('parseNote');

for (const [name, n] of [
  ['accepted', accepted],
  ['rejected with problems', rejected],
  ['superseded', superseded],
] as const) {
  Parse(`round-trips ${name}`, () => assert.equal(parseNote(renderNote(n)), n));
}

Parse('a problem that quotes the JSON marker still round-trips', () => {
  // The message quotes the author's own value, which can be any text.
  const n: CommitNote = {
    ...rejected,
    problems: [{ file: 'services/web/api.yaml', line: 3, column: 9, message: '"--- canopy/v1 json ---" must be a lower-case DNS label' }],
  };
  assert.equal(parseNote(renderNote(n)), n);
});

const notNotes: Array<[string, string]> = [
  ['plain text', 'just a note someone wrote\n'],
  ['the marker and no JSON', 'canopy: accepted\n\n--- canopy/v1 json ---\n'],
  ['the marker and broken JSON', '--- canopy/v1 json ---\n{"outcome":'],
  ['JSON without an outcome', '--- canopy/v1 json ---\n{"commit":"x"}'],
  ['JSON without a commit', '--- canopy/v1 json ---\n{"outcome":"accepted"}'],
  ['JSON null', '--- canopy/v1 json ---\nnull'],
];
for (const [name, text] of notNotes) {
  Parse(`not a note: ${name}`, () => assert.is(parseNote(text), undefined));
}

// --- topics -----------------------------------------------------------------------------------

const t = topics('demo');
const Topics = suite('topics');

const built: Array<[string, string, TopicParts]> = [
  ['clusterDesired', t.clusterDesired('munich'), { level: 'cluster', cluster: 'munich', leaf: 'desired' }],
  ['clusterStatus', t.clusterStatus('munich'), { level: 'cluster', cluster: 'munich', leaf: 'status' }],
  ['clusterOnline', t.clusterOnline('munich'), { level: 'cluster', cluster: 'munich', leaf: 'online' }],
  ['nodeDesired', t.nodeDesired('munich', 'pi-1'), { level: 'node', cluster: 'munich', node: 'pi-1', leaf: 'desired' }],
  ['nodeStatus', t.nodeStatus('munich', 'pi-1'), { level: 'node', cluster: 'munich', node: 'pi-1', leaf: 'status' }],
  ['nodeOnline', t.nodeOnline('munich', 'pi-1'), { level: 'node', cluster: 'munich', node: 'pi-1', leaf: 'online' }],
];
for (const [name, topic, parts] of built) {
  Topics(`${name} builds ${topic} and parses back`, () => {
    const path = parts.level === 'node' ? `clusters/munich/nodes/pi-1/${parts.leaf}` : `clusters/munich/${parts.leaf}`;
    assert.is(topic, `canopy/v1/demo/${path}`);
    assert.equal(t.parse(topic), parts);
  });
}

Topics('root and wildcards', () => {
  assert.is(t.root, 'canopy/v1/demo');
  assert.is(t.allClusterStatus, 'canopy/v1/demo/clusters/+/status');
  assert.is(t.allClusterOnline, 'canopy/v1/demo/clusters/+/online');
  assert.is(t.allNodeStatus('munich'), 'canopy/v1/demo/clusters/munich/nodes/+/status');
  assert.is(t.allNodeOnline('munich'), 'canopy/v1/demo/clusters/munich/nodes/+/online');
});

Topics('each wildcard matches what it should and nothing else', () => {
  const cases: Array<[string, string[], string[]]> = [
    [
      t.allClusterStatus,
      [t.clusterStatus('munich'), t.clusterStatus('paris')],
      [t.clusterOnline('munich'), t.nodeStatus('munich', 'pi-1'), topics('other').clusterStatus('munich')],
    ],
    [t.allClusterOnline, [t.clusterOnline('munich')], [t.clusterStatus('munich'), t.nodeOnline('munich', 'pi-1')]],
    [
      t.allNodeStatus('munich'),
      [t.nodeStatus('munich', 'pi-1'), t.nodeStatus('munich', 'pi-2')],
      [t.nodeStatus('paris', 'pi-1'), t.nodeOnline('munich', 'pi-1'), t.clusterStatus('munich')],
    ],
    [t.allNodeOnline('munich'), [t.nodeOnline('munich', 'pi-1')], [t.nodeDesired('munich', 'pi-1')]],
  ];
  for (const [pattern, yes, no] of cases) {
    const re = patternToRegExp(pattern);
    for (const topic of yes) assert.ok(re.test(topic), `${pattern} matches ${topic}`);
    for (const topic of no) assert.not.ok(re.test(topic), `${pattern} does not match ${topic}`);
  }
});

const foreign = [
  ['another fleet', 'canopy/v1/other/clusters/munich/status'],
  ['a fleet whose name starts the same', 'canopy/v1/demo-2/clusters/munich/status'],
  ['another version', 'canopy/v2/demo/clusters/munich/status'],
  ['not canopy at all', 'homeassistant/sensor/temp'],
  ['the fleet root', 'canopy/v1/demo'],
  ['a cluster without a leaf', 'canopy/v1/demo/clusters/munich'],
  ['an unknown cluster leaf', 'canopy/v1/demo/clusters/munich/logs'],
  ['an extra level after a cluster leaf', 'canopy/v1/demo/clusters/munich/status/extra'],
  ['a node without a leaf', 'canopy/v1/demo/clusters/munich/nodes/pi-1'],
  ['an unknown node leaf', 'canopy/v1/demo/clusters/munich/nodes/pi-1/logs'],
  ['an extra level after a node leaf', 'canopy/v1/demo/clusters/munich/nodes/pi-1/status/extra'],
  ['something other than nodes', 'canopy/v1/demo/clusters/munich/pods/pi-1/status'],
  ['the empty topic', ''],
];
for (const [name, topic] of foreign) {
  Topics(`parse rejects ${name}`, () => assert.is(t.parse(topic), undefined, topic));
}

Topics('parse rejects empty levels (no cluster or node is named "")', () => {
  for (const topic of ['canopy/v1/demo/clusters//status', 'canopy/v1/demo/clusters/munich/nodes//status', 'canopy/v1/demo/clusters//nodes/pi-1/online']) {
    assert.is(t.parse(topic), undefined, topic);
  }
});

// --- patternToRegExp -------------------------------------------------------------------------

const Pattern = suite('patternToRegExp');

const patterns: Array<[string, string[], string[]]> = [
  ['a/b', ['a/b'], ['a/b/c', 'x/a/b', 'a', 'ab']],
  ['a/+/c', ['a/b/c', 'a/xyz/c'], ['a/b/x/c', 'a/c', 'a/b/c/d', 'x/a/b/c']],
  ['+/status', ['munich/status'], ['a/b/status', 'status']],
  ['a/#', ['a/b', 'a/b/c/d'], ['b/a/c', 'ab/c']],
  ['#', ['a', 'a/b/c'], []],
  ['a/+/c/#', ['a/b/c/d', 'a/b/c/d/e'], ['a/b/d/e']],
  // Regular-expression characters in literal levels mean themselves.
  ['demo.x/+', ['demo.x/a'], ['demoXx/a']],
  ['a+b/c', ['a+b/c'], ['aab/c', 'aaab/c']],
  ['(x)|y/[z]', ['(x)|y/[z]'], ['x', 'y/z']],
  ['$SYS/x', ['$SYS/x'], ['SYS/x']],
];
for (const [pattern, yes, no] of patterns) {
  Pattern(`${pattern}`, () => {
    const re = patternToRegExp(pattern);
    for (const topic of yes) assert.ok(re.test(topic), `${pattern} matches ${topic}`);
    for (const topic of no) assert.not.ok(re.test(topic), `${pattern} does not match ${topic}`);
  });
}

Pattern('matches as MQTT 3.1.1 does: "#" includes the parent level, "+" an empty level', () => {
  // MQTT 3.1.1 §4.7.1.2: "sport/tennis/player1/#" also matches "sport/tennis/player1".
  assert.ok(patternToRegExp('a/b/#').test('a/b'), 'a/b/# matches a/b');
  // §4.7.1.3: "sport/+" matches "sport/".
  assert.ok(patternToRegExp('a/+').test('a/'), 'a/+ matches a/');
});

// --- quantity ----------------------------------------------------------------------------------

const Bytes = suite('bytes');

const byteCases: Array<[number | string | undefined, number]> = [
  [undefined, 0],
  [0, 0],
  [1536, 1536],
  ['100', 100],
  ['2k', 2000],
  ['2K', 2000],
  ['500M', 500e6],
  ['1G', 1e9],
  ['1T', 1e12],
  ['1Ki', 1024],
  ['128Mi', 128 * 1024 ** 2],
  ['1Gi', 1024 ** 3],
  ['1.5Gi', 1.5 * 1024 ** 3],
  ['1Ti', 1024 ** 4],
];
for (const [q, want] of byteCases) Bytes(`${String(q)} is ${want} bytes`, () => assert.is(bytes(q), want));

const badQuantities = ['', 'Mi', '12 Mi', '-1Mi', '1mi', '1.Gi', '.5Gi', '1GiB', '1e9', '0x10', ' 1Gi'];
for (const q of badQuantities) {
  Bytes(`${JSON.stringify(q)} throws`, () =>
    assert.throws(
      () => bytes(q),
      (e: Error) => e.message === `not a quantity: ${q}`,
    ),
  );
}

const Mebibytes = suite('mebibytes');

const miCases: Array<[number | string | undefined, number]> = [
  ['128Mi', 128],
  ['1Gi', 1024],
  ['2.5Gi', 2560],
  ['1Ki', 1 / 1024],
  [1024 * 1024, 1],
  [undefined, 0],
];
for (const [q, want] of miCases) Mebibytes(`${String(q)} is ${want} Mi`, () => assert.is(mebibytes(q), want));
Mebibytes('500M is about 476.84 Mi (decimal megabytes)', () => assert.ok(Math.abs(mebibytes('500M') - 476.837) < 0.001, String(mebibytes('500M'))));
Mebibytes('bad input throws', () => assert.throws(() => mebibytes('lots'), /not a quantity: lots/));

// --- geo ---------------------------------------------------------------------------------------

const Distance = suite('distanceKm');

Distance('Munich to Paris is within 1% of 685 km', () => {
  const d = distanceKm(MUNICH, PARIS);
  assert.ok(Math.abs(d - 685) / 685 < 0.01, `${d} km`);
});
Distance('is symmetric', () => assert.is(distanceKm(PARIS, MUNICH), distanceKm(MUNICH, PARIS)));
Distance('from a point to itself is zero', () => {
  assert.is(distanceKm(MUNICH, MUNICH), 0);
  assert.ok(distanceKm({ lat: 90, lon: 0 }, { lat: 90, lon: 123 }) < 1e-9, 'the pole at any longitude');
});
Distance('a quarter meridian, equator to pole, is about 10 008 km', () => {
  assert.ok(Math.abs(distanceKm({ lat: 0, lon: 0 }, { lat: 90, lon: 0 }) - 10_007.5) < 1);
});
Distance('antipodes are half the circumference apart, across the date line too', () => {
  assert.ok(Math.abs(distanceKm({ lat: 0, lon: 0 }, { lat: 0, lon: 180 }) - 20_015) < 1);
  assert.ok(Math.abs(distanceKm({ lat: 0, lon: 179.5 }, { lat: 0, lon: -179.5 }) - 111.2) < 0.5);
});

// --- ids ---------------------------------------------------------------------------------------

const Canonical = suite('canonicalJson');

Canonical('key order does not matter, at any depth', () => {
  const a = { b: 1, a: { d: [1, { y: 2, x: 1 }], c: 'z' } };
  const b = { a: { c: 'z', d: [1, { x: 1, y: 2 }] }, b: 1 };
  assert.is(canonicalJson(a), canonicalJson(b));
  assert.is(canonicalJson(a), '{"a":{"c":"z","d":[1,{"x":1,"y":2}]},"b":1}');
});
Canonical('array order does matter', () => assert.is.not(canonicalJson([1, 2]), canonicalJson([2, 1])));
Canonical('scalars and null are plain JSON', () => {
  for (const v of [1, 'x', true, null]) assert.is(canonicalJson(v), JSON.stringify(v));
});
Canonical('undefined fields are left out, as JSON does', () => assert.is(canonicalJson({ a: undefined, b: 1 }), '{"b":1}'));

Canonical('the same text as JSON.stringify of a key-sorted copy, for random values', () => {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v && typeof v === 'object' && !(v instanceof Date)
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
          )
        : v;
  const rng = prng(11);
  const value = (depth: number): unknown => {
    const r = rng.next();
    if (depth > 3 || r < 0.3) return [1, -2.5, 'x"y', '', true, false, null, undefined, 1e21, new Date(0), '\u2028'][Math.floor(rng.next() * 11)];
    if (r < 0.6) return Array.from({ length: Math.floor(rng.next() * 4) }, () => value(depth + 1));
    const keys = ['b', 'a', 'é', '10', '2', 'a b', '01', '4294967295', '7'].filter(() => rng.next() < 0.5);
    return Object.fromEntries(keys.map((k) => [k, value(depth + 1)]));
  };
  for (let i = 0; i < 500; i++) {
    const v = value(0);
    assert.is(canonicalJson(v), JSON.stringify(sorted(v)));
  }
});

const Hash = suite('specHash');

Hash('is 16 hex characters and stable across key order', () => {
  const a = aService('shop/web').replicas(2).cpu(0.5).env({ A: '1', B: '2' }).spec();
  const b = Object.fromEntries(Object.entries(a).reverse()) as typeof a;
  b.env = { B: '2', A: '1' };
  assert.is.not(JSON.stringify(b), JSON.stringify(a), 'the same spec, written in another key order');
  assert.match(specHash(a), /^[0-9a-f]{16}$/);
  assert.is(specHash(b), specHash(a));
  assert.is(specHash(structuredClone(a)), specHash(a));
});
Hash('changes with any change to the spec', () => {
  const base = aService('shop/web').replicas(2).cpu(0.5).env({ A: '1' });
  const h = specHash(base.spec());
  const variants = [
    aService('shop/web').replicas(3).cpu(0.5).env({ A: '1' }),
    aService('shop/web').replicas(2).cpu(0.25).env({ A: '1' }),
    aService('shop/web').replicas(2).cpu(0.5).env({ A: '2' }),
    aService('shop/web').replicas(2).cpu(0.5).env({ A: '1', B: '' }),
    aService('shop/web').replicas(2).cpu(0.5).env({ A: '1' }).arch('arm64'),
  ];
  for (const v of variants) assert.is.not(specHash(v.spec()), h, JSON.stringify(v.spec()));
});

const Ids = suite('serviceId / replicaId / parseReplicaId');

Ids('build and parse back', () => {
  assert.is(serviceId('shop', 'web'), 'shop/web');
  assert.is(replicaId('shop/web', 3), 'shop/web#3');
  assert.equal(parseReplicaId('shop/web#3'), { service: 'shop/web', index: 3 });
});
Ids('parseReplicaId rejects what is not a replica id', () => {
  for (const s of ['shop/web', 'shop#1', 'shop/web#', 'shop/web#x', 'Shop/web#1', 'a/b/c#1']) assert.is(parseReplicaId(s), undefined, s);
});

// --- parsePayload / checkValue ----------------------------------------------------------------

const TOPIC = t.nodeStatus('munich', 'pi-1');
const node = aNode('pi-1').build();
const goodNodeStatus = aNodeStatus(node, [replicaState('shop/web#0', 'abc', 'running'), replicaState('shop/web#1', 'abc', 'failed', 'exited with code 1')]);
const goodClusterStatus: ClusterStatus = {
  kind: 'cluster-status',
  cluster: 'munich',
  at: '2025-01-01T00:00:00.123Z',
  applied: { commit: COMMIT, seq: 3, epoch: 0 },
  capacity: { cpu: 4, memoryMi: 8192, gpu: 0 },
  free: { cpu: 3, memoryMi: 8000, gpu: 0 },
  maxNodeFree: { cpu: 3, memoryMi: 8000, gpu: 0 },
  maxNode: { cpu: 4, memoryMi: 8192, gpu: 0 },
  arch: ['amd64'],
  runtimes: ['container'],
  labels: { tier: 'edge' },
  location: MUNICH,
  nodes: { total: 1, online: 1 },
  services: { 'shop/web': { desired: 2, running: 1, failed: 1, message: 'shop/web#1: exited' } },
};
const snapshot: DesiredMessage = { kind: 'snapshot', placement: aPlacement('munich').with(aService('shop/web').replicas(2)).build() };
const patch: DesiredMessage = {
  kind: 'patch',
  base: { commit: COMMIT, seq: 1, epoch: 0 },
  version: { commit: COMMIT, seq: 2, epoch: 0 },
  ops: [{ op: 'replace', path: '/services/shop~1web/replicas', value: 3 }],
};

const ParsePayload = suite('parsePayload');

const valid: Array<[string, Parameters<typeof parsePayload>[0], unknown]> = [
  ['NodeStatus', 'NodeStatus', goodNodeStatus],
  ['ClusterStatus', 'ClusterStatus', goodClusterStatus],
  ['ClusterStatus before any placement (applied null)', 'ClusterStatus', { ...goodClusterStatus, applied: null }],
  ['DesiredMessage snapshot', 'DesiredMessage', snapshot],
  ['DesiredMessage patch', 'DesiredMessage', patch],
];
for (const [name, schema, value] of valid) {
  ParsePayload(`a valid ${name} passes, from a string or bytes`, () => {
    const text = JSON.stringify(value);
    assert.equal(parsePayload(schema, text, TOPIC), { ok: true, value });
    assert.equal(parsePayload(schema, Buffer.from(text), TOPIC), { ok: true, value });
    assert.equal(parsePayload(schema, new TextEncoder().encode(text), TOPIC), { ok: true, value });
  });
}

const notJson = ['', '{oops', '{"kind":"node-status",}', 'undefined'];
for (const text of notJson) {
  ParsePayload(`not JSON (${JSON.stringify(text)}): the error names the topic`, () => {
    const r = parsePayload('NodeStatus', text, TOPIC);
    assert.is(r.ok, false);
    if (!r.ok) assert.ok(r.error.startsWith(`${TOPIC}: not JSON (`), r.error);
  });
}

const withNode = (f: (v: NodeStatus) => void) => {
  const v = structuredClone(goodNodeStatus);
  f(v);
  return v;
};
const invalid: Array<[string, Parameters<typeof parsePayload>[0], unknown, string]> = [
  [
    'a NodeStatus without node',
    'NodeStatus',
    withNode((v) => {
      delete (v as Partial<NodeStatus>).node;
    }),
    '/node',
  ],
  [
    'a NodeStatus with negative cpu',
    'NodeStatus',
    withNode((v) => {
      v.capacity.cpu = -1;
    }),
    '/capacity/cpu',
  ],
  [
    'a NodeStatus with an unknown replica state',
    'NodeStatus',
    withNode((v) => {
      (v.replicas[1] as { state: string }).state = 'exploded';
    }),
    '/replicas/1/state',
  ],
  [
    'a NodeStatus with a local time',
    'NodeStatus',
    withNode((v) => {
      v.at = '2025-01-01 10:00';
    }),
    '/at',
  ],
  [
    'a NodeStatus with an extra field',
    'NodeStatus',
    withNode((v) => {
      (v as Record<string, unknown>).extra = 1;
    }),
    '/extra',
  ],
  ['a ClusterStatus with fractional online nodes', 'ClusterStatus', { ...goodClusterStatus, nodes: { total: 1, online: 0.5 } }, '/nodes/online'],
  [
    'a ClusterStatus with a bad service count',
    'ClusterStatus',
    { ...goodClusterStatus, services: { 'shop/web': { desired: -1, running: 0, failed: 0 } } },
    '/services/shop~1web/desired',
  ],
  ['a ClusterStatus with the wrong kind', 'ClusterStatus', { ...goodClusterStatus, kind: 'node-status' }, '/kind'],
];
for (const [name, schema, value, path] of invalid) {
  ParsePayload(`${name}: the error names the topic and ${path}`, () => {
    const r = parsePayload(schema, JSON.stringify(value), TOPIC);
    assert.is(r.ok, false);
    if (!r.ok) assert.ok(r.error.startsWith(`${TOPIC}: ${path}: `), r.error);
  });
}

ParsePayload('a DesiredMessage with a bad field names the path inside it, not just the union', () => {
  const bad = structuredClone(snapshot) as { placement: { version: { seq: number } } };
  bad.placement.version.seq = -1;
  const r = parsePayload('DesiredMessage', JSON.stringify(bad), 'canopy/v1/demo/clusters/munich/desired');
  assert.is(r.ok, false);
  if (!r.ok) assert.ok(r.error.includes('/placement/version/seq'), r.error);
});

ParsePayload('a DesiredMessage whose service has an unknown runtime is rejected', () => {
  const bad = structuredClone(snapshot) as { placement: { services: Record<string, { spec: { runtime: string } }> } };
  bad.placement.services['shop/web'].spec.runtime = 'vm';
  assert.is(parsePayload('DesiredMessage', JSON.stringify(bad), 'canopy/v1/demo/clusters/munich/desired').ok, false);
});

ParsePayload('a DesiredMessage of an unknown kind is rejected with the topic', () => {
  const r = parsePayload('DesiredMessage', '{"kind":"delete"}', 'canopy/v1/demo/clusters/munich/desired');
  assert.is(r.ok, false);
  if (!r.ok) assert.ok(r.error.startsWith('canopy/v1/demo/clusters/munich/desired: '), r.error);
});

const Check = suite('checkValue');

Check('checks an already parsed value', () => {
  assert.equal(checkValue('NodeStatus', goodNodeStatus, 'x'), { ok: true, value: goodNodeStatus });
  const r = checkValue('NodeStatus', [], 'refs/canopy/status/munich');
  assert.is(r.ok, false);
  if (!r.ok) assert.ok(r.error.startsWith('refs/canopy/status/munich: /: '), r.error);
});

Render.run();
Parse.run();
Topics.run();
Pattern.run();
Bytes.run();
Mebibytes.run();
Distance.run();
Canonical.run();
Hash.run();
Ids.run();
ParsePayload.run();
Check.run();
