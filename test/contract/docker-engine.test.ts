// The Docker Engine client (agents/runtimes/docker-engine.ts) against the real engine, checked
// through the docker CLI (independent of the code under test); its handling of bad answers
// against a fake engine on a unix socket; and where it looks for the engine (DOCKER_HOST).
// The engine must be reachable: the suite fails, never skips.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dockerEngine, engineAddress, EngineError, type DockerEngine } from '../../agents/runtimes/docker-engine.js';
import { requireDocker } from '../helpers/docker.js';
import { atExit, record, tempDir } from '../helpers/cleanup.js';

const IMAGE = 'canopy/busybox:1';
const BUILD_SCRIPT = fileURLToPath(new URL('../../../scripts/build-test-image.sh', import.meta.url));
const TAG = `ce${Date.now().toString(36)}${process.pid}`; // label value unique to this run
const name = (s: string) => `canopy-engine-test-${TAG}-${s}`;

const cli = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
const inspect = (c: string) => JSON.parse(cli('inspect', c))[0];
const cleanup = () => {
  const ids = cli('ps', '-aq', '--filter', `label=canopy.test=${TAG}`).split('\n').filter(Boolean);
  if (ids.length) execFileSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
};
atExit(cleanup);
record(`docker-label canopy.test=${TAG}`);

async function statusOf(p: Promise<unknown>): Promise<number | string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return e instanceof EngineError ? e.statusCode : (e as Error).message;
  }
}

// --- the real engine ---------------------------------------------------------------------------
const real = suite('docker engine: against the real Docker Engine');
let engine: DockerEngine;

real.before(() => {
  requireDocker();
  try {
    execFileSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' });
  } catch {
    execFileSync(BUILD_SCRIPT, { stdio: 'inherit' });
  }
  engine = dockerEngine();
});
real.after(cleanup);

real('ping answers', async () => {
  await engine.ping(5000);
});

real('create sets what canopy asks for: labels, command, env, init, limits, exposed ports, no restart', async () => {
  const { Id } = await engine.createContainer(name('a'), {
    Image: IMAGE,
    Cmd: ['sleep', '30'],
    Env: ['GREETING=hello world', 'EMPTY='],
    Labels: { 'canopy.test': TAG, 'canopy.replica': 'web/api#0', 'canopy.note': 'ü ✓ "quoted"' },
    ExposedPorts: { '8080/tcp': {} },
    HostConfig: { Init: true, RestartPolicy: { Name: 'no' }, NanoCpus: 250_000_000, Memory: 32 * 1024 * 1024 },
  });
  const info = inspect(Id);
  assert.is(info.Name, `/${name('a')}`);
  assert.equal(info.Config.Cmd, ['sleep', '30']);
  assert.ok(info.Config.Env.includes('GREETING=hello world') && info.Config.Env.includes('EMPTY='));
  assert.is(info.Config.Labels['canopy.note'], 'ü ✓ "quoted"');
  assert.equal(Object.keys(info.Config.ExposedPorts), ['8080/tcp']);
  assert.is(info.HostConfig.Init, true);
  assert.is(info.HostConfig.NanoCpus, 250_000_000);
  assert.is(info.HostConfig.Memory, 32 * 1024 * 1024);
  assert.is(info.HostConfig.RestartPolicy.Name, 'no');
  assert.is(info.State.Status, 'created');
});

real('start, then list with label filters shows it running with its labels; other labels are not listed', async () => {
  await engine.startContainer(name('a'));
  assert.is(inspect(name('a')).State.Status, 'running');
  const mine = await engine.listContainers({ all: true, filters: { label: [`canopy.test=${TAG}`, 'canopy.replica=web/api#0'] } });
  assert.is(mine.length, 1);
  assert.is(mine[0].Id, inspect(name('a')).Id);
  assert.is(mine[0].State, 'running');
  assert.is(mine[0].Labels['canopy.replica'], 'web/api#0');
  assert.equal(mine[0].Names, [`/${name('a')}`]);
  assert.ok(Math.abs(mine[0].Created * 1000 - Date.now()) < 600_000);
  assert.equal(await engine.listContainers({ all: true, filters: { label: [`canopy.test=${TAG}`, 'canopy.replica=other#0'] } }), []);
});

