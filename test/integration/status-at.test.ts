// `canopy status --at` and `canopy history --until` on a real repository: a history written as
// the root and the clusters write it (RootRecorder: notes on main, placement refs; writeStatus:
// status refs dated when observed), on a clock the test moves (main's commits dated with
// GIT_*_DATE, the root's placement commits by a stand-in for Date). At several moments the test
// records what `status` (fleetStatus) said then; afterwards `status --at` each moment, and at a
// revision (the moment the root accepted it), must say the same. `history --until` drops what
// came after and walks its --limit from the moment asked for.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import type { Placement } from '../../schemas/messages.js';
import { openRepo, type Repo } from '../../reconciler/git/repo.js';
import { fleetStatus, type FleetReport } from '../../reconciler/report/fleet-status.js';
import { fleetStatusAt, MomentError, momentOf } from '../../reconciler/report/status-at.js';
import { fleetHistory } from '../../reconciler/report/history.js';
import { RootRecorder, writeStatus } from '../helpers/root-record.js';
import { aClusterStatus } from '../helpers/root-fakes.js';
import { commitFiles, git, serviceYaml, tempDir } from '../helpers/git.js';
import { canopy } from '../helpers/canopy.js';

const dir = path.join(tempDir('canopy-status-at-'), 'fleet');
const FLEET = 'apiVersion: canopy/v1\nkind: Fleet\nmetadata: {name: demo}\nspec:\n  timings: {statusRefreshSeconds: 60, unreachableAfterSeconds: 10}\n';
const CLUSTERS = ['munich', 'paris'];
const clusterYaml = (name: string) => `apiVersion: canopy/v1\nkind: Cluster\nmetadata: {name: ${name}}\n`;
const web = (replicas: number) => serviceYaml('shop', 'web', { runtime: 'container', image: 'canopy/web:1', replicas, resources: { cpu: 0.1 } });
const BASE = Date.parse('2026-12-06T10:00:00Z');
const T = (s: number) => new Date(BASE + s * 1000);

// The clock the root's placement commits read (writeCommit dates a commit `new Date()`).
const RealDate = Date;
let clock = BASE;
class TestDate extends RealDate {
  constructor(...a: unknown[]) {
    if (a.length) super(...(a as [number]));
    else super(clock);
  }
  static override now() {
    return clock;
  }
}

let repo: Repo;
const recorded: Array<{ at: Date; report: FleetReport }> = [];
const commits: string[] = [];

function commitAt(files: Record<string, string>, message: string, at: Date): string {
  process.env.GIT_AUTHOR_DATE = process.env.GIT_COMMITTER_DATE = at.toISOString();
  try {
    return commitFiles(dir, files, message);
  } finally {
    delete process.env.GIT_AUTHOR_DATE;
    delete process.env.GIT_COMMITTER_DATE;
  }
}

/** What `status` says at `at` (the refs as they are now, judged at `at`), kept. */
async function record(at: Date): Promise<void> {
  recorded.push({ at, report: await fleetStatus(repo, at) });
}

/** The clusters report running what their placement refs ask, applied, at `at`; `running` overrides the count. */
async function clustersApply(at: Date, running?: number): Promise<void> {
  for (const c of CLUSTERS) {
    const p = JSON.parse(git(dir, 'show', `refs/canopy/placements/${c}:placement.json`)) as Placement;
    const services: Record<string, { desired: number; running: number; ready: number; failed: number }> = {};
    for (const f of git(dir, 'ls-tree', '-r', '--name-only', `refs/canopy/placements/${c}`, 'services').split('\n').filter(Boolean)) {
      const a = JSON.parse(git(dir, 'show', `refs/canopy/placements/${c}:${f}`)) as { replicas: number };
      const n = running ?? a.replicas;
      services[f.slice('services/'.length, -'.json'.length)] = { desired: a.replicas, running: n, ready: n, failed: 0 };
    }
    await writeStatus(repo, aClusterStatus(c, { applied: p.version, at: at.toISOString(), services }), at);
  }
}

const setup = (async () => {
  git(path.dirname(dir), 'init', '-q', '-b', 'main', dir);
  repo = await openRepo(dir);
  const root = new RootRecorder(repo, 'demo');
  globalThis.Date = TestDate as DateConstructor;
  try {
    await root.report(
      CLUSTERS.map((c) => aClusterStatus(c, { at: T(-5).toISOString() })),
      T(-5),
    );
    // Each step: a commit of main at t, pending at t+2, accepted (placements written) at t+5,
    // clusters half-way at t+20, done at t+40; one step in three also leaves a cluster silent.
    for (let i = 0; i < 6; i++) {
      const t = i * 200;
      const files: Record<string, string> =
        i === 0 ? { 'fleet.yaml': FLEET, ...Object.fromEntries(CLUSTERS.map((c) => [`clusters/${c}.yaml`, clusterYaml(c)])) } : {};
      commits.push(commitAt({ ...files, 'services/shop/web.yaml': web(i + 1) }, `web: ${i + 1}`, T(t)));
      await record(T(t + 2));
      clock = T(t + 5).getTime();
      assert.ok(await root.record(commits[i], T(t + 5)));
      await record(T(t + 5));
      await clustersApply(T(t + 20), 0);
      await record(T(t + 30));
      await clustersApply(T(t + 40));
      await record(T(t + 50));
      await record(T(t + 150)); // past statusRefreshSeconds: the clusters read as unreachable
    }
    // A rejected head: the last good commit stays in force.
    commits.push(commitAt({ 'services/shop/web.yaml': 'spec: [' }, 'broken', T(1200)));
    await root.record(commits[6], T(1203));
    await record(T(1204));
  } finally {
    globalThis.Date = RealDate;
  }
})();

