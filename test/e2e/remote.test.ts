// Root and clusters against a fleet repository served over smart HTTP (git http-backend with
// Basic auth), with a webhook push reconciling at once, status pushed by each cluster, and the
// Git link cut and restored.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { canopyAsync, start, eventually, type Proc } from '../helpers/canopy.js';
import { git, gitAsync, tempDir, commitFiles } from '../helpers/git.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { startGitServer, type GitServer } from '../helpers/git-server.js';
import { startProxy, type TcpProxy } from '../helpers/proxy.js';

const test = suite('remote fleet repository over smart HTTP');
const fleet = `remote-${process.pid}`;
const work = tempDir('canopy-remote-');
const author = path.join(work, 'author');
let server: GitServer;
let broker: Mosquitto;
let gitLink: TcpProxy;
let bare = '';
let hookPort = 0;
const procs = new Map<string, Proc>();

const push = () => gitAsync(author, 'push', '-q', 'origin', 'main');
const webhook = (body: string, headers: Record<string, string> = {}) =>
  fetch(`http://127.0.0.1:${hookPort}/`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-github-event': 'push', ...headers } });
const waitRev = (rev: string, s = 30) => canopyAsync(['wait', '--repo', bare, '--rev', rev, '--timeout', String(s), '--quiet']);

test.before(async () => {
  server = await startGitServer();
  broker = await startMosquitto();
  const r = await canopyAsync(['init', author]);
  assert.is(r.code, 0, r.stderr);
  const fy = readFileSync(path.join(author, 'fleet.yaml'), 'utf8').replace(/name: demo/, `name: ${fleet}`);
  commitFiles(author, { 'fleet.yaml': fy }, 'name the fleet');
  bare = server.publish('fleet', author);
  git(author, 'remote', 'add', 'origin', server.url('fleet'));
  gitLink = await startProxy(server.port);
});

test.after(async () => {
  for (const p of procs.values()) await p.kill('SIGKILL');
  await gitLink?.close();
  await broker?.stop();
  await server?.close();
});

test('wrong credentials: the root says so and what to set', async () => {
  const bad = server.url('fleet', false).replace('http://', 'http://fleet:wrong@');
  const r = await canopyAsync(['root', '--repo', bad, '--broker', broker.url, '--cache-dir', path.join(work, 'badcache')], { timeoutMs: 20_000 });
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /refused the credentials|401|Unauthorized|HTTP Error/i);
});

test('root and clusters run against the remote; the root pushes placements and notes, clusters push status', async () => {
  const url = server.url('fleet');
  const root = start([
    'root',
    '--repo',
    url,
    '--broker',
    broker.url,
    '--cache-dir',
    path.join(work, 'root-cache'),
    '--webhook',
    '127.0.0.1:0',
    '--poll-seconds',
    '120',
    '--metrics',
    '127.0.0.1:0',
  ]);
  procs.set('root', root);
  await root.waitFor(/webhook listening on http:\/\/127\.0\.0\.1:(\d+)/);
  hookPort = Number(/webhook listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(root.output())![1]);
  for (const c of ['munich', 'paris']) {
    // munich reaches Git through a link the test can cut.
    const repoUrl = c === 'munich' ? url.replace(`:${server.port}/`, `:${gitLink.port}/`) : url;
    procs.set(c, start(['cluster', '--name', c, '--broker', broker.url, '--repo', repoUrl, '--state-dir', path.join(work, c)]));
    for (const n of ['a', 'b']) {
      procs.set(
        `${c}-${n}`,
        start([
          'agent',
          '--cluster',
          c,
          '--name',
          `${c}-${n}`,
          '--broker',
          broker.url,
          '--runtime',
          'sim',
          '--fleet',
          fleet,
          '--state-dir',
          path.join(work, `${c}-${n}`),
          '--cpu',
          '4',
          '--memory',
          '8Gi',
        ]),
      );
    }
  }
  const w = await waitRev('main', 60);
  assert.is(w.code, 0, w.stderr + [...procs].map(([n, p]) => `--- ${n}\n${p.output()}`).join('\n'));
  assert.match(git(bare, 'notes', '--ref', 'canopy', 'show', 'main'), /Converged at/);
  await eventually(
    'status refs pushed',
    () => /munich/.test(git(bare, 'for-each-ref', 'refs/canopy/status/')) && /paris/.test(git(bare, 'for-each-ref', 'refs/canopy/status/')),
    20_000,
  );
  // The pushes and the writes before them, timed in the root's metrics.
  const metrics = /metrics at (http:\S+)/.exec(root.output())![1];
  const body = await (await fetch(metrics)).text();
  assert.match(body, /^canopy_git_push_seconds_count\{result="ok"\} [1-9]/m);
  assert.match(body, /^canopy_git_write_seconds_count\{what="notes"\} [1-9]/m);
  assert.match(body, /^canopy_git_write_seconds_count\{what="placement"\} [1-9]/m);
});

