import path from 'node:path';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { Command } from '../args.js';
import { brokerUrl, num } from '../args.js';
import { UsageError } from '../../reconciler/core/errors.js';
import { createLogger, type Logger } from '../../reconciler/core/log.js';
import { openRepo, type Repo } from '../../reconciler/git/repo.js';
import { listFiles } from '../../reconciler/git/tree.js';
import { readCommit } from '../../reconciler/git/repo.js';
import { initFleetRepo, isRepo, fleetAtMain } from '../fleet-repo.js';
import { runRoot, runCluster, runAgent, clusterFileAtMain, timingsOf, type Running } from '../parts.js';
import { untilSignal } from '../lifecycle.js';
import { packageRoot } from '../paths.js';
import { fleetStatus } from '../../reconciler/report/fleet-status.js';
import { renderStatus } from '../../reconciler/report/render.js';
import type { LatLon } from '../../reconciler/core/geo.js';
import { appendFileSync, mkdirSync } from 'node:fs';

const cmd: Command = {
  name: 'up',
  summary: 'run a whole fleet on this machine: broker, root, clusters, agents',
  usage: [
    'Usage: canopy up --repo DIR [--broker URL] [--clusters N] [--nodes M] [--runtime docker|process|sim] [--keep-workloads]',
    '',
    '  --repo DIR      the fleet repository; created from the template when DIR has none',
    '  --broker URL    an MQTT broker (default: one embedded in this process)',
    '  --clusters N    how many clusters (default: one per clusters/*.yaml, else 2)',
    '  --nodes M       nodes per cluster (default: the cluster file’s spec.nodes, else 2)',
    '  --runtime R     docker when a Docker Engine answers, else process; sim runs nothing',
    '  --keep-workloads  leave containers and processes running on Ctrl-C (the next up adopts them)',
    '',
    'Logs go to DIR/.git/canopy-up/canopy.log. Commit to main to deploy; Ctrl-C stops.',
  ].join('\n'),
  options: {
    repo: { type: 'string' },
    broker: { type: 'string' },
    clusters: { type: 'string' },
    nodes: { type: 'string' },
    runtime: { type: 'string' },
    'keep-workloads': { type: 'boolean' },
  },
  async run(v) {
    const dir = path.resolve(String(v.repo ?? 'fleet'));
    const say = (s: string) => process.stdout.write(s + '\n');
    if (!(await isRepo(dir))) {
      const c = await initFleetRepo(dir);
      say(`Created fleet repository ${dir} from the template (main ${c.slice(0, 12)}).`);
    }
    const repo = await openRepo(dir);
    const { commit, fleet } = await fleetAtMain(repo);
    const stateRoot = path.join(repo.gitdir, 'canopy-up');
    mkdirSync(stateRoot, { recursive: true });
    const logFile = path.join(stateRoot, 'canopy.log');
    const log = fileLogger(logFile);

    let runtime = v.runtime as string | undefined;
    if (runtime && !['docker', 'process', 'sim'].includes(runtime)) throw new UsageError(`--runtime ${runtime}: expected docker, process or sim`);
    if (!runtime) {
      const { dockerAvailable } = await import('../../agents/runtimes/docker.js');
      runtime = (await dockerAvailable()) ? 'docker' : 'process';
      say(`Runtime: ${runtime}${runtime === 'process' ? ' (no Docker Engine answered; container services will show as unschedulable)' : ''}`);
    }
    if (runtime === 'docker') ensureDemoImage(say);

    const parts: Running[] = [];
    const stopAll = untilSignal(() => parts);
    let broker = v.broker ? brokerUrl(v.broker) : undefined;
    if (!broker) {
      const { startEmbeddedBroker } = await import('../../reconciler/mqtt/broker.js');
      const b = await startEmbeddedBroker();
      parts.push({ stop: () => b.close() });
      broker = b.url;
      say(`Broker: embedded at ${broker}`);
    }
    const clusters = await clusterPlan(repo, commit, num('clusters', v.clusters, 1), num('nodes', v.nodes, 0));
    const tm = timingsOf(fleet);
    const agentStops: Array<() => Promise<void>> = [];
    const clusterParts: Running[] = [];
    for (const c of clusters) {
      const cp = await runCluster({ name: c.name, broker, repoDir: dir, stateDir: path.join(stateRoot, c.name), log: log.child(`cluster ${c.name}`) });
      parts.push(cp);
      clusterParts.push(cp);
      for (let i = 1; i <= c.nodes; i++) {
        const node = `${c.name}-n${i}`;
        const at = c.location ? { lat: c.location.lat + 0.01 * i, lon: c.location.lon + 0.01 * i } : undefined;
        const a = await runAgent({
          cluster: c.name,
          name: node,
          broker,
          fleet: fleet.metadata.name,
          runtime: runtime as 'docker',
          stateDir: path.join(stateRoot, c.name, node),
          capacity: { cpu: 2, memoryMi: 2048, gpu: 0 },
          location: at,
          heartbeatMs: tm.heartbeatMs,
          log: log.child(`agent ${node}`),
        });
        parts.push(a);
        if (!v['keep-workloads'])
          agentStops.push(() => removeWorkloads(fleet.metadata.name, c.name, node, runtime as 'docker', path.join(stateRoot, c.name, node)));
      }
    }
    // Stopped in reverse: the root, then the clusters, then the agents (a cluster that outlived its
    // agents would warn that each of them went away), then the broker.
    for (const cp of clusterParts) {
      parts.splice(parts.indexOf(cp), 1);
      parts.push(cp);
    }
    parts.push(await runRoot({ repo, broker, log: log.child('root') }));
    if (agentStops.length)
      parts.unshift({
        stop: async () => {
          for (const s of agentStops) await s().catch(() => undefined);
        },
      });
    say(`Fleet ${fleet.metadata.name}: ${clusters.length} cluster(s) × nodes [${clusters.map((c) => `${c.name}:${c.nodes}`).join(', ')}], logs in ${logFile}`);
    say('Commit to main in that repository to deploy. Ctrl-C stops' + (v['keep-workloads'] ? ' (workloads keep running).' : ' and removes the workloads.'));

    let shown = '';
    let lastLine = '';
    const timer = setInterval(async () => {
      try {
        const r = await fleetStatus(repo);
        const svcs = Object.values(r.services);
        const done = svcs.filter((s) => s.state === 'converged').length;
        // A line when something changed (not every second with the same news), the table when it did.
        const line = `main ${r.head?.commit.slice(0, 12)} ${r.head?.outcome}${r.head?.convergedAt ? ', converged' : ''}: ${done}/${svcs.length} services converged`;
        const table = renderStatus(r)
          .split('\n')
          .filter((l) => !/ago$/.test(l))
          .join('\n');
        if (table !== shown) {
          shown = table;
          say('\n' + renderStatus(r));
          lastLine = line;
        } else if (line !== lastLine) {
          say(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
          lastLine = line;
        }
      } catch (e) {
        log.debug(`status: ${(e as Error).message}`);
      }
    }, 1000);
    const code = await stopAll;
    clearInterval(timer);
    return code;
  },
};
export default cmd;

interface ClusterPlan {
  name: string;
  nodes: number;
  location?: LatLon;
}

async function clusterPlan(repo: Repo, commit: string, count: number | undefined, nodes: number | undefined): Promise<ClusterPlan[]> {
  const tree = (await readCommit(repo, commit)).tree;
  const names = [...(await listFiles(repo, tree)).keys()]
    .map((p) => /^clusters\/([a-z0-9-]+)\.yaml$/.exec(p)?.[1])
    .filter((n): n is string => !!n)
    .sort();
  const want = count ?? (names.length || 2);
  const out: ClusterPlan[] = [];
  for (let i = 0; i < want; i++) {
    const name = names[i] ?? `cluster-${i + 1}`;
    const file = names[i] ? await clusterFileAtMain(repo, commit, name) : undefined;
    out.push({ name, nodes: nodes ?? file?.spec?.nodes ?? 2, location: file?.spec?.location });
  }
  return out;
}

/** The template's image, built offline from busybox-static when missing. */
function ensureDemoImage(say: (s: string) => void): void {
  const have = spawnSync('docker', ['image', 'inspect', 'canopy/busybox:1'], { stdio: 'ignore' });
  if (have.status === 0) return;
  const script = path.join(packageRoot, 'scripts', 'build-test-image.sh');
  if (!existsSync(script)) return;
  say('Building the demo image canopy/busybox:1 from busybox-static…');
  const r = spawnSync('bash', [script], { stdio: 'inherit' });
  if (r.status !== 0) say('Could not build canopy/busybox:1: container services will report "image not found" (see scripts/build-test-image.sh).');
}

async function removeWorkloads(fleet: string, cluster: string, node: string, runtime: 'docker' | 'process' | 'sim', stateDir: string): Promise<void> {
  const { loadDrivers } = await import('../../agents/runtimes/load.js');
  const d = await loadDrivers(runtime, { fleet, cluster, node, stateDir });
  for (const drv of new Set([d.container, d.process].filter(Boolean))) {
    for (const r of await drv!.list()) await drv!.stop(r.id);
    await drv!.close();
  }
}

function fileLogger(file: string): Logger {
  return createLogger('canopy', (process.env.CANOPY_LOG as never) || 'info', (line) => {
    appendFileSync(file, line + '\n');
    if (/^\S+ (warn|error)/.test(line)) process.stderr.write(line.slice(25) + '\n');
  });
}
