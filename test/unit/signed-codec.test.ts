// Signed delegation at the bus: what a part signs opens only for a receiver that trusts the key
// for that topic, and never on another topic, tampered, replayed or unsigned. Keys, identity
// files, declarations and the topic access table alongside.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateSigningKey, parsePublicKey, signerFrom } from '../../reconciler/core/keys.js';
import { signedCodec } from '../../reconciler/mqtt/signed-codec.js';
import { agentTrustView, clusterTrustView, isOnlineTopic, rootTrustView, TrustStore } from '../../reconciler/mqtt/trust.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { accessRules, covers, mayPublish, maySubscribe } from '../../reconciler/mqtt/access.js';
import { createIdentity, loadIdentity, writeIdentity } from '../../reconciler/core/identity-file.js';
import { declareKey, declaredKeys } from '../../reconciler/core/declare-keys.js';
import { tempDir } from '../helpers/cleanup.js';

const t = topics('demo');
const root = generateSigningKey('demo/root');
const munich = generateSigningKey('demo/cluster/munich');
const other = generateSigningKey('someone');
const LIMIT = 1024 * 1024;

function clusterSide(opts: { clock?: () => number } = {}) {
  const store = new TrustStore(true);
  store.set('root', [root.publicKey]);
  return { store, codec: signedCodec({ trust: clusterTrustView(store, t, 'munich'), maxBytes: LIMIT, unordered: isOnlineTopic, ...opts }) };
}
const signerOf = (k: { privateKey: string }, clock?: () => number) =>
  signedCodec({ signer: signerFrom(k.privateKey), trust: { keysFor: () => undefined }, maxBytes: LIMIT, clock });
const body = JSON.stringify({ kind: 'snapshot', placement: { services: {} } });
const open = (codec: ReturnType<typeof signedCodec>, topic: string, payload: string | Buffer) => codec.decode(topic, Buffer.from(payload));

const Codec = suite('signed codec');

Codec('a message signed by the trusted key opens to its exact body; the envelope is JSON', () => {
  const sent = signerOf(root).encode(t.clusterDesired('munich'), body) as string;
  assert.equal(Object.keys(JSON.parse(sent)), ['signed', 'by', 'at', 'sig', 'body']);
  const r = open(clusterSide().codec, t.clusterDesired('munich'), sent);
  assert.ok(r.ok);
  if (r.ok) assert.is(r.payload.toString(), body);
});

Codec('dropped with its reason: unsigned, untrusted key, another topic, tampered body, bad shape', () => {
  const { codec } = clusterSide();
  const topic = t.clusterDesired('munich');
  const reason = (p: string | Buffer, tp = topic) => {
    const r = open(codec, tp, p);
    return r.ok ? 'ok' : r.reason;
  };
  assert.is(reason(body), 'unsigned');
  assert.is(reason(signerOf(other).encode(topic, body) as string), 'untrusted-key');
  // Signed by the root for paris's topic, replayed on munich's.
  assert.is(reason(signerOf(root).encode(t.clusterDesired('paris'), body) as string), 'bad-signature');
  const tampered = (signerOf(root).encode(topic, body) as string).replace('"services":{}', '"services":{"x":1}');
  assert.is(reason(tampered), 'bad-signature');
  assert.is(reason('{"signed":"canopy/v1","by":"x"}'), 'invalid');
  // A node's topic: munich trusts no node key yet.
  const r = open(codec, t.nodeStatus('munich', 'n1'), signerOf(other).encode(t.nodeStatus('munich', 'n1'), body));
  assert.ok(!r.ok && r.reason === 'untrusted-key' && /node munich\/n1 declares no key/.test(r.error), JSON.stringify(r));
});

Codec('an older message on a topic is a replay; the same one again (a retained redelivery) is not', () => {
  let now = 1_000;
  const sender = signerOf(root, () => now);
  const topic = t.clusterDesired('munich');
  const first = sender.encode(topic, body);
  now = 2_000;
  const second = sender.encode(topic, body);
  const { codec } = clusterSide();
  assert.ok(open(codec, topic, second).ok);
  assert.ok(open(codec, topic, second).ok, 'the same message again');
  const r = open(codec, topic, first);
  assert.ok(!r.ok && r.reason === 'replayed', JSON.stringify(r));
});

