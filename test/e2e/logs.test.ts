// Logs on demand, as an operator would use them: a fleet with identities (canopy identity
// create, canopy broker-config for a real Mosquitto), root, clusters and agents as separate
// processes; a container replica on munich (real Docker) and process replicas on paris print
// lines, and `canopy logs` shows them, through the cluster, signed at every hop. `--follow`
// keeps showing what the workload prints later; a request the cluster cannot verify (unsigned,
// or signed by a key not declared) gets nothing and is counted dropped; a chatty workload's
// stream is held to the rate bound, and what was dropped is said.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { canopyAsync, eventually, start } from '../helpers/canopy.js';
import { serviceYaml } from '../helpers/git.js';
import { IMAGE, ID_FILES, startTrustedFleet, type TrustedFleet } from '../helpers/trusted-fleet.js';
import { generateSigningKey } from '../../reconciler/core/keys.js';
import { LOG_BURST_BYTES, LOG_LEASE_MS, LOG_RATE_BYTES } from '../../reconciler/core/logs.js';

const test = suite('canopy logs: output from the nodes, through the hierarchy, bounded');
let f: TrustedFleet;
let op: string;
const logs = (...args: string[]) => canopyAsync(['logs', ...args, '--repo', f.dir, '--broker', f.broker.url, '--identity', op], { timeoutMs: 60_000 });

const services = () => ({
  'services/shop/web.yaml': serviceYaml('shop', 'web', {
    runtime: 'container',
    image: IMAGE,
    command: ['sh', '-c', 'echo hello-from-container; i=0; while :; do i=$((i+1)); echo tick-$i; sleep 1; done'],
    replicas: 1,
    resources: { cpu: 0.1, memory: '16Mi' },
    constraints: { clusters: { names: ['munich'] } },
  }),
  'services/shop/api.yaml': serviceYaml('shop', 'api', {
    runtime: 'process',
    command: ['sh', '-c', 'echo hello-from-process-$CANOPY_REPLICA; while :; do sleep 1; done', 'canopy-logs-e2e'],
    replicas: 2,
    resources: { cpu: 0.1 },
    constraints: { clusters: { names: ['paris'] } },
  }),
  // About 1 MB at once, then quiet: more than one stream may send in a burst.
  'services/shop/chatty.yaml': serviceYaml('shop', 'chatty', {
    runtime: 'process',
    command: ['sh', '-c', `i=0; while [ $i -lt 4000 ]; do echo "$i ${'x'.repeat(240)}"; i=$((i+1)); done; sleep 600`, 'canopy-logs-e2e'],
    replicas: 1,
    resources: { cpu: 0.1 },
    constraints: { clusters: { names: ['paris'] } },
  }),
});

test.before(async () => {
  f = await startTrustedFleet('logs');
  op = path.join(f.idDir, ID_FILES.operator);
  const rev = f.commit(services(), 'shop: web, api, chatty');
  const r = await f.wait(rev, 90);
  assert.is(r.code, 0, `${r.stdout}${r.stderr}\n${f.logs()}`);
});
test.after(async () => {
  await f?.stop();
});

