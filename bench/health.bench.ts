// Health probes' cost on an idle agent (issue 16: "the probe cost per replica on an idle agent
// (CPU and RSS)"). Root, one cluster and one agent as separate processes over Mosquitto, the agent
// with the process runtime on a loopback address of its own. N replicas (N services of one replica
// each, ports 7100+i) of a tiny Node HTTP server listening on CANOPY_NODE_ADDRESS. Two phases of
// the same run, each after the commit converged and a settle pause: the N replicas without
// `health`, then with `health: {http: {path: /, port}, intervalSeconds: 1}` (a new spec: the
// replicas restart, and converged then means every probe passed). The agent process's CPU
// (utime+stime) and RSS are watched over the same idle windows in each phase; the difference,
// divided by N, is the cost of one replica probed every second.
import { readdirSync, readFileSync, type Dirent } from 'node:fs';
import path from 'node:path';
import type { Bench, Figure } from './types.js';
import { BenchFleet, fleetYaml, clusterYaml, serviceYaml } from './lib/fleet.js';
import { Scope } from './lib/cleanup.js';
import { workloadsOf } from './lib/proc.js';
import { watchIdle, type IdleFigures } from './lib/proc.js';
import { round, sleep } from './lib/stats.js';

const FLEET = 'benchhealth';
const CLUSTER = 'c1';
const NODE = 'c1-n1';
const PORT0 = 7100;
/** Added CPU per replica probed every second, percent of one core. */
const GOAL_CPU_PER_REPLICA = 0.2;

/** A tiny HTTP server: one line in its log per request (to count the probes it answered). */
const SERVER =
  "require('http').createServer((q,s)=>{console.log(q.method+' '+q.url);s.end('ok\\n')})" +
  ".listen(Number(process.env.CANOPY_PORT),process.env.CANOPY_NODE_ADDRESS||'127.0.0.1')";

/** Requests the workloads logged so far (every file under the agent's state dir named logs/*.log). */
function requestsLogged(dir: string): number {
  let n = 0;
  const walk = (d: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (path.basename(d) === 'logs' && e.name.endsWith('.log')) n += (readFileSync(p, 'utf8').match(/^GET /gm) ?? []).length;
    }
  };
  walk(dir);
  return n;
}

function services(n: number, probed: boolean): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const port = PORT0 + i;
    files[`services/hb/web-${i}.yaml`] = serviceYaml('hb', `web-${i}`, {
      runtime: 'process',
      command: [process.execPath, '-e', SERVER],
      replicas: 1,
      resources: { cpu: 0.05, memory: '32Mi' },
      ports: [{ port }],
      ...(probed ? { health: { http: { path: '/', port }, intervalSeconds: 1 } } : {}),
    });
  }
  return files;
}