Codec('online topics are not ordered (a last will is signed when the connection opens)', () => {
  let now = 5_000;
  const store = new TrustStore(true);
  store.set('cluster:munich', [munich.publicKey]);
  const rootSide = signedCodec({ trust: rootTrustView(store, t), maxBytes: LIMIT, unordered: isOnlineTopic });
  const sender = signerOf(munich, () => now);
  const will = sender.encode(t.clusterOnline('munich'), '{"online":false}');
  now = 6_000;
  assert.ok(rootSide.decode(t.clusterOnline('munich'), Buffer.from(sender.encode(t.clusterOnline('munich'), '{"online":true}'))).ok);
  assert.ok(rootSide.decode(t.clusterOnline('munich'), Buffer.from(will)).ok);
});

Codec('oversized payloads are dropped unread', () => {
  const r = clusterSide().codec.decode(t.clusterDesired('munich'), Buffer.alloc(LIMIT + 1000, 0x20));
  assert.ok(!r.ok && r.reason === 'oversized');
});

Codec('unsigned mode takes plain and signed payloads alike; a rotated key set takes effect at once', () => {
  const store = new TrustStore(false);
  const codec = signedCodec({ trust: agentTrustView(store, t, 'munich', 'n1'), maxBytes: LIMIT });
  const topic = t.nodeDesired('munich', 'n1');
  assert.ok(codec.decode(topic, Buffer.from(body)).ok);
  assert.ok(codec.decode(topic, Buffer.from(signerOf(other).encode(topic, body))).ok);
  store.signed = true;
  store.set('cluster:munich', [munich.publicKey]);
  assert.not.ok(codec.decode(topic, Buffer.from(body)).ok);
  const rotated = generateSigningKey('demo/cluster/munich 2');
  assert.not.ok(codec.decode(topic, Buffer.from(signerOf(rotated).encode(topic, body))).ok);
  let changed = 0;
  store.onChange(() => changed++);
  store.set('cluster:munich', [munich.publicKey, rotated.publicKey]);
  assert.ok(codec.decode(topic, Buffer.from(signerOf(rotated).encode(topic, body))).ok);
  assert.ok(codec.decode(topic, Buffer.from(signerOf(munich).encode(topic, body))).ok);
  assert.is(changed, 1);
  assert.not.ok(store.set('cluster:munich', [munich.publicKey, rotated.publicKey]), 'the same keys again change nothing');
});

const Keys = suite('keys and identities');

Keys('public keys are OpenSSH lines; fingerprints are what ssh-keygen prints', () => {
  const dir = tempDir('canopy-keys-');
  const f = path.join(dir, 'k.pub');
  writeFileSync(f, root.publicKey + '\n');
  const out = execFileSync('ssh-keygen', ['-lf', f], { encoding: 'utf8' });
  assert.ok(out.includes(parsePublicKey(root.publicKey).id), out);
  assert.is(signerFrom(root.privateKey).id, parsePublicKey(root.publicKey).id);
  for (const bad of ['ssh-rsa AAAAB3NzaC1yc2E= x', 'ssh-ed25519 AAAA', 'ssh-ed25519', '', 'ssh-ed25519 ' + Buffer.alloc(51).toString('base64')]) {
    assert.throws(() => parsePublicKey(bad), /Ed25519|malformed/, bad);
  }
});

