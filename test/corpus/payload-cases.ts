// Bad MQTT payloads, one row each, for every topic a part listens on: what arrives (bytes, text,
// or a value sent as JSON) and the reason the receiver must give for dropping it (a substring of
// what it passes to the bus's drop, or logs, which also names the topic). The valid messages
// they are made from are here too: each receiver starts from a state built from them
// (payload-feed.ts), which a dropped message must leave as it was.
import type { ClusterStatus, NodeDesired, NodeStatus, Placement } from '../../schemas/messages.js';
import { aNode, aNodeStatus, aPlacement, aReplica, aService } from '../helpers/builders.js';
import { aClusterStatus } from '../helpers/root-fakes.js';
import { KEYS } from './descriptor-cases.js';

export type Receiver = 'root status' | 'root online' | 'cluster desired' | 'cluster node status' | 'cluster node online' | 'agent desired';

export interface PayloadCase {
  name: string;
  to: Receiver;
  /** Bytes or text as they arrive; any other value arrives as its JSON. */
  payload: unknown;
  /** In the reason the message is dropped for. */
  want: string;
  /** Another topic than the receiver's own (e.g. another node's). */
  topic?: string;
}

export const TOPIC: Record<Receiver, string> = {
  'root status': 'canopy/v1/demo/clusters/munich/status',
  'root online': 'canopy/v1/demo/clusters/munich/online',
  'cluster desired': 'canopy/v1/demo/clusters/munich/desired',
  'cluster node status': 'canopy/v1/demo/clusters/munich/nodes/n1/status',
  'cluster node online': 'canopy/v1/demo/clusters/munich/nodes/n1/online',
  'agent desired': 'canopy/v1/demo/clusters/munich/nodes/n1/desired',
};

// --- what is in force ----------------------------------------------------------------------------

export const WEB = aService('web/api').replicas(2);
const C1 = 'c1'.padEnd(40, '0');
/** The placement munich holds (seq 5, epoch 2); the root's book has it too. */
export function placement(): Placement {
  const p = aPlacement('munich').with(WEB).seq(5).build();
  return { ...p, version: { commit: C1, seq: 5, epoch: 2 } };
}
/** The next placement, as the root would send it (seq 6): 3 replicas. */
export function nextPlacement(): Placement {
  const p = placement();
  return { ...p, version: { ...p.version, seq: 6 }, services: { 'web/api': { ...p.services['web/api'], replicas: 3 } } };
}
export const NODE_STATUS = (): NodeStatus => aNodeStatus(aNode('n1').build());
export const CLUSTER_STATUS = (): ClusterStatus => aClusterStatus('munich', { applied: placement().version });
/** What n1's agent runs: seq 10, epoch 3. */
export function assignment(): NodeDesired {
  return { kind: 'node-desired', seq: 10, epoch: 3, heartbeatSeconds: 5, replicas: [aReplica(WEB, 0)] };
}
const AT = '2025-01-01T00:00:00Z';
const online = (on: unknown) => ({ kind: 'online', online: on, at: AT });

/** A copy of `v` with the value at a dotted path set (`undefined`: removed). */
export function set<T>(v: T, path: string, value: unknown): T {
  const out = structuredClone(v) as Record<string, unknown>;
  const keys = path.split('.');
  let o = out as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
  const last = keys[keys.length - 1];
  if (value === undefined) delete o[last];
  else o[last] = value;
  return out as T;
}

const BIG = 2 ** 53;
const TEXT_2001 = 'x'.repeat(2001);
const MEGABYTES = 'x'.repeat(4 * 1024 * 1024);

const rows: PayloadCase[] = [];
const to = (r: Receiver) => (name: string, payload: unknown, want: string, topic?: string) => rows.push({ name: `${r}: ${name}`, to: r, payload, want, topic });

