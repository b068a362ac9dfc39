// Issue 18's metrics, as an operator scrapes them: root, one cluster and one agent (sim runtime)
// as separate processes over a real Mosquitto, each with --metrics on a free port, and a real
// Prometheus scraping all three every second. Through Prometheus's query API: an accepted commit
// counts in canopy_commits_total{result="accepted"}, its convergence in the histogram
// canopy_commit_converge_seconds, a rejected one in result="rejected"; messages, nodes by state
// and replicas per service are there with the values the fleet has. promtool accepts each
// part's exposition; /metrics alone is served; a port in use fails naming --metrics.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { canopy, canopyAsync, start, eventually, type Proc } from '../helpers/canopy.js';
import { git, tempDir, commitFiles, serviceYaml } from '../helpers/git.js';
import { freePort, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { promtoolCheck, startPrometheus, type Prometheus } from '../helpers/prometheus.js';

const test = suite('metrics: root, cluster and agent scraped by Prometheus');
const work = tempDir('canopy-metrics-');
const dir = path.join(work, 'fleet');
const procs: Proc[] = [];
const at: Record<'root' | 'cluster' | 'agent', string> = { root: '', cluster: '', agent: '' };
let broker: Mosquitto | undefined;
let prom: Prometheus | undefined;

const worker = (replicas: number) =>
  serviceYaml('shop', 'worker', { runtime: 'process', command: ['sleep', '600'], replicas, resources: { cpu: 0.01, memory: '8Mi' } });
const scrape = async (part: keyof typeof at, p = '/metrics') => fetch(`http://${at[part]}${p}`);
const logs = () => procs.map((p) => p.output().slice(-1500)).join('\n---\n') + `\n--- prometheus:\n${prom?.log().slice(-1500)}`;
/** The value Prometheus holds for a query with one series (undefined: none yet). */
const one = async (q: string) => {
  const r = await prom!.query(q);
  return r.length === 1 ? r[0].value : undefined;
};

test.before(async () => {
  broker = await startMosquitto();
  assert.is(canopy(['init', dir]).code, 0);
  const fy = git(dir, 'show', 'HEAD:fleet.yaml').replace(/name: demo/, `name: metrics-${process.pid}`);
  commitFiles(
    dir,
    {
      'fleet.yaml': fy,
      'clusters/paris.yaml': null,
      'services/traffic-cam/detector.yaml': null,
      'services/shop/web.yaml': null,
      'services/shop/worker.yaml': worker(2),
    },
    'one process service, one cluster',
  );
  for (const part of Object.keys(at) as Array<keyof typeof at>) at[part] = `127.0.0.1:${await freePort()}`;
  const cluster = start([
    'cluster',
    '--name',
    'munich',
    '--broker',
    broker.url,
    '--repo',
    dir,
    '--state-dir',
    path.join(work, 'munich'),
    '--metrics',
    at.cluster,
  ]);
  procs.push(cluster);
  await cluster.waitFor(/running/);
  const agentArgs = ['--cluster', 'munich', '--name', 'n1', '--broker', broker.url, '--runtime', 'sim', '--state-dir', path.join(work, 'n1')];
  const agent = start(['agent', ...agentArgs, '--metrics', at.agent]);
  procs.push(agent);
  await agent.waitFor(/running/);
  const root = start(['root', '--repo', dir, '--broker', broker.url, '--metrics', at.root]);
  procs.push(root);
  await root.waitFor(/metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/);
  prom = await startPrometheus(at);
});

test.after(async () => {
  await prom?.stop();
  for (const p of procs) await p.kill('SIGKILL');
  await broker?.stop();
});

test('an accepted commit: canopy_commits_total{result="accepted"} and the converge histogram, through Prometheus', async () => {
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '60']);
  assert.is(w.code, 0, w.stdout + w.stderr + logs());
  await eventually('Prometheus scraping all three parts', async () => Object.values(await prom!.targets()).every((h) => h === 'up'), 20_000).catch(async (e) =>
    assert.unreachable(`${(e as Error).message}: ${JSON.stringify(await prom!.targets())}\n${logs()}`),
  );
  await eventually('an accepted commit in Prometheus', async () => ((await one('canopy_commits_total{job="root",result="accepted"}')) ?? 0) >= 1, 20_000);
  assert.is(await one('canopy_commits_total{job="root",result="rejected"}'), 0, 'both results have a series from the start');
  await eventually('the convergence observed', async () => ((await one('canopy_commit_converge_seconds_count{job="root"}')) ?? 0) >= 1, 20_000);
  const le = await prom!.query('canopy_commit_converge_seconds_bucket{job="root",le="+Inf"}');
  assert.is(le.length, 1, 'a +Inf bucket');
  const sum = await one('canopy_commit_converge_seconds_sum{job="root"}');
  assert.ok(sum !== undefined && sum >= 0 && sum < 60, `converged in a sensible time: ${sum} s`);
});