Keys('an identity file: 0600, loads back whole, its age key is the one the age CLI derives', async () => {
  const dir = tempDir('canopy-id-');
  const id = await createIdentity({ fleet: 'demo', role: 'node', name: 'munich/n1', trust: { cluster: [munich.publicKey] } });
  const file = path.join(dir, 'n1.json');
  writeIdentity(file, id);
  assert.is(statSync(file).mode & 0o777, 0o600);
  const loaded = loadIdentity(file);
  assert.is(loaded.identity.mqtt.username, 'demo.node.munich.n1');
  assert.is(loaded.signer.publicKey, id.ed25519.publicKey.split(' ').slice(0, 2).join(' '));
  const recipient = execFileSync('age-keygen', ['-y'], { input: id.age.identity + '\n', encoding: 'utf8' }).trim();
  assert.is(recipient, id.age.recipient);
  // A file whose public key is not its private key's, and one that is not an identity at all.
  writeFileSync(file, JSON.stringify({ ...id, ed25519: { ...id.ed25519, publicKey: root.publicKey } }));
  assert.throws(() => loadIdentity(file), /not the public half/);
  writeFileSync(file, JSON.stringify({ ...id, mqtt: { username: 'x' } }));
  assert.throws(() => loadIdentity(file), new RegExp(`identity ${file}: /mqtt/password: is required`));
  assert.throws(() => loadIdentity(path.join(dir, 'none.json')), /cannot read it \(ENOENT\); make one with canopy identity create/);
  assert.ok(readFileSync(path.join(dir, 'n1.json'), 'utf8').length > 0);
});

Keys('declarations keep comments; a second key for a part is added beside the first (a rotation)', () => {
  const text = '# my fleet\napiVersion: canopy/v1\nkind: Fleet\nmetadata:\n  name: demo # the name\n';
  const a = declareKey('fleet.yaml', text, 'root', 'root', 'demo.root', root.publicKey);
  assert.match(a.text, /# my fleet/);
  assert.match(a.text, /# the name/);
  const b = declareKey('fleet.yaml', a.text, 'root', 'root', 'demo.root', other.publicKey);
  assert.is(b.keys, 2);
  assert.equal(declaredKeys('fleet.yaml', b.text, 'root', 'root'), [root.publicKey, other.publicKey]);
  assert.is(declareKey('fleet.yaml', b.text, 'root', 'root', 'demo.root', other.publicKey).keys, 2, 'the same key twice is one');
  assert.throws(() => declareKey('fleet.yaml', 'a: [1', 'root', 'root', 'u', root.publicKey), /^fleet.yaml:\d+:\d+: not valid YAML/);
});

const Access = suite('topic access');

Access('each part reads and writes only its own topics', () => {
  const cl = accessRules('demo', 'cluster', 'munich');
  assert.ok(mayPublish(cl, t.clusterStatus('munich')));
  assert.not.ok(mayPublish(cl, t.clusterStatus('paris')));
  assert.not.ok(mayPublish(cl, t.clusterDesired('munich')));
  assert.ok(maySubscribe(cl, t.clusterDesired('munich')));
  assert.not.ok(maySubscribe(cl, t.clusterDesired('paris')));
  assert.not.ok(maySubscribe(cl, 'canopy/v1/demo/clusters/+/desired'));
  assert.not.ok(maySubscribe(cl, '#'));
  assert.ok(mayPublish(cl, t.nodeDesired('munich', 'n9')));
  assert.ok(maySubscribe(cl, t.allNodeStatus('munich')));
  const node = accessRules('demo', 'node', 'munich/n1');
  assert.ok(maySubscribe(node, t.nodeDesired('munich', 'n1')));
  assert.not.ok(maySubscribe(node, t.nodeDesired('munich', 'n2')));
  assert.not.ok(mayPublish(node, t.nodeStatus('munich', 'n2')));
  const op = accessRules('demo', 'operator', 'alice');
  assert.ok(maySubscribe(op, t.allClusterStatus));
  assert.not.ok(mayPublish(op, t.clusterDesired('munich')));
  const rt = accessRules('demo', 'root', 'root');
  assert.ok(mayPublish(rt, t.clusterDesired('paris')));
  assert.not.ok(mayPublish(rt, t.nodeDesired('paris', 'n1')));
  assert.not.ok(mayPublish(rt, 'canopy/v1/other/clusters/paris/desired'), 'another fleet');
  assert.not.ok(mayPublish(rt, 'canopy/v1/demo/clusters/+/desired'), 'no wildcards in a topic name');
  assert.ok(covers('a/#', 'a/b/c') && covers('a/+/c', 'a/x/c') && !covers('a/+/c', 'a/#') && !covers('a/b', 'a/b/c'));
});

Codec.run();
Keys.run();
Access.run();
