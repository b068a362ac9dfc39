import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import { openJournal } from '../../reconciler/core/journal.js';
import { createLogger } from '../../reconciler/core/log.js';
import { createTelemetry } from '../../reconciler/core/telemetry.js';
import { payloadOf, repositoryOf, statusOf, type CanopyEvent } from '../../reconciler/root/notify/events.js';
import { missingCredential, requestsFor, signatureOf, type Outcome, type Request } from '../../reconciler/root/notify/deliveries.js';
import { backoffMs, Outbox, OUTBOX_FILE } from '../../reconciler/root/notify/outbox.js';
import { startNotifier } from '../../reconciler/root/notify/notifier.js';
import type { FleetDescriptor } from '../../schemas/model.js';
import { eventually } from '../helpers/canopy.js';
import { rootReconciler } from '../../reconciler/root/reconcile.js';
import { clusterStatusIn } from '../../reconciler/root/inputs.js';
import { aService } from '../helpers/builders.js';
import { aClusterStatus, desiredState, fakeCommits, fakeRoot, loaded, oid, START_MS } from '../helpers/root-fakes.js';
import { tempDir } from '../helpers/cleanup.js';

const SHA = 'a'.repeat(40);
const AT = new Date('2026-12-07T00:00:00Z');
const problem = { file: 'services/web/api.yaml', line: 9, column: 13, message: 'spec.replicas: must be an integer' };
const rejected: CanopyEvent = { event: 'rejected', commit: SHA, problems: [problem, { ...problem, line: 10 }], inForce: 'b'.repeat(40) };

const Events = suite('notify: events');

Events('a payload is one JSON object: kind, event, fleet, commit, at, summary, then its own fields', () => {
  const p = payloadOf(rejected, 'demo', AT);
  assert.is(p.kind, 'canopy.event');
  assert.is(p.event, 'rejected');
  assert.is(p.fleet, 'demo');
  assert.is(p.commit, SHA);
  assert.is(p.at, '2026-12-07T00:00:00.000Z');
  assert.equal(p.problems, [problem, { ...problem, line: 10 }]);
  assert.match(p.summary, 'rejected: 2 problem(s), first services/web/api.yaml:9:13: spec.replicas');
  const u = payloadOf({ event: 'unreachable', cluster: 'paris', lastHeard: null }, 'demo', AT);
  assert.is(u.commit, null);
  assert.is(u.cluster, 'paris');
  const r = payloadOf({ event: 'rolled-back', commit: SHA, service: 'web/api', reason: 'munich: 0/2 ready' }, 'demo', AT);
  assert.equal([r.service, r.reason], ['web/api', 'munich: 0/2 ready']);
});

Events('commit status: accepted pending, converged success, rejected and rolled-back failure, unreachable none', () => {
  assert.equal(statusOf({ event: 'accepted', commit: SHA, clusters: 2, changed: 1, removed: 0 }), {
    sha: SHA,
    state: 'pending',
    description: 'deploying to 2 clusters',
  });
  assert.is(statusOf({ event: 'converged', commit: SHA, seconds: 3.2 })?.state, 'success');
  const f = statusOf(rejected)!;
  assert.is(f.state, 'failure');
  assert.is(f.description, 'rejected: services/web/api.yaml:9:13: spec.replicas: must be an integer (+1 more)');
  const long = statusOf({ ...rejected, problems: [{ ...problem, message: 'x'.repeat(300) }] } as CanopyEvent)!;
  assert.is(long.description.length, 140);
  assert.is(statusOf({ event: 'rolled-back', commit: SHA, service: 'web/api', reason: 'deadline' })?.state, 'failure');
  assert.is(statusOf({ event: 'unreachable', cluster: 'paris', lastHeard: null }), undefined);
});