test('a container replica’s line and each process replica’s line show up, prefixed by replica when several', async () => {
  const web = await eventually('canopy logs shop/web to show the container’s line', async () => {
    const r = await logs('shop/web');
    return r.code === 0 && r.stdout.includes('hello-from-container') ? r : undefined;
  });
  assert.not.match(web!.stdout, /\| hello-from-container/, 'one replica: no prefix');
  const api = await eventually('canopy logs shop/api to show both replicas’ lines', async () => {
    const r = await logs('shop/api', '--tail', '5');
    return r.code === 0 &&
      /shop\/api#0 n1 \| hello-from-process-shop\/api#0/.test(r.stdout) &&
      /shop\/api#1 n1 \| hello-from-process-shop\/api#1/.test(r.stdout)
      ? r
      : undefined;
  });
  assert.is(api!.code, 0);
  const one = await logs('shop/api', '--replica', '1', '--cluster', 'paris');
  assert.is(one.code, 0, one.stderr);
  assert.match(one.stdout, /hello-from-process-shop\/api#1/);
  assert.not.match(one.stdout, /api#0/);
});

test('--follow keeps showing lines the workload prints later, until Ctrl-C', async () => {
  const p = start(['logs', 'shop/web', '--follow', '--tail', '1', '--repo', f.dir, '--broker', f.broker.url, '--identity', op]);
  await p.waitFor(/tick-(\d+)/, 20_000);
  const first = Number(/tick-(\d+)/.exec(p.output())![1]);
  await p.waitFor(new RegExp(`tick-${first + 3}\\b`), 20_000);
  assert.is(await p.kill('SIGINT'), 0, p.output());
});

test('a --follow stream whose operator vanished (kill -9: no stop sent) ends by itself when its lease runs out', async () => {
  const spy = await f.spy(f.id(path.join(f.idDir, ID_FILES.munich)), f.t.nodeLogsAnswer('munich', 'n1'));
  const p = start(['logs', 'shop/web', '--follow', '--tail', '1', '--repo', f.dir, '--broker', f.broker.url, '--identity', op]);
  await p.waitFor(/tick-\d+/, 20_000);
  const chunk = await eventually('the node’s chunk of ticks on its answer topic', () =>
    spy.got.find((m) => (m.body as { lines?: string[] } | undefined)?.lines?.some((l) => l.startsWith('tick-'))),
  );
  const id = (chunk!.body as { id: string }).id;
  await p.kill('SIGKILL');
  await eventually(
    'the node to end the stream nobody renews',
    () => spy.got.some((m) => (m.body as { id?: string; end?: boolean })?.id === id && (m.body as { end?: boolean }).end),
    LOG_LEASE_MS + 10_000,
    200,
  );
});

test('unknown service, no replica, wrong cluster: clear errors', async () => {
  const none = await logs('shop/nothing');
  assert.is(none.code, 1);
  assert.match(none.stderr, /unknown service shop\/nothing: no cluster reports it \(clusters heard: munich, paris\)/);
  const wrong = await logs('shop/web', '--cluster', 'paris');
  assert.is(wrong.code, 1);
  assert.match(wrong.stderr, /cluster paris runs no replica of shop\/web/);
});

test('a request the cluster cannot verify (unsigned, or signed by an undeclared key) gets nothing and is counted dropped', async () => {
  const cred = f.id(op);
  const topic = f.t.logsRequest('munich', 'ops');
  const spy = await f.spy(cred, f.t.logsAnswer('+', 'ops'));
  const req = (id: string) => ({ kind: 'logs-request', id, op: 'start', at: Date.now(), service: 'shop/web', tail: 5, follow: false });
  const plain = await f.client(cred);
  const stranger = await f.client(cred, { key: generateSigningKey('stranger').privateKey });
  const cluster = f.procs.get('munich')!;
  // Requests are not retained: one sent while the cluster's connection blips is gone, so send again until it is seen.
  const dropped = async (client: typeof plain, id: string, re: RegExp) =>
    eventually(
      `the cluster drops ${id}`,
      async () => {
        await client.publish(topic, req(id));
        await new Promise((r) => setTimeout(r, 500));
        return re.test(cluster.output());
      },
      20_000,
      0,
    );
  await dropped(plain, 'unsigned-request-1', /dropped bad message: \S+\/logs\/request\/ops: unsigned payload/);
  await dropped(stranger, 'stranger-request-1', /dropped bad message: \S+\/logs\/request\/ops: signed by SHA256:\S+, not a key trusted on this topic/);
  // A request the same operator signs, sent after both: its answer comes, theirs never do.
  const ok = await logs('shop/web', '--tail', '1');
  assert.is(ok.code, 0, ok.stderr);
  assert.ok(spy.got.length > 0, 'the signed request was answered');
  const ids = spy.got.map((s) => (s.body as { id?: string } | undefined)?.id);
  assert.not.ok(ids.includes('unsigned-request-1'), 'no answer to the unsigned request');
  assert.not.ok(ids.includes('stranger-request-1'), 'no answer to the stranger’s request');
});

test('a chatty workload’s stream is cut to the rate bound, and the drop is said', async () => {
  const got = await eventually(
    'a tail of shop/chatty beyond the burst',
    async () => {
      const t0 = Date.now();
      const r = await logs('shop/chatty', '--tail', '10000');
      return r.code === 0 && /… \d+ lines dropped by the rate limit/.test(r.stderr) ? { ...r, seconds: (Date.now() - t0) / 1000 } : undefined;
    },
    60_000,
    500,
  );
  const r = got!;
  const dropped = [...r.stderr.matchAll(/… (\d+) lines dropped/g)].reduce((n, m) => n + Number(m[1]), 0);
  assert.ok(dropped > 0, r.stderr);
  const lines = r.stdout.split('\n').filter(Boolean);
  const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l), 0);
  const bound = LOG_BURST_BYTES + LOG_RATE_BYTES * r.seconds;
  assert.ok(lines.length > 100, `${lines.length} lines came through`);
  assert.ok(bytes <= bound, `${bytes} bytes received in ${r.seconds} s, over the bound ${bound}`);
});

test.run();
