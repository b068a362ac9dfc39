// Notifications as a Git host and a chat hook see them: real roots (one with a cluster and a sim
// agent over a real Mosquitto, one alone) and small HTTP servers here that record what they are
// sent. A GitHub-shaped and a Gitea-shaped server get pending, then success, on an accepted
// commit that converges, and failure naming file:line on a rejected one; a webhook that answers
// 503 twice gets the event on the third try, signed with HMAC-SHA256; a cluster that stops is
// announced unreachable; an event a root killed -9 had not delivered is delivered after restart.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { eventually, start, type Proc } from '../helpers/canopy.js';
import { commitFiles, serviceYaml } from '../helpers/git.js';
import { tempDir } from '../helpers/cleanup.js';
import { startFleet, type TestFleet } from '../helpers/fleet.js';

interface Hit {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
  answered: number;
}
interface Recorder {
  url: string;
  hits: Hit[];
  /** The status a request gets, from its body and the hits before it. */
  answer: (json: Record<string, unknown>, before: Hit[]) => number;
  close(): Promise<void>;
}

async function recorder(answer: Recorder['answer'] = () => 201): Promise<Recorder> {
  const r: Recorder = { url: '', hits: [], answer, close: async () => undefined };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const json = JSON.parse(body || '{}');
      const answered = r.answer(json, r.hits);
      r.hits.push({ url: req.url ?? '', headers: req.headers, body, json, answered });
      res.writeHead(answered, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  r.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  r.close = () =>
    new Promise((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    });
  return r;
}

const SECRET = 'hook-secret-for-tests';
/** 503 to the first two tries of each event (of each commit), then 200. */
const twiceUnavailable: Recorder['answer'] = (json, before) =>
  before.filter((h) => h.json.event === json.event && h.json.commit === json.commit).length < 2 ? 503 : 200;
const signed = (h: Hit) => h.headers['x-canopy-signature'] === `sha256=${createHmac('sha256', SECRET).update(h.body).digest('hex')}`;
const statuses = (r: Recorder, sha: string) => r.hits.filter((h) => h.url.endsWith(`/statuses/${sha}`)).map((h) => h.json.state);

const test = suite('notifications: webhooks and commit statuses');
let fleet: TestFleet;
let github: Recorder, gitea: Recorder, hook: Recorder, hookB: Recorder;
let rootB: Proc | undefined;
let good = '';

test.before(async () => {
  [github, gitea, hook, hookB] = await Promise.all([recorder(), recorder(), recorder(twiceUnavailable), recorder(() => 503)]);
  // The root's environment holds the credentials; fleet.yaml only names the variables.
  process.env.HOOK_SECRET = SECRET;
  process.env.GH_TOKEN = 'gh-test-token';
  fleet = await startFleet({
    name: 'notify',
    clusters: { munich: { lat: 48.1, lon: 11.6, nodes: 1 } },
    services: { 'shop/web': { replicas: 1 } },
    runtime: 'sim',
    timings: { heartbeatSeconds: 0.5, unreachableAfterSeconds: 2, statusRefreshSeconds: 5 },
  });
  assert.is((await fleet.wait('HEAD', 60)).code, 0, fleet.logs());
});

test.after(async () => {
  await rootB?.kill();
  await fleet?.stop();
  for (const r of [github, gitea, hook, hookB]) await r?.close();
});

const fleetYaml = (name: string, spec: string) => `apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: ${name}}\nspec:\n${spec}`;

test('GitHub: pending then success on a commit that converges; the webhook retried after 503 twice, signed', async () => {
  const spec = [
    '  timings: {heartbeatSeconds: 0.5, unreachableAfterSeconds: 2, statusRefreshSeconds: 5}',
    `  notifications: [{url: "${hook.url}/canopy", secretEnv: HOOK_SECRET}]`,
    `  commitStatus: {provider: github, apiUrl: "${github.url}", repository: acme/fleet, tokenEnv: GH_TOKEN}`,
  ];
  good = await fleet.commit({ 'fleet.yaml': fleetYaml('notify', spec.join('\n') + '\n'), ...fleet.service('shop/web', { replicas: 2 }) }, 'notify');
  await eventually('pending then success on GitHub', () => statuses(github, good).join() === 'pending,success', 30_000);
  const [pending, success] = github.hits.filter((h) => h.url.endsWith(good));
  assert.is(pending.url, `/repos/acme/fleet/statuses/${good}`);
  assert.is(pending.headers.authorization, 'Bearer gh-test-token');
  assert.is(pending.headers.accept, 'application/vnd.github+json');
  assert.equal(pending.json, { state: 'pending', context: 'canopy/deploy', description: 'deploying to 1 cluster' });
  assert.match(String(success.json.description), /^converged in \d+ s$/);

  const delivered = (event: string) => hook.hits.find((h) => h.answered === 200 && h.json.event === event && h.json.commit === good);
  await eventually('accepted and converged delivered to the webhook', () => delivered('accepted') && delivered('converged'), 30_000);
  const accepted = hook.hits.filter((h) => h.json.event === 'accepted' && h.json.commit === good);
  assert.equal(
    accepted.map((h) => h.answered),
    [503, 503, 200],
  );
  assert.ok(accepted.every(signed), 'every try carries a valid X-Canopy-Signature');
  assert.is(accepted[0].body, accepted[2].body, 'the same body each try');
  assert.equal([accepted[2].json.kind, accepted[2].json.fleet, accepted[2].json.clusters], ['canopy.event', 'notify', 1]);
  const converged = delivered('converged');
  assert.is(converged?.json.commit, good);
  assert.ok(hook.hits.indexOf(converged!) > hook.hits.indexOf(accepted[2]), 'in order');
});

test('GitHub: a rejected commit gets failure naming file:line; the webhook gets its problems', async () => {
  const bad = await fleet.commit(fleet.service('shop/web', { replicas: 'two' }), 'bad replicas');
  await eventually('failure on GitHub', () => statuses(github, bad).join() === 'failure', 30_000);
  const hit = github.hits.find((h) => h.url.endsWith(bad))!;
  assert.match(String(hit.json.description), /^rejected: services\/shop\/web\.yaml:\d+:\d+: spec\.replicas/);
  assert.ok(String(hit.json.description).length <= 140);
  const rejected = (await eventually('rejected at the webhook', () => hook.hits.find((h) => h.json.event === 'rejected' && h.answered === 200)))!;
  assert.is(rejected.json.commit, bad);
  const [p] = rejected.json.problems as Array<{ file: string; line: number }>;
  assert.is(p.file, 'services/shop/web.yaml');
  assert.ok(p.line > 0);
  assert.ok(signed(rejected));
});

test('a cluster that stops is announced unreachable (no commit status for it)', async () => {
  const before = github.hits.length;
  await fleet.procs.get('munich')!.kill('SIGKILL');
  const u = (await eventually('unreachable at the webhook', () => hook.hits.find((h) => h.json.event === 'unreachable'), 30_000))!;
  assert.is(u.json.cluster, 'munich');
  assert.match(String(u.json.summary), 'cluster munich unreachable');
  assert.is(github.hits.length, before);
});

test('Gitea: pending, success, failure at /api/v1 with a token; a root killed -9 delivers what it had not after restart', async () => {
  const dir = path.join(tempDir('canopy-notify-'), 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  const spec = `  notifications: [{url: "${hookB.url}/b"}]\n  commitStatus: {provider: gitea, apiUrl: "${gitea.url}", repository: ops/edge}\n`;
  const first = commitFiles(dir, { 'fleet.yaml': fleetYaml('notifyb', spec) }, 'first');
  const env = { CANOPY_STATUS_TOKEN: 'gitea-test-token' };
  rootB = start(['root', '--repo', dir, '--broker', fleet.broker.url], { env });
  await eventually('pending then success on Gitea', () => statuses(gitea, first).join() === 'pending,success', 30_000);
  const hit = gitea.hits[0];
  assert.is(hit.url, `/api/v1/repos/ops/edge/statuses/${first}`);
  assert.is(hit.headers.authorization, 'token gitea-test-token');
  const bad = commitFiles(dir, { 'services/shop/web.yaml': serviceYaml('shop', 'web', { runtime: 'process', command: ['sleep', '9'], replicas: -1 }) }, 'bad');
  await eventually('failure on Gitea', () => statuses(gitea, bad).join() === 'failure', 30_000);
  assert.match(String(gitea.hits.at(-1)!.json.description), /^rejected: services\/shop\/web\.yaml:\d+:\d+: spec\.replicas/);

  // The webhook has answered 503 to everything: the events wait in the journal.
  await eventually('the webhook tried', () => hookB.hits.length >= 1);
  const outbox = path.join(dir, '.git', 'canopy', 'notify-outbox.json');
  await eventually('journaled', () => existsSync(outbox) && JSON.parse(readFileSync(outbox, 'utf8')).entries.length >= 3);
  assert.not.match(readFileSync(outbox, 'utf8'), 'gitea-test-token', 'no token in the journal');
  await rootB.kill('SIGKILL');
  hookB.answer = () => 200;
  rootB = start(['root', '--repo', dir, '--broker', fleet.broker.url], { env });
  await eventually(
    'accepted, converged and rejected delivered after the restart',
    () => ['accepted', 'converged', 'rejected'].every((e) => hookB.hits.some((h) => h.json.event === e && h.answered === 200)),
    30_000,
  );
  const order = hookB.hits.filter((h) => h.answered === 200).map((h) => `${h.json.event} ${h.json.commit === first ? 'first' : 'bad'}`);
  assert.equal(order.slice(0, 3), ['accepted first', 'converged first', 'rejected bad']);
  assert.not.ok(hookB.hits[0].headers['x-canopy-signature'], 'no secretEnv: unsigned');
});

test.run();
