// One contract suite for every RuntimeDriver (sim, process, docker), plus what is particular to
// each. Docker runs against the real engine: when it is not reachable the suite fails, never skips.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Dockerode from 'dockerode';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DriverOptions, ObservedReplica, RuntimeDriver, Workload } from '../../agents/runtimes/driver.js';
import { containerName, dockerAvailable, dockerDriver, LABEL } from '../../agents/runtimes/docker.js';
import { dockerEngine } from '../../agents/runtimes/docker-engine.js';
import { processDriver } from '../../agents/runtimes/process.js';
import { simDriver, type SimDriver } from '../../agents/runtimes/sim.js';
import type { ServiceSpec } from '../../schemas/model.js';
import { tempDir } from '../helpers/cleanup.js';
import { ownFleet } from '../helpers/docker.js';

const IMAGE = 'canopy/busybox:1';
const BUILD_SCRIPT = fileURLToPath(new URL('../../../scripts/build-test-image.sh', import.meta.url));
const FLEET = ownFleet(`ct${Date.now().toString(36)}${process.pid}`); // unique per run: cleanup filters on it

interface Harness {
  name: string;
  opts: DriverOptions;
  setup(): Promise<void>;
  /** A new driver on the same node: what an agent restarted after a crash gets. */
  make(): RuntimeDriver;
  longRunning: ServiceSpec;
  /** Start `w` so that its workload exits with code 3. */
  startFailing(d: RuntimeDriver, w: Workload): Promise<void>;
  teardown(): Promise<void>;
}

function aWorkload(spec: ServiceSpec, index = 0, specHash = 'h1'): Workload {
  return { id: `web/api#${index}`, service: 'web/api', index, specHash, spec };
}

