// Published ports, against the real Docker Engine: a container whose spec gives a hostPort is
// reachable from the host at the node's address and that port (an HTTP GET to busybox httpd),
// with the binding Docker reports; and a process workload is told its port in CANOPY_PORT.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ownFleet, removeFleet, requireDocker } from '../helpers/docker.js';
import { tempDir } from '../helpers/cleanup.js';
import { containerName, dockerDriver } from '../../agents/runtimes/docker.js';
import { processDriver } from '../../agents/runtimes/process.js';
import type { DriverOptions, Workload } from '../../agents/runtimes/driver.js';
import type { ServiceSpec } from '../../schemas/model.js';

const IMAGE = 'canopy/busybox:1';
const BUILD_SCRIPT = fileURLToPath(new URL('../../../scripts/build-test-image.sh', import.meta.url));
const FLEET = ownFleet(`dp${Date.now().toString(36)}${process.pid}`);
const stateDir = tempDir('canopy-docker-ports-');
const opts: DriverOptions = { fleet: FLEET, cluster: 'c1', node: 'n1', stateDir, nodeAddress: '127.0.0.1' };

const workload = (spec: ServiceSpec): Workload => ({ id: 'web/api#0', service: 'web/api', index: 0, specHash: 'h1', spec });

/** A port nothing listens on now (the kernel's choice, released at once). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${url}: no answer in 5 s`)));
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}: ${String(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test.before(() => {
  requireDocker();
  try {
    execFileSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' });
  } catch {
    execFileSync(BUILD_SCRIPT, { stdio: 'inherit' });
  }
});

test.after(() => {
  removeFleet(FLEET);
  rmSync(stateDir, { recursive: true, force: true });
});

test('a container with a hostPort answers HTTP on the node address at that port', async () => {
  const hostPort = await freePort();
  const d = dockerDriver(opts);
  await d.start(
    workload({ runtime: 'container', replicas: 1, image: IMAGE, command: ['httpd', '-f', '-p', '8080', '-h', '/www'], ports: [{ port: 8080, hostPort }] }),
  );
  const bindings = JSON.parse(
    execFileSync('docker', ['inspect', '--format', '{{json .HostConfig.PortBindings}}', containerName(opts, 'web/api#0')], { encoding: 'utf8' }),
  );
  assert.equal(bindings, { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }] });
  const res = await until('httpd to answer', () => httpGet(`http://127.0.0.1:${hostPort}/index.html`));
  assert.is(res.status, 200);
  assert.is(res.body, 'canopy test image\n');
  await d.stop('web/api#0');
  const after = await httpGet(`http://127.0.0.1:${hostPort}/index.html`).then(
    () => 'answered',
    (e: NodeJS.ErrnoException) => e.code,
  );
  assert.is(after, 'ECONNREFUSED', 'the binding goes with the container');
});

test('without nodeAddress the port is published on every address (0.0.0.0)', async () => {
  const hostPort = await freePort();
  const d = dockerDriver({ ...opts, nodeAddress: undefined });
  await d.start(
    workload({ runtime: 'container', replicas: 1, image: IMAGE, command: ['httpd', '-f', '-p', '8080', '-h', '/www'], ports: [{ port: 8080, hostPort }] }),
  );
  const bindings = JSON.parse(
    execFileSync('docker', ['inspect', '--format', '{{json .HostConfig.PortBindings}}', containerName(opts, 'web/api#0')], { encoding: 'utf8' }),
  );
  assert.equal(bindings, { '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: String(hostPort) }] });
  const res = await until('httpd to answer', () => httpGet(`http://127.0.0.1:${hostPort}/index.html`));
  assert.is(res.body, 'canopy test image\n');
  await d.stop('web/api#0');
});

test('a process workload is given its ports in CANOPY_PORT and CANOPY_PORT_<i>', async () => {
  const out = join(stateDir, 'ports.txt');
  const d = processDriver(opts);
  const spec: ServiceSpec = {
    runtime: 'process',
    replicas: 1,
    command: ['sh', '-c', `echo "$CANOPY_PORT $CANOPY_PORT_0 $CANOPY_PORT_1" > ${out}.tmp && mv ${out}.tmp ${out}`],
    ports: [{ port: 8080, hostPort: 18080 }, { port: 9090 }],
  };
  await d.start(workload(spec));
  const text = await until('the workload to write its ports', async () => (existsSync(out) ? readFileSync(out, 'utf8') : undefined));
  assert.is(text, '18080 18080 9090\n');
  await d.stop('web/api#0');
  await d.close();
});

test.run();
