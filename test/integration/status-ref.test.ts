// A cluster's status ref in a real repository: commits on meaningful change only (wobble never
// commits), heartbeats stacked or amended, a restarted recorder carries on from the ref, and a
// simulated stretch of churn grows the repository by well under 1 MB a day.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { ClusterStatus } from '../../schemas/messages.js';
import { openRepo } from '../../reconciler/git/repo.js';
import { StatusRecorder, meaningfulChange, statusRef } from '../../reconciler/cluster/status-ref.js';
import { simulateStatusDay } from '../helpers/status-day.js';
import { git, tempDir } from '../helpers/git.js';

const T0 = Date.parse('2026-05-01T08:00:00Z');
const ME = { name: 'canopy cluster a', email: 'a@canopy.invalid' };

function status(o: Partial<Omit<ClusterStatus, 'at'>> & { at?: number } = {}): ClusterStatus {
  const cap = { cpu: 100, memoryMi: 204800, gpu: 2 };
  return {
    kind: 'cluster-status',
    cluster: 'a',
    applied: { commit: 'c'.repeat(40), seq: 1, epoch: 0 },
    capacity: cap,
    free: { cpu: 50, memoryMi: 1000, gpu: 0 },
    maxNodeFree: cap,
    maxNode: { cpu: 4, memoryMi: 8192, gpu: 1 },
    arch: ['amd64'],
    runtimes: ['container'],
    labels: { region: 'eu' },
    nodes: { total: 25, online: 25 },
    services: { 'shop/web': { desired: 2, running: 2, failed: 0 } },
    ...o,
    at: new Date(o.at ?? T0).toISOString(),
  };
}

const Meaningful = suite('meaningfulChange');
Meaningful('what is worth a commit, and what is not', () => {
  const base = status();
  const cases: Array<[string, Partial<Omit<ClusterStatus, 'at'>>, string | undefined]> = [
    ['report time and free capacity', { free: { cpu: 1, memoryMi: 1, gpu: 0 }, maxNodeFree: { cpu: 0, memoryMi: 0, gpu: 0 } }, undefined],
    ['capacity wobble under 10 %', { capacity: { cpu: 95, memoryMi: 210000, gpu: 2 } }, undefined],
    ['capacity moved over 10 %', { capacity: { cpu: 85, memoryMi: 204800, gpu: 2 } }, 'capacity'],
    ['a GPU less', { capacity: { cpu: 100, memoryMi: 204800, gpu: 1 } }, 'capacity'],
    ['a replica failed', { services: { 'shop/web': { desired: 2, running: 1, failed: 1 } } }, 'service shop/web'],
    ['a failure message alone', { services: { 'shop/web': { desired: 2, running: 2, failed: 0, message: 'slow' } } }, undefined],
    [
      'a service appeared',
      { services: { 'shop/web': { desired: 2, running: 2, failed: 0 }, 'shop/db': { desired: 1, running: 0, failed: 0 } } },
      'service shop/db',
    ],
    ['a node lost', { nodes: { total: 25, online: 24 } }, 'nodes'],
    ['a new version applied', { applied: { commit: 'd'.repeat(40), seq: 2, epoch: 0 } }, 'applied version'],
    ['runtimes', { runtimes: ['container', 'process'] }, 'runtimes'],
    ['labels', { labels: { region: 'us' } }, 'labels'],
    ['latency measured a little differently', { latency: { hq: { ms: 10.5, source: 'measured' } } }, 'latency to hq'],
    ['an endpoint appeared', { services: { 'shop/web': { desired: 2, running: 2, failed: 0, endpoints: ['10.0.0.1:8080'] } } }, 'endpoints of shop/web'],
  ];
  for (const [what, change, why] of cases) assert.is(meaningfulChange(base, status(change)), why, what);
  const withLatency = status({ latency: { hq: { ms: 10, source: 'measured' } } });
  assert.is(meaningfulChange(withLatency, status({ latency: { hq: { ms: 11, source: 'measured' } } })), undefined, 'latency within 25 %');
  assert.is(meaningfulChange(undefined, base), 'first status');
});
Meaningful.run();