/** Payloads no receiver may take, whatever it expects: each goes to every receiver. */
function garbage(r: Receiver): void {
  const t = to(r);
  // A union told apart by kind (DesiredMessage) is checked by kind first.
  const union = r === 'cluster desired';
  const notObject = union ? '/kind: must be one of snapshot, patch (got nothing)' : '/: must be object';
  t('not JSON', 'offline', `not JSON (Unexpected token 'o', "offline" is not valid JSON)`);
  t('JSON cut short', '{"kind":', 'not JSON (Unexpected end of JSON input)');
  t('a byte-order mark before the JSON', '\ufeff{}', 'not JSON (Unexpected token');
  t('bytes that are not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), "not JSON (Expected property name or '}' in JSON at position 1)");
  t('JSON nested 100,000 deep', '['.repeat(100_000) + ']'.repeat(100_000), notObject);
  t('null', 'null', notObject);
  t('a list', '[]', notObject);
  t('a string', '"hello"', notObject);
  t('a number', '42', notObject);
  t('an empty object', '{}', union ? notObject : '/kind: is required');
}

// --- the root: a cluster's status ------------------------------------------------------------------
{
  const t = to('root status');
  const st = CLUSTER_STATUS();
  garbage('root status');
  t('kind node-status', set(st, 'kind', 'node-status'), '/kind: must be equal to constant');
  t('kind missing', set(st, 'kind', undefined), '/kind: is required');
  t('names another cluster', set(st, 'cluster', 'paris'), 'names cluster paris');
  t('the cluster named twice, the second time another', `{"cluster":"munich",${JSON.stringify(set(st, 'cluster', 'paris')).slice(1)}`, 'names cluster paris');
  t('cluster missing', set(st, 'cluster', undefined), '/cluster: is required');
  t('cluster a number', set(st, 'cluster', 7), '/cluster: must be string');
  t('at not a time', set(st, 'at', 'yesterday'), '/at: must match pattern "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$"');
  t('at of 41 characters', set(st, 'at', `2025-01-01T00:00:00.${'0'.repeat(20)}Z`), '/at: must NOT have more than 40 characters');
  t('at missing', set(st, 'at', undefined), '/at: is required');
  t('applied: seq negative', set(st, 'applied.seq', -1), '/applied/seq: must be >= 0');
  t('applied: seq a fraction', set(st, 'applied.seq', 1.5), '/applied/seq: must be integer');
  t('applied: seq 2^53', set(st, 'applied.seq', BIG), '/applied/seq: must be <= 9007199254740991');
  t('applied: epoch negative', set(st, 'applied.epoch', -1), '/applied/epoch: must be >= 0');
  t('applied: commit not an object id', set(st, 'applied.commit', 'main'), '/applied/commit: must match pattern "^[0-9a-f]{40}$"');
  t('applied: an unknown field', set(st, 'applied.signedBy', 'root'), '/applied/signedBy: is not a known field');
  t('applied missing', set(st, 'applied', undefined), '/applied: is required');
  t('capacity: cpu negative', set(st, 'capacity.cpu', -1), '/capacity/cpu: must be >= 0');
  t('capacity: memoryMi missing', set(st, 'capacity.memoryMi', undefined), '/capacity/memoryMi: is required');
  t('free a string', set(st, 'free', 'lots'), '/free: must be object');
  t('maxNode missing', set(st, 'maxNode', undefined), '/maxNode: is required');
  t('shapes: 33 of them', set(st, 'shapes', Array(33).fill(st.capacity)), '/shapes: must NOT have more than 32 items');
  t('arch not a list', set(st, 'arch', 'amd64'), '/arch: must be array');
  t('runtimes with a number', set(st, 'runtimes', ['container', 1]), '/runtimes/1: must be string');
  t('labels: a number value', set(st, 'labels', { zone: 1 }), '/labels/zone: must be string');
  t('location: lat 100', set(st, 'location', { lat: 100, lon: 0 }), '/location/lat: must be <= 90');
  t('footprint: a cell with an a', set(st, 'footprint', ['u28a']), '/footprint/0: must match pattern "^[0-9b-hjkmnp-z]{1,12}$"');
  t('footprint: 257 cells', set(st, 'footprint', Array(257).fill('u281z')), '/footprint: must NOT have more than 256 items');
  t('latency: a target with capitals', set(st, 'latency', { Office: { ms: 3, source: 'measured' } }), '/latency/Office: is not a known field');
  t('latency: source guessed', set(st, 'latency', { office: { ms: 3, source: 'guessed' } }), '/latency/office/source: must be one of measured, estimated');
  t('latency: ms negative', set(st, 'latency', { office: { ms: -3, source: 'measured' } }), '/latency/office/ms: must be >= 0');
  t('nodes: total negative', set(st, 'nodes.total', -1), '/nodes/total: must be >= 0');
  t('nodes: online missing', set(st, 'nodes.online', undefined), '/nodes/online: is required');
  t('services: desired negative', set(st, 'services', { 'web/api': { desired: -1, running: 0, failed: 0 } }), '/services/web~1api/desired: must be >= 0');
  t(
    'services: a message of 2001 characters',
    set(st, 'services', { 'web/api': { desired: 1, running: 0, failed: 0, message: TEXT_2001 } }),
    '/services/web~1api/message: must NOT have more than 2000 characters',
  );
  t(
    'services: a message of 4 MiB',
    set(st, 'services', { 'web/api': { desired: 1, running: 0, failed: 0, message: MEGABYTES } }),
    '/services/web~1api/message: must NOT have more than 2000 characters',
  );
  t('services: an empty id', set(st, 'services', { '': { desired: 1, running: 0, failed: 0 } }), '/services/: is not a known field');
  t(
    'services: an id of 301 characters',
    set(st, 'services', { ['s'.repeat(301)]: { desired: 1, running: 0, failed: 0 } }),
    `/services/${'s'.repeat(301)}: is not a known field`,
  );
  t(
    'services: refused count 0',
    set(st, 'services', { 'web/api': { desired: 1, running: 0, failed: 0, refused: { count: 0, reason: 'full' } } }),
    '/services/web~1api/refused/count: must be >= 1',
  );
  t(
    'services: an unknown field',
    set(st, 'services', { 'web/api': { desired: 1, running: 0, failed: 0, cpu: 2 } }),
    '/services/web~1api/cpu: is not a known field',
  );
  t('operator a number', set(st, 'operator', 7), '/operator: must be string');
  t('an unknown field', set(st, 'secret', 'x'), '/secret: is not a known field');
  t('a __proto__ field', `{"__proto__":{"admin":true},${JSON.stringify(st).slice(1)}`, '/__proto__: is not a known field');
}