real('inspect by name and by id agree with the CLI', async () => {
  const byName = await engine.inspectContainer(name('a'));
  const cliView = inspect(name('a'));
  assert.is(byName.Id, cliView.Id);
  assert.is(byName.State.Status, 'running');
  assert.is(byName.State.StartedAt, cliView.State.StartedAt);
  assert.is((await engine.inspectContainer(cliView.Id)).Name, `/${name('a')}`);
});

real('stop: running → stopped; stopping again is 304; start of a started container is 304', async () => {
  const b = await engine.createContainer(name('b'), { Image: IMAGE, Cmd: ['sleep', '30'], Labels: { 'canopy.test': TAG }, HostConfig: { Init: true } });
  await engine.startContainer(b.Id);
  assert.is(await statusOf(engine.startContainer(b.Id)), 304);
  await engine.stopContainer(name('b'), 2);
  const st = inspect(b.Id).State;
  assert.is(st.Status, 'exited');
  assert.is(await statusOf(engine.stopContainer(name('b'), 2)), 304);
  const seen = (await engine.listContainers({ all: true, filters: { label: [`canopy.test=${TAG}`] } })).find((c) => c.Id === b.Id);
  assert.is(seen?.State, 'exited');
  const runningOnly = await engine.listContainers({ all: false, filters: { label: [`canopy.test=${TAG}`] } });
  assert.not.ok(
    runningOnly.some((c) => c.Id === b.Id),
    'a stopped container is listed only with all',
  );
});

real('an exited workload: exit code and times in inspect', async () => {
  const c = await engine.createContainer(name('c'), { Image: IMAGE, Cmd: ['sh', '-c', 'exit 3'], Labels: { 'canopy.test': TAG } });
  await engine.startContainer(c.Id);
  for (let i = 0; i < 200 && inspect(c.Id).State.Running; i++) await new Promise((r) => setTimeout(r, 50));
  const s = (await engine.inspectContainer(c.Id)).State;
  assert.is(s.Status, 'exited');
  assert.is(s.ExitCode, 3);
  assert.is(s.OOMKilled, false);
  // Both times are real (the engine writes 0001-01-01 for a time that never happened); their
  // order is the engine's business: for a process this short FinishedAt can precede StartedAt.
  for (const t of [s.StartedAt, s.FinishedAt]) assert.ok(Date.parse(t) > Date.parse('2000-01-01'), t);
});

real('remove with force removes a running container; then it is 404 everywhere', async () => {
  await engine.removeContainer(name('a'), { force: true });
  assert.throws(() => inspect(name('a')));
  assert.is(await statusOf(engine.inspectContainer(name('a'))), 404);
  assert.is(await statusOf(engine.stopContainer(name('a'), 1)), 404);
  assert.is(await statusOf(engine.removeContainer(name('a'), { force: true })), 404);
  assert.is(await statusOf(engine.startContainer(name('a'))), 404);
});

real('errors carry the engine’s status and message: missing image (404, nothing pulled), name in use (409)', async () => {
  const missing = await engine.createContainer(name('d'), { Image: 'canopy/absent:0', Labels: { 'canopy.test': TAG } }).catch((e) => e);
  assert.instance(missing, EngineError);
  assert.is(missing.statusCode, 404);
  assert.match(missing.message, /no such image/i);
  assert.is(cli('images', '-q', 'canopy/absent:0'), '');
  const dup = await engine.createContainer(name('b'), { Image: IMAGE, Labels: { 'canopy.test': TAG } }).catch((e) => e);
  assert.instance(dup, EngineError);
  assert.is(dup.statusCode, 409);
  assert.match(dup.message, /already in use/);
});

real('a name with characters that need escaping in a path is refused by the engine, not mangled', async () => {
  const r = await statusOf(engine.inspectContainer('no/such?thing#x'));
  assert.is(r, 404);
});

// --- bad answers: a fake engine on a unix socket -------------------------------------------------
const fake = suite('docker engine: bad answers from the engine');
let dir = '';
let server: http.Server;
let reply: (req: http.IncomingMessage, res: http.ServerResponse) => void = () => {};

fake.before(async () => {
  dir = tempDir('canopy-fake-engine-');
  server = http.createServer((req, res) => reply(req, res));
  await new Promise<void>((r) => server.listen(join(dir, 'docker.sock'), r));
});
fake.after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});
const fakeEngine = (timeoutMs?: number) => dockerEngine({ address: engineAddress({ DOCKER_HOST: `unix://${join(dir, 'docker.sock')}` }), timeoutMs });

