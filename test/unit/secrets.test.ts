// Secrets, part by part: the age format both ways with the age CLI, the root's placement
// constraint (judged from the declaration), the cluster's re-seal of only what a node's replicas
// use, and the agent's env, files and registry credentials. No error names a value.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { open, seal, secretValues, nodeSecretsOf } from '../../reconciler/core/secrets.js';
import { assess } from '../../reconciler/root/assess.js';
import { askOf } from '../../reconciler/root/eligible.js';
import { clusterSealer } from '../../reconciler/cluster/secrets.js';
import { agentSecrets } from '../../agents/secrets.js';
import { createLogger } from '../../reconciler/core/log.js';
import { specHash, workloadHash } from '../../reconciler/core/ids.js';
import { assignmentHash } from '../../reconciler/root/placement-docs.js';
import type { NodeDesired, Placement, ReplicaSpec } from '../../schemas/messages.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { aCluster, COMMIT } from '../helpers/builders.js';
import { tempDir } from '../helpers/cleanup.js';

const test = suite('secrets: seal, open, place, re-seal, hand to replicas');
const VALUE = 'hunter2-do-not-print';

async function pair(): Promise<{ id: string; to: string }> {
  const id = await generateX25519Identity();
  return { id, to: await identityToRecipient(id) };
}

test('seal → open roundtrip, to each of several recipients; another key cannot open it', async () => {
  const [a, b, c] = [await pair(), await pair(), await pair()];
  const sealed = await seal(JSON.stringify({ password: VALUE }), [a.to, b.to]);
  assert.match(sealed, /^-----BEGIN AGE ENCRYPTED FILE-----\n/);
  assert.not.ok(sealed.includes(VALUE));
  for (const k of [a, b]) assert.equal(secretValues(await open(sealed, k.id)), { password: VALUE });
  try {
    await open(sealed, c.id);
    assert.unreachable('opened with a key it is not sealed to');
  } catch (e) {
    assert.match((e as Error).message, /not sealed to it/);
  }
});

test('interoperates with the age CLI both ways (armored and binary files)', async () => {
  const dir = tempDir('canopy-secrets-');
  const k = await pair();
  const keyFile = path.join(dir, 'key.txt');
  writeFileSync(keyFile, `${k.id}\n`, { mode: 0o600 });
  const ours = path.join(dir, 'ours.age');
  writeFileSync(ours, await seal('{"a":"1"}', [k.to]));
  assert.is(execFileSync('age', ['-d', '-i', keyFile, ours], { encoding: 'utf8' }), '{"a":"1"}');
  const theirs = execFileSync('age', ['-r', k.to], { input: '{"b":"2"}' });
  assert.is(await open(new Uint8Array(theirs), k.id), '{"b":"2"}');
});

test('a plaintext of the wrong shape is refused without naming a value', () => {
  for (const bad of [VALUE, JSON.stringify([VALUE]), JSON.stringify({ k: [VALUE] })]) {
    try {
      secretValues(bad);
      assert.unreachable('accepted');
    } catch (e) {
      assert.not.ok((e as Error).message.includes(VALUE), (e as Error).message);
    }
  }
  assert.throws(() => nodeSecretsOf('{}'), /no secrets object/);
});

test('root: a service using a secret goes only where the secret is sealed (judged from the declaration)', () => {
  const spec: ServiceSpec = { runtime: 'process', command: ['sleep', '1'], replicas: 1, secrets: [{ secret: 'db', key: 'password', env: 'P' }] };
  const munich = aCluster('munich').withRuntimes('process').build();
  const paris = aCluster('paris').withRuntimes('process').build();
  const sealedTo = { db: ['munich'] };
  assert.is(assess(paris, spec, undefined, sealedTo).why, 'secret db is sealed to munich only');
  assert.is(assess(munich, spec, undefined, sealedTo).why, undefined);
  // The same spec with its secret sealed elsewhere is another ask (asks are shared by what they ask).
  const asks = new Map();
  const a = askOf(asks, [munich, paris], spec, undefined, sealedTo);
  const b = askOf(asks, [munich, paris], spec, undefined, { db: ['paris'] });
  assert.equal(
    a.all.map((x) => x.why),
    [undefined, 'secret db is sealed to munich only'],
  );
  assert.equal(
    b.all.map((x) => x.why),
    ['secret db is sealed to paris only', undefined],
  );
});

