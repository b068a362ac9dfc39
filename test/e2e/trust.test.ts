// Issue 14's "Done when", tried as an outsider would: a fleet with identities for every part
// (canopy identity create), Mosquitto configured by canopy broker-config (password file and ACL),
// root, clusters munich and paris and an agent in each as separate processes, real Git, real
// Docker on munich's node. Then what someone who reaches the broker can do with what they hold:
// no credential; paris's credential; the root's own credential with another key, or no key; an
// old message of the root's; and a message the root's key really signed with a version far
// ahead (a buggy root). None of it may run anything or move a version for good. Then munich's
// key and the root's are rotated while the fleet runs, restarting only the part rotated; and
// `canopy up`'s embedded broker is tried the same way with the identities it keeps.
//
// "Nothing arrives" is shown without waiting for time to pass: after the forbidden message, one
// the same subscriber may receive is sent, causally after it (its sender had the broker's
// acknowledgement of the forbidden one). Mosquitto queues a subscriber's messages in the order it
// accepts them, so once the marker is in, a forbidden message that got through would be in too.
// "Dropped" is shown by the receiver's log line, which it writes as it drops the message.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import mqtt from 'mqtt';
import { existsSync, readFileSync } from 'node:fs';
import { eventually, start } from '../helpers/canopy.js';
import { declaredKeys } from '../../reconciler/core/declare-keys.js';
import { topics } from '../../reconciler/mqtt/topics.js';
import { createLogger } from '../../reconciler/core/log.js';
import { generateSigningKey, parsePublicKey, signerFrom } from '../../reconciler/core/keys.js';
import { openRepo, resolveRef } from '../../reconciler/git/repo.js';
import { firstParents } from '../../reconciler/git/log.js';
import { verifyCommitSignature } from '../../reconciler/git/verify-commit.js';
import { statusRef } from '../../reconciler/core/refs.js';
import { connectBus } from '../../reconciler/mqtt/bus.js';
import type { Placement } from '../../schemas/messages.js';
import {
  apiOnParis,
  containersRunning,
  ID_FILES,
  literally,
  processes,
  startTrustedFleet,
  webOnMunich,
  type Spy,
  type TrustedFleet,
} from '../helpers/trusted-fleet.js';

const test = suite('trust at every boundary: an outsider against a fleet with identities');
let f: TrustedFleet;
const ids: Record<string, ReturnType<TrustedFleet['id']>> = {};
const marker = (what: string) => `cmk-trust-${process.pid}-${what}`;
let pwned = '';
let parisSnoop: Spy;
let k = 0;
const token = () => `${marker('token')}-${++k}`;

/** Fails with the parts' recent output, to see why. */
const withLogs = (e: Error): never => {
  throw new Error(`${e.message}\n${f.logs()}`);
};
const until = (what: string, probe: () => unknown, ms = 20_000) => eventually(what, probe, ms, 25).catch(withLogs);

test.before(async () => {
  f = await startTrustedFleet(`e2e-trust-${process.pid}`);
  for (const [part, file] of Object.entries(ID_FILES)) ids[part] = f.id(path.join(f.idDir, file));
  pwned = path.join(f.work, 'pwned');
});

test.after(async () => {
  await f?.stop();
});

test('an anonymous client is refused by Mosquitto, with an error that says what to give', async () => {
  const err = await connectBus({ url: f.broker.url, clientId: `anon-${process.pid}`, log: createLogger('anon', 'silent') }).then(
    (b) => b.close().then(() => undefined),
    (e: Error) => e,
  );
  assert.ok(err, 'an anonymous client connected');
  assert.match(err!.message, /refused a client without credentials: not authorized; the broker refuses anonymous clients: give a credential/);
});

