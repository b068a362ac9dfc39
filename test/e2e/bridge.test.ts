// A site broker bridged to the central one, all real: two Mosquitto processes, the central one
// configured by `canopy broker-config` and the site's by `canopy broker-config --bridge-to URL
// --cluster site`, the bridge going through a TCP proxy the test cuts; a signed fleet (identities
// by `canopy identity create`), the root on the central broker, cluster `site` and its two agents
// (process runtime) on the site broker. A commit converges through the bridge; cut, the site goes
// on healing; while cut, more than 1,000 QoS 1 messages are queued for the bridge's session on
// the central broker and the next commit's message is dropped there; restored, the site catches up
// by version. Last, the same bridge over TLS with a client certificate.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt from 'mqtt';
import { canopy, canopyAsync, eventually, start, type Proc } from '../helpers/canopy.js';
import { atExit } from '../helpers/cleanup.js';
import { removeFleetProcesses } from '../helpers/docker.js';
import { commitFiles, git, serviceYaml, tempDir } from '../helpers/git.js';
import { freePort, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { startProxy, type TcpProxy } from '../helpers/proxy.js';
import { literally, processes } from '../helpers/trusted-fleet.js';
import { makeCa, type CertFiles, type TestCa } from '../helpers/certs.js';
import type { IdentityFile } from '../../reconciler/core/identity-file.js';
import { readFileSync } from 'node:fs';
import { bridgeClientId } from '../../reconciler/mqtt/bridge-config.js';
import { topics } from '../../reconciler/mqtt/topics.js';

const test = suite('a site broker bridged to the centre');
const fleet = `br${process.pid}`;
atExit(() => removeFleetProcesses(fleet));
const t = topics(fleet);
const work = tempDir('canopy-bridge-');
const dir = path.join(work, 'fleet');
const ids = path.join(work, 'identities');
const idFile = (p: string) => path.join(ids, `${p}.json`);
const marker = `canopy-bridge-test-${process.pid}`;
const JUNK = 1500;
let central: Mosquitto;
let site: Mosquitto;
let proxy: TcpProxy;
let ca: TestCa;
let tlsPort: number;
const procs = new Map<string, Proc>();
const clients: mqtt.MqttClient[] = [];
/** What crossed: messages seen by listeners on either broker (topic, body of the signed envelope). */
const seen: Array<{ where: 'central' | 'site'; topic: string; raw: string; body?: Record<string, unknown>; signedAt?: number; at: number }> = [];

const logs = () => [...procs].map(([k, p]) => `--- ${k}\n${p.output().slice(-2500)}`).join('\n');
const api = (replicas: number) => ({
  'services/shop/api.yaml': serviceYaml('shop', 'api', {
    runtime: 'process',
    command: ['sh', '-c', 'echo hello from the site; while :; do sleep 1; done', marker],
    replicas,
    resources: { cpu: 0.1 },
  }),
});
const wait = async (rev: string) => {
  const w = await canopyAsync(['wait', '--repo', dir, '--rev', rev, '--timeout', '40', '--quiet']);
  assert.is(w.code, 0, `canopy wait ${rev}: ${w.stderr}\n${logs()}\n--- central mosquitto\n${central.log().slice(-3000)}`);
};

/** A plain MQTT client with a part's credential, on one broker. */
async function client(url: string, who: string, name: string): Promise<mqtt.MqttClient> {
  const id = JSON.parse(readFileSync(idFile(who), 'utf8')) as IdentityFile;
  const c = await mqtt.connectAsync(url, { ...id.mqtt, clientId: `${name}-${process.pid}`, protocolVersion: 4, reconnectPeriod: 300 });
  clients.push(c);
  return c;
}
async function listen(where: 'central' | 'site', c: mqtt.MqttClient, ...filters: string[]): Promise<void> {
  c.on('message', (topic, payload) => {
    let env: { body?: Record<string, unknown>; at?: number } = {};
    try {
      env = JSON.parse(payload.toString());
    } catch {
      /* not JSON */
    }
    seen.push({ where, topic, raw: payload.toString(), body: env.body, signedAt: env.body ? env.at : undefined, at: Date.now() });
  });
  for (const f of filters) {
    const granted = await c.subscribeAsync(f, { qos: 1 });
    assert.ok(
      granted.every((g) => g.qos !== 128),
      `${where}: subscribe ${f} refused`,
    );
  }
}
const applied = (s: (typeof seen)[number]) => (s.body?.applied as { seq: number } | null | undefined)?.seq;

test.before(async () => {
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  commitFiles(
    dir,
    {
      'fleet.yaml': `apiVersion: canopy/v1\nkind: Fleet\nmetadata:\n  name: ${fleet}\nspec:\n  timings: { heartbeatSeconds: 0.5, unreachableAfterSeconds: 3, statusRefreshSeconds: 5 }\n`,
    },
    'the fleet',
  );
  for (const [args, out] of [
    [['--root'], 'root'],
    [['--cluster', 'site'], 'site'],
    [['--node', 'site/n1'], 'n1'],
    [['--node', 'site/n2'], 'n2'],
    [['--operator', 'ops'], 'ops'],
  ] as const) {
    const r = canopy(['identity', 'create', '--repo', dir, ...args, '--out', idFile(out)]);
    assert.is(r.code, 0, r.stderr);
  }
  commitFiles(dir, {}, "Declare the parts' keys");

  const centralDir = path.join(work, 'central');
  const siteDir = path.join(work, 'site');
  let r = canopy(['broker-config', '--identities', ids, '--out', centralDir]);
  assert.is(r.code, 0, r.stderr);
  // The central broker also listens with TLS, requiring client certificates (the last test).
  const centralPort = await freePort();
  tlsPort = await freePort();
  ca = makeCa(work, 'ca');
  const server: CertFiles = ca.issue('central', '127.0.0.1', 'IP:127.0.0.1,DNS:localhost');
  const tls = [
    `listener ${tlsPort} 127.0.0.1`,
    `cafile ${ca.cert}`,
    `certfile ${server.cert}`,
    `keyfile ${server.key}`,
    'require_certificate true',
    'use_identity_as_username true',
  ];
  central = await startMosquitto(centralPort, { conf: [`listener ${centralPort} 127.0.0.1`, `include_dir ${centralDir}`, ...tls] });
  proxy = await startProxy(central.port);
  r = canopy(['broker-config', '--identities', ids, '--out', siteDir, '--bridge-to', proxy.url(), '--cluster', 'site']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /in {3}\S+\/clusters\/site\/desired\n/);
  const sitePort = await freePort();
  site = await startMosquitto(sitePort, { conf: [`listener ${sitePort} 127.0.0.1`, `include_dir ${siteDir}`] });
  await eventually('the bridge to connect', () => central.log().includes(`as ${bridgeClientId(fleet, 'site')}`), 15_000);

  // Listeners: the root's view on the central broker, the operator's on both (it may read node
  // status: on central it must see none), and the cluster's desired topic at the site.
  await listen('central', await client(central.url, 'root', 'spy-root'), t.clusterStatus('site'));
  await listen('central', await client(central.url, 'ops', 'spy-ops'), t.allNodeStatus('site'));
  await listen('site', await client(site.url, 'ops', 'spy-ops-site'), t.allNodeStatus('site'));
  await listen('site', await client(site.url, 'site', 'spy-site'), t.clusterDesired('site'));

  const state = (p: string) => path.join(work, 'state', p);
  const cluster = start(['cluster', '--name', 'site', '--broker', site.url, '--state-dir', state('site'), '--identity', idFile('site')]);
  procs.set('cluster', cluster);
  for (const n of ['n1', 'n2']) {
    const a = start([
      'agent',
      '--cluster',
      'site',
      '--name',
      n,
      '--broker',
      site.url,
      '--runtime',
      'process',
      '--state-dir',
      state(n),
      '--identity',
      idFile(n),
    ]);
    procs.set(n, a);
  }
  const root = start(['root', '--repo', dir, '--broker', central.url, '--identity', idFile('root')], { env: { CANOPY_LOG: 'debug' } });
  procs.set('root', root);
  for (const p of procs.values()) await p.waitFor(/running/);
});

test.after(async () => {
  for (const c of clients) await c.endAsync(true).catch(() => undefined);
  for (const p of procs.values()) await p.kill('SIGTERM');
  await proxy?.close();
  await site?.stop();
  await central?.stop();
});

test('bad arguments: --bridge-to without --cluster, an unknown cluster, a bad URL (exit 64)', () => {
  const out = path.join(work, 'nowhere');
  const cases: Array<[string[], RegExp]> = [
    [['--bridge-to', 'mqtt://127.0.0.1:1883'], /--bridge-to needs --cluster C/],
    [['--bridge-to', 'mqtt://127.0.0.1:1883', '--cluster', 'paris'], /--cluster paris: no identity for cluster paris under /],
    [['--bridge-to', 'http://central:1883', '--cluster', 'site'], /--bridge-to http:\/\/central:1883: expected mqtt:\/\/HOST\[:PORT\]/],
  ];
  for (const [args, re] of cases) {
    const r = canopy(['broker-config', '--identities', ids, '--out', out, ...args]);
    assert.is(r.code, 64, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  const help = canopy(['broker-config', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /--bridge-to URL[\s\S]*--cluster C[\s\S]*--bridge-ca F/);
});

test('a commit converges through the bridge; node topics stay at the site', async () => {
  const head = commitFiles(dir, api(2), 'api: 2 replicas at the site');
  await wait(head);
  await eventually('2 replicas running', () => processes(marker) === 2, 10_000);
  // The cluster's status crossed (the root's view on central), its nodes' did not.
  assert.ok(seen.some((s) => s.where === 'central' && s.topic === t.clusterStatus('site')));
  assert.ok(seen.some((s) => s.where === 'site' && t.parse(s.topic)?.level === 'node'));
  assert.not.ok(
    seen.some((s) => s.where === 'central' && t.parse(s.topic)?.level === 'node'),
    'a node status reached the central broker',
  );
  // Logs on demand cross too: the operator asks on the central broker, the answer comes back.
  const l = await canopyAsync(['logs', 'shop/api', '--repo', dir, '--broker', central.url, '--identity', idFile('ops'), '--tail', '5'], { timeoutMs: 40_000 });
  assert.is(l.code, 0, l.stderr);
  assert.match(l.stdout, /hello from the site/);
});

test('cut: the site keeps healing; >1000 QoS 1 messages queue for it centrally and the next commit is dropped; restored, it catches up by version', async () => {
  const before = seen.filter((s) => s.where === 'central' && s.topic === t.clusterStatus('site')).at(-1)!;
  const oldSeq = applied(before)!;
  assert.ok(oldSeq, `the site's last status names its version: ${JSON.stringify(before.body)}`);
  const bridgeId = literally(bridgeClientId(fleet, 'site'));
  const logFrom = central.log().length;
  proxy.cut('reset');
  await eventually(
    'the central broker to see the bridge gone',
    () => new RegExp(`(Socket error on client ${bridgeId}|Client ${bridgeId} closed)`).test(central.log().slice(logFrom)),
    10_000,
  );
  // The bridge's last will on the central broker tells the root the site is cut off, though the
  // cluster's own connection (to its site broker) never dropped.
  await eventually('the root to take the site as offline', () => /cluster site offline/.test(procs.get('root')!.output()), 10_000);

  // Healing without the centre: a replica's process killed, its agent starts it again.
  const pids = execFileSync('pgrep', ['-f', marker], { encoding: 'utf8' }).split('\n').filter(Boolean);
  process.kill(Number(pids[0]), 'SIGKILL');
  await eventually(
    'the killed replica started again at the site',
    () => {
      const now = execFileSync('pgrep', ['-f', marker], { encoding: 'utf8' }).split('\n').filter(Boolean);
      return now.length === 2 && !now.includes(pids[0]);
    },
    20_000,
  );

  // While cut: 1,500 QoS 1 messages on the site's desired topic, by a credential allowed to send
  // there (the root's; unsigned, so the cluster drops each it gets). The bridge's session on the
  // central broker queues 1,000 (max_queued_messages) and drops the rest...
  const flood = await client(central.url, 'root', 'flood');
  await Promise.all(Array.from({ length: JUNK }, (_, i) => flood.publishAsync(t.clusterDesired('site'), JSON.stringify({ junk: i }), { qos: 1 })));
  await eventually('the central broker to drop what overflows the bridge’s queue', () =>
    central.log().includes(`Outgoing messages are being dropped for client ${bridgeClientId(fleet, 'site')}`),
  );
  // ...and the next commit is placed for the site (kept there: no failover policy), not sent while
  // the site is cut off.
  const head = commitFiles(dir, api(3), 'api: 3 replicas at the site');
  const sends = () =>
    [
      ...procs
        .get('root')!
        .output()
        .matchAll(/to site: \w+ to #(\d+)/g),
    ].map((m) => Number(m[1]));
  await eventually('the root to place the commit on the site', () => git(dir, 'show', 'refs/canopy/placements/site:placement.json').includes(head), 20_000);
  const desiredAt = (from: number) => seen.filter((s) => s.where === 'site' && s.topic === t.clusterDesired('site') && s.at >= from);
  const junkAt = (from: number) => desiredAt(from).filter((s) => s.body === undefined).length;
  assert.is(junkAt(0), 0, 'nothing crossed while cut');
  assert.is(processes(marker), 2, 'the site still runs what it had');

  // Restore: the queued 1,000 arrive, the rest never will; the site's status (still naming the
  // old version) reaches the root, which sends what brings it to the new one.
  const restored = Date.now();
  proxy.restore();
  await wait(head);
  await eventually('3 replicas running', () => processes(marker) === 3, 10_000);
  const junk = junkAt(restored);
  assert.ok(junk >= 1000 && junk < JUNK, `${junk} of ${JUNK} queued messages reached the site: the queue holds 1,000`);
  const after = seen.filter((s) => s.where === 'central' && s.topic === t.clusterStatus('site') && s.at >= restored);
  assert.is(applied(after[0]), oldSeq, 'the first status after the cut names the old version');
  assert.ok(after.some((s) => (applied(s) ?? 0) > oldSeq));
  // Nothing the root sent before the restore reached the site: every placement message that
  // reached it was signed after the restore.
  const signed = desiredAt(restored).filter((s) => s.body);
  assert.ok(signed.length >= 1, 'the root’s message reached the site after the cut');
  assert.ok(
    signed.every((s) => s.signedAt! >= restored),
    `signed at ${signed.map((s) => new Date(s.signedAt!).toISOString()).join(', ')}; restored at ${new Date(restored).toISOString()}`,
  );
  const resent =
    procs
      .get('root')!
      .output()
      .match(/to site: .*\(again: try \d+\)/g) ?? [];
  console.log(
    `bridge: ${junk} of ${JUNK} queued messages reached the site; first status after the cut named #${oldSeq}; ` +
      `the root sent #${Math.max(0, ...sends())} ${resent.length + 1} times; converged ${Date.now() - restored} ms after the restore`,
  );
  assert.not.match(central.log(), new RegExp(`Denied (PUBLISH|SUBSCRIBE) from ${bridgeId}`));
  assert.ok(git(dir, 'notes', '--ref', 'canopy', 'show', head).includes('converged'));
});

test('a TLS bridge: mqtts with the central CA and a client certificate whose CN is the cluster’s user', async () => {
  const user = (JSON.parse(readFileSync(idFile('site'), 'utf8')) as IdentityFile).mqtt.username;
  const cert = ca.issue('site-bridge', user);
  const out = path.join(work, 'site-tls');
  const r = canopy([
    'broker-config',
    '--identities',
    ids,
    '--out',
    out,
    '--bridge-to',
    `mqtts://127.0.0.1:${tlsPort}`,
    '--cluster',
    'site',
    '--bridge-ca',
    ca.cert,
    '--bridge-cert',
    cert.cert,
    '--bridge-key',
    cert.key,
  ]);
  assert.is(r.code, 0, r.stderr);
  // It takes over the bridge's session from the plain site broker, stopped first.
  await site.stop();
  const from = central.log().length;
  const port = await freePort();
  const tlsSite = await startMosquitto(port, { conf: [`listener ${port} 127.0.0.1`, `include_dir ${out}`] });
  try {
    await eventually(
      'the TLS bridge to connect',
      () =>
        central
          .log()
          .slice(from)
          .includes(`as ${bridgeClientId(fleet, 'site')} (p2, c0, k20, u'${user}')`),
      15_000,
    );
    await listen('central', await client(central.url, 'ops', 'spy-ops-answers'), t.logsAnswer('site', 'ops'));
    await listen('site', await client(tlsSite.url, 'site', 'spy-site-tls'), t.clusterDesired('site'));
    const answer = await client(tlsSite.url, 'site', 'answer-tls');
    const root = await client(central.url, 'root', 'desired-tls');
    await eventually(
      'a message each way through the TLS bridge',
      async () => {
        await answer.publishAsync(t.logsAnswer('site', 'ops'), '{"tls":"out"}', { qos: 1 });
        await root.publishAsync(t.clusterDesired('site'), '{"tls":"in"}', { qos: 1 });
        const got = (where: string, raw: string) => seen.some((x) => x.where === where && x.raw === raw);
        return got('central', '{"tls":"out"}') && got('site', '{"tls":"in"}');
      },
      15_000,
      500,
    );
  } finally {
    await tlsSite.stop();
  }
});

test.run();