function nodeOpts(): DriverOptions {
  return { fleet: FLEET, cluster: 'c1', node: 'n1', stateDir: tempDir('canopy-driver-') };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const failingCommand = ['sh', '-c', 'echo "bye $GREETING"; exit 3'];

function contract(h: Harness) {
  const t = suite(`${h.name}: driver contract`);
  let d: RuntimeDriver;
  const spec = () => h.longRunning;
  const ids = (rs: ObservedReplica[]) => rs.map((r) => r.id).sort();

  t.before.each(() => {
    d = h.make();
  });
  t.after.each(async () => {
    for (const r of await d.list()) await d.stop(r.id);
  });

  t('setup', () => h.setup());

  t('start: list shows each replica running with its service and spec hash', async () => {
    await d.start(aWorkload(spec(), 0));
    await d.start(aWorkload(spec(), 1));
    const rs = await d.list();
    assert.equal(ids(rs), ['web/api#0', 'web/api#1']);
    for (const r of rs) {
      assert.is(r.state, 'running', JSON.stringify(r));
      assert.is(r.service, 'web/api');
      assert.is(r.specHash, 'h1');
      assert.ok(Math.abs(Date.parse(r.since) - Date.now()) < 60_000, `since ${r.since}`);
    }
  });

  t('start with a new spec hash replaces the replica: one, not two', async () => {
    await d.start(aWorkload(spec(), 0, 'h1'));
    await d.start(aWorkload(spec(), 0, 'h2'));
    const rs = await d.list();
    assert.is(rs.length, 1);
    assert.is(rs[0].specHash, 'h2');
    assert.is(rs[0].state, 'running');
  });

  t('stop removes the replica; stopping an unknown one is fine', async () => {
    await d.start(aWorkload(spec()));
    await d.stop('web/api#0');
    assert.equal(await d.list(), []);
    await d.stop('web/api#0');
    await d.stop('nope/none#7');
  });

  t('a replica whose workload exits is failed, with a message', async () => {
    await h.startFailing(d, aWorkload(spec()));
    const r = await waitFor('failed replica', async () => (await d.list()).find((x) => x.state === 'failed'));
    assert.is(r.id, 'web/api#0');
    assert.match(r.message ?? '', /exited with code 3/);
    await d.stop(r.id);
    assert.equal(await d.list(), []);
  });

  t('a restarted agent adopts running replicas; close leaves them running', async () => {
    await d.start(aWorkload(spec(), 0, 'h7'));
    await d.close();
    const again = h.make();
    const rs = await again.list();
    assert.is(rs.length, 1);
    assert.is(rs[0].specHash, 'h7');
    assert.is(rs[0].state, 'running');
    await again.stop('web/api#0');
    assert.equal(await again.list(), []);
  });

  t.after(() => h.teardown());
  return t;
}

// --- sim -------------------------------------------------------------------------------------
const simOpts = nodeOpts();
const sim = contract({
  name: 'sim',
  opts: simOpts,
  setup: async () => {},
  make: () => simDriver(simOpts),
  longRunning: { runtime: 'process', replicas: 1, command: ['none'] },
  startFailing: async (d, w) => {
    await d.start(w);
    (d as SimDriver).fail(w.id, 'exited with code 3');
  },
  teardown: async () => rmSync(simOpts.stateDir, { recursive: true, force: true }),
});

// --- process ---------------------------------------------------------------------------------
const procOpts = nodeOpts();
const proc = contract({
  name: 'process',
  opts: procOpts,
  setup: async () => {},
  make: () => processDriver(procOpts),
  longRunning: { runtime: 'process', replicas: 1, command: ['sleep', '30'] },
  startFailing: (d, w) => d.start({ ...w, spec: { ...w.spec, command: failingCommand, env: { GREETING: 'world' } } }),
  teardown: async () => rmSync(procOpts.stateDir, { recursive: true, force: true }),
});

const procOnly = suite('process: particulars');
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

procOnly('a command that cannot be spawned is a clear error naming it', async () => {
  const opts = nodeOpts();
  const d = processDriver(opts);
  const err = await d.start(aWorkload({ runtime: 'process', replicas: 1, command: ['/no/such/cmd', '-x'] })).catch((e: Error) => e);
  assert.instance(err, Error);
  assert.match((err as Error).message, /\/no\/such\/cmd: command not found/);
  assert.equal(await d.list(), []);
  rmSync(opts.stateDir, { recursive: true, force: true });
});

procOnly('output and env go to a log file per replica', async () => {
  const opts = nodeOpts();
  const d = processDriver(opts);
  await d.start(aWorkload({ runtime: 'process', replicas: 1, command: failingCommand, env: { GREETING: 'world' } }));
  await waitFor('exit', async () => (await d.list()).find((r) => r.state === 'failed'));
  assert.match(readFileSync(join(opts.stateDir, 'logs', 'web_api_0.log'), 'utf8'), /bye world/);
  await d.stop('web/api#0');
  rmSync(opts.stateDir, { recursive: true, force: true });
});

procOnly('stop ends the whole process group, children included', async () => {
  const opts = nodeOpts();
  const d = processDriver(opts);
  const pidFile = join(opts.stateDir, 'child.pid');
  await d.start(aWorkload({ runtime: 'process', replicas: 1, command: ['sh', '-c', `sleep 30 & echo $! > ${pidFile}; wait`] }));
  const child = await waitFor('child pid', async () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) || undefined : undefined));
  assert.ok(alive(child));
  const t0 = Date.now();
  await d.stop('web/api#0');
  assert.ok(Date.now() - t0 < 2500, 'SIGTERM is enough for sh and sleep');
  await waitFor('child gone', async () => (alive(child) ? undefined : true), 2000);
  rmSync(opts.stateDir, { recursive: true, force: true });
});

procOnly('a recorded pid now held by another process is failed, and stop does not signal it', async () => {
  const opts = nodeOpts();
  const me = { service: 'web/api', specHash: 'h1', pid: process.pid, startedAt: new Date().toISOString() };
  writeFileSync(
    join(opts.stateDir, 'processes.json'),
    JSON.stringify({
      version: 1,
      processes: [
        { ...me, id: 'web/api#0', argv: ['sleep', '30'], procStart: '1' }, // same pid, other start time
        { ...me, id: 'web/api#1', argv: ['sleep', '30'] }, // old record: argv differs
      ],
    }),
  );
  const d = processDriver(opts);
  const rs = await d.list();
  assert.equal(
    rs.map((r) => [r.id, r.state, r.message]),
    [
      ['web/api#0', 'failed', 'process exited'],
      ['web/api#1', 'failed', 'process exited'],
    ],
  );
  await d.stop('web/api#0');
  await d.stop('web/api#1');
  assert.ok(alive(process.pid)); // still here: our own group was not signalled
  assert.equal(await processDriver(opts).list(), []);
  rmSync(opts.stateDir, { recursive: true, force: true });
});