test("paris's credential cannot publish on munich's desired, status or online topics", async () => {
  const { t } = f;
  const atMunich = await f.spy(ids.munich!, t.clusterDesired('munich'), t.nodeStatus('munich', 'n1'));
  const atOperator = await f.spy(ids.operator!, t.clusterStatus('munich'), t.clusterOnline('munich'), t.nodeStatus('munich', 'n1'));
  assert.equal([...atMunich.refused, ...atOperator.refused], []);
  const paris = await f.client(ids.paris!);
  const forged = token();
  for (const topic of [t.clusterDesired('munich'), t.clusterStatus('munich'), t.clusterOnline('munich')]) await paris.publish(topic, { forged });
  // The marker: n1 may write its own status, which both spies read.
  const mark = token();
  await (await f.client(ids['munich/n1']!)).publish(t.nodeStatus('munich', 'n1'), { marker: mark });
  await until('the marker at both spies', () => [atMunich, atOperator].every((s) => s.got.some((g) => g.text.includes(mark))));
  assert.equal(
    [...atMunich.got, ...atOperator.got].filter((g) => g.text.includes(forged)).map((g) => g.topic),
    [],
  );
});

test('a service commit converges (canopy wait exits 0) and its container runs on munich', async () => {
  // paris snoops on munich's desired state from now on, by name and by wildcard.
  const { t } = f;
  parisSnoop = await f.spy(ids.paris!, t.clusterDesired('munich'), t.clusterDesired('+'), `${t.root}/#`);
  const c = f.commit(webOnMunich(1), 'web on munich');
  const w = await f.wait(c, 90);
  assert.is(w.code, 0, w.stderr + f.logs());
  assert.is(containersRunning(f.fleet, 'shop/web'), 1);
  await f.settled('munich');
});

test("munich's status commits are signed with its key: git verify-commit accepts them with clusters/munich.yaml's key", async () => {
  const repo = await openRepo(f.dir);
  const key = f.id(path.join(f.idDir, ID_FILES.munich)).ed25519.publicKey;
  const commits = [];
  for await (const c of firstParents(repo, await resolveRef(repo, statusRef('munich')))) commits.push(c.oid);
  assert.ok(commits.length >= 2, `munich recorded its status: ${commits.length} commits`);
  for (const c of commits) assert.equal(await verifyCommitSignature(repo, c, [key]), { kind: 'trusted', index: 0, fingerprint: parsePublicKey(key).id }, c);
  // Not by paris's key: the signature names its signer.
  assert.is((await verifyCommitSignature(repo, commits[0]!, [f.id(path.join(f.idDir, ID_FILES.paris)).ed25519.publicKey])).kind, 'untrusted');
});

test("paris cannot read munich's desired state, by name or by wildcard", async () => {
  // munich's placement went out (it converged) before this commit's placement for paris.
  const c = f.commit(apiOnParis(1, marker('api')), 'api on paris');
  const w = await f.wait(c, 60);
  assert.is(w.code, 0, w.stderr + f.logs());
  assert.is(processes(marker('api')), 1);
  const { t } = f;
  await until("paris's own placement of that commit", () => parisSnoop.got.some((g) => g.topic === t.clusterDesired('paris') && g.text.includes(c)));
  // By the wildcard, paris reads what is its own (its nodes' status and online topics), nothing else.
  assert.equal(
    parisSnoop.got.filter((g) => !g.topic.startsWith(`${t.root}/clusters/paris/`)).map((g) => g.topic),
    [],
  );
});

/** munich's placement plus a service that would run `command`, at sequence `seq`. */
async function forgedPlacement(seq: number, id: string, command: string[]): Promise<Placement> {
  const p = await f.placement('munich');
  p.version = { ...p.version, seq };
  p.services[id] = { replicas: 1, specHash: 'f0f0f0f0f0f0f0f0', spec: { runtime: 'process', command, replicas: 1, resources: { cpu: 0.1 } } };
  return p;
}