// --- the root: a cluster's online flag ---------------------------------------------------------------
{
  const t = to('root online');
  garbage('root online');
  t('kind offline', { kind: 'offline', online: false, at: AT }, '/kind: must be equal to constant');
  t('online a string', online('false'), '/online: must be boolean');
  t('online 0', online(0), '/online: must be boolean');
  t('online missing', { kind: 'online', at: AT }, '/online: is required');
  t('at missing', { kind: 'online', online: false }, '/at: is required');
  t('at not a time', { ...online(false), at: 'now' }, '/at: must match pattern "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$"');
  t('an unknown field', { ...online(false), since: AT }, '/since: is not a known field');
}

// --- the cluster: its placement from the root -----------------------------------------------------------
{
  const t = to('cluster desired');
  const p = placement();
  const snap = (pl: unknown) => ({ kind: 'snapshot', placement: pl });
  garbage('cluster desired');
  t('kind full', { kind: 'full', placement: p }, '/kind: must be one of snapshot, patch (got "full")');
  t('kind a number', { kind: 1, placement: p }, '/kind: must be one of snapshot, patch (got 1)');
  t('a snapshot without a placement', { kind: 'snapshot' }, '/placement: is required');
  t('a snapshot with an unknown field', { ...snap(nextPlacement()), from: 'root' }, '/from: is not a known field');
  t('for another cluster', snap(set(nextPlacement(), 'cluster', 'paris')), 'placement is for demo/paris');
  t('for another fleet', snap(set(nextPlacement(), 'fleet', 'other')), 'placement is for other/munich');
  t('an older epoch, whatever its seq', snap(set(nextPlacement(), 'version', { commit: C1, seq: 99, epoch: 1 })), 'ignoring stale placement #99');
  t('an older seq in the same epoch', snap(set(nextPlacement(), 'version', { commit: C1, seq: 4, epoch: 2 })), 'ignoring stale placement #4');
  t('seq negative', snap(set(nextPlacement(), 'version.seq', -1)), '/placement/version/seq: must be >= 0');
  t('seq 2^53', snap(set(nextPlacement(), 'version.seq', BIG)), '/placement/version/seq: must be <= 9007199254740991');
  t('epoch 2^53', snap(set(nextPlacement(), 'version.epoch', BIG)), '/placement/version/epoch: must be <= 9007199254740991');
  t('commit not an object id', snap(set(nextPlacement(), 'version.commit', 'HEAD')), '/placement/version/commit: must match pattern "^[0-9a-f]{40}$"');
  t('version missing', snap(set(nextPlacement(), 'version', undefined)), '/placement/version: is required');
  t('fleet a number', snap(set(nextPlacement(), 'fleet', 7)), '/placement/fleet: must be string');
  t('services a list', snap(set(nextPlacement(), 'services', [])), '/placement/services: must be object');
  t('a service with negative replicas', snap(set(nextPlacement(), 'services.web/api.replicas', -1)), '/placement/services/web~1api/replicas: must be >= 0');
  t(
    'a service whose spec has runtime docker',
    snap(set(nextPlacement(), 'services.web/api.spec.runtime', 'docker')),
    '/placement/services/web~1api/spec/runtime: must be one of container, process',
  );
  t(
    'a service whose spec has 10,001 replicas',
    snap(set(nextPlacement(), 'services.web/api.spec.replicas', 10001)),
    '/placement/services/web~1api/spec/replicas: must be <= 10000',
  );
  t(
    'a service whose spec has an unknown field',
    snap(set(nextPlacement(), 'services.web/api.spec.privileged', true)),
    '/placement/services/web~1api/spec/privileged: is not a known field',
  );
  t(
    'a service with an empty specHash',
    snap(set(nextPlacement(), 'services.web/api.specHash', '')),
    '/placement/services/web~1api/specHash: must NOT have fewer than 1 characters',
  );
  t(
    'a service with a reason of 2001 characters',
    snap(set(nextPlacement(), 'services.web/api.reason', TEXT_2001)),
    '/placement/services/web~1api/reason: must NOT have more than 2000 characters',
  );
  t(
    'a service id of 301 characters',
    snap(set(nextPlacement(), 'services', { ['s'.repeat(301)]: p.services['web/api'] })),
    `/placement/services/${'s'.repeat(301)}: is not a known field`,
  );
  t(
    'a service image of 4 MiB',
    snap(set(nextPlacement(), 'services.web/api.spec.image', MEGABYTES)),
    '/placement/services/web~1api/spec/image: must NOT have more than 512 characters',
  );
  t('an unknown field', snap(set(nextPlacement(), 'owner', 'me')), '/placement/owner: is not a known field');
  t(
    'trust: a root key that is not ssh-ed25519',
    snap(set(nextPlacement(), 'trust', { root: ['ssh-rsa AAAAB3 root'] })),
    '/placement/trust/root/0: must match pattern "^ssh-ed25519 [A-Za-z0-9+/]+={0,2}( [^\\n]*)?$"',
  );
  t('trust: no root keys', snap(set(nextPlacement(), 'trust', { root: [] })), '/placement/trust/root: must NOT have fewer than 1 items');
  t(
    'trust: nine root keys',
    snap(set(nextPlacement(), 'trust', { root: Array.from({ length: 9 }, (_, i) => `${KEYS.root}${i}`) })),
    '/placement/trust/root: must NOT have more than 8 items',
  );
  t('trust: a node with capitals', snap(set(nextPlacement(), 'trust', { nodes: { N1: [KEYS.n1] } })), '/placement/trust/nodes/N1: is not a known field');
  t(
    'files: a key that is not a blob id',
    snap(set(nextPlacement(), 'files', { 'config/a.conf': 'YQ==' })),
    '/placement/files/config/a.conf: is not a known field',
  );
  t(
    'files: content that is not base64',
    snap(set(nextPlacement(), 'files', { ['a'.repeat(40)]: 'not base64!' })),
    `/placement/files/${'a'.repeat(40)}: must match pattern "^[A-Za-z0-9+/]*={0,2}$"`,
  );
  t(
    'a spec file whose blob id is not one',
    snap(set(nextPlacement(), 'services.web/api.spec.files', [{ path: '/a', from: 'a', oid: 'HEAD' }])),
    '/placement/services/web~1api/spec/files/0/oid: must match pattern "^[0-9a-f]{40}$"',
  );
  t('trust: an unknown field', snap(set(nextPlacement(), 'trust', { admins: [KEYS.alice] })), '/placement/trust/admins: is not a known field');
  t('trust: operators a list', snap(set(nextPlacement(), 'trust', { operators: [KEYS.alice] })), '/placement/trust/operators: must be object');
}