const run: Bench = async ({ quick, log }) => {
  const n = quick ? 5 : 20;
  const settle = quick ? 3000 : 5000;
  const window = quick ? 4000 : 5000;
  const windows = quick ? 2 : 4;
  const scope = new Scope();
  const f = new BenchFleet(FLEET, scope);
  const address = `127.77.${process.pid % 250}.2`;
  // Detached workloads outlive their agent: kill them all at the end.
  scope.add(async () => {
    for (const pid of workloadsOf(FLEET, NODE)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
  try {
    const first = await f.init({ 'fleet.yaml': fleetYaml(FLEET), [`clusters/${CLUSTER}.yaml`]: clusterYaml(CLUSTER, 48.137, 11.575), ...services(n, false) });
    await f.startBroker();
    log(`Mosquitto on ${f.broker.url}; root, cluster and one agent (process runtime, ${address}) as processes; ${n} replicas of a Node HTTP server`);
    f.startCluster(CLUSTER);
    const agent = f.startAgent(CLUSTER, NODE, { runtime: 'process', cpu: 4, memory: '8Gi', args: ['--address', address] });
    for (const p of f.parts.values()) await p.waitForLog(/running/);
    f.startRoot();
    const phase = async (what: string, commit: string): Promise<{ m: IdleFigures; probesPerS: number }> => {
      await f.waitConverged(commit, 120_000).catch((e) => {
        throw new Error(`${(e as Error).message}\n${f.tails()}`);
      });
      const running = workloadsOf(FLEET, NODE).length;
      if (running !== n) throw new Error(`${what}: ${running} workloads running, expected ${n}\n${f.tails()}`);
      log(`${what}: converged, ${running} workloads running; settling ${settle / 1000} s, then watching ${windows} × ${window / 1000} s of idle`);
      await sleep(settle);
      const before = requestsLogged(path.join(f.work, 'state'));
      const t0 = performance.now();
      const { agent: m } = await watchIdle({ agent: agent.pid }, window, windows);
      const probesPerS = (requestsLogged(path.join(f.work, 'state')) - before) / ((performance.now() - t0) / 1000);
      log(
        `${what}: agent CPU ${round(m.cpuPercent, 2)} % (windows: ${m.cpuWindows.map((c) => round(c, 2)).join(', ')}), RSS ${round(m.rssMB)} MB (max ${round(m.rssMaxMB)}, anonymous ${round(m.anonMB)}); ${round(probesPerS)} requests/s answered by the workloads`,
      );
      return { m, probesPerS };
    };
    const off = await phase('without health', first);
    const { commit } = f.commit(services(n, true), 'health: http / every second');
    const on = await phase('with health', commit);

    const cpuAdded = (on.m.cpuPercent - off.m.cpuPercent) / n;
    const rssAddedKB = ((on.m.rssMB - off.m.rssMB) * 1024) / n;
    const cpu = (m: IdleFigures) => m.cpuWindows.map((c) => round(c, 2)).join(', ');
    const figures: Figure[] = [
      {
        label: `agent idle CPU, ${n} replicas, no probes`,
        value: round(off.m.cpuPercent, 2),
        unit: '%',
        spread: [round(off.m.cpuSpread[0], 2), round(off.m.cpuSpread[1], 2)],
      },
      {
        label: `agent idle CPU, ${n} replicas probed every 1 s (http)`,
        value: round(on.m.cpuPercent, 2),
        unit: '%',
        spread: [round(on.m.cpuSpread[0], 2), round(on.m.cpuSpread[1], 2)],
      },
      {
        label: 'added agent CPU per replica probed every 1 s',
        value: round(cpuAdded, 3),
        unit: '%',
        goal: { op: '<=', value: GOAL_CPU_PER_REPLICA },
      },
      { label: `agent idle RSS, ${n} replicas, no probes`, value: round(off.m.rssMB), unit: 'MB', spread: [round(off.m.rssMB), round(off.m.rssMaxMB)] },
      { label: `agent idle RSS, ${n} replicas probed every 1 s`, value: round(on.m.rssMB), unit: 'MB', spread: [round(on.m.rssMB), round(on.m.rssMaxMB)] },
      { label: 'added agent RSS per probed replica', value: round(rssAddedKB, 0), unit: 'KB' },
    ];
    return {
      name: 'health',
      figures,
      notes: [
        `one agent (process runtime, --address ${address}) with ${n} replicas of a Node HTTP server (${n} services × 1 replica, ports ${PORT0}–${PORT0 + n - 1}); two phases of one run: without health, then with health {http: {path: /, port}, intervalSeconds: 1} (the replicas restart on the new spec); each measured after the commit converged and ${settle / 1000} s settling, over ${windows} idle windows of ${window / 1000} s`,
        `CPU: share of one core, median over the windows (spread: min–max); without probes ${cpu(off.m)}; with probes ${cpu(on.m)}. RSS: median of 1 s samples (spread: median–max); anonymous ${round(off.m.anonMB)} → ${round(on.m.anonMB)} MB; high-water ${round(off.m.hwmMB)} → ${round(on.m.hwmMB)} MB`,
        `requests the workloads answered during the windows: ${round(off.probesPerS)}/s without probes, ${round(on.probesPerS)}/s with (expected ${n}/s: one probe per replica per second, each a new TCP connection, GET, Connection: close)`,
        `goal: ≤ ${GOAL_CPU_PER_REPLICA} % of a core per replica probed every second (so 50 replicas probed every second cost ≤ 10 % of a core; at the default 10 s interval, a tenth of that). The added figures are differences of two noisy idle measurements on a shared machine: the RSS one in particular includes whatever the restart of the replicas left on the heap`,
      ],
    };
  } finally {
    await scope.close();
  }
};
export default run;