// --- docker ----------------------------------------------------------------------------------
const docker = new Dockerode();
const dockOpts = nodeOpts();
async function removeOurContainers() {
  const cs = await docker.listContainers({ all: true, filters: { label: [`${LABEL.fleet}=${FLEET}`] } });
  await Promise.all(cs.map((c) => docker.getContainer(c.Id).remove({ force: true })));
}
const dock = contract({
  name: 'docker',
  opts: dockOpts,
  setup: async () => {
    if (!(await dockerAvailable())) throw new Error('Docker engine not reachable at /var/run/docker.sock: start dockerd');
    const present = await docker
      .getImage(IMAGE)
      .inspect()
      .then(
        () => true,
        () => false,
      );
    if (!present) execFileSync(BUILD_SCRIPT, { stdio: 'inherit' });
  },
  make: () => dockerDriver({ ...dockOpts, docker: dockerEngine() }),
  longRunning: { runtime: 'container', replicas: 1, image: IMAGE, command: ['httpd', '-f', '-p', '8080'] },
  startFailing: (d, w) => d.start({ ...w, spec: { ...w.spec, command: failingCommand } }),
  teardown: async () => {
    await removeOurContainers();
    rmSync(dockOpts.stateDir, { recursive: true, force: true });
  },
});

const dockOnly = suite('docker: particulars');
dockOnly.after(removeOurContainers);

