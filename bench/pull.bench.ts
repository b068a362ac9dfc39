// Assignment → running for an image the node has only in a registry (issue 17: "the time from
// commit to running for an image pulled from the loopback registry against `docker pull` +
// create + start by hand (goal: at most 1.1×)"). A real registry (Debian's docker-registry on
// loopback, htpasswd authentication: test/helpers/registry.ts) holds an image of canopy/busybox:1
// plus a 16 MiB layer of random bytes. An agent with the real docker runtime (in this process, as
// in test/integration/registry-pull.test.ts) and a real Mosquitto: each round publishes an
// assignment of one replica of that image, the image having been removed from the node, and
// times it until the agent's status says the replica runs. The floor, interleaved in the same
// rounds (order alternating): `docker pull` (after a `docker login`) + `docker create` + `docker
// start` of the same image by hand, with the image removed before it too.
import { execFileSync } from 'node:child_process';
import type { Bench, Figure } from './types.js';
import { Scope } from './lib/cleanup.js';
import { median, minMax, round, sleep } from './lib/stats.js';
import { startMosquitto } from '../test/helpers/mosquitto.js';
import { requireBaseImage, startRegistry } from '../test/helpers/registry.js';
import { tempDir } from '../test/helpers/cleanup.js';
import { connectBus } from '../reconciler/mqtt/bus.js';
import { topics } from '../reconciler/mqtt/topics.js';
import { createLogger } from '../reconciler/core/log.js';
import { loadDrivers } from '../agents/runtimes/load.js';
import { startAgent } from '../agents/agent.js';
import type { NodeDesired, NodeStatus } from '../schemas/messages.js';

const FLEET = `benchpull${process.pid}`;
const GOAL_RATIO = 1.1;
const MIB = 16;

