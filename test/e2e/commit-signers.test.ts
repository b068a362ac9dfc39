// Trusted commits as a user meets them: root, cluster and agent as separate processes over a real
// Mosquitto (process runtime, no Docker needed); fleet.yaml requires commits signed with an SSH
// key (git commit -S, ssh-keygen). An unsigned commit is rejected whole (`canopy wait` exits 2
// and says why; status and history say who signed) and a signed one converges.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { canopyAsync } from '../helpers/canopy.js';
import { commitFiles, tempDir } from '../helpers/git.js';
import { startFleet, type TestFleet } from '../helpers/fleet.js';

const test = suite('trusted commits, end to end');
const keys = tempDir('canopy-e2e-keys-');
const keyFile = path.join(keys, 'alice');
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@laptop', '-f', keyFile]);
const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${keyFile}.pub`], { encoding: 'utf8' }).split(' ')[1];
let f: TestFleet;
const web = (replicas: number) => f.service('shop/web', { replicas, resources: { cpu: 0.1 } });

test.before(async () => {
  f = await startFleet({ name: `sig-${process.pid}`, clusters: { munich: { lat: 48.137, lon: 11.575, nodes: 1 } }, services: {} });
});

test.after(async () => {
  await f?.stop();
});

test('a signed commit turns the rule on; the fleet converges', async () => {
  assert.is((await f.wait('HEAD', 90)).code, 0, f.logs());
  const fy = readFileSync(path.join(f.dir, 'fleet.yaml'), 'utf8');
  const pub = readFileSync(`${keyFile}.pub`, 'utf8').trim();
  commitFiles(f.dir, { 'fleet.yaml': `${fy}  trust:\n    commitSigners:\n      - ${pub}\n`, ...web(1) }, 'require signed commits', { signingKey: keyFile });
  const w = await f.wait('HEAD', 60);
  assert.is(w.code, 0, w.stderr + f.logs());
  assert.is(f.count('shop/web'), 1);
});

test('an unsigned commit is rejected whole: canopy wait exits 2 and says nobody signed it', async () => {
  const c = await f.commit(web(3), 'unsigned');
  const w = await f.wait(c, 60);
  assert.is(w.code, 2, w.stderr + f.logs());
  assert.match(w.stderr, new RegExp(`${c.slice(0, 12)} was rejected:\\n {2}fleet\\.yaml:\\d+:\\d+: commit ${c.slice(0, 12)} is not signed: nobody signed it`));
  assert.ok(w.stderr.includes(`accepts only commits signed by ${fingerprint} (alice@laptop)`), w.stderr);
  const status = await canopyAsync(['status', '--repo', f.dir]);
  assert.match(status.stdout, new RegExp(`main ${c.slice(0, 12)}: rejected .*\\n {2}signed by nobody\\n {2}fleet\\.yaml:`));
  const history = await canopyAsync(['history', '--repo', f.dir]);
  assert.match(history.stdout, new RegExp(`rejected ${c.slice(0, 12)} "unsigned" \\(Test, signed by nobody\\): 1 problem`));
  assert.is(f.count('shop/web'), 1, 'nothing from it runs');
});

test('a signed commit converges; status and history name the signer', async () => {
  const c = commitFiles(f.dir, web(2), 'signed', { signingKey: keyFile });
  const w = await f.wait(c, 60);
  assert.is(w.code, 0, w.stderr + f.logs());
  assert.is(f.count('shop/web'), 2);
  const status = await canopyAsync(['status', '--repo', f.dir]);
  assert.ok(status.stdout.includes(`  signed by ${fingerprint} (alice@laptop)\n`), status.stdout);
  const history = await canopyAsync(['history', '--repo', f.dir]);
  assert.ok(history.stdout.includes(`accepted ${c.slice(0, 12)} "signed" (Test, signed by ${fingerprint} (alice@laptop))`), history.stdout);
});

test.run();
