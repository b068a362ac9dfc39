// The agent's idle footprint with issue 17's workload features on (its Done-when: "the agent's
// idle RSS with these features on (goal: still ≤ 60 MB)"). One secured fleet (identities with
// age keys, Mosquitto with the password file and ACL of `canopy broker-config`), two clusters
// with a docker agent each as separate processes, as users start them:
//  - c1's node n1 runs a container whose image exists only in a password-protected registry on loopback
//    (credentials from a sealed secret named in fleet.yaml `spec.registries`), with a sealed
//    secret as an environment variable and as a file, a volume and a config file from the
//    repository; its output is read once with `canopy logs` before the idle windows;
//  - c2's node n2 runs a plain container of canopy/busybox:1 (nothing of the above): the floor.
// Both are watched over the same idle windows once the fleet has converged.
import type { Bench, Figure } from './types.js';
import { BenchFleet, clusterYaml, fleetYaml, serviceYaml } from './lib/fleet.js';
import { Scope, removeFleetDocker } from './lib/cleanup.js';
import { DIST, watchIdle, type IdleFigures } from './lib/proc.js';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { median, round, sleep } from './lib/stats.js';
import { spawn } from 'node:child_process';
import { requireBaseImage, startRegistry } from '../test/helpers/registry.js';
import { seal } from '../reconciler/core/secrets.js';
import Dockerode from 'dockerode';

const GOAL_MB = 60;

const secretYaml = (name: string, clusters: string[], keys: string[]) =>
  `apiVersion: canopy/v1\nkind: Secret\nmetadata: {name: ${name}}\nspec: {clusters: ${JSON.stringify(clusters)}, keys: ${JSON.stringify(keys)}}\n`;

const run: Bench = async ({ quick, log }) => {
  const fleet = `benchwork${process.pid}`;
  const scope = new Scope();
  const docker = new Dockerode();
  scope.add(() => removeFleetDocker(docker, fleet, { volumes: true }));
  const f = new BenchFleet(fleet, scope);
  try {
    requireBaseImage();
    const registry = await startRegistry();
    scope.add(() => registry.stop());
    const digest = registry.push('work:1');
    const image = `${registry.host}/canopy/work:1`;
    log(`registry on ${registry.host} (htpasswd), image ${digest}`);

    const files: Record<string, string> = {
      'fleet.yaml': `${fleetYaml(fleet).trimEnd()}\nspec:\n  registries: [{host: "${registry.host}", secret: reg}]\n`,
      'clusters/c1.yaml': clusterYaml('c1', 48.1, 11.5),
      'clusters/c2.yaml': clusterYaml('c2', 48.8, 2.3),
    };
    await f.secure(files, { c1: ['n1'], c2: ['n2'] }, { operator: 'bench' });
    files['config/work/app.conf'] = 'listen 8080\nworkers 2\n';
    const c1 = [f.ages.get('cluster:c1')!];
    files['secrets/reg.yaml'] = secretYaml('reg', ['c1'], ['password', 'username']);
    files['secrets/reg.age'] = await seal(JSON.stringify({ username: registry.username, password: registry.password }), c1);
    files['secrets/db.yaml'] = secretYaml('db', ['c1'], ['password']);
    files['secrets/db.age'] = await seal(JSON.stringify({ password: 'bench-secret-value' }), c1);
    const base = { runtime: 'container', command: ['sh', '-c', 'echo started; exec sleep 3600'], replicas: 1, resources: { cpu: 0.05, memory: '16Mi' } };
    files['services/work/full.yaml'] = serviceYaml('work', 'full', {
      ...base,
      image,
      secrets: [
        { secret: 'db', key: 'password', env: 'DB_PASSWORD' },
        { secret: 'db', key: 'password', file: '/run/secrets/db' },
      ],
      volumes: [{ name: 'data', path: '/data' }],
      files: [{ path: '/etc/app.conf', from: 'config/work/app.conf' }],
      constraints: { clusters: { names: ['c1'] } },
    });
    files['services/work/plain.yaml'] = serviceYaml('work', 'plain', { ...base, image: 'canopy/busybox:1', constraints: { clusters: { names: ['c2'] } } });
    const first = await f.init(files);
    await f.startBroker();
    f.startCluster('c1');
    f.startCluster('c2');
    const full = f.startAgent('c1', 'n1', { runtime: 'docker', cpu: 2, memory: '4Gi' });
    const plain = f.startAgent('c2', 'n2', { runtime: 'docker', cpu: 2, memory: '4Gi' });
    for (const p of f.parts.values()) await p.waitForLog(/running|ready/);
    f.startRoot();
    await f.waitConverged(first, 120_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${f.tails()}`);
    });
    // Logs on demand: a one-shot tail (the command until the replica's line is out), then lines
    // written into the container's output while `canopy logs --follow` runs (written → shown).
    const logsArgs = ['logs', 'work/full', '--broker', f.broker.url, ...f.identity('operator', 'bench'), '--repo', f.dir];
    const tails: number[] = [];
    for (let i = 0; i < (quick ? 3 : 5); i++) {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [path.join(DIST, 'cli/canopy.js'), ...logsArgs, '--tail', '5'], { encoding: 'utf8', timeout: 30_000 });
      if (!/started/.test(r.stdout)) throw new Error(`canopy logs work/full did not show the replica's line: ${r.stdout}${r.stderr}`);
      tails.push(performance.now() - t0);
    }
    const follows = await followLatency(docker, fleet, logsArgs, quick ? 3 : 7);
    log(`canopy logs --tail 5: ${tails.map((t) => round(t)).join(', ')} ms; --follow, written → shown: ${follows.map((t) => round(t)).join(', ')} ms`);
    const settle = quick ? 3000 : 5000,
      window = quick ? 6000 : 15_000,
      windows = quick ? 2 : 4;
    log(`converged; settling ${settle / 1000} s, then watching ${windows} × ${window / 1000} s of idle`);
    await sleep(settle);
    const m = await watchIdle({ full: full.pid, plain: plain.pid }, window, windows);
    const line = (v: IdleFigures) => `RSS ${round(v.rssMB)} MB (max ${round(v.rssMaxMB)}, anonymous ${round(v.anonMB)}), CPU ${round(v.cpuPercent, 2)} %`;
    log(`agent with the features: ${line(m.full)}; agent with a plain container: ${line(m.plain)}`);
    const figures: Figure[] = [
      {
        label: 'agent idle RSS, registry image + secrets (env, file) + volume + config file, after a logs request',
        value: round(m.full.rssMB),
        unit: 'MB',
        spread: [round(m.full.rssMB), round(m.full.rssMaxMB)],
        floor: { label: 'agent with a plain container', value: round(m.plain.rssMB) },
        goal: { op: '<=', value: GOAL_MB },
      },
      {
        label: 'canopy logs --tail: command → the replica’s line shown',
        value: round(median(tails)),
        unit: 'ms',
        spread: [round(Math.min(...tails)), round(Math.max(...tails))],
        goal: { op: '<=', value: 2000 },
      },
      {
        label: 'canopy logs --follow: line written → shown',
        value: round(median(follows)),
        unit: 'ms',
        spread: [round(Math.min(...follows)), round(Math.max(...follows))],
        goal: { op: '<=', value: 2000 },
      },
      {
        label: 'agent idle CPU, the same',
        value: round(m.full.cpuPercent, 2),
        unit: '%',
        spread: [round(m.full.cpuSpread[0], 2), round(m.full.cpuSpread[1], 2)],
      },
    ];
    return {
      name: 'workloads',
      figures,
      notes: [
        `secured fleet (identities, Mosquitto with broker-config's ACL), two clusters with a docker agent each, all as processes; ${windows} idle windows of ${window / 1000} s after ${settle / 1000} s settling; RSS: median of 1 s samples (spread: median–max)`,
        `agent with the features: ${line(m.full)}; agent with a plain container: ${line(m.plain)}`,
      ],
    };
  } finally {
    await scope.close();
  }
};

