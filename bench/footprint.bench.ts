// Idle footprint: resident memory (VmRSS, /proc/<pid>/status) and CPU (utime+stime,
// /proc/<pid>/stat) of canopy's parts as separate processes, started as users start them (`node
// dist/cli/canopy.js agent …`: what the canopy bin runs), after the fleet has converged and
// settled, over several idle windows (CPU: median over the windows; RSS: median of 1 s samples).
// Two fleets:
//  - parts: cluster c1 with 50 sim nodes (one `canopy agent --runtime sim` process measured, 49
//    in a helper process), cluster c2 with one `canopy agent --runtime docker` running a container;
//  - root: a repository of 10,000 services (services/app-N/svc-M.yaml; --quick: 2,000) placed on
//    two sim clusters of 5 large nodes each.
import Dockerode from 'dockerode';
import type { Bench, Figure } from './types.js';
import { BenchFleet, fleetYaml, clusterYaml, serviceYaml } from './lib/fleet.js';
import { Scope, removeFleetDocker } from './lib/cleanup.js';
import path from 'node:path';
import { watchIdle, spawnPart, DIST, type IdleFigures } from './lib/proc.js';
import { round, nowMs, sleep } from './lib/stats.js';

const GOAL = { agent: 60, cluster: 100, root: 300, cpu: 0.5 };

const FLOOR = 'Node + MQTT.js client';

function figuresFor(what: string, m: IdleFigures, memGoal: number | undefined, floor?: IdleFigures): Figure[] {
  return [
    {
      label: `${what}: idle RSS`,
      value: round(m.rssMB),
      unit: 'MB',
      spread: [round(m.rssMB), round(m.rssMaxMB)],
      ...(floor ? { floor: { label: FLOOR, value: round(floor.rssMB) } } : {}),
      ...(memGoal ? { goal: { op: '<=' as const, value: memGoal } } : {}),
    },
    {
      label: `${what}: idle CPU`,
      value: round(m.cpuPercent, 2),
      unit: '%',
      spread: [round(m.cpuSpread[0], 2), round(m.cpuSpread[1], 2)],
      ...(floor ? { floor: { label: FLOOR, value: Math.max(0.01, round(floor.cpuPercent, 2)) } } : {}),
      ...(memGoal ? { goal: { op: '<=' as const, value: GOAL.cpu } } : {}),
    },
  ];
}

/** "63.1 MB = 38.0 file-backed + 25.1 anonymous": what a reader needs to see where RSS goes. */
const split = (m: IdleFigures) =>
  `${round(m.rssMB)} MB (${round(m.fileMB)} file-backed, mostly the node binary's code, shared by every Node process; ${round(m.anonMB)} anonymous: heap, stacks, malloc)`;
const cpus = (m: IdleFigures) => m.cpuWindows.map((c) => round(c, 2)).join(', ');

/** The part of the window left for the idle measurement, and how many windows. */
const windowsOf = (quick: boolean) => ({ settle: quick ? 3000 : 5000, window: quick ? 6000 : 15_000, windows: quick ? 2 : 4 });

