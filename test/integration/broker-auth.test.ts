// `canopy broker-config` as a site would use it: identity files for the root, clusters munich
// and paris, node munich/n1 and an operator; the command's output included into a real
// Mosquitto; then each credential tried against the topics it may and may not use.
//
// "Nothing arrives" is shown without waiting for time to pass: after the forbidden message, a
// message the same subscriber may receive is sent on the same broker, causally after it (its
// sender waited for the broker's acknowledgement of the forbidden one). Mosquitto queues a
// subscriber's messages in the order it accepts them, so once the marker is in, a forbidden
// message that got through would be in too.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { canopy } from '../helpers/canopy.js';
import { tempDir } from '../helpers/cleanup.js';
import { freePort, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { createIdentity, writeIdentity, type IdentityFile } from '../../reconciler/core/identity-file.js';
import { createLogger } from '../../reconciler/core/log.js';
import { connectBus, type Bus } from '../../reconciler/mqtt/bus.js';
import { topics } from '../../reconciler/mqtt/topics.js';

const t = topics('demo');
const test = suite('broker-config with Mosquitto: who may read and write what');

let mq: Mosquitto;
const ids: Record<string, IdentityFile> = {};
let staleMunich: IdentityFile;
let run: { code: number; stdout: string; stderr: string };
const open: Bus[] = [];
let n = 0;

async function bus(cred: { username?: string; password?: string } | IdentityFile): Promise<Bus> {
  const c = 'mqtt' in cred ? cred.mqtt : cred;
  const b = await connectBus({ url: mq.url, clientId: `auth-${process.pid}-${++n}`, log: createLogger('bus', 'silent'), ...c });
  open.push(b);
  return b;
}

interface Got {
  topic: string;
  body: { from: string; token: string };
}

/** Everything `b` receives on these filters. A filter the broker refuses (SUBACK failure) counts as subscribed to nothing. */
async function inbox(b: Bus, ...filters: string[]): Promise<{ got: Got[]; refused: string[] }> {
  const got: Got[] = [];
  const refused: string[] = [];
  for (const f of filters) {
    await b.subscribe(f, (topic, payload) => got.push({ topic, body: JSON.parse(payload.toString()) })).catch(() => refused.push(f));
  }
  return { got, refused };
}

async function until(what: string, probe: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}\n${mq.log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const token = () => `${Date.now()}-${++n}`;

test.before(async () => {
  const dir = tempDir('canopy-broker-auth-');
  const idDir = path.join(dir, 'identities');
  const make = async (file: string, role: IdentityFile['role'], name: string) => {
    const id = await createIdentity({ fleet: 'demo', role, name });
    writeIdentity(path.join(idDir, file), id);
    return id;
  };
  ids.root = await make('root.json', 'root', 'root');
  ids.munich = await make('clusters/munich.json', 'cluster', 'munich');
  ids.paris = await make('clusters/paris.json', 'cluster', 'paris');
  ids.n1 = await make('nodes/munich/n1.json', 'node', 'munich/n1');
  ids.operator = await make('operator.json', 'operator', 'alice');
  // munich's identity before a rotation: same user, another password, older.
  staleMunich = { ...(await createIdentity({ fleet: 'demo', role: 'cluster', name: 'munich' })), createdAt: '2020-01-01T00:00:00.000Z' };
  writeIdentity(path.join(idDir, 'old', 'munich-2020.json'), staleMunich);

  const out = path.join(dir, 'broker');
  run = canopy(['broker-config', '--identities', idDir, '--out', out]);
  const port = await freePort();
  mq = await startMosquitto(port, { conf: [`listener ${port} 127.0.0.1`, `include_dir ${out}`] });
});

test.after(async () => {
  await Promise.all(open.map((b) => b.close()));
  await mq?.stop();
});

test('broker-config writes the files for five users, and says which munich identity it used', () => {
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /for 5 user\(s\)/);
  for (const u of ['demo.root', 'demo.cluster.munich', 'demo.cluster.paris', 'demo.node.munich.n1', 'demo.operator.alice'])
    assert.match(run.stdout, new RegExp(`  ${u} `));
  assert.match(run.stderr, /user demo\.cluster\.munich: using \S+\/clusters\/munich\.json .*not the older \S+\/old\/munich-2020\.json/);
  assert.match(run.stdout, /kill -HUP/);
});

test('an anonymous client is refused at once, with a message that says what to give', async () => {
  const err = await bus({}).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(err, 'an anonymous client connected');
  assert.match(err!.message, /refused a client without credentials: not authorized; the broker refuses anonymous clients: give a credential/);
});

test('a wrong password, or the password of an identity rotated away, is refused with a clear error', async () => {
  for (const password of ['not-the-password-at-all', staleMunich.mqtt.password]) {
    const err = await bus({ username: 'demo.cluster.munich', password }).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err, `connected with password ${password}`);
    assert.match(
      err!.message,
      /refused user demo\.cluster\.munich: (not authorized|bad user name or password); is the password the one in the broker's password_file\?/,
    );
    assert.not.match(err!.message, /within 5 s/);
  }
});