test('a webhook push reconciles at once (the poll is 120 s)', async () => {
  const file = path.join(author, 'services/shop/web.yaml');
  const head = commitFiles(author, { 'services/shop/web.yaml': readFileSync(file, 'utf8').replace(/replicas: 2/, 'replicas: 3') }, 'web: 3');
  await push();
  const res = await webhook(JSON.stringify({ ref: 'refs/heads/main', after: head }));
  assert.is(res.status, 202);
  const t0 = Date.now();
  const w = await waitRev(head, 30);
  assert.is(w.code, 0, w.stderr + procs.get('root')!.output());
  assert.ok(Date.now() - t0 < 20_000);
});

test('bad webhook requests are refused with a reason and change nothing', async () => {
  const notJson = await webhook('{nope');
  assert.is(notJson.status, 400);
  assert.match(await notJson.text(), /not JSON/);
  const noRef = await webhook(JSON.stringify({ after: 'x' }));
  assert.is(noRef.status, 400);
  const other = await webhook(JSON.stringify({ ref: 'refs/heads/feature' }));
  assert.is(other.status, 202);
  assert.match(await other.text(), /ignored/);
  const get = await fetch(`http://127.0.0.1:${hookPort}/`);
  assert.is(get.status, 405);
  assert.is(procs.get('root')!.child.exitCode, null);
});

test('Git link of a cluster cut: it keeps committing status locally and pushes the history when the link returns', async () => {
  gitLink.cut('reset');
  // What the server has once the cut is in force: a push that was in flight when the link was
  // cut may still have landed (http-backend finishes a request it has read whole).
  await new Promise((r) => setTimeout(r, 300));
  const before = git(bare, 'rev-parse', 'refs/canopy/status/munich');
  // A change that lands on munich (geo-constrained detector), delivered over MQTT.
  const file = path.join(author, 'services/traffic-cam/detector.yaml');
  const head = commitFiles(author, { 'services/traffic-cam/detector.yaml': readFileSync(file, 'utf8').replace(/replicas: 1/, 'replicas: 2') }, 'detector: 2');
  await push();
  await webhook(JSON.stringify({ ref: 'refs/heads/main', after: head }));
  await eventually('munich logs a failed push', () => /push refs\/canopy\/status\/munich .* failed/.test(procs.get('munich')!.output()), 30_000);
  assert.is(git(bare, 'rev-parse', 'refs/canopy/status/munich'), before, 'nothing reached the server while cut');
  const cutAt = Math.floor(Date.now() / 1000);
  gitLink.restore();
  await eventually('munich pushed its history', () => git(bare, 'rev-parse', 'refs/canopy/status/munich') !== before, 60_000);
  const w = await waitRev(head, 30);
  assert.is(w.code, 0, w.stderr);
  // The commits made while cut are there, with the times they were observed.
  const times = git(bare, 'log', '--format=%ct', `${before}..refs/canopy/status/munich`).split('\n').map(Number);
  assert.ok(
    times.some((t) => t <= cutAt + 1),
    `a record from the cut (${cutAt}): ${times.join(' ')}`,
  );
});

test.run();
