// The pure parts of the docker runtime's pulls: references, the X-Registry-Auth header, progress
// from the engine's stream, the backoff, and the Pulls bookkeeping (with fake pull and run ports).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PullProgress, parseImageRef, pullBackoffMs, pullQuery, redact, registryAuthHeader } from '../../agents/runtimes/image-ref.js';
import { Pulls, serialById, type PullPorts } from '../../agents/runtimes/pulls.js';
import type { Workload } from '../../agents/runtimes/driver.js';

const D = `sha256:${'a'.repeat(64)}`;

test('references: registry host, name, tag or digest, as Docker reads them', () => {
  assert.equal(parseImageRef('nginx'), { host: 'docker.io', name: 'nginx', tag: 'latest' });
  assert.equal(parseImageRef('nginx:1.25'), { host: 'docker.io', name: 'nginx', tag: '1.25' });
  assert.equal(parseImageRef('library/nginx:1'), { host: 'docker.io', name: 'library/nginx', tag: '1' });
  assert.equal(parseImageRef('127.0.0.1:5000/canopy/app:2'), { host: '127.0.0.1:5000', name: '127.0.0.1:5000/canopy/app', tag: '2' });
  assert.equal(parseImageRef('localhost/app'), { host: 'localhost', name: 'localhost/app', tag: 'latest' });
  assert.equal(parseImageRef('registry.example.com:5000/app'), { host: 'registry.example.com:5000', name: 'registry.example.com:5000/app', tag: 'latest' });
  assert.equal(parseImageRef(`ghcr.io/o/app@${D}`), { host: 'ghcr.io', name: 'ghcr.io/o/app', digest: D });
  assert.equal(parseImageRef(`app:1@${D}`), { host: 'docker.io', name: 'app', tag: '1', digest: D });
});

test('the pull asks for one tag (never every tag) or the digest as it is', () => {
  assert.is(pullQuery(parseImageRef('nginx')), 'fromImage=nginx&tag=latest');
  assert.is(pullQuery(parseImageRef('127.0.0.1:5000/app:2')), 'fromImage=127.0.0.1%3A5000%2Fapp&tag=2');
  assert.is(pullQuery(parseImageRef(`app:1@${D}`)), `fromImage=app&tag=${encodeURIComponent(D)}`);
});

