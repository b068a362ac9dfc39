// Idle control traffic: bytes on the broker per node in steady state. Root, two clusters and
// ten sim agents (five per cluster, in a helper process each, every agent with its own MQTT
// connection) reach Mosquitto through counting TCP proxies, one per role, so every byte in and
// out of the broker is counted (MQTT framing, PUBACKs and PINGs included). An observer
// subscribed to the fleet's topics (not through a proxy) says which messages the bytes are.
import net from 'node:net';
import { MqttClient } from 'mqtt';
import type { Bench, Figure } from './types.js';
import { BenchFleet, fleetYaml, clusterYaml, serviceYaml } from './lib/fleet.js';
import { Scope } from './lib/cleanup.js';
import { round, sleep } from './lib/stats.js';

const NODES_PER_CLUSTER = 5;

const kbit = (bytes: number, seconds: number) => (bytes * 8) / 1000 / seconds;

const run: Bench = async ({ quick, log }) => {
  const fleet = `benchtraffic-${process.pid}`;
  const scope = new Scope();
  const f = new BenchFleet(fleet, scope);
  try {
    const files: Record<string, string> = {
      'fleet.yaml': fleetYaml(fleet),
      'clusters/c1.yaml': clusterYaml('c1', 48.1, 11.5),
      'clusters/c2.yaml': clusterYaml('c2', 48.8, 2.3),
    };
    for (let i = 0; i < 10; i++)
      files[`services/t/svc-${i}.yaml`] = serviceYaml('t', `svc-${i}`, {
        runtime: 'process',
        command: ['sleep', '3600'],
        replicas: 2,
        resources: { cpu: 0.1, memory: '16Mi' },
      });
    const first = await f.init(files);
    await f.startBroker();
    log(`root, clusters c1 and c2, ${2 * NODES_PER_CLUSTER} sim agents, each role behind a counting proxy to Mosquitto; 10 services × 2 replicas`);
    for (const c of ['c1', 'c2']) {
      f.startCluster(c, (await f.proxy(c)).url());
      f.startSimNodes(c, NODES_PER_CLUSTER, { broker: (await f.proxy(`agents-${c}`)).url(), cpu: 4, memoryMi: 8192 });
    }
    for (const p of f.parts.values()) await p.waitForLog(/running|ready/);
    f.startRoot((await f.proxy('root')).url());
    await f.waitConverged(first, 60_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${f.tails()}`);
    });

    // The observer: which topics carry the idle traffic.
    const u = new URL(f.broker.url);
    const obs = new MqttClient(() => net.createConnection({ host: u.hostname, port: Number(u.port), noDelay: true }) as never, {
      clientId: `bench-observer-${process.pid}`,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
    });
    scope.add(() => {
      obs.end(true);
    });
    await new Promise<void>((r) => obs.once('connect', () => r()));
    const byKind = new Map<string, { n: number; bytes: number }>();
    let counting = false;
    obs.on('message', (topic, payload, packet) => {
      if (!counting || packet.retain) return; // retained copies are replays to the observer only
      const parts = topic.split('/').slice(3); // canopy/v1/<fleet>/…
      const kind = parts[0] === 'clusters' && parts[2] === 'nodes' ? `node ${parts[4]}` : parts[0] === 'clusters' ? `cluster ${parts[2]}` : parts.join('/');
      const k = byKind.get(kind) ?? { n: 0, bytes: 0 };
      k.n++;
      k.bytes += payload.length + topic.length;
      byKind.set(kind, k);
    });
    await obs.subscribeAsync(`canopy/v1/${fleet}/#`, { qos: 0 });

    const settle = quick ? 3000 : 5000,
      window = quick ? 10_000 : 30_000;
    log(`converged; settling ${settle / 1000} s, then counting ${window / 1000} s of idle traffic`);
    await sleep(settle);
    for (const p of f.links().values()) p.resetCounters();
    counting = true;
    const t0 = performance.now();
    await sleep(window);
    const seconds = (performance.now() - t0) / 1000;
    counting = false;
    const links = [...f.links()].map(([role, p]) => ({ role, up: p.bytes.up, down: p.bytes.down }));
    const nodes = 2 * NODES_PER_CLUSTER;
    const total = links.reduce((s, l) => s + l.up + l.down, 0);
    const agents = links.filter((l) => l.role.startsWith('agents-')).reduce((s, l) => s + l.up + l.down, 0);
    for (const l of links) log(`${l.role}: ${round(l.up / seconds)} B/s to the broker, ${round(l.down / seconds)} B/s from it`);
    const kinds = [...byKind].sort((a, b) => b[1].bytes - a[1].bytes).map(([k, v]) => `${k}: ${round(v.n / seconds, 2)} msg/s, ${round(v.bytes / v.n)} B each`);
    if (!kinds.length) kinds.push('no message was published (only MQTT keepalive PINGREQ/PINGRESP)');
    log(`by message: ${kinds.join('; ')}`);
    const figures: Figure[] = [
      { label: 'idle broker traffic per node (all links)', value: round(kbit(total, seconds) / nodes, 2), unit: 'kbit/s', goal: { op: '<=', value: 0.1 } },
      { label: 'idle agent link per node (up + down)', value: round(kbit(agents, seconds) / nodes, 2), unit: 'kbit/s' },
      ...links
        .filter((l) => !l.role.startsWith('agents-'))
        .map((l) => ({
          label: `idle ${l.role === 'root' ? 'root' : `cluster ${l.role}`} link (up + down)`,
          value: round(kbit(l.up + l.down, seconds), 2),
          unit: 'kbit/s',
        })),
    ];
    return {
      name: 'traffic',
      figures,
      notes: [
        `${nodes} sim nodes in 2 clusters, fleet default timings (heartbeat 2 s); bytes counted on TCP proxies in front of Mosquitto over ${round(seconds)} s after ${settle / 1000} s settling, both directions, MQTT framing included`,
        `what the bytes are (payload + topic, as published): ${kinds.join('; ')}`,
      ],
    };
  } finally {
    await scope.close();
  }
};
export default run;