Events('the repository and server come from a repository URL', () => {
  assert.equal(repositoryOf('https://github.com/acme/fleet.git'), { repository: 'acme/fleet', origin: 'https://github.com' });
  assert.equal(repositoryOf('http://gitea.local:3000/ops/edge'), { repository: 'ops/edge', origin: 'http://gitea.local:3000' });
  assert.equal(repositoryOf('https://git.example/sub/ops/edge.git')?.origin, 'https://git.example/sub');
  assert.is(repositoryOf('/srv/fleet'), undefined);
  assert.is(repositoryOf('https://github.com/acme'), undefined);
});

const Requests = suite('notify: requests');

Requests('GitHub: POST {api}/repos/{owner}/{repo}/statuses/{sha}, Bearer token, the GitHub media type', () => {
  const { requests } = requestsFor(rejected, { fleet: 'demo', webhooks: [], commitStatus: { provider: 'github', repository: 'acme/fleet' } }, AT);
  const [r] = requests;
  assert.is(r.url, `https://api.github.com/repos/acme/fleet/statuses/${SHA}`);
  assert.is(r.headers.accept, 'application/vnd.github+json');
  assert.equal(r.auth, { scheme: 'Bearer', env: ['CANOPY_STATUS_TOKEN', 'CANOPY_GIT_TOKEN'] });
  const body = JSON.parse(r.body);
  assert.equal(Object.keys(body), ['state', 'context', 'description']);
  assert.is(body.context, 'canopy/deploy');
  assert.is(body.state, 'failure');
});

Requests('Gitea: POST {base}/api/v1/repos/..., token scheme; base and repository from the root repository URL', () => {
  const cs = { provider: 'gitea' as const, tokenEnv: 'GITEA_TOKEN', context: 'edge' };
  const { requests } = requestsFor(
    { event: 'converged', commit: SHA, seconds: 1 },
    { fleet: 'demo', webhooks: [], commitStatus: cs, repoUrl: 'http://gitea:3000/ops/edge.git' },
    AT,
  );
  assert.is(requests[0].url, `http://gitea:3000/api/v1/repos/ops/edge/statuses/${SHA}`);
  assert.equal(requests[0].auth, { scheme: 'token', env: ['GITEA_TOKEN'] });
  assert.is(JSON.parse(requests[0].body).context, 'edge');
  const none = requestsFor({ event: 'converged', commit: SHA, seconds: 1 }, { fleet: 'demo', webhooks: [], commitStatus: cs }, AT);
  assert.is(none.requests.length, 0);
  assert.match(none.problems[0], 'no repository');
});

Requests('webhooks get the events they list (all by default); unreachable sets no status', () => {
  const webhooks = [{ url: 'http://a/hook' }, { url: 'http://b/hook', events: ['rejected' as const], secretEnv: 'S' }];
  const c = { fleet: 'demo', webhooks, commitStatus: { provider: 'github' as const, repository: 'acme/fleet' } };
  assert.equal(
    requestsFor(rejected, c, AT).requests.map((r) => r.target),
    ['webhook', 'webhook', 'github'],
  );
  assert.equal(
    requestsFor({ event: 'unreachable', cluster: 'paris', lastHeard: null }, c, AT).requests.map((r) => r.url),
    ['http://a/hook'],
  );
});

Requests('credentials come from the environment: what is missing is named; the signature is HMAC-SHA256 of the body', () => {
  assert.match(missingCredential({ secretEnv: 'HOOK_SECRET' }, {}) ?? '', 'HOOK_SECRET is not set');
  assert.match(missingCredential({ auth: { scheme: 'Bearer', env: ['A', 'B'] } }, {}) ?? '', 'none of A, B is set');
  assert.is(missingCredential({ auth: { scheme: 'Bearer', env: ['A', 'B'] } }, { B: 't' }), undefined);
  assert.is(signatureOf('{}', 'k'), `sha256=${createHmac('sha256', 'k').update('{}').digest('hex')}`);
});

