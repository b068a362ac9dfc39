// `canopy broker-config` as a user meets it: its usage errors (64, nothing written), its
// failures (1, naming the file), --help, and running it again over its own output. Mosquitto
// taking what it writes is test/integration/broker-auth.test.ts and broker-tls.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { canopy } from '../helpers/canopy.js';
import { tempDir } from '../helpers/cleanup.js';
import { createIdentity, writeIdentity } from '../../reconciler/core/identity-file.js';
import { passwordMatches } from '../../reconciler/mqtt/broker-config.js';

const test = suite('canopy broker-config');
const work = tempDir('canopy-broker-config-');
const ids = path.join(work, 'identities');
const out = path.join(work, 'out');

test.before(async () => {
  writeIdentity(path.join(ids, 'root.json'), await createIdentity({ fleet: 'demo', role: 'root', name: 'root' }));
  writeIdentity(path.join(ids, 'clusters', 'munich.json'), await createIdentity({ fleet: 'demo', role: 'cluster', name: 'munich' }));
});

test('usage errors exit 64, name the option, and write nothing', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--out', out], /canopy broker-config: missing --identities/],
    [['--identities', ids, '--out', out, '--tls-cert', 'c.pem'], /--tls-cert and --tls-key go together/],
    [['--identities', ids, '--out', out, '--tls-ca', 'ca.pem', '--listen', '8883'], /--tls-ca needs --tls-cert and --tls-key/],
    [['--identities', ids, '--out', out, '--tls-cert', 'c.pem', '--tls-key', 'k.pem'], /give --listen HOST:PORT too/],
    [['--identities', ids, '--out', out, '--require-certificate'], /--require-certificate needs --tls-ca/],
    [['--identities', ids, '--out', out, '--listen', 'nope'], /--listen nope: expected HOST:PORT or PORT/],
  ];
  for (const [args, re] of cases) {
    const r = canopy(['broker-config', ...args]);
    assert.is(r.code, 64, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.match(r.stderr, /Usage: canopy broker-config --identities DIR --out DIR/);
  }
  assert.not.ok(existsSync(out));
});

test('--help describes it and exits 0', () => {
  const r = canopy(['broker-config', '--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /--require-certificate/);
  assert.match(canopy(['--help']).stdout, /broker-config\s+write Mosquitto/);
});

test('failures exit 1 and name what is wrong: no identities, a broken identity file, an unreadable TLS file', async () => {
  const empty = tempDir('canopy-bc-empty-');
  let r = canopy(['broker-config', '--identities', empty, '--out', out]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /no identity files under .*: make them with canopy identity create/);

  const broken = tempDir('canopy-bc-broken-');
  const id = await createIdentity({ fleet: 'demo', role: 'node', name: 'munich/n1' });
  writeFileSync(path.join(broken, 'n1.json'), JSON.stringify({ ...id, name: 'n1' }));
  r = canopy(['broker-config', '--identities', broken, '--out', out]);
  assert.is(r.code, 1);
  assert.match(r.stderr, new RegExp(`identity ${path.join(broken, 'n1.json')}: /name: a node is named cluster/node`));

  r = canopy([
    'broker-config',
    '--identities',
    ids,
    '--out',
    out,
    '--listen',
    '8883',
    '--tls-cert',
    path.join(work, 'no.pem'),
    '--tls-key',
    path.join(work, 'no.key'),
  ]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /--tls-cert \S+no\.pem: cannot read it \(ENOENT\)/);
  assert.not.ok(existsSync(out));
});

test('writes the three files; run again, the credentials are the same and the salts new', () => {
  const first = canopy(['broker-config', '--identities', ids, '--out', out, '--listen', '0.0.0.0:1883']);
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stdout, /for 2 user\(s\)/);
  assert.match(first.stdout, /mosquitto -c \S+mosquitto\.conf/);
  const conf = readFileSync(path.join(out, 'mosquitto.conf'), 'utf8');
  assert.match(conf, /^allow_anonymous false$/m);
  assert.match(conf, new RegExp(`^password_file ${path.join(out, 'password_file')}$`, 'm'));
  assert.match(conf, /^listener 1883 0\.0\.0\.0$/m);
  const pw1 = readFileSync(path.join(out, 'password_file'), 'utf8');
  const again = canopy(['broker-config', '--identities', ids, '--out', out]);
  assert.is(again.code, 0, again.stderr);
  const pw2 = readFileSync(path.join(out, 'password_file'), 'utf8');
  assert.is.not(pw1, pw2);
  const munich = JSON.parse(readFileSync(path.join(ids, 'clusters', 'munich.json'), 'utf8'));
  for (const text of [pw1, pw2]) {
    const line = text.split('\n').find((l) => l.startsWith('demo.cluster.munich:'))!;
    assert.ok(passwordMatches(line.slice(line.indexOf(':') + 1), munich.mqtt.password));
  }
  assert.not.match(readFileSync(path.join(out, 'mosquitto.conf'), 'utf8'), /^listener/m);
});

test.run();
