// Scale: 100 clusters × 50 simulated nodes, 10,000 services, from an empty fleet to converged,
// through the real pipeline: one commit on a Git repository, the root (its own process) placing
// and delegating over Mosquitto, every cluster placing on its nodes and committing its status,
// every node agent (sim runtime) reporting what runs. Then one-service changes at that scale.
// Goals (issue 5): ≤ 10 s wall and ≥ 2,000 placements/s; ≤ 300 ms for a one-service change.
//
// Clusters and agents run in a few "site" processes (this file run as a script with --site),
// each hosting its share of clusters and their nodes in-process, every part with its own MQTT
// connection and state directory, as `canopy cluster` and `canopy agent` run them: 5,100 Node
// processes would measure the machine, not canopy.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench, Figure } from './types.js';
import { BenchFleet, fleetYaml, clusterYaml, serviceYaml } from './lib/fleet.js';
import { Scope } from './lib/cleanup.js';
import { spawnPart, type Part } from './lib/proc.js';
import { median, percentile, round, nowMs, sleep } from './lib/stats.js';

const HEARTBEAT_S = 5;

/** Cluster i: somewhere in Europe, deterministic. */
function siteOf(i: number): { lat: number; lon: number } {
  return { lat: round(40 + ((i * 37) % 160) / 10, 3), lon: round(-5 + ((i * 53) % 300) / 10, 3) };
}

function spec(i: number, rev = 0): Record<string, unknown> {
  const s: Record<string, unknown> = { runtime: 'process', command: ['sleep', '3600'], replicas: 1, resources: { cpu: 0.05, memory: '16Mi' } };
  // A fifth of them must stay within 800 km of a cluster's site: geo filtering at both levels.
  if (i % 5 === 0) s.constraints = { geo: { ...siteOf(i % 100), withinKm: 800 } };
  if (rev) s.env = { REV: String(rev) };
  return s;
}

