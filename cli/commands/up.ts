import path from 'node:path';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { brokerUrl, command, flag, hostPort, number, oneOf, text, usageError, logFormatOption, LOG_FORMAT_USAGE, type Values } from '../args.js';
import { uiToken } from '../../reconciler/report/ui-server.js';
import { configureLogs, createLogger, logFormat, type Logger } from '../../reconciler/core/log.js';
import { openRepo, type Repo } from '../../reconciler/git/repo.js';
import { listFiles } from '../../reconciler/git/tree.js';
import { readCommit } from '../../reconciler/git/repo.js';
import { initFleetRepo, isRepo, fleetAtMain } from '../fleet-repo.js';
import { runRoot, runCluster, runAgent, clusterFileAtMain, timingsOf, type Running } from '../parts.js';
import { Lifecycle } from '../lifecycle.js';
import { writable } from '../stdio.js';
import { packageRoot } from '../paths.js';
import { fleetStatus } from '../../reconciler/report/fleet-status.js';
import { renderStatus } from '../../reconciler/report/render.js';
import { tableKey } from '../status-watch.js';
import type { LatLon } from '../../reconciler/core/geo.js';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { ensureUpIdentities } from '../up-identities.js';
import { metricsOption } from '../metrics-option.js';
import { serveMetrics } from '../metrics-server.js';
import { mergeFamilies, type LabelledFamilies } from '../../reconciler/core/telemetry.js';

type Runtime = 'docker' | 'process' | 'sim';
/** up runs the whole template here, its processes too: with docker its agents run both kinds (an agent's `docker` alone runs containers only). */
const agentRuntime = (r: Runtime) => (r === 'docker' ? 'docker,process' : r);

const options = {
  repo: text({ default: 'fleet' }),
  broker: brokerUrl(),
  clusters: number({ min: 1, integer: true }),
  nodes: number({ min: 1, integer: true }),
  runtime: oneOf(['docker', 'process', 'sim']),
  'keep-workloads': flag(),
  'log-format': logFormatOption(),
  metrics: metricsOption(),
  ui: hostPort(),
  'no-ui': flag(),
  'ui-token-file': text(),
};

/** Stop order, highest first: the metrics endpoint, the root, the clusters, the agents (a cluster that outlived its agents would warn that each went away), the workloads, the broker. */
const RANK = { metrics: 7, status: 6, root: 5, cluster: 4, agent: 3, workloads: 2, broker: 1 };

const cmd = command({
  name: 'up',
  summary: 'run a whole fleet on this machine: broker, root, clusters, agents',
  usage: [
    'Usage: canopy up --repo DIR [--broker URL] [--clusters N] [--nodes M] [--runtime docker|process|sim] [--keep-workloads] [--metrics HOST:PORT]',
    '',
    '  --repo DIR      the fleet repository; created from the template when DIR has none',
    '  --broker URL    an MQTT broker (default: one embedded in this process)',
    '  --clusters N    how many clusters, N >= 1 (default: one per clusters/*.yaml not air-gapped, else 2)',
    '  --nodes M       nodes per cluster, M >= 1 (default: the cluster file’s spec.nodes, else 2)',
    '  --runtime R     docker when a Docker Engine answers, else process; sim runs nothing',
    '  --keep-workloads  leave containers and processes running on Ctrl-C (the next up adopts them)',
    '  --metrics HOST:PORT  where to serve the metrics of every part, labelled part, cluster, node',
    '                  (default: a free port on 127.0.0.1; the URL is printed as Metrics: http://…/metrics)',
    LOG_FORMAT_USAGE.replace('--log-format F      ', '--log-format F'),
    '  --ui HOST:PORT  where the web dashboard listens (default 127.0.0.1:0: a free port on loopback); --no-ui: none',
    '  --ui-token-file FILE  the dashboard requires this token (its first line; CANOPY_UI_TOKEN sets it too)',
    '',
    'Logs go to DIR/.git/canopy-up/canopy.log. Commit to main to deploy. SIGINT (Ctrl-C), SIGTERM',
    'or SIGHUP stops it: it removes the workloads (unless --keep-workloads) and closes the broker,',
    'then exits 0, or 1 if something failed to stop; a second signal does not cut that short.',
  ].join('\n'),
  options,
  check(v) {
    if (v['no-ui'] && (v.ui || v['ui-token-file'] !== undefined)) return ['--no-ui goes without --ui and --ui-token-file'];
    return undefined;
  },
  async run(v) {
    configureLogs({ format: v['log-format'] });
    let token: string | undefined;
    try {
      token = v['no-ui'] ? undefined : uiToken(v['ui-token-file']);
    } catch (e) {
      throw usageError(this, (e as Error).message);
    }
    const ui = v['no-ui'] ? undefined : { ...(v.ui ?? { host: '127.0.0.1', port: 0 }), token };
    let fileLog: Logger | undefined;
    const life = new Lifecycle({ log: (line) => fileLog?.info(line) }).listen();
    try {
      await startFleet(v, life, (l) => (fileLog = l), ui);
    } catch (e) {
      // An error from a step cut short by a signal is part of that shutdown, not a failure.
      if (!life.stopping) {
        const msg = `canopy up: ${(e as Error).message}`;
        // The log file's logger echoes errors to stderr.
        if (fileLog) fileLog.error(msg);
        else if (writable(process.stderr)) process.stderr.write(msg + '\n');
        return life.stop('start-up failed', true);
      }
    }
    return life.done;
  },
});
export default cmd;