const Box = suite('notify: outbox');
const quiet = createLogger('root', 'silent');
const req = (key: string, n: number): Request => ({ target: 'webhook', key, event: 'accepted', url: `http://x/${key}`, body: String(n), headers: {} });
const countOf = (t: ReturnType<typeof createTelemetry>, result: string) =>
  t
    .collect()
    .find((f) => f.name === 'canopy_notifications_total')
    ?.samples.filter((s) => s.labels.result === result)
    .reduce((a, s) => a + s.value, 0) ?? 0;

Box('backoff doubles from the base up to the cap, jittered within the upper half', () => {
  assert.is(
    backoffMs(1, 1000, 60_000, () => 0),
    500,
  );
  assert.is(
    backoffMs(1, 1000, 60_000, () => 1),
    1000,
  );
  assert.is(
    backoffMs(4, 1000, 60_000, () => 1),
    8000,
  );
  assert.is(
    backoffMs(20, 1000, 60_000, () => 1),
    60_000,
  );
  assert.is(
    backoffMs(20, 1000, 60_000, () => 0),
    30_000,
  );
});

Box('full: the oldest is dropped and counted', async () => {
  const t = createTelemetry();
  const box = new Outbox({ log: quiet, counter: t.counter('canopy_notifications_total', 'x'), max: 3, send: () => new Promise<Outcome>(() => undefined) });
  for (let i = 0; i < 5; i++) box.add(req(`k${i}`, i));
  assert.equal(
    box.entries.map((e) => e.body),
    ['2', '3', '4'],
  );
  assert.is(countOf(t, 'dropped'), 2);
});

Box('5xx and network errors are retried, in order per target; other 4xx are not', async () => {
  const t = createTelemetry();
  const answers: Record<string, Outcome[]> = {
    a: [
      { ok: false, retry: true, why: 'HTTP 503' },
      { ok: false, retry: true, why: 'ECONNREFUSED' },
      { ok: true, status: 200 },
    ],
    b: [{ ok: false, retry: false, why: 'HTTP 404' }],
  };
  const seen: string[] = [];
  const send = async (r: Request): Promise<Outcome> => {
    seen.push(`${r.key}${r.body}`);
    return r.body === '1' ? answers[r.key].shift()! : { ok: true, status: 200 };
  };
  const box = new Outbox({ log: quiet, counter: t.counter('canopy_notifications_total', 'x'), baseMs: 5, send });
  box.add(req('a', 1));
  box.add(req('a', 2));
  box.add(req('b', 1));
  await eventually('all done', () => box.entries.length === 0, 5000, 5);
  assert.equal(
    seen.filter((s) => s.startsWith('a')),
    ['a1', 'a1', 'a1', 'a2'],
  );
  assert.equal(
    seen.filter((s) => s.startsWith('b')),
    ['b1'],
  );
  assert.equal([countOf(t, 'retried'), countOf(t, 'delivered'), countOf(t, 'rejected')], [2, 2, 1]);
  await box.stop();
});

Box('given up once older than giveUpMs', async () => {
  const t = createTelemetry();
  const box = new Outbox({
    log: quiet,
    counter: t.counter('canopy_notifications_total', 'x'),
    baseMs: 2,
    giveUpMs: 30,
    send: async () => ({ ok: false, retry: true, why: 'HTTP 502' }),
  });
  box.add(req('a', 1));
  await eventually('given up', () => countOf(t, 'failed') === 1, 5000, 5);
  assert.ok(countOf(t, 'retried') >= 1);
  assert.is(box.entries.length, 0);
});