test('root: a new ciphertext changes the assignment hash; the secret refs are part of the workload', () => {
  const spec: ServiceSpec = { runtime: 'process', command: ['sleep', '1'], replicas: 1, secrets: [{ secret: 'db', key: 'password', env: 'P' }] };
  assert.is.not(assignmentHash({ spec, sealed: 'a' }), assignmentHash({ spec, sealed: 'b' }));
  assert.is(assignmentHash({ spec: { runtime: 'process', command: ['x'], replicas: 1 } }), workloadHash({ runtime: 'process', command: ['x'], replicas: 1 }));
  assert.is.not(workloadHash(spec), workloadHash({ ...spec, secrets: [{ secret: 'db', key: 'password', env: 'Q' }] }));
  assert.is(specHash({ a: 1, b: undefined }), specHash({ a: 1 }), 'a spec without secrets hashes as before');
});

function replica(id: string, spec: ServiceSpec): ReplicaSpec {
  return { id: `${id}#0`, service: id, index: 0, specHash: 'h', spec };
}

async function placementFor(cluster: { to: string }, node: { to: string }): Promise<Placement> {
  return {
    fleet: 'f',
    cluster: 'munich',
    version: { commit: COMMIT, seq: 1, epoch: 1 },
    trust: { nodeAge: { n1: node.to } },
    services: {},
    secrets: {
      db: await seal(JSON.stringify({ password: VALUE, user: 'admin', other: 'x' }), [cluster.to]),
      hub: await seal(JSON.stringify({ username: 'u', password: 'registry-pass' }), [cluster.to]),
    },
    registries: { '127.0.0.1:5000': 'hub' },
  };
}

test('cluster: seals to a node only the keys its replicas use, and registry credentials for containers', async () => {
  const [cluster, node] = [await pair(), await pair()];
  const placement = await placementFor(cluster, node);
  const log = createLogger('t', 'silent');
  const sealer = clusterSealer(cluster.id, log);
  const web = replica('shop/web', { runtime: 'container', image: 'i', replicas: 1, secrets: [{ secret: 'db', key: 'password', env: 'P' }] });
  const out = await sealer.forNode('n1', [web], placement);
  assert.ok(out.sealed && !out.sealed.includes(VALUE));
  const opened = nodeSecretsOf(await open(out.sealed!, node.id));
  assert.equal(opened, { secrets: { db: { password: VALUE } }, registries: { '127.0.0.1:5000': { username: 'u', password: 'registry-pass' } } });
  // The same again: the same sealed text (not re-sent); a process replica gets no registry credentials.
  assert.is((await sealer.forNode('n1', [web], placement)).sealed, out.sealed);
  const api = replica('shop/api', { runtime: 'process', command: ['x'], replicas: 1, secrets: [{ secret: 'db', key: 'user', file: 'u' }] });
  const p = nodeSecretsOf(await open((await sealer.forNode('n1', [api], placement)).sealed!, node.id));
  assert.equal(p, { secrets: { db: { user: 'admin' } } });
  // No secret used: nothing sealed.
  assert.equal(await sealer.forNode('n1', [replica('a/b', { runtime: 'process', command: ['x'], replicas: 1 })], placement), { key: '' });
  // A cluster without an age identity cannot open them; a node without a declared age key gets none.
  const none = await clusterSealer(undefined, log).forNode('n1', [web], placement);
  assert.equal(
    [none.key, none.sealed, none.error],
    ['no-identity', undefined, 'cluster has no age identity (--identity FILE) and cannot open secrets db, hub'],
  );
  const n2 = await sealer.forNode('n2', [web], placement);
  assert.equal([n2.key, n2.sealed], ['no-recipient', undefined]);
  assert.match(n2.error ?? '', /^node n2 declares no age key/);
});