test('munich publishes its status; the root and the operator read it', async () => {
  const root = await bus(ids.root!);
  const operator = await bus(ids.operator!);
  const atRoot = await inbox(root, t.allClusterStatus);
  const atOperator = await inbox(operator, t.allClusterStatus);
  assert.equal([...atRoot.refused, ...atOperator.refused], []);
  const munich = await bus(ids.munich!);
  const k = token();
  await munich.publish(t.clusterStatus('munich'), { from: 'munich', token: k }, { retain: true });
  await until('munich status at the root and the operator', () => [atRoot, atOperator].every((i) => i.got.some((g) => g.body.token === k)));
  assert.is(atRoot.got.find((g) => g.body.token === k)!.topic, t.clusterStatus('munich'));
});

test("paris cannot publish on munich's status, online or desired topics", async () => {
  const root = await bus(ids.root!);
  const munich = await bus(ids.munich!);
  const paris = await bus(ids.paris!);
  await munich.publish(t.clusterStatus('munich'), { from: 'munich', token: token() }, { retain: true });
  const atRoot = await inbox(root, t.allClusterStatus, t.allClusterOnline);
  const atMunich = await inbox(munich, t.clusterDesired('munich'));
  const forged = token();
  for (const topic of [t.clusterStatus('munich'), t.clusterOnline('munich'), t.clusterDesired('munich')])
    await paris.publish(topic, { from: 'paris', token: forged }, { retain: !topic.endsWith('desired') });
  // Markers each receiver may get, sent after the broker acknowledged the forged ones.
  const k = token();
  await paris.publish(t.clusterStatus('paris'), { from: 'paris', token: k }, { retain: true });
  await root.publish(t.clusterDesired('munich'), { from: 'root', token: k });
  await until('the markers', () => atRoot.got.some((g) => g.body.token === k) && atMunich.got.some((g) => g.body.token === k));
  assert.equal(
    [...atRoot.got, ...atMunich.got].filter((g) => g.body.token === forged),
    [],
  );
  assert.equal(
    atMunich.got.map((g) => g.body.from),
    ['root'],
  );
  // The retained status of munich is still munich's own.
  const late = await inbox(await bus(ids.operator!), t.clusterStatus('munich'));
  await until('munich retained status', () => late.got.length > 0);
  assert.is(late.got[0]!.body.from, 'munich');
});

test("paris cannot read munich's desired state, by name or by wildcard", async () => {
  const root = await bus(ids.root!);
  const paris = await bus(ids.paris!);
  const atParis = await inbox(paris, t.clusterDesired('munich'), t.clusterDesired('+'), 'canopy/v1/demo/#', t.clusterDesired('paris'));
  assert.not.ok(atParis.refused.includes(t.clusterDesired('paris')), 'paris may read its own desired topic');
  const secret = token();
  await root.publish(t.clusterDesired('munich'), { from: 'root', token: secret });
  const k = token();
  await root.publish(t.clusterDesired('paris'), { from: 'root', token: k });
  await until("paris's own desired state", () => atParis.got.some((g) => g.body.token === k));
  assert.equal(
    atParis.got.filter((g) => g.topic !== t.clusterDesired('paris')),
    [],
  );
});