fake('a 200 whose body is not JSON is an error naming the request, not a crash', async () => {
  reply = (_q, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"Id": ');
  };
  const e = await fakeEngine()
    .listContainers({ all: true })
    .catch((x) => x);
  assert.instance(e, Error);
  assert.match(e.message, /GET \/containers\/json\?all=1: the engine answered 200 with a body that is not JSON/);
});

fake('an error with a text body keeps the status and the text', async () => {
  reply = (_q, res) => {
    res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end('engine on fire\n');
  };
  const e = await fakeEngine()
    .startContainer('x')
    .catch((x) => x);
  assert.instance(e, EngineError);
  assert.is(e.statusCode, 500);
  assert.match(e.message, /POST \/containers\/x\/start: 500 engine on fire/);
});

fake('a chunked answer is read whole', async () => {
  reply = (_q, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const body = JSON.stringify([{ Id: 'x'.repeat(64), Names: ['/n'], Labels: { a: 'b' }, State: 'running', Created: 1 }]);
    for (let i = 0; i < body.length; i += 7) res.write(body.slice(i, i + 7));
    res.end();
  };
  const cs = await fakeEngine().listContainers({ all: true });
  assert.is(cs[0].Id, 'x'.repeat(64));
});

fake('an engine that never answers: the request ends with an error within its deadline', async () => {
  reply = () => {
    /* never answer */
  };
  const e = await fakeEngine(200)
    .inspectContainer('x')
    .catch((x) => x);
  assert.instance(e, Error);
  assert.match(e.message, /no answer from the Docker Engine at unix:\/\/.*within 200 ms/);
});

fake('an engine that closes the connection mid-answer is an error', async () => {
  reply = (_q, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
    res.write('[{"Id"');
    res.socket?.destroy();
  };
  const e = await fakeEngine()
    .listContainers({ all: true })
    .catch((x) => x);
  assert.instance(e, Error);
});

fake('no engine at the socket: a clear error naming where it looked', async () => {
  const e = await dockerEngine({ address: engineAddress({ DOCKER_HOST: `unix://${join(dir, 'absent.sock')}` }) })
    .ping(1000)
    .catch((x) => x);
  assert.instance(e, Error);
  assert.match(e.message, /Docker Engine at unix:\/\/.*absent\.sock is not reachable \(ENOENT\): is dockerd running\?/);
});

// --- where the engine is ------------------------------------------------------------------------
const where = suite('docker engine: DOCKER_HOST');

where('default and unix://', () => {
  assert.equal(engineAddress({}), { socketPath: '/var/run/docker.sock', label: '/var/run/docker.sock' });
  assert.is(engineAddress({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }).socketPath, '/run/user/1000/docker.sock');
  assert.is(engineAddress({ DOCKER_HOST: 'unix://' }).socketPath, '/var/run/docker.sock');
});

where('tcp: plain, and TLS by DOCKER_TLS_VERIFY or port 2376 with DOCKER_CERT_PATH', () => {
  const plain = engineAddress({ DOCKER_HOST: 'tcp://10.0.0.5:2375' });
  assert.equal([plain.host, plain.port, plain.tls], ['10.0.0.5', 2375, undefined]);
  assert.equal(engineAddress({ DOCKER_HOST: 'edge-1:2375' }).host, 'edge-1');
  const certs = tempDir('canopy-certs-');
  for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(certs, f), `-- ${f} --`);
  const tls = engineAddress({ DOCKER_HOST: 'tcp://10.0.0.5:2375', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs });
  assert.is(tls.tls?.ca?.toString(), '-- ca.pem --');
  assert.is(tls.tls?.key?.toString(), '-- key.pem --');
  assert.ok(engineAddress({ DOCKER_HOST: 'tcp://10.0.0.5:2376' }).tls);
  rmSync(certs, { recursive: true, force: true });
});

where('ssh:// and nonsense are refused with a message saying what to do', () => {
  assert.throws(() => engineAddress({ DOCKER_HOST: 'ssh://me@edge-1' }), /ssh is not supported by the agent; run it on the Docker host/);
  assert.throws(() => engineAddress({ DOCKER_HOST: 'ftp://x' }), /expected unix:\/\/\/path or tcp:\/\/host:port/);
});

real.run();
fake.run();
where.run();