test("the root's credential without the root's key: a forged, an unsigned and a replayed snapshot are dropped; nothing runs, no version moves", async () => {
  const { t } = f;
  const desired = literally(t.clusterDesired('munich'));
  const before = await f.settled('munich');
  const snapshot = { kind: 'snapshot', placement: await forgedPlacement(1000, 'evil/pwn', ['sh', '-c', `id > ${pwned}`]) };
  const munich = f.procs.get('munich')!;

  const forger = generateSigningKey('mallory');
  await (await f.client(ids.root!, { key: forger.privateKey })).publish(t.clusterDesired('munich'), snapshot);
  const forgerId = signerFrom(forger.privateKey).id;
  await munich.waitFor(new RegExp(`dropped bad message: ${desired}: signed by ${literally(forgerId)}, not a key trusted on this topic`)).catch(withLogs);

  await (await f.client(ids.root!)).publish(t.clusterDesired('munich'), snapshot);
  await munich.waitFor(new RegExp(`dropped bad message: ${desired}: unsigned payload, where a signed one is required`)).catch(withLogs);

  // A replay: the root's own key, the root's credential, but signed an hour ago (older than the
  // last placement munich took).
  const anHourAgo = () => Date.now() - 3_600_000;
  await (await f.client(ids.root!, { key: ids.root!.ed25519.privateKey, clock: anHourAgo })).publish(t.clusterDesired('munich'), snapshot);
  await munich
    .waitFor(new RegExp(`dropped bad message: ${desired}: signed at \\S+, older than the last message taken here \\(\\S+\\): a replay`))
    .catch(withLogs);

  assert.equal((await f.status()).clusters.munich!.applied, before, "munich's reported version moved");
  assert.equal((await f.placement('munich')).version, before, "the root's placement ref moved");
  assert.not.match(munich.output(), /applied placement #1000/);
  assert.not.ok(existsSync(pwned), 'the forged command ran');

  // The next real commit converges as usual, at the root's own next version (not past #1000).
  const c = f.commit(webOnMunich(2), 'web: 2 replicas');
  const w = await f.wait(c, 60);
  assert.is(w.code, 0, w.stderr + f.logs());
  const after = await f.settled('munich');
  assert.is(after.commit, c);
  assert.ok(after.seq > before.seq && after.seq < 1000, `version after the forgeries: #${after.seq}`);
  assert.is(containersRunning(f.fleet, 'shop/web'), 2);
  assert.not.ok(existsSync(pwned), 'the forged command ran');
  assert.not.match(f.procs.get('munich/n1')!.output(), /evil\/pwn/);
});

test("a version poisoned by the root's own key (a buggy root): the cluster comes back to its placement ref", async () => {
  const { t } = f;
  const poison = marker('poison');
  const snapshot = { kind: 'snapshot', placement: await forgedPlacement(100_000, 'evil/poison', ['sh', '-c', 'while :; do sleep 1; done', poison]) };
  await (await f.client(ids.root!, { key: ids.root!.ed25519.privateKey })).publish(t.clusterDesired('munich'), snapshot);
  // It is signed by the root's key: munich takes it ...
  await f.procs
    .get('munich')!
    .waitFor(/applied placement #100000 /)
    .catch(withLogs);
  // ... and the root, seeing a version it never wrote, places munich again past it.
  const back = await eventually(
    "munich back on its placement ref's version, past #100000, and the poisoned service gone",
    async () => {
      const v = await f.inStep('munich');
      return v && v.seq > 100_000 && !(await f.placement('munich')).services['evil/poison'] && processes(poison) === 0 ? v : undefined;
    },
    30_000,
    200,
  ).catch(withLogs);
  assert.match(
    f.procs.get('root')!.output(),
    /cluster munich reports version #100000 \(epoch 0\), ahead of its placement #\d+: not one the root wrote; placing it again as #100001/,
  );
  assert.is(containersRunning(f.fleet, 'shop/web'), 2);
  // And the fleet goes on: the next commit converges.
  const c = f.commit(webOnMunich(1), 'web: 1 replica');
  const w = await f.wait(c, 60);
  assert.is(w.code, 0, w.stderr + f.logs());
  assert.ok((await f.settled('munich')).seq > back!.seq);
  await until('web down to 1 container', () => containersRunning(f.fleet, 'shop/web') === 1);
});

/** The base64 of a public key ("ssh-ed25519 AAAA… comment"): what tells two keys apart. */
const b64 = (key: string) => key.split(/\s+/)[1]!;
const keysOf = (list: unknown) => (Array.isArray(list) ? list.map((k) => b64(String(k))) : []);
/** The last message a spy saw on `topic`. */
const latest = (s: Spy, topic: string) => s.got.filter((g) => g.topic === topic).at(-1);
const pidsOf = (...parts: string[]) => parts.map((p) => f.procs.get(p)!.child.pid);
const declared = (file: string, role: 'root' | 'cluster', name: string) =>
  declaredKeys(file, readFileSync(path.join(f.dir, file), 'utf8'), role, name).map(b64);
/** A declaration file without the line of one key. */
const without = (file: string, key: string) => ({
  [file]: readFileSync(path.join(f.dir, file), 'utf8')
    .split('\n')
    .filter((l) => !l.includes(b64(key)))
    .join('\n'),
});

test("munich's key is rotated while the fleet runs: only munich's cluster restarts, and its node learns the new key from a signed assignment", async () => {
  const { t } = f;
  const nodeDesired = t.nodeDesired('munich', 'n1');
  const nodeStatus = t.nodeStatus('munich', 'n1');
  const oldKey = ids.munich!.ed25519.publicKey;
  const oldId = signerFrom(ids.munich!.ed25519.privateKey).id;
  const file2 = path.join(f.work, 'rotated', 'munich2.json');
  const newKey = f.identity(['--cluster', 'munich'], file2, ['--keep-credential', path.join(f.idDir, ID_FILES.munich)]);
  const munich2 = f.id(file2);
  const newId = signerFrom(munich2.ed25519.privateKey).id;
  assert.equal(munich2.mqtt, ids.munich!.mqtt, 'the broker credential is kept');
  assert.equal(declared('clusters/munich.yaml', 'cluster', 'munich'), [b64(oldKey), b64(newKey)]);
  const c1 = f.commit({}, 'munich: a second key');
  assert.is((await f.wait(c1, 60)).code, 0, f.logs());

  // Before munich signs with the new key, n1 must know it: the assignment munich signed with its
  // old key carries both, and n1 has applied it (n1's reported assignment is that one).
  const atN1 = await f.spy(ids['munich/n1']!, nodeDesired);
  const atOps = await f.spy(ids.operator!, nodeStatus, t.clusterStatus('munich'));
  const applied = (by: string, keys: string[]) => {
    const d = latest(atN1, nodeDesired);
    const s = latest(atOps, nodeStatus);
    return d?.by === by && keysOf((d.body?.trust as { cluster?: unknown })?.cluster).join() === keys.join() && s?.body?.appliedSeq === d.body?.seq
      ? d
      : undefined;
  };
  await until('n1 applies an assignment signed by the old key that carries both keys', () => applied(oldId, [b64(oldKey), b64(newKey)]));

  const others = ['root', 'paris', 'munich/n1', 'paris/n1'];
  const pids = pidsOf(...others);
  await f.procs.get('munich')!.kill('SIGTERM');
  await f
    .startCluster('munich', file2)
    .waitFor(/running/)
    .catch(withLogs);
  const c2 = f.commit(webOnMunich(3), 'web: 3 replicas');
  const w2 = await f.wait(c2, 60);
  assert.is(w2.code, 0, w2.stderr + f.logs());
  assert.is(containersRunning(f.fleet, 'shop/web'), 3);
  await until("munich's status signed by its new key", () => latest(atOps, t.clusterStatus('munich'))?.by === newId);
  await until('n1 applies an assignment signed by the new key', () => applied(newId, [b64(oldKey), b64(newKey)]));
  assert.equal(pidsOf(...others), pids, 'another part was restarted');
  for (const p of others) assert.is(f.procs.get(p)!.child.exitCode, null, `${p} stopped`);

  // The old key removed: still converges, and the old key is worth nothing at the root and at n1.
  const c3 = f.commit({ ...without('clusters/munich.yaml', oldKey), ...webOnMunich(2) }, 'munich: the old key removed');
  assert.equal(declared('clusters/munich.yaml', 'cluster', 'munich'), [b64(newKey)]);
  const w3 = await f.wait(c3, 60);
  assert.is(w3.code, 0, w3.stderr + f.logs());
  await until('n1 applies an assignment that carries only the new key', () => applied(newId, [b64(newKey)]));
  await until('web down to 2 containers', () => containersRunning(f.fleet, 'shop/web') === 2);
  const stolen = await f.client(ids.munich!, { key: ids.munich!.ed25519.privateKey });
  await stolen.publish(t.clusterStatus('munich'), latest(atOps, t.clusterStatus('munich'))!.body);
  const a = latest(atN1, nodeDesired)!.body!;
  await stolen.publish(nodeDesired, { ...a, seq: (a.seq as number) + 1000, replicas: [] });
  const untrusted = (topic: string) => new RegExp(`dropped bad message: ${literally(topic)}: signed by ${literally(oldId)}, not a key trusted on this topic`);
  await f.procs
    .get('root')!
    .waitFor(untrusted(t.clusterStatus('munich')))
    .catch(withLogs);
  await f.procs.get('munich/n1')!.waitFor(untrusted(nodeDesired)).catch(withLogs);
  assert.is(containersRunning(f.fleet, 'shop/web'), 2);
  assert.equal(pidsOf(...others), pids, 'another part was restarted');
});

test("the root's key is rotated the same way: only the root restarts", async () => {
  const { t } = f;
  const oldKey = ids.root!.ed25519.publicKey;
  const oldId = signerFrom(ids.root!.ed25519.privateKey).id;
  const file2 = path.join(f.work, 'rotated', 'root2.json');
  const newKey = f.identity(['--root'], file2, ['--keep-credential', path.join(f.idDir, ID_FILES.root)]);
  assert.equal(declared('fleet.yaml', 'root', 'root'), [b64(oldKey), b64(newKey)]);
  const c1 = f.commit({}, 'root: a second key');
  assert.is((await f.wait(c1, 60)).code, 0, f.logs());
  // Each cluster has applied a placement, signed by the old key, that carries both.
  for (const c of ['munich', 'paris']) {
    await f.settled(c);
    assert.equal(keysOf((await f.placement(c)).trust?.root), [b64(oldKey), b64(newKey)]);
  }
  const others = ['munich', 'paris', 'munich/n1', 'paris/n1'];
  const pids = pidsOf(...others);
  await f.procs.get('root')!.kill('SIGTERM');
  await f
    .startRoot(file2)
    .waitFor(/running/)
    .catch(withLogs);
  const c2 = f.commit(apiOnParis(2, marker('api')), 'api: 2 replicas');
  const w2 = await f.wait(c2, 60);
  assert.is(w2.code, 0, w2.stderr + f.logs());
  await until('2 api processes', () => processes(marker('api')) === 2);

  const c3 = f.commit({ ...without('fleet.yaml', oldKey), ...webOnMunich(1) }, 'root: the old key removed');
  assert.equal(declared('fleet.yaml', 'root', 'root'), [b64(newKey)]);
  const w3 = await f.wait(c3, 60);
  assert.is(w3.code, 0, w3.stderr + f.logs());
  await f.settled('munich');
  assert.equal(keysOf((await f.placement('munich')).trust?.root), [b64(newKey)]);
  // The old root key signs nothing munich takes any more.
  const snapshot = { kind: 'snapshot', placement: await forgedPlacement(200_000, 'evil/old-root', ['sh', '-c', `id > ${pwned}`]) };
  await (await f.client(ids.root!, { key: ids.root!.ed25519.privateKey })).publish(t.clusterDesired('munich'), snapshot);
  await f.procs
    .get('munich')!
    .waitFor(new RegExp(`dropped bad message: ${literally(t.clusterDesired('munich'))}: signed by ${literally(oldId)}, not a key trusted on this topic`))
    .catch(withLogs);
  assert.not.ok(existsSync(pwned), 'the command signed by the old root key ran');
  assert.equal(pidsOf(...others), pids, 'another part was restarted');
});

test("a node away while its cluster's key is rotated: the cluster signs for it with the old key until it has learned the new one", async () => {
  const { t } = f;
  const nodeStatus = t.nodeStatus('paris', 'n1');
  const atOps = await f.spy(ids.operator!, nodeStatus);
  const oldId = signerFrom(ids.paris!.ed25519.privateKey).id;
  // paris/n1 goes away, and paris's key is rotated without it.
  await f.procs.get('paris/n1')!.kill('SIGTERM');
  const file2 = path.join(f.work, 'rotated', 'paris2.json');
  f.identity(['--cluster', 'paris'], file2, ['--keep-credential', path.join(f.idDir, ID_FILES.paris)]);
  const newId = signerFrom(f.id(file2).ed25519.privateKey).id;
  f.commit({}, 'paris: a second key, n1 away');
  await until('paris holds a placement carrying both its keys', async () => (await f.placement('paris')).trust?.cluster?.length === 2);
  await f.settled('paris');
  await f.procs.get('paris')!.kill('SIGTERM');
  await f
    .startCluster('paris', file2)
    .waitFor(/running/)
    .catch(withLogs);
  // n1 comes back trusting only the old key (its identity file's): it says so in its status, and
  // paris signs its assignment with the old key; the assignment carries both, then n1 says so.
  await f
    .startAgent('paris')
    .waitFor(/running/)
    .catch(withLogs);
  await until('n1 reports it trusts the new key too', () => ((latest(atOps, nodeStatus)?.body?.trusts as string[] | undefined) ?? []).includes(newId));
  assert.ok(((latest(atOps, nodeStatus)!.body!.trusts as string[]) ?? []).includes(oldId));
  const c = f.commit(apiOnParis(3, marker('api')), 'api: 3 replicas, n1 back');
  const w = await f.wait(c, 60);
  assert.is(w.code, 0, w.stderr + f.logs());
  await until('3 api processes', () => processes(marker('api')) === 3);
});

test('canopy up: its embedded broker refuses an anonymous client; the operator identity it keeps reads status and cannot publish desired state', async () => {
  const dir = path.join(f.work, 'up', 'fleet');
  const up = start(['up', '--repo', dir, '--runtime', 'sim']);
  f.procs.set('up', up);
  await up.waitFor(/Broker: embedded at mqtt:\/\/\S+:\d+/).catch(withLogs);
  const url = /Broker: embedded at (mqtt:\/\/\S+:\d+)/.exec(up.output())![1]!;
  const anon = await connectBus({ url, clientId: `anon-up-${process.pid}`, log: createLogger('anon', 'silent') }).then(
    (b) => b.close().then(() => undefined),
    (e: Error) => e,
  );
  assert.ok(anon, "an anonymous client connected to canopy up's broker");
  assert.match(anon!.message, /refused a client without credentials: not authorized; the broker refuses anonymous clients/);

  const idDir = path.join(dir, '.git', 'canopy-up', 'identities');
  const [operator, root, munich] = ['operator.json', 'root.json', 'clusters/munich.json'].map((file) => f.id(path.join(idDir, file)));
  const t = topics(operator!.fleet);
  const atOperator = await f.spyAt(url, operator!, t.allClusterStatus, t.clusterDesired('munich'));
  await until(
    "munich's status at the operator",
    () => atOperator.got.some((g) => g.topic === t.clusterStatus('munich') && g.body?.kind === 'cluster-status'),
    60_000,
  );
  const atMunich = await f.spyAt(url, munich!, t.clusterDesired('munich'));
  const forged = token();
  // aedes refuses such a publish by closing the connection, before it forwards it (a broker may
  // also acknowledge and drop it, as Mosquitto does). Either way, once the connection closes or
  // the acknowledgement comes, the publish has been judged: the marker that follows is behind it.
  const op = await mqtt.connectAsync(url, { ...operator!.mqtt, clientId: `op-${process.pid}`, protocolVersion: 4, reconnectPeriod: 0 });
  await new Promise<void>((resolve) => {
    op.once('close', () => resolve());
    op.publish(t.clusterDesired('munich'), JSON.stringify({ forged }), { qos: 1 }, () => resolve());
  });
  op.end(true);
  const mark = token();
  await (await f.client(root!, { url })).publish(t.clusterDesired('munich'), { marker: mark });
  await until('the marker at munich', () => atMunich.got.some((g) => g.text.includes(mark)));
  assert.equal(
    atMunich.got.filter((g) => g.text.includes(forged)),
    [],
  );
  assert.equal(
    atOperator.got.filter((g) => g.topic.endsWith('/desired')),
    [],
    'the operator read desired state',
  );
  assert.is(await up.kill('SIGTERM'), 0, up.output());
});

test.run();