test('the root publishes desired state for munich, and cannot read it or publish status', async () => {
  const root = await bus(ids.root!);
  const munich = await bus(ids.munich!);
  const atMunich = await inbox(munich, t.clusterDesired('munich'));
  const atRoot = await inbox(root, t.clusterDesired('munich'), t.allClusterStatus);
  const forged = token();
  await root.publish(t.clusterStatus('paris'), { from: 'root', token: forged }, { retain: true });
  const k = token();
  await root.publish(t.clusterDesired('munich'), { from: 'root', token: k });
  await until('the desired state at munich', () => atMunich.got.some((g) => g.body.token === k));
  // The status marker: a real one from paris, after the root's forged one was acknowledged.
  const paris = await bus(ids.paris!);
  await paris.publish(t.clusterStatus('paris'), { from: 'paris', token: k }, { retain: true });
  await until("paris's status at the root", () => atRoot.got.some((g) => g.body.token === k && g.body.from === 'paris'));
  assert.equal(
    atRoot.got.filter((g) => g.topic === t.clusterDesired('munich') || g.body.token === forged),
    [],
  );
});

test('node munich/n1 reads only its own desired state', async () => {
  const root = await bus(ids.root!);
  const munich = await bus(ids.munich!);
  const n1 = await bus(ids.n1!);
  const atN1 = await inbox(n1, t.nodeDesired('munich', '+'), t.clusterDesired('munich'), t.nodeDesired('munich', 'n1'));
  const secret = token();
  await root.publish(t.clusterDesired('munich'), { from: 'root', token: secret });
  await munich.publish(t.nodeDesired('munich', 'n2'), { from: 'munich', token: secret }, { retain: true });
  const k = token();
  await munich.publish(t.nodeDesired('munich', 'n1'), { from: 'munich', token: k }, { retain: true });
  await until("n1's desired state", () => atN1.got.some((g) => g.body.token === k));
  assert.equal(
    atN1.got.filter((g) => g.topic !== t.nodeDesired('munich', 'n1')),
    [],
  );
});

test('the operator reads status but cannot publish desired state', async () => {
  const operator = await bus(ids.operator!);
  const munich = await bus(ids.munich!);
  const root = await bus(ids.root!);
  await munich.publish(t.clusterStatus('munich'), { from: 'munich', token: token() }, { retain: true });
  await munich.publish(t.nodeDesired('munich', 'n1'), { from: 'munich', token: token() }, { retain: true });
  const atMunich = await inbox(munich, t.clusterDesired('munich'));
  const atOperator = await inbox(operator, t.allClusterStatus);
  await until('the retained statuses at the operator', () => atOperator.got.some((g) => g.topic === t.clusterStatus('munich')));
  const forged = token();
  await operator.publish(t.clusterDesired('munich'), { from: 'operator', token: forged });
  await operator.publish(t.nodeDesired('munich', 'n1'), { from: 'operator', token: forged }, { retain: true });
  const k = token();
  await root.publish(t.clusterDesired('munich'), { from: 'root', token: k });
  await until('the root desired state at munich', () => atMunich.got.some((g) => g.body.token === k));
  assert.equal(
    atMunich.got.map((g) => g.body.from),
    ['root'],
  );
  // n1's retained desired state is still the cluster's.
  const atN1 = await inbox(await bus(ids.n1!), t.nodeDesired('munich', 'n1'));
  await until("n1's retained desired state", () => atN1.got.length > 0);
  assert.is(atN1.got[0]!.body.from, 'munich');
});

test.run();
