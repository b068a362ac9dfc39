// The bus over TLS to a real Mosquitto whose configuration canopy broker-config wrote with a
// TLS listener: certificates made here with openssl (a CA, the broker's for 127.0.0.1 and
// localhost, clients' whose CN is an MQTT user name, and a second CA nobody trusts). Once with
// passwords over TLS, once with client certificates instead of passwords. "Nothing arrives" is
// shown with a marker sent after the forbidden message, as in broker-auth.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { canopy } from '../helpers/canopy.js';
import { makeCa, type CertFiles, type TestCa } from '../helpers/certs.js';
import { tempDir } from '../helpers/cleanup.js';
import { freePort, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { createIdentity, writeIdentity, type IdentityFile } from '../../reconciler/core/identity-file.js';
import { createLogger } from '../../reconciler/core/log.js';
import { connectBus, type Bus, type BusOptions } from '../../reconciler/mqtt/bus.js';
import { topics } from '../../reconciler/mqtt/topics.js';

const t = topics('demo');
const test = suite('the bus over TLS to Mosquitto');

let ca: TestCa;
let wrongCa: TestCa;
let server: CertFiles;
const clients: Record<string, CertFiles> = {};
const ids: Record<string, IdentityFile> = {};
/** Passwords over TLS; client certificates required. */
let withPasswords: Mosquitto;
let withCertificates: Mosquitto;
const open: Bus[] = [];
let n = 0;

async function bus(o: Omit<BusOptions, 'log' | 'clientId'>): Promise<Bus> {
  const b = await connectBus({ clientId: `tls-${process.pid}-${++n}`, log: createLogger('bus', 'silent'), ...o });
  open.push(b);
  return b;
}

const refusal = (o: Omit<BusOptions, 'log' | 'clientId'>) =>
  bus(o).then(
    () => undefined,
    (e: Error) => e,
  );

async function until(what: string, probe: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function inbox(b: Bus, filter: string): Promise<Array<{ topic: string; body: { from: string; token: string } }>> {
  const got: Array<{ topic: string; body: { from: string; token: string } }> = [];
  await b.subscribe(filter, (topic, payload) => got.push({ topic, body: JSON.parse(payload.toString()) }));
  return got;
}

/** broker-config with a TLS listener on a free port, and Mosquitto started on what it wrote. */
async function brokerWith(dir: string, idDir: string, name: string, extra: string[]): Promise<Mosquitto> {
  const port = await freePort();
  const out = path.join(dir, name);
  const r = canopy([
    'broker-config',
    '--identities',
    idDir,
    '--out',
    out,
    '--listen',
    `127.0.0.1:${port}`,
    '--tls-ca',
    ca.cert,
    '--tls-cert',
    server.cert,
    '--tls-key',
    server.key,
    ...extra,
  ]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`listens on 127\\.0\\.0\\.1:${port}, TLS`));
  return startMosquitto(port, { conf: [`include_dir ${out}`], scheme: 'mqtts' });
}

test.before(async () => {
  const dir = tempDir('canopy-broker-tls-');
  ca = makeCa(dir, 'ca');
  wrongCa = makeCa(dir, 'wrong-ca');
  server = ca.issue('broker', 'broker', 'IP:127.0.0.1,DNS:localhost');
  clients.root = ca.issue('root', 'demo.root');
  clients.munich = ca.issue('munich', 'demo.cluster.munich');
  clients.rogue = wrongCa.issue('rogue', 'demo.root');
  const idDir = path.join(dir, 'identities');
  for (const [file, role, name] of [
    ['root', 'root', 'root'],
    ['munich', 'cluster', 'munich'],
    ['paris', 'cluster', 'paris'],
  ] as const) {
    ids[file] = await createIdentity({ fleet: 'demo', role, name });
    writeIdentity(path.join(idDir, `${file}.json`), ids[file]!);
  }
  withPasswords = await brokerWith(dir, idDir, 'tls-passwords', []);
  withCertificates = await brokerWith(dir, idDir, 'tls-certificates', ['--require-certificate']);
});

test.after(async () => {
  await Promise.all(open.map((b) => b.close()));
  await withPasswords?.stop();
  await withCertificates?.stop();
});

test('mqtts:// with the CA and a password: munich publishes its status, the root reads it', async () => {
  const tls = { ca: ca.cert };
  const root = await bus({ url: withPasswords.url, tls, ...ids.root!.mqtt });
  const got = await inbox(root, t.allClusterStatus);
  // By name too: the certificate names localhost, and the name goes out as SNI.
  const munich = await bus({ url: `mqtts://localhost:${withPasswords.port}`, tls, ...ids.munich!.mqtt });
  await munich.publish(t.clusterStatus('munich'), { from: 'munich', token: 'over-tls' }, { retain: true });
  await until("munich's status at the root", () => got.some((g) => g.body.token === 'over-tls'));
});

test('over TLS, a wrong password is still refused, clearly', async () => {
  const err = await refusal({ url: withPasswords.url, tls: { ca: ca.cert }, username: 'demo.root', password: 'wrong-wrong-wrong' });
  assert.ok(err, 'connected with a wrong password');
  assert.match(err!.message, /refused user demo\.root: (not authorized|bad user name or password)/);
});

test("a CA that did not sign the broker's certificate: a clear error, at once", async () => {
  const err = await refusal({ url: withPasswords.url, tls: { ca: wrongCa.cert }, ...ids.root!.mqtt });
  assert.ok(err, 'connected although the CA did not sign the broker certificate');
  assert.match(err!.message, /certificate verify failed .*: is --tls-ca \S+wrong-ca\.pem the CA that signed the broker's certificate\?/);
  const none = await refusal({ url: withPasswords.url, ...ids.root!.mqtt });
  assert.ok(none, 'connected with the system CAs to a broker whose CA is the test’s own');
  assert.match(none!.message, /certificate verify failed .*give --tls-ca with the CA that did/);
});

test('client certificates instead of passwords: the ACL applies to the CN', async () => {
  const url = withCertificates.url;
  const root = await bus({ url, tls: { ca: ca.cert, ...clients.root! } });
  const got = await inbox(root, t.allClusterStatus);
  const munich = await bus({ url, tls: { ca: ca.cert, ...clients.munich! } });
  // As demo.cluster.munich, it may not write paris's status; then its own, as the marker.
  await munich.publish(t.clusterStatus('paris'), { from: 'munich', token: 'forged' }, { retain: true });
  await munich.publish(t.clusterStatus('munich'), { from: 'munich', token: 'by-certificate' }, { retain: true });
  await until("munich's status at the root", () => got.some((g) => g.body.token === 'by-certificate'));
  assert.equal(
    got.filter((g) => g.topic === t.clusterStatus('paris')),
    [],
  );
});

test('where certificates are required: no certificate, or one another CA signed, is refused with what to do', async () => {
  const url = withCertificates.url;
  const none = await refusal({ url, tls: { ca: ca.cert }, ...ids.root!.mqtt });
  assert.ok(none, 'connected without a client certificate');
  assert.match(none!.message, /the broker requires a client certificate: give --tls-cert and --tls-key/);
  const rogue = await refusal({ url, tls: { ca: ca.cert, ...clients.rogue! } });
  assert.ok(rogue, 'connected with a certificate of another CA');
  assert.match(rogue!.message, /did not accept the client certificate \S+rogue\.pem \(TLS alert: unknown ca\): is it signed by the CA in the broker's cafile/);
});

test('mqtt:// with TLS files is refused before connecting: TLS was asked for', async () => {
  const err = await refusal({ url: `mqtt://127.0.0.1:${withPasswords.port}`, tls: { ca: ca.cert }, ...ids.root!.mqtt });
  assert.match(err?.message ?? '', /TLS files are given, but mqtt:\/\/ connects without TLS: use mqtts:\/\/HOST:PORT/);
});

test.run();