// --- the cluster: a patch from the root ---------------------------------------------------------------
{
  const t = to('cluster desired');
  const p = placement();
  const v6 = { ...p.version, seq: 6 };
  const patch = (ops: unknown[], o: Record<string, unknown> = {}) => ({ kind: 'patch', base: p.version, version: v6, ops, ...o });
  const toV6 = { op: 'replace', path: '/version', value: v6 };
  const replicas3 = { op: 'replace', path: '/services/web~1api/replicas', value: 3 };
  t('a base seq it does not hold', patch([replicas3, toV6], { base: { ...p.version, seq: 4 } }), 'patch for base #4 (epoch 2 of c10000000000) from');
  t(
    'a base commit it does not hold',
    patch([replicas3, toV6], { base: { ...p.version, commit: 'c2'.padEnd(40, '0') } }),
    'patch for base #5 (epoch 2 of c20000000000) from',
  );
  t('a base epoch it does not hold', patch([replicas3, toV6], { base: { ...p.version, epoch: 1 } }), 'patch for base #5 (epoch 1 of c10000000000) from');
  t('to a version it is already past', patch([replicas3], { version: { ...p.version, seq: 3 } }), 'patch to #3 from');
  t('to the version it holds', patch([replicas3], { version: p.version }), 'patch to #5 from');
  t('base missing', { kind: 'patch', version: v6, ops: [] }, '/base: is required');
  t('version seq negative', patch([], { version: { ...v6, seq: -6 } }), '/version/seq: must be >= 0');
  t('version seq 2^53', patch([], { version: { ...v6, seq: BIG } }), '/version/seq: must be <= 9007199254740991');
  t('ops not a list', patch([], { ops: { op: 'replace' } }), '/ops: must be array');
  t('an op merge', patch([{ op: 'merge', path: '/services', value: {} }]), '/ops/0/op: must be one of add, remove, replace, move, copy, test');
  t('an op without a path', patch([{ op: 'remove' }]), '/ops/0/path: is required');
  t('an op with a path that is a number', patch([{ op: 'remove', path: 5 }]), '/ops/0/path: must be string');
  t('an op with an unknown field', patch([{ ...replicas3, why: 'x' }]), '/ops/0/why: is not a known field');
  t(
    'replacing a service it does not hold',
    patch([{ op: 'replace', path: '/services/web~1db/replicas', value: 1 }, toV6]),
    'patch does not apply: Cannot perform the operation at a path that does not exist',
  );
  t(
    'removing a service it does not hold',
    patch([{ op: 'remove', path: '/services/web~1db' }, toV6]),
    'patch does not apply: Cannot perform the operation at a path that does not exist',
  );
  t('a test that fails', patch([{ op: 'test', path: '/services/web~1api/replicas', value: 9 }, toV6]), 'patch does not apply: Test operation failed');
  t(
    'a path without a leading /',
    patch([{ op: 'replace', path: 'services', value: {} }, toV6]),
    'patch does not apply: Operation `path` property must start with "/"',
  );
  t(
    'moving from a path that is not there',
    patch([{ op: 'move', from: '/services/nope', path: '/services/web~1db' }, toV6]),
    'patch does not apply: Cannot perform the operation from a path that does not exist',
  );
  t(
    'writing __proto__',
    patch([{ op: 'add', path: '/services/web~1api/__proto__/polluted', value: 1 }, toV6]),
    'patch does not apply: JSON-Patch: modifying `__proto__` or `constructor/prototype` prop is banned for',
  );
  t(
    'writing constructor/prototype',
    patch([{ op: 'add', path: '/constructor/prototype/polluted', value: 1 }, toV6]),
    'patch does not apply: Cannot perform operation at the desired path',
  );
  t('replicas made negative', patch([{ ...replicas3, value: -1 }, toV6]), '(patched): /services/web~1api: /replicas: must be >= 0');
  t(
    'a service spec made invalid',
    patch([{ op: 'replace', path: '/services/web~1api/spec/runtime', value: 'vm' }, toV6]),
    '(patched): /services/web~1api: /spec/runtime: must be one of container, process',
  );
  t(
    'a service added that is not an assignment',
    patch([{ op: 'add', path: '/services/web~1db', value: { replicas: 1 } }, toV6]),
    '(patched): /services/web~1db: /specHash: is required',
  );
  t('the version made invalid', patch([{ op: 'replace', path: '/version', value: { ...v6, seq: -1 } }]), '(patched): /version: /seq: must be >= 0');
  t('an unknown field added', patch([{ op: 'add', path: '/secret', value: 1 }, toV6]), '(patched): /secret: is not a known field');
  t('the cluster replaced', patch([{ op: 'replace', path: '/cluster', value: 'paris' }, toV6]), 'placement is for demo/paris');
  t(
    'the whole document replaced by another cluster’s',
    patch([{ op: 'replace', path: '', value: set(nextPlacement(), 'cluster', 'paris') }]),
    'placement is for demo/paris',
  );
  t(
    'leading to a version other than it names',
    patch([replicas3, { ...toV6, value: { ...v6, seq: 1_000_000 } }]),
    'patch names version #6 but leads to #1000000',
  );
  t('naming a version it does not lead to', patch([replicas3]), 'patch names version #6 but leads to #5');
}