function say(s: string): void {
  if (writable(process.stdout)) process.stdout.write(s + '\n');
}

/** Starts the fleet step by step, each part registered for shutdown as it starts; returns early once stopping. */
async function startFleet(
  v: Values<typeof options>,
  life: Lifecycle,
  setLog: (l: Logger) => void,
  ui?: { host: string; port: number; token?: string },
): Promise<void> {
  const dir = path.resolve(v.repo);
  if (!(await isRepo(dir))) {
    const c = await life.step(initFleetRepo(dir));
    say(`Created fleet repository ${dir} from the template (main ${c.slice(0, 12)}).`);
  }
  const repo = await openRepo(dir);
  const { commit, fleet } = await fleetAtMain(repo);
  const stateRoot = path.join(repo.gitdir, 'canopy-up');
  mkdirSync(stateRoot, { recursive: true });
  const logFile = path.join(stateRoot, 'canopy.log');
  const log = fileLogger(logFile);
  setLog(log);
  if (life.stopping) return;

  let runtime: Runtime | undefined = v.runtime;
  if (!runtime) {
    const { dockerAvailable } = await import('../../agents/runtimes/docker.js');
    runtime = (await dockerAvailable()) ? 'docker' : 'process';
    say(`Runtime: ${runtime}${runtime === 'process' ? ' (no Docker Engine answered; container services will show as unschedulable)' : ''}`);
  }
  if (runtime === 'docker') ensureDemoImage(say);
  if (life.stopping) return;

  const clusters = await clusterPlan(repo, commit, v.clusters, v.nodes);
  // Each node a host of its own: Linux routes all of 127.0.0.0/8 to lo, so nothing needs setting up.
  const addresses = loopbackAddresses(clusters);
  for (const [node, address] of addresses) say(`node ${node} at ${address}`);
  // Every part has an identity and signs what it sends; the broker knows each one's topics.
  const parts = clusters.flatMap((c) => [
    { role: 'cluster' as const, name: c.name },
    ...Array.from({ length: c.nodes }, (_, i) => ({ role: 'node' as const, name: `${c.name}/${c.name}-n${i + 1}` })),
  ]);
  const ids = await life.step(ensureUpIdentities(dir, repo.gitdir, fleet.metadata.name, parts));
  if (ids.declared) say(`Declared the parts' keys on main (${ids.declared.slice(0, 12)}).`);
  say(`Identities: ${ids.dir} (root.json, operator.json, clusters/, nodes/)`);
  let broker = v.broker;
  if (!broker) {
    const { startEmbeddedBroker } = await import('../../reconciler/mqtt/broker.js');
    const users = ids.all.map((i) => ({ username: i.mqtt.username, password: i.mqtt.password, fleet: i.fleet, role: i.role, name: i.name }));
    const b = await life.step(startEmbeddedBroker({ users }));
    life.add({ stop: () => b.close() }, { name: 'the embedded broker', rank: RANK.broker });
    broker = b.url;
    say(`Broker: embedded at ${broker} (no anonymous clients; each part's user holds to its own topics)`);
  } else say(`Broker: ${broker}: it must know these identities (canopy broker-config --identities ${ids.dir} --out DIR)`);
  // Taken before the parts start (a port in use fails at once); each part's registry joins as it starts.
  const registries: Array<{ labels: LabelledFamilies['labels']; part: Running }> = [];
  const metrics = await life.step(
    serveMetrics(v.metrics ?? { host: '127.0.0.1', port: 0 }, () =>
      mergeFamilies(registries.map((r) => ({ labels: r.labels, families: r.part.telemetry?.collect() ?? [] }))),
    ),
  );
  life.add({ stop: () => metrics.close() }, { name: 'the metrics endpoint', rank: RANK.metrics });
  // Where `canopy logs --repo DIR` finds this fleet's broker (it speaks as identities/operator.json).
  writeFileSync(path.join(stateRoot, 'broker.url'), `${broker}\n`);
  const tm = timingsOf(fleet);
  // The nodes whose workloads go on shutdown: each is listed before its agent starts, so that
  // what an agent started while being cut short goes too.
  const nodes: Array<{ cluster: string; node: string; stateDir: string }> = [];
  if (!v['keep-workloads'])
    life.add({ stop: () => removeAll(fleet.metadata.name, runtime, nodes) }, { name: 'the workloads', rank: RANK.workloads, timeoutMs: 60_000 });
  for (const c of clusters) {
    if (life.stopping) return;
    const cp = await life.step(
      runCluster({
        name: c.name,
        broker,
        repoDir: dir,
        stateDir: path.join(stateRoot, c.name),
        identityFile: ids.file({ role: 'cluster', name: c.name }),
        log: log.child(`cluster ${c.name}`),
      }),
    );
    life.add(cp, { name: `cluster ${c.name}`, rank: RANK.cluster });
    registries.push({ labels: { part: 'cluster', cluster: c.name }, part: cp });
    for (let i = 1; i <= c.nodes; i++) {
      if (life.stopping) return;
      const node = `${c.name}-n${i}`;
      const stateDir = path.join(stateRoot, c.name, node);
      nodes.push({ cluster: c.name, node, stateDir });
      const at = c.location ? { lat: c.location.lat + 0.01 * i, lon: c.location.lon + 0.01 * i } : undefined;
      const a = await life.step(
        runAgent({
          cluster: c.name,
          name: node,
          broker,
          fleet: fleet.metadata.name,
          runtime: agentRuntime(runtime),
          stateDir,
          capacity: { cpu: 2, memoryMi: 2048, gpu: 0 },
          location: at,
          address: addresses.get(`${c.name}/${node}`),
          heartbeatMs: tm.heartbeatMs,
          identityFile: ids.file({ role: 'node', name: `${c.name}/${node}` }),
          quietAdmission: true,
          log: log.child(`agent ${node}`),
        }),
      );
      life.add(a, { name: `agent ${node}`, rank: RANK.agent });
      registries.push({ labels: { part: 'agent', cluster: c.name, node }, part: a });
    }
  }
  if (life.stopping) return;
  const rp = await life.step(runRoot({ repo, broker, identityFile: ids.file({ role: 'root', name: 'root' }), log: log.child('root'), ui }));
  life.add(rp, { name: 'the root', rank: RANK.root });
  if (rp.uiUrl) say(`UI: ${rp.uiUrl}`);
  if (rp.uiUrl && ui?.token) say('The dashboard needs its token: open it with ?token=TOKEN (or send Authorization: Bearer TOKEN).');
  registries.push({ labels: { part: 'root' }, part: rp });
  if (life.stopping) return;
  say(`Metrics: ${metrics.url}`);
  say('Agents admit any image and command here (a local demo); on real sites, canopy agent --allow-image / --allow-command.');
  say(`Fleet ${fleet.metadata.name}: ${clusters.length} cluster(s) × nodes [${clusters.map((c) => `${c.name}:${c.nodes}`).join(', ')}], logs in ${logFile}`);
  say('Commit to main in that repository to deploy. Ctrl-C stops' + (v['keep-workloads'] ? ' (workloads keep running).' : ' and removes the workloads.'));
  const timer = showStatus(repo, log);
  life.add({ stop: async () => clearInterval(timer) }, { name: 'the status display', rank: RANK.status });
}