export default run;

/**
 * Lines written into the replica's output (to its PID 1's stdout, as the workload would print
 * them) while one `canopy logs --follow` runs: for each, the time until the follower prints it.
 */
async function followLatency(docker: Dockerode, fleet: string, logsArgs: string[], marks: number): Promise<number[]> {
  const [c] = await docker.listContainers({ filters: { label: [`canopy.fleet=${fleet}`, 'canopy.service=work/full'] } });
  if (!c) throw new Error('no container of work/full');
  const follower = spawn(process.execPath, [path.join(DIST, 'cli/canopy.js'), ...logsArgs, '--tail', '0', '--follow'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  follower.stdout.on('data', (d) => {
    out += d;
  });
  const seen = async (re: RegExp, ms: number) => {
    const end = performance.now() + ms;
    while (!re.test(out)) {
      if (performance.now() > end) throw new Error(`canopy logs --follow did not show ${re} within ${ms} ms: ${out.slice(-500)}`);
      await sleep(5);
    }
  };
  try {
    // The stream is open once a first mark shows (not measured).
    const write = (text: string) =>
      docker
        .getContainer(c.Id)
        .exec({ Cmd: ['sh', '-c', `echo ${text} > /proc/1/fd/1`] })
        .then((e) => e.start({ Detach: true }));
    for (let i = 0; !/warm-up/.test(out); i++) {
      if (i > 100) throw new Error(`canopy logs --follow showed nothing: ${out}`);
      await write('warm-up');
      await sleep(200);
    }
    const times: number[] = [];
    for (let i = 0; i < marks; i++) {
      const t0 = performance.now();
      await write(`mark-${i}`);
      await seen(new RegExp(`mark-${i}\\b`), 10_000);
      times.push(performance.now() - t0);
      await sleep(300);
    }
    return times;
  } finally {
    follower.kill('SIGINT');
  }
}
