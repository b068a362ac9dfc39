// An instance's death → its removal from every endpoint set. Root, two clusters and six agents as
// separate processes over Mosquitto (process runtime, each node on its own loopback address).
// ep/echo has one replica per node (one port: two never share a node); every node's workloads
// may call it, so every node is told its endpoints (its retained `desired`, watched here). A
// round kills one node outright (its agent and its workload, kill -9: the host's death) and
// times until no other node's routes list that node's endpoint; then the node comes back and
// the next round waits until everyone lists it again. Goal: one heartbeat (2 s) plus 1 s.
import mqtt from 'mqtt';
import type { Bench, Figure } from './types.js';
import { BenchFleet, fleetYaml, clusterYaml, serviceYaml } from './lib/fleet.js';
import { Scope } from './lib/cleanup.js';
import { workloadsOf } from './lib/proc.js';
import { median, round, nowMs, sleep } from './lib/stats.js';
import type { NodeDesired } from '../schemas/messages.js';

const CLUSTERS = { c1: { lat: 48.137, lon: 11.575 }, c2: { lat: 48.857, lon: 2.352 } };
const NODES = 3;
const PORT = 7070;
const HEARTBEAT_MS = 2000;

const run: Bench = async ({ quick, log }) => {
  const rounds = quick ? 2 : 6;
  const scope = new Scope();
  const f = new BenchFleet('benchep', scope);
  const net = `127.${90 + (process.pid % 100)}.0`;
  const nodes = Object.keys(CLUSTERS).flatMap((c) => Array.from({ length: NODES }, (_, i) => ({ cluster: c, node: `${c}-n${i + 1}` })));
  const address = new Map(nodes.map((n, i) => [n.node, `${net}.${i + 2}`]));
  const routes = new Map<string, string[]>();
  // Detached workloads outlive their agents: kill them all at the end.
  scope.add(async () => {
    for (const n of nodes) for (const pid of workloadsOf('benchep', n.node)) process.kill(pid, 'SIGKILL');
  });
  try {
    const files: Record<string, string> = { 'fleet.yaml': fleetYaml('benchep') };
    for (const [c, at] of Object.entries(CLUSTERS)) files[`clusters/${c}.yaml`] = clusterYaml(c, at.lat, at.lon);
    files['services/ep/echo.yaml'] = serviceYaml('ep', 'echo', {
      runtime: 'process',
      command: ['sleep', '3600'],
      replicas: nodes.length,
      resources: { cpu: 0.1, memory: '16Mi' },
      ports: [{ port: PORT }],
    });
    const first = await f.init(files);
    await f.startBroker();
    log(`Mosquitto on ${f.broker.url}; 2 clusters, ${nodes.length} agents (process runtime, ${net}.x) and the root as processes`);
    const agent = (n: (typeof nodes)[number]) =>
      f.startAgent(n.cluster, n.node, { runtime: 'process', cpu: 2, memory: '1Gi', args: ['--address', address.get(n.node)!] });
    for (const c of Object.keys(CLUSTERS)) f.startCluster(c);
    for (const n of nodes) agent(n);
    for (const p of f.parts.values()) await p.waitForLog(/running/);
    const watch = await mqtt.connectAsync(f.broker.url, { protocolVersion: 4, clientId: `bench-ep-${process.pid}` });
    scope.add(() => watch.endAsync());
    watch.on('message', (topic, payload) => {
      const node = topic.split('/').at(-2)!;
      const d = JSON.parse(payload.toString()) as NodeDesired;
      routes.set(
        node,
        (d.routes?.['ep/echo']?.endpoints ?? []).map((e) => e.addr),
      );
    });
    await watch.subscribeAsync('canopy/v1/benchep/clusters/+/nodes/+/desired');
    f.startRoot();
    await f.waitConverged(first, 60_000);
    const everyone = (pred: (addrs: string[]) => boolean, except?: string) => nodes.every((n) => n.node === except || pred(routes.get(n.node) ?? []));
    const waitFor = async (what: string, pred: () => boolean, ms = 30_000) => {
      const end = nowMs() + ms;
      while (!pred()) {
        if (nowMs() > end) throw new Error(`${what}: not within ${ms} ms; routes ${JSON.stringify(Object.fromEntries(routes))}\n${f.tails()}`);
        await sleep(2);
      }
    };
    await waitFor('every node lists every instance', () => everyone((a) => a.length === nodes.length));
    log(`every node lists ${nodes.length} endpoints of ep/echo; ${rounds} rounds of a node's death`);
    const removal: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const victim = nodes[(r * 2 + 1) % nodes.length];
      const ep = `${address.get(victim.node)}:${PORT}`;
      const part = f.parts.get(`agent-${victim.node}`)!;
      const pids = workloadsOf('benchep', victim.node);
      const t0 = nowMs();
      part.child.kill('SIGKILL');
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      await waitFor(`${ep} leaves every endpoint set`, () => everyone((a) => !a.includes(ep), victim.node));
      removal.push(nowMs() - t0);
      log(`round ${r + 1}: ${victim.node} killed; its endpoint gone from every other node in ${round(removal.at(-1)!, 0)} ms`);
      if (part.child.exitCode === null && part.child.signalCode === null) await new Promise((res) => part.child.once('exit', res));
      f.parts.set(`agent-${victim.node}`, agent(victim));
      await waitFor(`${ep} back everywhere`, () => everyone((a) => a.includes(ep)), 60_000);
    }
    const figures: Figure[] = [
      {
        label: 'instance death → gone from every endpoint set, median',
        value: round(median(removal), 0),
        unit: 'ms',
        spread: [round(Math.min(...removal), 0), round(Math.max(...removal), 0)],
        goal: { op: '<=', value: HEARTBEAT_MS + 1000 },
      },
    ];
    return {
      name: 'endpoints',
      figures,
      notes: [
        `${nodes.length} nodes in 2 clusters, heartbeat ${HEARTBEAT_MS} ms; a node killed outright (agent and workload, kill -9), ${rounds} rounds; spread is min–max`,
        'the killed agent’s TCP connection closes, so the broker publishes its last will at once and its cluster drops its endpoints; a node cut off silently (no FIN) is noticed at the broker’s keepalive, 1.5 × the heartbeat',
      ],
    };
  } finally {
    await scope.close();
  }
};
export default run;