Box('journaled: a new outbox on the same state directory sends what the old one had not', async () => {
  const dir = tempDir('canopy-outbox-');
  const t = createTelemetry();
  const c = t.counter('canopy_notifications_total', 'x');
  const first = new Outbox({ log: quiet, counter: c, journal: openJournal(dir), send: () => new Promise<Outcome>(() => undefined) });
  first.add(req('a', 7));
  await eventually('journaled', async () => (await openJournal(dir).read<{ entries: unknown[] }>(OUTBOX_FILE))?.entries.length === 1, 5000, 5);
  const got: string[] = [];
  const second = new Outbox({
    log: quiet,
    counter: c,
    journal: openJournal(dir),
    send: async (r) => {
      got.push(r.body);
      return { ok: true, status: 200 };
    },
  });
  await second.load();
  await eventually('delivered after the restart', () => got.length === 1 && second.entries.length === 0, 5000, 5);
  assert.equal(got, ['7']);
  await eventually('journal emptied', async () => (await openJournal(dir).read<{ entries: unknown[] }>(OUTBOX_FILE))?.entries.length === 0, 5000, 5);
  await second.stop();
});

Box('a missing token: one warning, nothing sent, no throw', async () => {
  const lines: string[] = [];
  const t = createTelemetry();
  const fleet = { spec: { commitStatus: { provider: 'github', repository: 'acme/fleet', tokenEnv: 'NO_SUCH_TOKEN' } } } as unknown as FleetDescriptor;
  const n = await startNotifier({
    fleet: 'demo',
    log: createLogger('root', 'warn', (l) => lines.push(l)),
    telemetry: t,
    config: () => fleet,
    outbox: { env: {} },
  });
  n.emit({ event: 'converged', commit: SHA, seconds: 1 });
  n.emit({ event: 'converged', commit: SHA, seconds: 2 });
  assert.is(lines.length, 1);
  assert.match(lines[0], 'NO_SUCH_TOKEN');
  assert.is(n.outbox.entries.length, 0);
  assert.is(countOf(t, 'skipped'), 2);
  await n.stop();
});

const Emit = suite('notify: where the root emits');

Emit('accepted after the pass is recorded (clusters it deploys to), then converged; rejected with its problems', async () => {
  const [C1, C2] = ['c1', 'c2'].map(oid);
  const web = aService('shop/web').replicas(1).cpu(1);
  const loads = { [C1]: loaded(desiredState(C1, [web])), [C2]: { ok: false as const, problems: [problem] } };
  const commits = fakeCommits({ head: C1, loads });
  const f = fakeRoot({ commits });
  f.state.clusters.set('munich', { status: aClusterStatus('munich'), online: true, lastHeard: START_MS });
  const reconcile = rootReconciler(f.state, f.ports);
  await reconcile('main');
  assert.equal(f.events, [{ event: 'accepted', commit: C1, clusters: 1, changed: 1, removed: 0 }]);
  const doc = f.book.get('munich')!;
  const services = { 'shop/web': { desired: 1, running: 1, ready: 1, failed: 0 } };
  clusterStatusIn(f.state, f.ports, 'munich', aClusterStatus('munich', { applied: doc.version, services }));
  await reconcile('converge');
  commits.branchHead = C2;
  await reconcile('main');
  assert.equal(
    f.events.map((e) => e.event),
    ['accepted', 'converged', 'rejected'],
  );
  assert.equal(f.events.at(-1), { event: 'rejected', commit: C2, problems: [problem], inForce: C1 });
});

Emit('a cluster recorded unreachable is announced once; back online is not', async () => {
  const f = fakeRoot();
  f.state.good = desiredState(oid('c1'), []);
  f.state.clusters.set('paris', { online: false, lastHeard: START_MS, offlineSince: START_MS });
  const reconcile = rootReconciler(f.state, f.ports);
  await reconcile('live:paris');
  await reconcile('live:paris');
  f.state.clusters.get('paris')!.online = true;
  await reconcile('live:paris');
  assert.equal(f.events, [{ event: 'unreachable', commit: oid('c1'), cluster: 'paris', lastHeard: new Date(START_MS).toISOString() }]);
});

Events.run();
Requests.run();
Box.run();
Emit.run();