const Recorder = suite('StatusRecorder');

async function repoDir(): Promise<string> {
  const dir = path.join(tempDir('canopy-status-'), 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  return dir;
}
const log = (dir: string) =>
  git(dir, 'log', '--format=%ct %s', statusRef('a'))
    .split('\n')
    .map((l) => l.replace(/^(\d+)/, (t) => String((Number(t) * 1000 - T0) / 1000)));

Recorder('commits changes, ignores wobble, stacks a heartbeat per refresh period', async () => {
  const dir = await repoDir();
  const rec = new StatusRecorder(await openRepo(dir), 'a', ME);
  const results: string[] = [];
  for (let s = 0; s <= 300; s += 5) {
    const failed = s >= 100 && s < 130;
    const wobble = { cpu: 100, memoryMi: 204800 * (1 + ((s % 3) - 1) * 0.01), gpu: 2 };
    results.push(
      await rec.record(
        status({ at: T0 + s * 1000, capacity: wobble, services: { 'shop/web': { desired: 2, running: failed ? 1 : 2, failed: failed ? 1 : 0 } } }),
        60_000,
      ),
    );
  }
  assert.equal(log(dir).reverse(), [
    '0 a: 25/25 nodes, #1 from cccccccccccc',
    '60 a: heartbeat',
    '100 a: 25/25 nodes, #1 from cccccccccccc',
    '130 a: 25/25 nodes, #1 from cccccccccccc',
    '190 a: heartbeat',
    '250 a: heartbeat',
  ]);
  assert.is(results.filter((r) => r === 'unchanged').length, 61 - 6);
  assert.is(git(dir, 'fsck', '--strict', '--no-dangling'), '');
});

Recorder('amended heartbeats: after a change, at most one heartbeat, dated last', async () => {
  const dir = await repoDir();
  const rec = new StatusRecorder(await openRepo(dir), 'a', ME, { heartbeats: 'amend' });
  for (let s = 0; s <= 300; s += 5) await rec.record(status({ at: T0 + s * 1000, nodes: { total: 25, online: s >= 200 ? 24 : 25 } }), 60_000);
  assert.equal(log(dir).reverse(), [
    '0 a: 25/25 nodes, #1 from cccccccccccc',
    '180 a: heartbeat',
    '200 a: 24/25 nodes, #1 from cccccccccccc',
    '260 a: heartbeat',
  ]);
  // The tree of a heartbeat is its change's tree: nothing new to store but the commit.
  assert.is(git(dir, 'rev-parse', `${statusRef('a')}^{tree}`), git(dir, 'rev-parse', `${statusRef('a')}~1^{tree}`));
  // A recorder started afresh (a restart) sees the heartbeat at the tip and goes on amending it.
  const again = new StatusRecorder(await openRepo(dir), 'a', ME, { heartbeats: 'amend' });
  assert.is(await again.record(status({ at: T0 + 330_000, nodes: { total: 25, online: 24 } }), 60_000), 'heartbeat');
  assert.equal(log(dir).reverse().slice(-2), ['200 a: 24/25 nodes, #1 from cccccccccccc', '330 a: heartbeat']);
  assert.is(await again.record(status({ at: T0 + 335_000, nodes: { total: 25, online: 24 } }), 60_000), 'unchanged');
});

Recorder('two simulated hours of churn on 50 nodes: under 1 MB a day, stacked or amended', async () => {
  for (const heartbeats of ['stack', 'amend'] as const) {
    const d = await simulateStatusDay({ heartbeats, hours: 2 });
    const perDay = (d.afterGcBytes * 12) / 1e6;
    assert.ok(perDay < 1, `${heartbeats}: ${perDay} MB a day after gc`);
    assert.ok(d.commits.changed > 40 && d.commits.changed < 100, `${heartbeats}: ${d.commits.changed} change commits in 2 h`);
    if (heartbeats === 'amend') assert.ok(d.commits.onRef < d.commits.changed * 2 + 1, 'at most one heartbeat after each change');
  }
});

Recorder.run();