dockOnly('container: init, labels, limits, ports published at a port Docker picks (no hostPort), no restart policy', async () => {
  const d = dockerDriver(dockOpts);
  const spec: ServiceSpec = {
    runtime: 'container',
    replicas: 1,
    image: IMAGE,
    command: ['httpd', '-f', '-p', '8080'],
    resources: { cpu: 0.5, memory: '64Mi' },
    ports: [{ port: 8080 }],
    env: { LOG_LEVEL: 'info' },
  };
  await d.start(aWorkload(spec, 2, 'abc'));
  const info = await docker.getContainer(containerName(dockOpts, 'web/api#2')).inspect();
  assert.is(info.Name, `/canopy_${FLEET}_n1_web_api_2`);
  assert.is(info.HostConfig.Init, true);
  assert.is(info.HostConfig.NanoCpus, 500_000_000);
  assert.is(info.HostConfig.Memory, 64 * 1024 * 1024);
  assert.is(info.HostConfig.RestartPolicy?.Name, 'no');
  assert.equal(Object.keys(info.Config.ExposedPorts ?? {}), ['8080/tcp']);
  // No hostPort: published at a port Docker picks, so other nodes' proxies reach it; list() says which.
  assert.equal(info.HostConfig.PortBindings, { '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '' }] });
  const seen = (await d.list()).find((r) => r.id === 'web/api#2');
  assert.ok(seen?.published?.['8080/tcp'] && seen.published['8080/tcp'] > 0, JSON.stringify(seen));
  assert.ok(info.Config.Env.includes('LOG_LEVEL=info'));
  assert.equal(info.Config.Labels, {
    [LABEL.fleet]: FLEET,
    [LABEL.cluster]: 'c1',
    [LABEL.node]: 'n1',
    [LABEL.service]: 'web/api',
    [LABEL.replica]: 'web/api#2',
    [LABEL.specHash]: 'abc',
  });
  const t0 = Date.now();
  await d.stop('web/api#2');
  assert.ok(Date.now() - t0 < 1500, `stop took ${Date.now() - t0} ms: SIGTERM should reach httpd through init`);
});

dockOnly('imagePullPolicy Never: a missing image is a clear error, and nothing is pulled', async () => {
  const d = dockerDriver(dockOpts);
  const err = await d.start(aWorkload({ runtime: 'container', replicas: 1, image: 'canopy/absent:0', imagePullPolicy: 'Never' })).catch((e: Error) => e);
  assert.instance(err, Error);
  assert.is((err as Error).message, 'image canopy/absent:0 not found on node n1: load it with `docker load` or `docker import`');
  assert.equal(await d.list(), []);
});

dockOnly('a missing image is pulled off the start: listed as starting, then failed with the pull reason', async () => {
  const d = dockerDriver(dockOpts);
  let told = 0;
  d.onChange?.(() => void told++);
  // Port 1 on loopback: nothing listens, the pull fails at once (no network needed).
  await d.start(aWorkload({ runtime: 'container', replicas: 1, image: '127.0.0.1:1/canopy/absent:0' }));
  const [r] = await d.list();
  assert.ok(r.state === 'starting' || r.state === 'failed', r.state);
  for (const end = Date.now() + 30_000; (await d.list())[0]?.state !== 'failed' && Date.now() < end; ) await new Promise((ok) => setTimeout(ok, 50));
  const [f] = await d.list();
  assert.is(f.state, 'failed');
  assert.match(f.message ?? '', /^pull 127\.0\.0\.1:1\/canopy\/absent:0: .*connection refused/);
  assert.ok(told > 0, 'the agent is told');
  await d.stop('web/api#0');
  assert.equal(await d.list(), [], 'stopped: forgotten');
});

dockOnly('replicas of other nodes are not listed', async () => {
  const mine = dockerDriver(dockOpts);
  const other = dockerDriver({ ...dockOpts, node: 'n2' });
  await other.start(aWorkload({ runtime: 'container', replicas: 1, image: IMAGE, command: ['sleep', '30'] }));
  assert.equal(await mine.list(), []);
  assert.is((await other.list()).length, 1);
  await other.stop('web/api#0');
});

// --- both runtimes: the node's address ---------------------------------------------------------
const nodeAddress = suite('process and docker: the node address');
nodeAddress.after(removeOurContainers);

nodeAddress('a process workload gets CANOPY_NODE_ADDRESS, overriding its own env', async () => {
  const opts = { ...nodeOpts(), nodeAddress: '127.0.0.5' };
  const d = processDriver(opts);
  const env = { CANOPY_NODE_ADDRESS: 'mine' };
  await d.start(aWorkload({ runtime: 'process', replicas: 1, command: ['sh', '-c', 'echo "at $CANOPY_NODE_ADDRESS"; exit 3'], env }));
  await waitFor('exit', async () => (await d.list()).find((r) => r.state === 'failed'));
  assert.match(readFileSync(join(opts.stateDir, 'logs', 'web_api_0.log'), 'utf8'), /^at 127\.0\.0\.5$/m);
  await d.stop('web/api#0');
  rmSync(opts.stateDir, { recursive: true, force: true });
});

nodeAddress('a container gets CANOPY_NODE_ADDRESS; without a node address, none', async () => {
  const spec: ServiceSpec = { runtime: 'container', replicas: 1, image: IMAGE, command: ['sleep', '30'], env: { LOG_LEVEL: 'info' } };
  const d = dockerDriver({ ...dockOpts, nodeAddress: 'fd00::20' });
  await d.start(aWorkload(spec, 3));
  const env = (await docker.getContainer(containerName(dockOpts, 'web/api#3')).inspect()).Config.Env;
  assert.ok(env.includes('CANOPY_NODE_ADDRESS=fd00::20'), env.join(' '));
  assert.ok(env.includes('LOG_LEVEL=info'));
  await d.stop('web/api#3');
  const bare = dockerDriver(dockOpts);
  await bare.start(aWorkload(spec, 4));
  const env2 = (await docker.getContainer(containerName(dockOpts, 'web/api#4')).inspect()).Config.Env;
  assert.not.ok(
    env2.some((e: string) => e.startsWith('CANOPY_NODE_ADDRESS=')),
    env2.join(' '),
  );
  await bare.stop('web/api#4');
});

sim.run();
proc.run();
procOnly.run();
dock.run();
dockOnly.run();
nodeAddress.run();