async function partsFleet(quick: boolean, log: (l: string) => void): Promise<{ figures: Figure[]; notes: string[] }> {
  const fleet = `benchfoot-${process.pid}`;
  const scope = new Scope();
  const docker = new Dockerode();
  scope.add(() => removeFleetDocker(docker, fleet));
  const f = new BenchFleet(fleet, scope);
  try {
    const files: Record<string, string> = {
      'fleet.yaml': fleetYaml(fleet),
      'clusters/c1.yaml': clusterYaml('c1', 48.1, 11.5),
      'clusters/c2.yaml': clusterYaml('c2', 48.8, 2.3),
    };
    for (let i = 0; i < 50; i++) {
      files[`services/foot/sim-${i}.yaml`] = serviceYaml('foot', `sim-${i}`, {
        runtime: 'process',
        command: ['sleep', '3600'],
        replicas: 4,
        resources: { cpu: 0.1, memory: '16Mi' },
        constraints: { clusters: { names: ['c1'] } },
      });
    }
    files['services/foot/box.yaml'] = serviceYaml('foot', 'box', {
      runtime: 'container',
      image: 'canopy/busybox:1',
      command: ['sleep', '3600'],
      replicas: 1,
      resources: { cpu: 0.05, memory: '16Mi' },
      constraints: { clusters: { names: ['c2'] } },
    });
    const first = await f.init(files);
    await f.startBroker();
    log(
      'fleet 1: cluster c1 with 50 sim nodes (c1-n1 its own process, 49 in a helper), cluster c2 with one docker agent; 50 services × 4 replicas + 1 container',
    );
    const cluster = f.startCluster('c1');
    f.startCluster('c2');
    // The agents measured serve their metrics (issue 18: the footprint goal holds with them on).
    const metrics = ['--metrics', '127.0.0.1:0'];
    const simAgent = f.startAgent('c1', 'c1-n1', { cpu: 4, memory: '8Gi', args: metrics });
    const helper = f.startSimNodes('c1', 49, { first: 2, cpu: 4, memoryMi: 8192 });
    const dockAgent = f.startAgent('c2', 'c2-n1', { runtime: 'docker', cpu: 2, memory: '4Gi', args: metrics });
    const bare = spawnPart([f.broker.url], {
      name: 'mqtt-idle',
      script: path.join(DIST, 'bench/lib/mqtt-idle.js'),
      logFile: path.join(f.work, 'mqtt-idle.log'),
      scope,
    });
    const node = spawnPart([], { name: 'node-idle', script: path.join(DIST, 'bench/lib/node-idle.js'), logFile: path.join(f.work, 'node-idle.log'), scope });
    await bare.waitForLog(/ready/);
    await node.waitForLog(/ready/);
    for (const p of f.parts.values()) await p.waitForLog(/running|ready/);
    const root = f.startRoot();
    await f.waitConverged(first, 90_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${f.tails()}`);
    });
    const { settle, window, windows } = windowsOf(quick);
    log(`converged; settling ${settle / 1000} s, then watching ${windows} × ${window / 1000} s of idle`);
    // Scraped once before the windows, as Prometheus would have: the endpoint's code is loaded.
    for (const a of [simAgent, dockAgent]) {
      const url = /metrics at (http:\S+)/.exec(a.log())?.[1];
      const body = url ? await (await fetch(url)).text() : '';
      if (!body.includes('canopy_agent_replicas')) throw new Error(`no metrics from the agent (${url}):\n${a.log().slice(-1500)}`);
    }
    await sleep(settle);
    const m = await watchIdle(
      { simAgent: simAgent.pid, dockAgent: dockAgent.pid, cluster: cluster.pid, root: root.pid, helper: helper.pid, bare: bare.pid, node: node.pid },
      window,
      windows,
    );
    for (const [k, v] of Object.entries(m))
      log(`${k}: RSS ${split(v)}, max ${round(v.rssMaxMB)}, high-water ${round(v.hwmMB)}; CPU ${round(v.cpuPercent, 2)} % (windows: ${cpus(v)})`);
    return {
      figures: [
        ...figuresFor('agent (sim)', m.simAgent, GOAL.agent, m.bare),
        ...figuresFor('agent (docker, 1 container)', m.dockAgent, GOAL.agent, m.bare),
        ...figuresFor('cluster, 50 nodes', m.cluster, GOAL.cluster),
      ],
      notes: [
        `agents measured with --metrics on (scraped once before the windows); ${windows} idle windows of ${window / 1000} s after ${settle / 1000} s settling; RSS: median of 1 s samples (spread: median–max); CPU: share of one core, median over the windows (spread: min–max); fleet default timings (heartbeat 2 s)`,
        `floor: a bare Node.js process with one MQTT.js connection set up as canopy's bus does (keepalive 2 s, one retained status, the agent's V8 settings): RSS ${split(m.bare)}, CPU ${round(m.bare.cpuPercent, 2)} %; Node.js alone, loading nothing: RSS ${split(m.node)}, CPU ${round(m.node.cpuPercent, 2)} %`,
        `agent (sim): RSS ${split(m.simAgent)}; agent (docker): RSS ${split(m.dockAgent)}; cluster: RSS ${split(m.cluster)}`,
        `CPU per window, %: agent (sim) ${cpus(m.simAgent)}; agent (docker) ${cpus(m.dockAgent)}; cluster ${cpus(m.cluster)}; floor ${cpus(m.bare)}`,
        `high-water RSS: agent (sim) ${round(m.simAgent.hwmMB)} MB, agent (docker) ${round(m.dockAgent.hwmMB)} MB, cluster ${round(m.cluster.hwmMB)} MB; root of this 51-service fleet ${round(m.root.rssMB)} MB, ${round(m.root.cpuPercent, 2)} % CPU; the 49-agent helper ${round(m.helper.rssMB)} MB`,
      ],
    };
  } finally {
    await scope.close();
  }
}

async function rootFleet(quick: boolean, log: (l: string) => void): Promise<{ figures: Figure[]; notes: string[] }> {
  const count = quick ? 2000 : 10_000;
  const perApp = 100;
  const fleet = `benchroot-${process.pid}`;
  const scope = new Scope();
  const f = new BenchFleet(fleet, scope);
  try {
    const files: Record<string, string> = {
      'fleet.yaml': fleetYaml(fleet),
      'clusters/r1.yaml': clusterYaml('r1', 48.1, 11.5),
      'clusters/r2.yaml': clusterYaml('r2', 48.8, 2.3),
    };
    for (let i = 0; i < count; i++) {
      const app = `app-${Math.floor(i / perApp)}`,
        svc = `svc-${i % perApp}`;
      files[`services/${app}/${svc}.yaml`] = serviceYaml(app, svc, {
        runtime: 'process',
        command: ['sleep', '3600'],
        replicas: 1,
        resources: { cpu: 0.01, memory: '1Mi' },
      });
    }
    let t = nowMs();
    const first = await f.init(files);
    log(
      `fleet 2: ${count.toLocaleString('en-US')} services generated and committed in ${round((nowMs() - t) / 1000)} s; two sim clusters × 5 nodes (64 cores, 64 GiB each)`,
    );
    await f.startBroker();
    for (const c of ['r1', 'r2']) {
      f.startCluster(c);
      f.startSimNodes(c, 5, { cpu: 64, memoryMi: 65536 });
    }
    for (const p of f.parts.values()) await p.waitForLog(/running|ready/);
    t = nowMs();
    const root = f.startRoot(undefined, { args: ['--metrics', '127.0.0.1:0'] });
    const timeout = quick ? 90_000 : 240_000;
    let convergedS: number | undefined;
    try {
      const { seenAt, note } = await f.waitConverged(first, timeout, 200);
      convergedS = (seenAt - t) / 1000;
      log(`root accepted the commit ${round((Date.parse(note.at) - t) / 1000)} s after it started; converged after ${round(convergedS)} s`);
    } catch (e) {
      log(`${(e as Error).message}: measuring the root as it is`);
    }
    const { settle, window, windows } = windowsOf(quick);
    await sleep(settle);
    log(`watching ${windows} × ${window / 1000} s of idle`);
    const m = await watchIdle({ root: root.pid }, window, windows);
    log(
      `root: RSS ${split(m.root)}, max ${round(m.root.rssMaxMB)}, high-water ${round(m.root.hwmMB)}; CPU ${round(m.root.cpuPercent, 2)} % (windows: ${cpus(m.root)})`,
    );
    const what = `root, ${count.toLocaleString('en-US')} services`;
    const scrape = await scrapeTimes(root.log(), 20);
    log(`root: /metrics in ${round(scrape.medianMs, 1)} ms (median of 20, max ${round(scrape.maxMs, 1)}), ${round(scrape.kb, 1)} KB`);
    return {
      figures: [
        ...figuresFor(what, m.root, GOAL.root),
        { label: `${what}: start → converged`, value: convergedS === undefined ? NaN : round(convergedS), unit: 's' },
        { label: `${what}: /metrics scrape`, value: round(scrape.medianMs, 1), unit: 'ms', spread: [round(scrape.minMs, 1), round(scrape.maxMs, 1)] },
      ],
      notes: [
        `root /metrics (after the idle windows; default --metrics-services 20): ${round(scrape.kb, 1)} KB, ${round(scrape.medianMs, 1)} ms median of 20 scrapes (min–max ${round(scrape.minMs, 1)}–${round(scrape.maxMs, 1)})`,
        `root with ${count} services (${count / perApp} apps × ${perApp}), 1 replica each, on 2 sim clusters × 5 nodes; RSS ${split(m.root)}, high-water ${round(m.root.hwmMB)} MB; CPU per window, %: ${cpus(m.root)}; ${convergedS === undefined ? `NOT converged within ${timeout / 1000} s` : `converged ${round(convergedS)} s after the root started`}`,
      ],
    };
  } finally {
    await scope.close();
  }
}

/** `n` scrapes of the /metrics a part logged (`metrics at URL`), one after the other: their times and the body's size. */
async function scrapeTimes(partLog: string, n: number): Promise<{ medianMs: number; minMs: number; maxMs: number; kb: number }> {
  const url = /metrics at (http:\S+)/.exec(partLog)?.[1];
  if (!url) throw new Error(`the root logged no metrics URL:\n${partLog.slice(-1500)}`);
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const t = nowMs();
    bytes = (await (await fetch(url)).arrayBuffer()).byteLength;
    ms.push(nowMs() - t);
  }
  ms.sort((a, b) => a - b);
  return { medianMs: ms[Math.floor(n / 2)], minMs: ms[0], maxMs: ms[n - 1], kb: bytes / 1024 };
}

const run: Bench = async ({ quick, log }) => {
  const a = await partsFleet(quick, log);
  const b = await rootFleet(quick, log);
  return { name: 'footprint', figures: [...a.figures, ...b.figures], notes: [...a.notes, ...b.notes] };
};
export default run;