test('agent: env, a 0600 file bound read-only, registry credentials; a missing key names no value', async () => {
  const [cluster, node] = [await pair(), await pair()];
  const placement = await placementFor(cluster, node);
  const web = replica('shop/web', {
    runtime: 'container',
    image: 'i',
    replicas: 1,
    secrets: [
      { secret: 'db', key: 'password', env: 'DB_PASSWORD' },
      { secret: 'db', key: 'password', file: '/run/secrets/db' },
    ],
  });
  const sealed = (await clusterSealer(cluster.id, createLogger('t', 'silent')).forNode('n1', [web], placement)).sealed!;
  const a: NodeDesired = { kind: 'node-desired', seq: 1, epoch: 1, replicas: [web], sealed };
  const dir = tempDir('canopy-agent-secrets-');
  const s = agentSecrets(node.id, dir);
  assert.is(s.registryAuth('127.0.0.1:5000'), undefined, 'nothing before the assignment is opened');
  const got = (await s.forReplica(a, web))!;
  assert.equal(got.env, { DB_PASSWORD: VALUE });
  assert.is(got.binds.length, 1);
  const [file, target, mode] = got.binds[0]!.split(':');
  assert.equal([target, mode], ['/run/secrets/db', 'ro']);
  assert.ok(file!.startsWith(dir));
  assert.is(readFileSync(file!, 'utf8'), VALUE);
  assert.is(statSync(file!).mode & 0o777, 0o600);
  assert.equal(s.registryAuth('127.0.0.1:5000'), { username: 'u', password: 'registry-pass' });
  assert.is(s.registryAuth('elsewhere:5000'), undefined);
  s.forget(web.id);
  assert.not.ok(existsSync(file!), 'its files go with the replica');
  // A process: its file relative to a working directory of its own, removed with it.
  const worker = replica('shop/worker', { runtime: 'process', command: ['x'], replicas: 1, secrets: [{ secret: 'db', key: 'password', file: 'conf/db.txt' }] });
  const ws = (await clusterSealer(cluster.id, createLogger('t', 'silent')).forNode('n1', [worker], placement)).sealed!;
  const pw = (await s.forReplica({ ...a, replicas: [worker], sealed: ws }, worker))!;
  assert.ok(pw.cwd?.startsWith(dir), pw.cwd);
  assert.is(readFileSync(path.join(pw.cwd!, 'conf/db.txt'), 'utf8'), VALUE);
  assert.is(statSync(path.join(pw.cwd!, 'conf/db.txt')).mode & 0o777, 0o600);
  s.forget(worker.id);
  assert.not.ok(existsSync(path.join(pw.cwd!, 'conf/db.txt')));
  // A key the cluster did not hand over, or no sealed part at all: the error names the secret and key only.
  const other = replica('shop/other', { runtime: 'container', image: 'i', replicas: 1, secrets: [{ secret: 'db', key: 'user', env: 'U' }] });
  for (const [assignment, want] of [
    [a, /secret db: key user was not handed to this node/],
    [{ ...a, sealed: undefined }, /secret db: the cluster handed this node no secrets/],
    [{ ...a, sealed: undefined, sealedError: 'cluster has no age identity' }, /secret db: cluster has no age identity/],
  ] as const) {
    try {
      await s.forReplica(assignment, other);
      assert.unreachable('started without its secret');
    } catch (e) {
      assert.match((e as Error).message, want);
      assert.not.ok((e as Error).message.includes(VALUE));
    }
  }
  await assert.not.throws(async () => agentSecrets(undefined, dir));
  try {
    await agentSecrets(undefined, dir).forReplica(a, web);
    assert.unreachable('opened without an identity');
  } catch (e) {
    assert.match((e as Error).message, /this node has no age identity/);
  }
});

test.run();
