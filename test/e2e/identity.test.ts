// `canopy identity create` as a user runs it: root first, then clusters, then nodes; each file a
// secret of its own, each public key printed and declared in the repository for the user to
// commit; a second identity for a part is a rotation (both keys declared).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { canopy } from '../helpers/canopy.js';
import { tempDir } from '../helpers/cleanup.js';
import { parsePublicKey } from '../../reconciler/core/keys.js';

const test = suite('canopy identity create');
const work = tempDir('canopy-identity-');
const repo = path.join(work, 'fleet');
const ids = path.join(work, 'ids');
const create = (...args: string[]) => canopy(['identity', 'create', '--repo', repo, ...args]);
const yamlOf = (rel: string) => parse(readFileSync(path.join(repo, rel), 'utf8'));
const json = (f: string) => JSON.parse(readFileSync(path.join(ids, f), 'utf8'));

test.before(() => {
  const r = canopy(['init', repo]);
  assert.is(r.code, 0, r.stderr);
});

test('a node or cluster before the part above it: refused, saying what to create first; nothing written', () => {
  const c = create('--cluster', 'munich', '--out', path.join(ids, 'munich.json'));
  assert.is(c.code, 1);
  assert.match(c.stderr, /fleet.yaml declares no root key yet: create the root’s identity first \(canopy identity create --root\)/);
  assert.not.ok(existsSync(path.join(ids, 'munich.json')));
});

test('the root: file 0600 with the contract fields, public key printed and declared in fleet.yaml', () => {
  const r = create('--root', '--out', path.join(ids, 'root.json'));
  assert.is(r.code, 0, r.stderr);
  const id = json('root.json');
  assert.is(statSync(path.join(ids, 'root.json')).mode & 0o777, 0o600);
  assert.is(id.name, 'root');
  assert.is(id.mqtt.username, 'demo.root');
  assert.ok(id.mqtt.password.length >= 16);
  assert.match(id.age.recipient, /^age1[0-9a-z]{58}$/);
  assert.match(id.age.identity, /^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
  assert.match(id.ed25519.privateKey, /^-----BEGIN PRIVATE KEY-----/);
  assert.is(r.stdout.trim(), id.ed25519.publicKey);
  parsePublicKey(r.stdout.trim());
  assert.equal(yamlOf('fleet.yaml').spec.trust.root, { user: 'demo.root', keys: [id.ed25519.publicKey] });
  assert.match(r.stderr, /git -C .* add fleet.yaml && git -C .* commit/);
});

test('clusters and nodes trust the part above them; the declarations validate', () => {
  assert.is(create('--cluster', 'munich', '--out', path.join(ids, 'munich.json')).code, 0);
  const n = create('--node', 'munich/n1', '--out', path.join(ids, 'n1.json'));
  assert.is(n.code, 0, n.stderr);
  assert.is(create('--operator', 'alice', '--out', path.join(ids, 'alice.json')).code, 0);
  assert.equal(json('munich.json').trust, { root: [json('root.json').ed25519.publicKey] });
  assert.equal(json('n1.json').trust, { cluster: [json('munich.json').ed25519.publicKey] });
  const munich = yamlOf('clusters/munich.yaml');
  assert.is(munich.spec.identity.user, 'demo.cluster.munich');
  assert.is(munich.spec.nodeIdentities.n1.user, 'demo.node.munich.n1');
  assert.is(yamlOf('fleet.yaml').spec.trust.operators.alice.user, 'demo.operator.alice');
  // A cluster the repository did not declare gets a file of its own.
  assert.is(create('--cluster', 'oslo', '--out', path.join(ids, 'oslo.json')).code, 0);
  assert.is(yamlOf('clusters/oslo.yaml').metadata.name, 'oslo');
  const v = canopy(['validate', repo]);
  assert.is(v.code, 0, v.stderr);
});

test('again for a part: a rotation (both keys declared); --keep-credential keeps the broker password', () => {
  const r = create('--cluster', 'munich', '--out', path.join(ids, 'munich2.json'), '--keep-credential', path.join(ids, 'munich.json'));
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /beside 1 older key\(s\): remove those once cluster munich runs with the new file/);
  assert.equal(yamlOf('clusters/munich.yaml').spec.identity.keys, [json('munich.json').ed25519.publicKey, json('munich2.json').ed25519.publicKey]);
  assert.equal(json('munich2.json').mqtt, json('munich.json').mqtt);
  // The credential of another part is refused.
  const bad = create('--cluster', 'munich', '--out', path.join(ids, 'x.json'), '--keep-credential', path.join(ids, 'root.json'));
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /is root root's, not cluster munich's/);
});

test('an existing --out is never overwritten without --force; usage errors exit 64', () => {
  const r = create('--root', '--out', path.join(ids, 'root.json'));
  assert.is(r.code, 1);
  assert.match(r.stderr, /exists; it may be the only copy of a key/);
  for (const [args, msg] of [
    [['--out', 'x.json'], /give exactly one of --root, --cluster C, --node C\/N, --operator NAME \(got none\)/],
    [['--root', '--cluster', 'a', '--out', 'x.json'], /got --root, --cluster/],
    [['--node', 'munich', '--out', 'x.json'], /--node munich: expected CLUSTER\/NODE/],
    [['--cluster', 'Munich!', '--out', 'x.json'], /--cluster Munich!: a name is a lower-case DNS label/],
    [['--root'], /--out/],
  ] as const) {
    const u = create(...args);
    assert.is(u.code, 64, `${args.join(' ')}: ${u.stderr}`);
    assert.match(u.stderr, msg);
  }
  const noRepo = canopy(['identity', 'create', '--repo', work, '--root', '--out', path.join(work, 'r.json')]);
  assert.is(noRepo.code, 64);
  assert.match(noRepo.stderr, /no fleet.yaml there/);
  assert.is(canopy(['identity', 'make', '--repo', repo, '--root', '--out', 'x']).code, 64);
});

test.run();
