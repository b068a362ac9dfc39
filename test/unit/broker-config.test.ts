// canopy broker-config's rendering: the password file in Mosquitto 2's own format (checked
// against a line mosquitto_passwd 2.0.11 wrote), the ACL file from access.ts's table, the
// configuration snippet, and how identity files become users. Real Mosquitto accepting these
// files is test/integration/broker-auth.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/cleanup.js';
import { createIdentity, writeIdentity, type LoadedIdentity } from '../../reconciler/core/identity-file.js';
import type { IdentityRole } from '../../reconciler/core/identity.js';
import { accessRules } from '../../reconciler/mqtt/access.js';
import {
  hashPassword,
  loadIdentities,
  MAX_PACKET_BYTES,
  MAX_PAYLOAD_BYTES,
  passwordMatches,
  renderAclFile,
  renderMosquittoConf,
  renderPasswordFile,
  usersOf,
  writeBrokerFiles,
} from '../../reconciler/mqtt/broker-config.js';

// `mosquitto_passwd -b FILE demo.root 's3cret-Password_1234'` (Mosquitto 2.0.11) wrote this line.
const MOSQUITTO_LINE = 'demo.root:$7$101$wAsiETlKv04lfZqJ$5VccQh8c0hwflb10sq3bgEM4+N7HkrrGLwc36MGpl4t9CSwHJ3dsa7Gm2IcMOXRptohp5EBs6xhD6YEv21u6xw==';
const MOSQUITTO_PASSWORD = 's3cret-Password_1234';

const pw = suite('password file');

pw('hashPassword writes what mosquitto_passwd writes, given its salt', () => {
  const salt = Buffer.from('wAsiETlKv04lfZqJ', 'base64');
  assert.is(`demo.root:${hashPassword(MOSQUITTO_PASSWORD, salt)}`, MOSQUITTO_LINE);
});

pw('passwordMatches checks a line mosquitto_passwd wrote', () => {
  const hashed = MOSQUITTO_LINE.slice('demo.root:'.length);
  assert.ok(passwordMatches(hashed, MOSQUITTO_PASSWORD));
  assert.not.ok(passwordMatches(hashed, 's3cret-Password_1235'));
  assert.not.ok(passwordMatches('$6$abc$def', MOSQUITTO_PASSWORD));
});

pw('a fresh hash: $7$, 101 rounds, a 12-byte salt, a 64-byte PBKDF2-SHA512 hash, a new salt each time', () => {
  const a = hashPassword('p4ssw0rd-p4ssw0rd');
  const m = /^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(a);
  assert.ok(m, a);
  assert.is(m![1], '101');
  assert.is(Buffer.from(m![2]!, 'base64').length, 12);
  assert.is(Buffer.from(m![3]!, 'base64').length, 64);
  assert.ok(passwordMatches(a, 'p4ssw0rd-p4ssw0rd'));
  assert.is.not(hashPassword('p4ssw0rd-p4ssw0rd'), a);
});

pw('renderPasswordFile: one user:hash line per user, in the given order', () => {
  const text = renderPasswordFile(
    [
      { username: 'demo.cluster.munich', password: 'munich-password-1' },
      { username: 'demo.root', password: 'root-password-123' },
    ],
    (i) => Buffer.alloc(12, i + 1),
  );
  const lines = text.split('\n');
  assert.is(lines.length, 3);
  assert.is(lines[2], '');
  assert.is(lines[0], `demo.cluster.munich:${hashPassword('munich-password-1', Buffer.alloc(12, 1))}`);
  assert.ok(passwordMatches(lines[1]!.slice('demo.root:'.length), 'root-password-123'));
});

const acl = suite('ACL file and configuration');

const loaded = async (role: IdentityRole, name: string, o: { createdAt?: string; file?: string; fleet?: string } = {}): Promise<LoadedIdentity> => {
  const identity = await createIdentity({ fleet: o.fleet ?? 'demo', role, name });
  if (o.createdAt) identity.createdAt = o.createdAt;
  return { file: o.file ?? `${name}.json`, identity, signer: undefined as never, previous: [] };
};