const run: Bench = async ({ quick, log }) => {
  const rounds = quick ? 3 : 7;
  const scope = new Scope();
  const docker = (args: string[], env?: NodeJS.ProcessEnv) => execFileSync('docker', args, { encoding: 'utf8', env, stdio: ['pipe', 'pipe', 'pipe'] }).trim();
  const removeFleet = () => {
    const ids = docker(['ps', '-aq', '--filter', `label=canopy.fleet=${FLEET}`])
      .split('\n')
      .filter(Boolean);
    if (ids.length) docker(['rm', '-f', ...ids]);
  };
  try {
    requireBaseImage();
    const registry = await startRegistry();
    scope.add(() => registry.stop());
    const digest = registry.push(`pull:1`, { randomMiB: MIB });
    const image = `${registry.host}/canopy/pull:1`;
    const dockerConfig = tempDir('canopy-bench-docker-config-');
    const env = { ...process.env, DOCKER_CONFIG: dockerConfig };
    execFileSync('docker', ['login', registry.host, '-u', registry.username, '--password-stdin'], {
      input: registry.password,
      env,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    log(`registry on ${registry.host} (htpasswd), image ${digest} (canopy/busybox:1 + ${MIB} MiB)`);

    const broker = await startMosquitto();
    scope.add(() => broker.stop());
    const t = topics(FLEET);
    const cluster = await connectBus({ url: broker.url, clientId: `bench-cluster-${process.pid}`, log: createLogger('cluster', 'silent') });
    scope.add(() => cluster.close());
    let last: NodeStatus | undefined;
    const waiters: Array<() => void> = [];
    await cluster.subscribe(t.nodeStatus('c1', 'n1'), (_topic, payload) => {
      if (!payload.length) return;
      last = JSON.parse(payload.toString()) as NodeStatus;
      for (const w of waiters.splice(0)) w();
    });
    const agentBus = await connectBus({ url: broker.url, clientId: `bench-agent-${process.pid}`, log: createLogger('agent', 'silent') });
    scope.add(() => agentBus.close());
    const auth = { username: registry.username, password: registry.password };
    const drivers = await loadDrivers('docker', {
      fleet: FLEET,
      cluster: 'c1',
      node: 'n1',
      stateDir: tempDir('canopy-bench-pull-'),
      registryAuth: (h) => (h === registry.host ? auth : undefined),
    });
    const agent = await startAgent({
      fleet: FLEET,
      cluster: 'c1',
      node: 'n1',
      bus: agentBus,
      drivers,
      stateDir: tempDir('canopy-bench-agent-'),
      noNetwork: true,
      log: createLogger('agent', 'silent'),
    });
    scope.add(() => agent.stop());
    scope.add(removeFleet);

    const statusWhere = async (ok: (s: NodeStatus) => boolean, what: string): Promise<void> => {
      const end = Date.now() + 120_000;
      while (!last || !ok(last)) {
        if (Date.now() > end) throw new Error(`no status with ${what}: ${JSON.stringify(last?.replicas)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 500);
        });
      }
    };
    let seq = 0;
    const assign = (replicas: NodeDesired['replicas']) =>
      cluster.publish(t.nodeDesired('c1', 'n1'), { kind: 'node-desired', seq: ++seq, epoch: 0, heartbeatSeconds: 5, replicas } satisfies NodeDesired, {
        retain: true,
      });
    const forget = () => {
      try {
        docker(['rmi', '-f', image, digest]);
      } catch {
        /* not there */
      }
    };

    const viaAgent = async (i: number): Promise<number> => {
      forget();
      const t0 = performance.now();
      await assign([
        {
          id: 'bench/pull#0',
          service: 'bench/pull',
          index: 0,
          specHash: `r${i}`,
          spec: { runtime: 'container', replicas: 1, image, command: ['sleep', '600'] },
        },
      ]);
      await statusWhere((s) => s.replicas.some((r) => r.id === 'bench/pull#0' && r.specHash === `r${i}` && r.state === 'running'), 'the replica running');
      const ms = performance.now() - t0;
      await assign([]);
      await statusWhere((s) => s.replicas.length === 0, 'no replica');
      return ms;
    };
    const byHand = (i: number): number => {
      forget();
      const name = `${FLEET}-hand-${i}`;
      const t0 = performance.now();
      docker(['pull', '-q', image], env);
      docker(['create', '--name', name, '--label', `canopy.fleet=${FLEET}`, '--init', image, 'sleep', '600']);
      docker(['start', name]);
      const ms = performance.now() - t0;
      docker(['rm', '-f', name]);
      return ms;
    };

    await viaAgent(-1); // warm-up: the agent's first pass and connections
    const agentMs: number[] = [];
    const handMs: number[] = [];
    for (let i = 0; i < rounds; i++) {
      if (i % 2 === 0) {
        agentMs.push(await viaAgent(i));
        handMs.push(byHand(i));
      } else {
        handMs.push(byHand(i));
        agentMs.push(await viaAgent(i));
      }
      log(`round ${i + 1}/${rounds}: agent ${round(agentMs[i])} ms, by hand ${round(handMs[i])} ms`);
      await sleep(200);
    }
    const a = median(agentMs);
    const h = median(handMs);
    const figures: Figure[] = [
      {
        label: `assignment → running, image pulled from a loopback registry (${MIB} MiB layer) p50`,
        value: round(a),
        unit: 'ms',
        spread: minMax(agentMs).map((x) => round(x)) as [number, number],
        floor: { label: 'docker pull + create + start by hand', value: round(h) },
      },
      { label: 'agent pull-to-running / by hand', value: round(a / h, 2), unit: 'x', goal: { op: '<=', value: GOAL_RATIO } },
    ];
    return {
      name: 'pull',
      figures,
      notes: [
        `${rounds} rounds, interleaved (order alternating), after one warm-up; the image is removed from the node before each measurement, so each pulls its ${MIB} MiB layer from the registry (the canopy/busybox:1 layer is already there in both)`,
        `agent: from publishing the node's assignment (Mosquitto, QoS 1, retained) to the agent's status saying the replica runs: one MQTT hop each way, a pass, an image check, POST /images/create with X-Registry-Auth, create, start, a list and the status; by hand: the docker CLI, logged in, pull -q + create + start (each a process of its own); min–max agent ${minMax(
          agentMs,
        )
          .map((x) => round(x))
          .join('–')} ms, by hand ${minMax(handMs)
          .map((x) => round(x))
          .join('–')} ms`,
        `the agent runs in the benchmark's process (its real docker runtime and bus client), not as a separate process`,
      ],
    };
  } finally {
    await scope.close();
  }
};
export default run;