// --- the cluster: a node's status -----------------------------------------------------------------------
{
  const t = to('cluster node status');
  const st = NODE_STATUS();
  const r0 = st.replicas[0] ?? { id: 'web/api#0', service: 'web/api', specHash: 'h', state: 'running', since: AT };
  garbage('cluster node status');
  t('kind cluster-status', set(st, 'kind', 'cluster-status'), '/kind: must be equal to constant');
  t('names another node', set(st, 'node', 'n2'), 'names node n2');
  t('n1 on n2’s topic', st, 'names node n1', 'canopy/v1/demo/clusters/munich/nodes/n2/status');
  t('node missing', set(st, 'node', undefined), '/node: is required');
  t('at not a time', set(st, 'at', '2025-01-01'), '/at: must match pattern "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$"');
  t('appliedSeq negative', set(st, 'appliedSeq', -1), '/appliedSeq: must be >= 0');
  t('appliedSeq a fraction', set(st, 'appliedSeq', 1.5), '/appliedSeq: must be integer');
  t('appliedSeq a string', set(st, 'appliedSeq', '7'), '/appliedSeq: must be integer');
  t('appliedSeq 2^53', set(st, 'appliedSeq', BIG), '/appliedSeq: must be <= 9007199254740991');
  t('capacity: cpu negative', set(st, 'capacity.cpu', -1), '/capacity/cpu: must be >= 0');
  t('capacity: gpu missing', set(st, 'capacity.gpu', undefined), '/capacity/gpu: is required');
  t('arch a number', set(st, 'arch', 64), '/arch: must be string');
  t('runtimes not a list', set(st, 'runtimes', 'docker'), '/runtimes: must be array');
  t('labels: a number value', set(st, 'labels', { gpu: 1 }), '/labels/gpu: must be string');
  t('location: lon 181', set(st, 'location', { lat: 0, lon: 181 }), '/location/lon: must be <= 180');
  t('latency: a target with capitals', set(st, 'latency', { Office: { ms: 1 } }), '/latency/Office: is not a known field');
  t('latency: ms negative', set(st, 'latency', { office: { ms: -1 } }), '/latency/office/ms: must be >= 0');
  t('latency: an unknown field', set(st, 'latency', { office: { ms: 1, source: 'measured' } }), '/latency/office/source: is not a known field');
  t('replicas: state crashed', set(st, 'replicas', [{ ...r0, state: 'crashed' }]), '/replicas/0/state: must be one of starting, running, failed, stopped');
  t(
    'replicas: since not a time',
    set(st, 'replicas', [{ ...r0, since: 'boot' }]),
    '/replicas/0/since: must match pattern "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$"',
  );
  t(
    'replicas: a message of 2001 characters',
    set(st, 'replicas', [{ ...r0, message: TEXT_2001 }]),
    '/replicas/0/message: must NOT have more than 2000 characters',
  );
  t('replicas: a message of 4 MiB', set(st, 'replicas', [{ ...r0, message: MEGABYTES }]), '/replicas/0/message: must NOT have more than 2000 characters');
  t('replicas: an empty id', set(st, 'replicas', [{ ...r0, id: '' }]), '/replicas/0/id: must NOT have fewer than 1 characters');
  t('replicas: an id of 301 characters', set(st, 'replicas', [{ ...r0, id: 'r'.repeat(301) }]), '/replicas/0/id: must NOT have more than 300 characters');
  t('an unknown field', set(st, 'uptime', 5), '/uptime: is not a known field');
}