test('X-Registry-Auth is URL-safe base64 of the login with the server address', () => {
  const pw = 'p+a/s?s>>>w~~~'; // bytes that give + and / in plain base64
  const h = registryAuthHeader('127.0.0.1:5000', { username: 'u', password: pw });
  assert.not.match(h, /[+/]/);
  const back = JSON.parse(Buffer.from(h.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  assert.equal(back, { username: 'u', password: pw, serveraddress: '127.0.0.1:5000' });
  assert.is(
    JSON.parse(Buffer.from(registryAuthHeader('docker.io', { username: 'u', password: 'p' }), 'base64url').toString()).serveraddress,
    'https://index.docker.io/v1/',
  );
  assert.is(redact('bad login s3cret for s3cret', { username: 'me', password: 's3cret' }), 'bad login *** for ***');
});

test('progress: bytes downloaded of the layers sized, finished layers whole; an error line is the failure', () => {
  const p = new PullProgress();
  const feed = (o: object) => p.line(JSON.stringify(o));
  feed({ status: 'Pulling from canopy/app', id: '1' });
  assert.is(p.percent(), 0);
  feed({ status: 'Pulling fs layer', id: 'a' });
  feed({ status: 'Already exists', id: 'b' });
  feed({ status: 'Downloading', id: 'a', progressDetail: { current: 250, total: 1000 } });
  // a: 250/1000, b: done (counted as 1 of 1): 251/1001.
  assert.is(p.percent(), 25);
  feed({ status: 'Downloading', id: 'a', progressDetail: { current: 420, total: 1000 } });
  assert.is(p.percent(), 42);
  feed({ status: 'Download complete', id: 'a' });
  assert.is(p.percent(), 100);
  p.line('not json');
  feed({ status: 'Digest: sha256:…' });
  assert.is(p.error, undefined);
  feed({ errorDetail: { message: 'unauthorized: authentication required' }, error: 'unauthorized: authentication required' });
  assert.is(p.error, 'unauthorized: authentication required');
});

test('backoff of an image that failed: 2 s, doubling, at most 2 min', () => {
  assert.equal([1, 2, 3, 4, 8, 20].map(pullBackoffMs), [2000, 4000, 8000, 16000, 120000, 120000]);
});

const work = (id: string, image: string, specHash = 'h1'): Workload => ({
  id,
  service: id.split('#')[0],
  index: 0,
  specHash,
  spec: { runtime: 'container', replicas: 1, image },
});

function fakePorts() {
  let now = 1_000_000;
  const pulls: Array<{ image: string; auth?: { username: string; password: string }; progress(p: number): void; ok(): void; fail(m: string): void }> = [];
  const ran: string[] = [];
  let changes = 0;
  let login: { username: string; password: string } | undefined = { username: 'u', password: 'pw1' };
  const ports: PullPorts = {
    pull: (image, auth, onProgress) =>
      new Promise((ok, fail) => void pulls.push({ image, auth, progress: onProgress, ok: () => ok(), fail: (m) => fail(new Error(m)) })),
    run: async (w, wanted) => {
      if (wanted()) ran.push(w.id);
    },
    auth: () => login,
    now: () => now,
    changed: () => void changes++,
  };
  return {
    ports,
    pulls,
    ran,
    changes: () => changes,
    tick: (ms: number) => void (now += ms),
    setLogin: (l: typeof login) => void (login = l),
  };
}

const settle = () => new Promise((r) => setImmediate(r));

test('one pull per image for every replica waiting; they run when it ends; progress in the message', async () => {
  const f = fakePorts();
  const p = new Pulls(f.ports);
  p.begin(work('a/x#0', 'r:5000/app:1'));
  p.begin(work('a/x#1', 'r:5000/app:1'));
  assert.is(f.pulls.length, 1, 'one pull for both');
  assert.equal(f.pulls[0].auth, { username: 'u', password: 'pw1' });
  assert.equal(
    p.list().map((r) => [r.id, r.state, r.message]),
    [
      ['a/x#0', 'starting', 'pulling 0 %'],
      ['a/x#1', 'starting', 'pulling 0 %'],
    ],
  );
  assert.ok(p.pulling(work('a/x#0', 'r:5000/app:1')));
  assert.not.ok(p.pulling(work('a/x#0', 'r:5000/app:1', 'h2')), 'another spec is not this pull');
  f.tick(5000);
  f.pulls[0].progress(42);
  assert.is(p.list()[0].message, 'pulling 42 %');
  assert.is(f.changes(), 1, 'progress is told');
  f.pulls[0].progress(43);
  assert.is(f.changes(), 1, 'at most once a second');
  p.cancel('a/x#1'); // stopped meanwhile: not run
  f.pulls[0].ok();
  await settle();
  await settle();
  assert.equal(f.ran, ['a/x#0']);
  assert.equal(p.list(), [], 'run: no longer waiting');
});

test('a failed pull fails its replicas with the reason; the image waits out its backoff, new credentials lift it', async () => {
  const f = fakePorts();
  const p = new Pulls(f.ports);
  p.begin(work('a/x#0', 'r:5000/app:1'));
  f.pulls[0].fail('unauthorized: authentication required');
  await settle();
  await settle();
  const [r] = p.list();
  assert.is(r.state, 'failed');
  assert.is(r.message, 'pull r:5000/app:1: unauthorized: authentication required');
  // Started again at once: no new pull, the same failure (and its time).
  f.tick(1000);
  p.begin(work('a/x#0', 'r:5000/app:1'));
  assert.is(f.pulls.length, 1);
  assert.equal(p.list()[0], r);
  // After the backoff (2 s): pulled again.
  f.tick(1500);
  p.begin(work('a/x#0', 'r:5000/app:1'));
  assert.is(f.pulls.length, 2);
  f.pulls[1].fail('unauthorized');
  await settle();
  f.tick(3000); // second failure: 4 s
  p.begin(work('a/x#0', 'r:5000/app:1'));
  assert.is(f.pulls.length, 2, 'still waiting out 4 s');
  f.setLogin({ username: 'u', password: 'pw2' });
  p.begin(work('a/x#0', 'r:5000/app:1'));
  assert.is(f.pulls.length, 3, 'new credentials: pulled at once');
  assert.is(f.pulls[2].auth?.password, 'pw2');
});

test('calls for one replica run one after another', async () => {
  const serial = serialById();
  const order: string[] = [];
  const slow = (s: string, ms: number) => () => new Promise<void>((r) => setTimeout(() => r(void order.push(s)), ms));
  await Promise.all([serial('a', slow('a1', 30)), serial('a', slow('a2', 1)), serial('b', slow('b1', 5))]);
  assert.equal(order, ['b1', 'a1', 'a2']);
  await serial('a', () => Promise.reject(new Error('x'))).catch(() => {});
  assert.is(await serial('a', async () => 7), 7, 'a failure does not stop the next');
});

test.run();