/** Prints the status table when it changes, and a line when only the news does. */
function showStatus(repo: Repo, log: Logger): NodeJS.Timeout {
  let shown = '';
  let lastLine = '';
  return setInterval(async () => {
    try {
      const r = await fleetStatus(repo);
      const svcs = Object.values(r.services);
      const done = svcs.filter((s) => s.state === 'converged').length;
      // A line when something changed (not every second with the same news), the table when it did.
      const line = `main ${r.head?.commit.slice(0, 12)} ${r.head?.outcome}${r.head?.convergedAt ? ', converged' : ''}: ${done}/${svcs.length} services converged`;
      const table = tableKey(renderStatus(r));
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
}

/** The highest loopback address up hands out (127.0.0.1 stays the broker's and the host's own). */
const LAST_OCTET = 254;

/** Node i of the fleet (counting across clusters, in order) at 127.0.0.(i+2), by `cluster/node`; throws past 127.0.0.254. */
export function loopbackAddresses(clusters: ReadonlyArray<{ name: string; nodes: number }>): Map<string, string> {
  const total = clusters.reduce((n, c) => n + c.nodes, 0);
  if (total + 1 > LAST_OCTET)
    throw new Error(
      `${total} nodes do not fit on loopback: up gives each its own address from 127.0.0.2 to 127.0.0.${LAST_OCTET} (at most ${LAST_OCTET - 1} nodes); use fewer --clusters or --nodes`,
    );
  const out = new Map<string, string>();
  for (const c of clusters) for (let i = 1; i <= c.nodes; i++) out.set(`${c.name}/${c.name}-n${i}`, `127.0.0.${out.size + 2}`);
  return out;
}

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
  // An air-gapped cluster has no process here: the root places on it from its declaration.
  for (const n of [...names]) if ((await clusterFileAtMain(repo, commit, n))?.spec?.connectivity === 'air-gapped') names.splice(names.indexOf(n), 1);
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

/** Removes every listed node's workloads, the nodes at once; throws when any could not be removed. */
async function removeAll(fleet: string, runtime: Runtime, nodes: Array<{ cluster: string; node: string; stateDir: string }>): Promise<void> {
  const results = await Promise.allSettled(nodes.map((n) => removeWorkloads(fleet, n.cluster, n.node, runtime, n.stateDir)));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${nodes[i].node}: ${(r.reason as Error).message}`] : []));
  if (failed.length) throw new Error(`could not remove the workloads of ${failed.length} node(s): ${failed.join('; ')}`);
}

async function removeWorkloads(fleet: string, cluster: string, node: string, runtime: Runtime, stateDir: string): Promise<void> {
  const { loadDrivers } = await import('../../agents/runtimes/load.js');
  const d = await loadDrivers(agentRuntime(runtime), { fleet, cluster, node, stateDir });
  for (const drv of new Set([d.container, d.process].filter(Boolean))) {
    for (const r of await drv!.list()) await drv!.stop(r.id);
    await drv!.close();
  }
}

function fileLogger(file: string): Logger {
  return createLogger('canopy', (process.env.CANOPY_LOG as never) || 'info', (line) => {
    appendFileSync(file, line + '\n');
    if (!writable(process.stderr)) return;
    // Warnings and errors reach the terminal too: a text line without its time stamp, a JSON line whole.
    if (logFormat() === 'json') {
      if (/^\{"time":"[^"]*","level":"(warn|error)"/.test(line)) process.stderr.write(line + '\n');
    } else if (/^\S+ (warn|error)/.test(line)) process.stderr.write(line.slice(25) + '\n');
  });
}