const test = suite('status --at');
test.before(() => setup);

test('status --at each recorded moment says what status said then', async () => {
  assert.ok(recorded.length >= 30, `${recorded.length} moments recorded`);
  for (const { at, report } of recorded) {
    const { at: shown, ...then } = await fleetStatusAt(repo, at);
    assert.is(shown, at.toISOString());
    assert.equal(then, report, `at ${at.toISOString()}`);
  }
  // The moments differ (the check could fail): pending, progressing, converged, unreachable, rejected heads.
  const states = new Set<string | undefined>(
    recorded.flatMap(({ report }) => [report.head?.outcome, report.services['shop/web']?.state, ...Object.values(report.clusters).map((c) => c.state)]),
  );
  for (const s of ['pending', 'accepted', 'rejected', 'progressing', 'converged', 'degraded', 'online', 'unreachable'])
    assert.ok(states.has(s), `${s} among ${[...states]}`);
});

test('the CLI: --at TIME and --at REV print the recorded report, with the moment', async () => {
  const mid = recorded[Math.floor(recorded.length / 2)];
  const r = canopy(['status', '--repo', dir, '--at', mid.at.toISOString(), '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), { at: mid.at.toISOString(), ...JSON.parse(JSON.stringify(mid.report)) });
  // A revision: the moment the root accepted it (its note), t+5 of step 3.
  const rev = canopy(['status', '--repo', dir, '--at', commits[3].slice(0, 10), '--json']);
  assert.is(rev.code, 0, rev.stderr);
  const want = recorded.find((m) => m.at.getTime() === T(3 * 200 + 5).getTime())!;
  assert.equal(JSON.parse(rev.stdout), { at: want.at.toISOString(), ...JSON.parse(JSON.stringify(want.report)) });
  const text = canopy(['status', '--repo', dir, '--at', T(450).toISOString()]);
  assert.is(text.code, 0, text.stderr);
  assert.match(text.stdout, /^as of 2026-12-06T10:07:30.000Z\nfleet demo {3}main /);
  assert.match(text.stdout, /shop\/web/);
});

test('a moment before the history, and a revision the root did not accept, are named', async () => {
  await momentOf(repo, commits[6]).then(
    () => assert.unreachable('a rejected commit has no moment'),
    (e: Error) => assert.match(e.message, /never accepted .*its note says rejected/),
  );
  await fleetStatusAt(repo, T(-100)).then(
    () => assert.unreachable('before the history'),
    (e: Error) => {
      assert.instance(e, MomentError);
      assert.match(e.message, /is before the fleet's history \(the first commit of main is dated 2026-12-06T10:00:00.000Z\)/);
    },
  );
  const r = canopy(['status', '--repo', dir, '--at', T(-100).toISOString()]);
  assert.is(r.code, 64);
  assert.match(r.stderr, /canopy status: --at 2026-12-06T09:58:20.000Z: .* before the fleet's history/);
});

test('history --until leaves out what came after, and --limit counts from there', async () => {
  const until = T(2 * 200 + 50);
  const h = await fleetHistory(repo, { until, limit: 2 });
  assert.is(h.until, until.toISOString());
  assert.ok(h.events.length > 0);
  for (const e of h.events) assert.ok(Date.parse(e.at) <= until.getTime(), `${e.kind} at ${e.at}`);
  const seen = new Set(h.events.flatMap((e) => (e.kind === 'commit' ? [e.commit] : [])));
  assert.ok(seen.has(commits[2]) && seen.has(commits[1]), 'the two commits up to --until');
  assert.not.ok(seen.has(commits[3]), 'nothing after --until');
  assert.ok(h.truncated.includes('refs/heads/main'), 'the walk of 2 stopped before commit 0');
  const observed = h.events.filter((e) => e.kind === 'observed' && e.at === T(2 * 200 + 40).toISOString());
  assert.ok(observed.length >= 1, 'what step 2 brought the clusters to, observed');
  const cli = canopy(['history', '--repo', dir, '--since', T(200).toISOString(), '--until', until.toISOString(), '--json']);
  assert.is(cli.code, 0, cli.stderr);
  const j = JSON.parse(cli.stdout) as { events: Array<{ at: string; kind: string; commit?: string }> };
  assert.ok(j.events.every((e) => Date.parse(e.at) >= 200_000 + BASE && Date.parse(e.at) <= until.getTime()));
  assert.equal(
    j.events.filter((e) => e.kind === 'commit').map((e) => e.commit),
    [commits[1], commits[2]],
  );
});

test.run();
