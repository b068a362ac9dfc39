// How the bus reads a broker URL and its TLS options (reconciler/mqtt/connection.ts), and what
// it says about a refusal. Connections to a real Mosquitto, over TLS too, are in
// test/integration/broker-auth.test.ts and broker-tls.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/cleanup.js';
import { endpointOf, explainConnectError } from '../../reconciler/mqtt/connection.js';

const test = suite('bus connection');

test('default ports: 1883 for mqtt://, 8883 for mqtts://', () => {
  assert.is(endpointOf({ url: 'mqtt://broker.example' }).port, 1883);
  const s = endpointOf({ url: 'mqtts://broker.example' });
  assert.is(s.port, 8883);
  assert.ok(s.secure);
  assert.is(endpointOf({ url: 'mqtts://broker.example:9000' }).port, 9000);
  assert.is(endpointOf({ url: 'mqtt://[::1]:1884' }).host, '::1');
});

test('credentials: from the URL (decoded), options first; the password never shown', () => {
  const fromUrl = endpointOf({ url: 'mqtt://demo.root:p%40ss%3Aword@127.0.0.1:1883' });
  assert.is(fromUrl.username, 'demo.root');
  assert.is(fromUrl.password, 'p@ss:word');
  assert.not.match(fromUrl.shown, /p%40ss|p@ss/);
  assert.match(fromUrl.shown, /^mqtt:\/\/demo\.root:\*\*\*@127\.0\.0\.1:1883$/);
  const both = endpointOf({ url: 'mqtt://a:b@127.0.0.1:1883', username: 'demo.cluster.munich', password: 'the-real-one' });
  assert.is(both.username, 'demo.cluster.munich');
  assert.is(both.password, 'the-real-one');
  assert.is(endpointOf({ url: 'mqtt://127.0.0.1' }).username, undefined);
});

test('bad URLs and TLS options: errors that say what to do', () => {
  assert.throws(() => endpointOf({ url: 'http://127.0.0.1:1883' }), /only mqtt:\/\/HOST:PORT and mqtts:\/\/HOST:PORT are supported/);
  assert.throws(() => endpointOf({ url: 'not a url' }), /expected mqtt:\/\/HOST:PORT or mqtts:\/\/HOST:PORT/);
  assert.throws(
    () => endpointOf({ url: 'mqtt://127.0.0.1', tls: { ca: '/x/ca.pem' } }),
    /TLS files are given, but mqtt:\/\/ connects without TLS: use mqtts:\/\//,
  );
  assert.throws(
    () => endpointOf({ url: 'mqtts://127.0.0.1', tls: { cert: '/x/c.pem' } }),
    /a client certificate needs its key: give both --tls-cert and --tls-key/,
  );
  assert.throws(
    () => endpointOf({ url: 'mqtts://127.0.0.1', tls: { ca: '/nonexistent/ca.pem' } }),
    /cannot read the CA file \(--tls-ca\) \/nonexistent\/ca\.pem \(ENOENT\)/,
  );
  const dir = tempDir('canopy-conn-');
  const junk = path.join(dir, 'junk.pem');
  writeFileSync(junk, 'not a certificate');
  assert.throws(() => endpointOf({ url: 'mqtts://127.0.0.1', tls: { cert: junk, key: junk } }), /TLS: cannot use .*junk\.pem.*PEM files expected/);
});

test('refusals by the broker are final and say who was refused and what to check', () => {
  const refused = (code: number) => Object.assign(new Error(`Connection refused: ${code}`), { code });
  const withUser = endpointOf({ url: 'mqtt://127.0.0.1', username: 'demo.root', password: 'x'.repeat(16) });
  for (const code of [4, 5]) {
    const why = explainConnectError(refused(code), withUser);
    assert.ok(why?.fatal);
    assert.match(why!.message, /refused user demo\.root: .*password_file/);
  }
  const anonymous = explainConnectError(refused(5), endpointOf({ url: 'mqtt://127.0.0.1' }));
  assert.match(anonymous!.message, /refused a client without credentials: not authorized; the broker refuses anonymous clients/);
  // Server unavailable (3) is worth retrying; so is a broker that is not there yet.
  assert.is(explainConnectError(refused(3), withUser), undefined);
  assert.is(explainConnectError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), withUser), undefined);
});

test.run();