acl('each user gets a user line and exactly the topic lines of access.ts', async () => {
  const { users } = usersOf([
    await loaded('root', 'root'),
    await loaded('cluster', 'munich'),
    await loaded('node', 'munich/n1'),
    await loaded('operator', 'alice'),
  ]);
  const text = renderAclFile(users);
  const blocks = text.split('\n\n').slice(1);
  assert.is(blocks.length, 4);
  for (const u of users) {
    const block = blocks.find((b) => b.includes(`\nuser ${u.username}\n`));
    assert.ok(block, `no block for ${u.username}:\n${text}`);
    const topicLines = block!.split('\n').filter((l) => l.startsWith('topic '));
    assert.equal(
      topicLines,
      accessRules('demo', u.role, u.name).map((r) => `topic ${r.access} ${r.pattern}`),
    );
  }
  assert.ok(
    text.includes(
      [
        '# cluster munich of fleet demo',
        'user demo.cluster.munich',
        'topic read canopy/v1/demo/clusters/munich/desired',
        'topic write canopy/v1/demo/clusters/munich/status',
        'topic write canopy/v1/demo/clusters/munich/online',
        'topic write canopy/v1/demo/clusters/munich/bridge',
        'topic write canopy/v1/demo/clusters/munich/nodes/+/desired',
        'topic read canopy/v1/demo/clusters/munich/nodes/+/status',
        'topic read canopy/v1/demo/clusters/munich/nodes/+/online',
      ].join('\n'),
    ),
    text,
  );
  assert.ok(
    text.includes(
      'user demo.root\ntopic write canopy/v1/demo/clusters/+/desired\ntopic write canopy/v1/demo/root/online\ntopic read canopy/v1/demo/clusters/+/status\n',
    ),
    text,
  );
  // An operator writes nothing but its own log requests.
  assert.not.match(text, /user demo\.operator\.alice\n(topic [a-z]+ \S+\n)*topic write (?!canopy\/v1\/demo\/clusters\/\+\/logs\/request\/alice\n)/);
  assert.ok(text.includes('topic write canopy/v1/demo/clusters/+/logs/request/alice\n'), text);
});

acl('the configuration: no anonymous clients, absolute paths of both files, the payload limit, no listener unless asked', () => {
  const text = renderMosquittoConf({ passwordFile: '/etc/canopy/password_file', aclFile: '/etc/canopy/acl_file' });
  const lines = text.split('\n');
  for (const l of ['allow_anonymous false', 'password_file /etc/canopy/password_file', 'acl_file /etc/canopy/acl_file', `max_packet_size ${MAX_PACKET_BYTES}`])
    assert.ok(lines.includes(l), `${l} missing from:\n${text}`);
  assert.ok(MAX_PACKET_BYTES > MAX_PAYLOAD_BYTES);
  assert.not.match(text, /^listener/m);
  assert.not.match(text, /^allow_anonymous true/m);
});

acl('the configuration with a TLS listener that requires client certificates', () => {
  const text = renderMosquittoConf({
    passwordFile: '/p',
    aclFile: '/a',
    listener: { host: '0.0.0.0', port: 8883, tls: { ca: '/tls/ca.pem', cert: '/tls/server.pem', key: '/tls/server.key' }, requireCertificate: true },
  });
  const after = text
    .slice(text.indexOf('listener 8883 0.0.0.0\n'))
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
  assert.equal(after, [
    'listener 8883 0.0.0.0',
    'cafile /tls/ca.pem',
    'certfile /tls/server.pem',
    'keyfile /tls/server.key',
    'require_certificate true',
    'use_identity_as_username true',
  ]);
  const plain = renderMosquittoConf({ passwordFile: '/p', aclFile: '/a', listener: { host: '[::]', port: 1883 } });
  assert.match(plain, /\nlistener 1883 ::\n$/);
  assert.not.match(plain, /certfile|require_certificate/);
});

const users = suite('identity files to users');