// --- the cluster: a node's online flag ---------------------------------------------------------------------
{
  const t = to('cluster node online');
  garbage('cluster node online');
  t('online "no"', online('no'), '/online: must be boolean');
  t('kind status', { kind: 'status', online: false, at: AT }, '/kind: must be equal to constant');
  t('at missing', { kind: 'online', online: false }, '/at: is required');
  t('an unknown field', { ...online(false), reason: 'will' }, '/reason: is not a known field');
}

// --- the agent: its node's assignment -------------------------------------------------------------------------
{
  const t = to('agent desired');
  const a = { ...assignment(), seq: 11 };
  garbage('agent desired');
  t('kind node-status', set(a, 'kind', 'node-status'), '/kind: must be equal to constant');
  t('kind missing', set(a, 'kind', undefined), '/kind: is required');
  t('an older epoch', { ...a, epoch: 2 }, 'epoch 2 is older than 3');
  t('epoch 0', { ...a, epoch: 0, seq: 999 }, 'epoch 0 is older than 3');
  t('seq negative', set(a, 'seq', -1), '/seq: must be >= 0');
  t('seq a fraction', set(a, 'seq', 1.5), '/seq: must be integer');
  t('seq 2^53', set(a, 'seq', BIG), '/seq: must be <= 9007199254740991');
  t('epoch negative', set(a, 'epoch', -1), '/epoch: must be >= 0');
  t('epoch 2^53', set(a, 'epoch', BIG), '/epoch: must be <= 9007199254740991');
  t('heartbeatSeconds 0', set(a, 'heartbeatSeconds', 0), '/heartbeatSeconds: must be >= 0.1');
  t('heartbeatSeconds over an hour', set(a, 'heartbeatSeconds', 4000), '/heartbeatSeconds: must be <= 3600');
  t('targets: a name with capitals', set(a, 'targets', { Office: { lat: 1, lon: 1 } }), '/targets/Office: is not a known field');
  t('targets: lon 200', set(a, 'targets', { office: { lat: 1, lon: 200 } }), '/targets/office/lon: must be <= 180');
  t(
    'targets: a probe of 301 characters',
    set(a, 'targets', { office: { lat: 1, lon: 1, probe: 'p'.repeat(301) } }),
    '/targets/office/probe: must NOT have more than 300 characters',
  );
  t(
    'trust: a cluster key that is not ssh-ed25519',
    set(a, 'trust', { cluster: ['ecdsa-sha2-nistp256 AAAA munich'] }),
    '/trust/cluster/0: must match pattern "^ssh-ed25519 [A-Za-z0-9+/]+={0,2}( [^\\n]*)?$"',
  );
  t('trust: root keys too', set(a, 'trust', { cluster: [KEYS.munich], root: [KEYS.root] }), '/trust/root: is not a known field');
  t('trust: no cluster keys', set(a, 'trust', { cluster: [] }), '/trust/cluster: must NOT have fewer than 1 items');
  t('replicas not a list', set(a, 'replicas', {}), '/replicas: must be array');
  t(
    'files: content of 4 MiB',
    set(a, 'files', { ['a'.repeat(40)]: 'A'.repeat(4 * 1024 * 1024) }),
    `/files/${'a'.repeat(40)}: must NOT have more than 349528 characters`,
  );
  t('files: a key that is a path', set(a, 'files', { 'conf/a': 'YQ==' }), '/files/conf/a: is not a known field');
  t('a replica without its spec', set(a, 'replicas', [set(aReplica(WEB, 0), 'spec', undefined)]), '/replicas/0/spec: is required');
  t(
    'a replica with runtime docker',
    set(a, 'replicas', [set(aReplica(WEB, 0), 'spec.runtime', 'docker')]),
    '/replicas/0/spec/runtime: must be one of container, process',
  );
  t('a replica with index -1', set(a, 'replicas', [set(aReplica(WEB, 0), 'index', -1)]), '/replicas/0/index: must be >= 0');
  t('a replica with an empty id', set(a, 'replicas', [set(aReplica(WEB, 0), 'id', '')]), '/replicas/0/id: must NOT have fewer than 1 characters');
  t(
    'a replica with a specHash of 65 characters',
    set(a, 'replicas', [set(aReplica(WEB, 0), 'specHash', 'h'.repeat(65))]),
    '/replicas/0/specHash: must NOT have more than 64 characters',
  );
  t('a replica with an unknown field', set(a, 'replicas', [set(aReplica(WEB, 0), 'privileged', true)]), '/replicas/0/privileged: is not a known field');
  t(
    'a replica whose image is 4 MiB',
    set(a, 'replicas', [set(aReplica(WEB, 0), 'spec.image', MEGABYTES)]),
    '/replicas/0/spec/image: must NOT have more than 512 characters',
  );
  t(
    'a replica whose command has a number',
    set(a, 'replicas', [set(aReplica(WEB, 0), 'spec.command', ['sh', 1])]),
    '/replicas/0/spec/command/1: must be string',
  );
  t('an unknown field', set(a, 'node', 'n1'), '/node: is not a known field');
}

export const PAYLOAD_CASES: readonly PayloadCase[] = rows;