const run: Bench = async ({ quick, log }) => {
  const clusters = quick ? 10 : 100,
    nodes = quick ? 10 : 50,
    services = quick ? 1000 : 10_000,
    sites = quick ? 2 : 4;
  const changes = quick ? 5 : 10;
  const scope = new Scope();
  const f = new BenchFleet('benchscale', scope, {}, 'canopy-scale-');
  try {
    const names = Array.from({ length: clusters }, (_, i) => `c${String(i).padStart(3, '0')}`);
    const files: Record<string, string> = {
      'fleet.yaml': fleetYaml('benchscale', { heartbeatSeconds: HEARTBEAT_S, unreachableAfterSeconds: 60, statusRefreshSeconds: 600 }),
    };
    names.forEach((c, i) => {
      const at = siteOf(i);
      files[`clusters/${c}.yaml`] = clusterYaml(c, at.lat, at.lon);
    });
    const empty = await f.init(files);
    await f.startBroker();
    log(`Mosquitto on ${f.broker.url}; ${clusters} clusters × ${nodes} sim nodes in ${sites} site processes`);
    const started = nowMs();
    const parts: Part[] = [];
    for (let k = 0; k < sites; k++) {
      const mine = names.filter((_, i) => i % sites === k);
      const p = spawnPart(
        [
          '--site',
          '--broker',
          f.broker.url,
          '--repo',
          f.dir,
          '--fleet',
          'benchscale',
          '--clusters',
          mine.join(','),
          '--nodes',
          String(nodes),
          '--state-dir',
          path.join(f.work, 'state'),
          '--heartbeat-ms',
          String(HEARTBEAT_S * 1000),
        ],
        {
          name: `site-${k}`,
          logFile: path.join(f.work, `site-${k}.log`),
          scope,
          script: fileURLToPath(import.meta.url),
          // BENCH_PROFILE=site-0 profiles that site process as BENCH_PROFILE=root profiles the root.
          nodeArgs: [
            '--max-old-space-size=4096',
            ...((process.env.BENCH_PROFILE ?? '').split(',').includes(`site-${k}`)
              ? ['--cpu-prof', `--cpu-prof-dir=${path.join(f.work, 'prof', `site-${k}`)}`]
              : []),
          ],
        },
      );
      parts.push(p);
    }
    for (const p of parts) await p.waitForLog(/^ready/m, 300_000);
    log(`sites ready in ${round((nowMs() - started) / 1000, 1)} s; starting the root`);
    f.startRoot();
    await f.waitConverged(empty, 120_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${f.tails()}`);
    });
    await sleep(2 * HEARTBEAT_S * 1000); // every cluster's status settled

    log(`committing ${services} services in one commit`);
    const add: Record<string, string> = {};
    for (let i = 0; i < services; i++) add[`services/s${Math.floor(i / 100)}/svc-${i}.yaml`] = serviceYaml(`s${Math.floor(i / 100)}`, `svc-${i}`, spec(i));
    const big = f.commit(add, `${services} services`);
    const { seenAt, note } = await f.waitConverged(big.commit, 600_000, 20).catch((e) => {
      throw new Error(`${(e as Error).message}\n${f.tails()}`);
    });
    const wall = seenAt - big.startedAt;
    const accepted = Date.parse(note.at) - big.startedAt;
    const unschedulable = Object.keys(note.unschedulable ?? {}).length;
    log(`converged in ${round(wall / 1000, 2)} s (accepted after ${round(accepted)} ms; git commit ${round(big.gitMs)} ms); ${unschedulable} unschedulable`);

    const one: number[] = [];
    for (let k = 1; k <= changes; k++) {
      await sleep(300 + Math.random() * 500);
      const i = (k * 997) % services;
      const c = f.commit(
        { [`services/s${Math.floor(i / 100)}/svc-${i}.yaml`]: serviceYaml(`s${Math.floor(i / 100)}`, `svc-${i}`, spec(i, k)) },
        `svc-${i}: rev ${k}`,
      );
      const r = await f.waitConverged(c.commit, 60_000, 5);
      one.push(r.seenAt - c.startedAt);
    }
    log(`one-service change at this scale: p50 ${round(median(one))} ms, max ${round(Math.max(...one))} ms`);

    const figures: Figure[] = [
      { label: `${services} services from an empty fleet → converged`, value: round(wall / 1000, 2), unit: 's', goal: { op: '<=', value: 10 } },
      { label: 'placements per second (replicas / wall)', value: round(services / (wall / 1000)), unit: 'placements/s', goal: { op: '>=', value: 2000 } },
      { label: 'commit → root accepted (note.at)', value: round(accepted), unit: 'ms' },
      {
        label: 'one-service change → converged p50',
        value: round(median(one)),
        unit: 'ms',
        spread: [round(Math.min(...one)), round(percentile(one, 90))],
        goal: { op: '<=', value: 300 },
      },
    ];
    return {
      name: 'scale',
      figures,
      notes: [
        `${clusters} clusters × ${nodes} nodes (sim runtime, 8 cpu / 16 GiB each), ${services} services of 1 replica (a fifth with a geo constraint of 800 km), one commit; heartbeat ${HEARTBEAT_S} s`,
        `root as its own process; clusters and agents in ${sites} site processes, each part with its own MQTT connection over Mosquitto and its own state directory; clusters commit their status refs to the fleet repository`,
        "times run from the start of `git commit` to this benchmark seeing the note's convergedAt (polled every 20 ms; every 5 ms for single changes)",
        ...(unschedulable ? [`${unschedulable} service(s) unschedulable at the end`] : []),
      ],
    };
  } finally {
    await scope.close();
  }
};
export default run;

// ---- as a script: one site hosting several clusters and their simulated nodes ----------------

async function site(argv: string[]): Promise<void> {
  const { parseArgs } = await import('node:util');
  const { runCluster, runAgent } = await import('../cli/parts.js');
  const { createLogger } = await import('../reconciler/core/log.js');
  const { values: v } = parseArgs({
    args: argv,
    options: {
      site: { type: 'boolean' },
      broker: { type: 'string' },
      repo: { type: 'string' },
      fleet: { type: 'string' },
      clusters: { type: 'string' },
      nodes: { type: 'string' },
      'state-dir': { type: 'string' },
      'heartbeat-ms': { type: 'string' },
    },
  });
  const running: Array<{ stop(): Promise<void> }> = [];
  const stop = async () => {
    for (const p of running.reverse()) await p.stop().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  // BENCH_SITE_DEBUG=c000 logs that cluster's passes with their times (CANOPY_LOG=debug does the root's).
  const debug = new Set((process.env.BENCH_SITE_DEBUG ?? '').split(','));
  const log = (name: string) => createLogger(name, debug.has(name.replace(/^cluster /, '')) ? 'debug' : 'warn');
  const dir = String(v['state-dir']);
  for (const c of String(v.clusters).split(',').filter(Boolean)) {
    running.push(await runCluster({ name: c, broker: String(v.broker), repoDir: String(v.repo), stateDir: path.join(dir, c), log: log(`cluster ${c}`) }));
    const agents = await Promise.all(
      Array.from({ length: Number(v.nodes) }, (_, i) =>
        runAgent({
          cluster: c,
          name: `${c}-n${i + 1}`,
          broker: String(v.broker),
          fleet: String(v.fleet),
          runtime: 'sim',
          stateDir: path.join(dir, c, `n${i + 1}`),
          capacity: { cpu: 8, memoryMi: 16384, gpu: 0 },
          heartbeatMs: Number(v['heartbeat-ms']),
          log: log(`agent ${c}-n${i + 1}`),
        }),
      ),
    );
    running.push(...agents);
  }
  process.stderr.write(`ready ${running.length}\n`);
}

if (process.argv.includes('--site') && process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  site(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`site: ${(e as Error).stack}\n`);
    process.exit(1);
  });
}