users('two files of one user: the newer createdAt wins, and a note says so', async () => {
  const older = await loaded('cluster', 'munich', { createdAt: '2026-01-01T00:00:00.000Z', file: 'old/munich.json' });
  const newer = await loaded('cluster', 'munich', { createdAt: '2026-02-01T00:00:00.000Z', file: 'new/munich.json' });
  for (const order of [
    [older, newer],
    [newer, older],
  ]) {
    const r = usersOf(order);
    assert.is(r.users.length, 1);
    assert.is(r.users[0]!.password, newer.identity.mqtt.password);
    assert.is(r.notes.length, 1);
    assert.match(r.notes[0]!, /user demo\.cluster\.munich: using new\/munich\.json \(created 2026-02-01.*not the older old\/munich\.json/);
  }
});

users('two different parts with one user name, or a user name Mosquitto cannot hold: an error naming the files', async () => {
  const munich = await loaded('cluster', 'munich', { file: 'munich.json' });
  const paris = await loaded('cluster', 'paris', { file: 'paris.json' });
  paris.identity.mqtt.username = munich.identity.mqtt.username;
  assert.throws(
    () => usersOf([munich, paris]),
    /identities munich\.json \(cluster munich of fleet demo\) and paris\.json \(cluster paris of fleet demo\) both have MQTT user demo\.cluster\.munich/,
  );
  const bad = await loaded('cluster', 'rome', { file: 'rome.json' });
  bad.identity.mqtt.username = 'demo:rome';
  assert.throws(() => usersOf([bad]), /identity rome\.json: \/mqtt\/username "demo:rome"/);
});

users('users are sorted by name, whatever order the files came in', async () => {
  const { users: u } = usersOf([await loaded('root', 'root'), await loaded('cluster', 'b'), await loaded('cluster', 'a')]);
  assert.equal(
    u.map((x) => x.username),
    ['demo.cluster.a', 'demo.cluster.b', 'demo.root'],
  );
});

users('loadIdentities: every identity file at any depth; other JSON skipped; a broken one is an error naming it', async () => {
  const dir = tempDir('canopy-bc-ids-');
  writeIdentity(path.join(dir, 'root.json'), await createIdentity({ fleet: 'demo', role: 'root', name: 'root' }));
  writeIdentity(path.join(dir, 'clusters', 'deep', 'munich.json'), await createIdentity({ fleet: 'demo', role: 'cluster', name: 'munich' }));
  writeFileSync(path.join(dir, 'notes.json'), '{"kind": "Something"}');
  writeFileSync(path.join(dir, 'README.md'), '# not JSON, not read');
  const r = loadIdentities(dir);
  assert.equal(
    r.loaded.map((l) => path.relative(dir, l.file)),
    ['clusters/deep/munich.json', 'root.json'],
  );
  assert.equal(r.skipped, [path.join(dir, 'notes.json')]);

  const broken = await createIdentity({ fleet: 'demo', role: 'cluster', name: 'paris' });
  mkdirSync(path.join(dir, 'more'));
  writeFileSync(path.join(dir, 'more', 'paris.json'), JSON.stringify({ ...broken, mqtt: { username: 'demo.cluster.paris' } }));
  assert.throws(
    () => loadIdentities(dir),
    (e: Error) => e.message.startsWith(`identity ${path.join(dir, 'more', 'paris.json')}`) && /password/.test(e.message),
  );
  writeFileSync(path.join(dir, 'more', 'paris.json'), '{"kind": "Identity",');
  assert.throws(
    () => loadIdentities(dir),
    (e: Error) => e.message.startsWith(`${path.join(dir, 'more', 'paris.json')}: not JSON`),
  );
});

users('writeBrokerFiles: the three files, the password file readable by its owner only', () => {
  const dir = path.join(tempDir('canopy-bc-out-'), 'out');
  const written = writeBrokerFiles(dir, { password_file: 'u:h\n', acl_file: 'user u\n', 'mosquitto.conf': 'allow_anonymous false\n' });
  assert.equal(
    written.map((f) => path.basename(f)),
    ['password_file', 'acl_file', 'mosquitto.conf'],
  );
  assert.is(readFileSync(path.join(dir, 'acl_file'), 'utf8'), 'user u\n');
  assert.is(statSync(path.join(dir, 'password_file')).mode & 0o777, 0o600);
});

pw.run();
acl.run();
users.run();