test('messages, nodes, replicas per service and reconcile steps have the fleet’s values', async () => {
  for (const job of Object.keys(at)) {
    await eventually(`${job} received messages`, async () => ((await one(`canopy_messages_received_total{job="${job}"}`)) ?? 0) > 0, 20_000);
    assert.is(await one(`canopy_broker_reconnects_total{job="${job}"}`), 0, `${job}: no reconnect`);
  }
  await eventually('the cluster’s node online', async () => (await one('canopy_cluster_nodes{job="cluster",state="online"}')) === 1, 20_000);
  await eventually('the root’s cluster online', async () => (await one('canopy_root_clusters{job="root",state="online"}')) === 1, 20_000);
  await eventually('2 ready replicas of shop/worker', async () => (await one('canopy_service_replicas{service="shop/worker",state="ready"}')) === 2, 20_000);
  assert.is(await one('canopy_service_replicas{service="shop/worker",state="desired"}'), 2);
  assert.is(await one('canopy_replicas{job="root",state="desired"}'), 2);
  await eventually('2 running replicas on the agent', async () => (await one('canopy_agent_replicas{job="agent",state="running"}')) === 2, 20_000);
  const steps = await prom!.query('canopy_root_reconcile_seconds_count{step="validate"}');
  assert.ok(steps.length === 1 && steps[0].value >= 1, JSON.stringify(steps));
  assert.ok(((await one('canopy_git_write_seconds_count{job="root",what="placement"}')) ?? 0) >= 1, 'the placement write timed');
  await eventually('a status record timed', async () => ((await one('canopy_git_write_seconds_count{job="cluster",what="status"}')) ?? 0) >= 1, 20_000);
});

test('a rejected commit counts as rejected', async () => {
  commitFiles(dir, { 'services/shop/worker.yaml': worker(2).replace('replicas: 2', 'replicas: "many"') }, 'bad replicas');
  const w = canopy(['wait', '--repo', dir, '--rev', 'HEAD', '--timeout', '30']);
  assert.is(w.code, 2, w.stdout + w.stderr);
  await eventually('the rejection in Prometheus', async () => (await one('canopy_commits_total{job="root",result="rejected"}')) === 1, 20_000);
  assert.is(await one('canopy_commits_total{job="root",result="accepted"}'), 1);
});

test('promtool accepts every part’s exposition; only /metrics is served', async () => {
  for (const part of Object.keys(at) as Array<keyof typeof at>) {
    const r = await scrape(part);
    assert.is(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const body = await r.text();
    assert.match(body, /^# HELP canopy_/m);
    const check = promtoolCheck(body);
    assert.is(check.code, 0, `${part}: ${check.output}`);
    assert.is((await scrape(part, '/')).status, 404);
    assert.is((await scrape(part, '/metricsx')).status, 404);
  }
  assert.match(await (await scrape('root')).text(), /^canopy_messages_dropped_total|^# TYPE canopy_messages_dropped_total counter$/m);
});

test('a port in use fails at once, naming --metrics', async () => {
  const r = await canopyAsync(
    ['agent', '--cluster', 'munich', '--name', 'n2', '--broker', broker!.url, '--runtime', 'sim', '--state-dir', path.join(work, 'n2'), '--metrics', at.root],
    { timeoutMs: 20_000 },
  );
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, new RegExp(`--metrics ${at.root}: the port is in use`));
});

test.run();
