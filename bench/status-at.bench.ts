// `canopy status --at` on a long history (issue 19): a fleet repository with 10,000 commits of
// main (--quick: 2,000) changing 100 services, a note on each (accepted), the root's placement
// refs on 10 clusters (RootRecorder, every 100th commit, dated by a stand-in for Date) and their
// status refs (a commit every 10 minutes of history each, dated when observed). Measured: the
// fleet's status at a time in the middle of that history (fleetStatusAt, in process; goal < 1 s),
// beside today's status (fleetStatus), and the CLI `canopy status --at T --json` end to end.
import { execFileSync } from 'node:child_process';
import type { Bench, Figure } from './types.js';
import { judge } from './types.js';
import { median, minMax, nowMs, round } from './lib/stats.js';
import type { ClusterStatus, Placement } from '../schemas/messages.js';
import { bigServiceYaml, createBigRepo } from '../test/helpers/big-repo.js';
import { RootRecorder, writeStatus } from '../test/helpers/root-record.js';
import { aClusterStatus } from '../test/helpers/root-fakes.js';
import { openRepo, resolveRef, type Repo } from '../reconciler/git/repo.js';
import { readRecord } from '../reconciler/git/records.js';
import { renderNote } from '../reconciler/core/note.js';
import { fleetStatus } from '../reconciler/report/fleet-status.js';
import { fleetStatusAt } from '../reconciler/report/status-at.js';
import { canopy } from '../test/helpers/canopy.js';

const START = 1_780_000_000; // seconds; main's commit i is dated START + 60 i
const ENV = { GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'bench@example.com', GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'bench@example.com' };

/** Main: `n` commits after the fleet's first, each one service's replicas; then a note on each. */
function history(dir: string, paths: string[], n: number): string[] {
  let s = '';
  for (let i = 1; i <= n; i++) {
    const p = paths[i % paths.length];
    const [, app, name] = /^services\/([^/]+)\/([^/]+)\.yaml$/.exec(p)!;
    const body = bigServiceYaml(app, name, { replicas: 1 + (i % 3) });
    s += `commit refs/heads/main\ncommitter Bench <bench@example.com> ${START + 60 * i} +0000\ndata 7\nchange\n`;
    if (i === 1) s += `from ${execFileSync('git', ['-C', dir, 'rev-parse', 'refs/heads/main'], { encoding: 'utf8' }).trim()}\n`;
    s += `M 100644 inline ${p}\ndata ${Buffer.byteLength(body)}\n${body}\n`;
  }
  execFileSync('git', ['-C', dir, 'fast-import', '--quiet'], { input: s, env: { ...process.env, ...ENV } });
  const oids = execFileSync('git', ['-C', dir, 'rev-list', '--reverse', 'refs/heads/main'], { encoding: 'utf8', maxBuffer: 1 << 26 })
    .trim()
    .split('\n');
  let notes = `commit refs/notes/canopy\ncommitter Bench <bench@example.com> ${START + 60 * n + 60} +0000\ndata 6\nnotes\n`;
  for (const [i, oid] of oids.entries()) {
    const text = renderNote({ outcome: 'accepted', commit: oid, at: new Date((START + 60 * i + 5) * 1000).toISOString(), changed: {} });
    notes += `N inline ${oid}\ndata ${Buffer.byteLength(text)}\n${text}\n`;
  }
  execFileSync('git', ['-C', dir, 'fast-import', '--quiet'], { input: notes, env: { ...process.env, ...ENV } });
  return oids;
}

/** The root's placements every 100th commit and the clusters' statuses every 10 minutes, dated as they happened. */
async function records(repo: Repo, oids: string[], clusters: string[]): Promise<number> {
  const RealDate = Date;
  let clock = 0;
  class Clock extends RealDate {
    constructor(...a: unknown[]) {
      if (a.length) super(...(a as [number]));
      else super(clock);
    }
    static override now() {
      return clock;
    }
  }
  const root = new RootRecorder(repo, 'big');
  const seen = new Map<string, Placement | undefined>();
  let written = 0;
  globalThis.Date = Clock as DateConstructor;
  try {
    for (let i = 0; i < oids.length; i += 100) {
      const t = (START + 60 * i) * 1000;
      clock = t + 5000;
      await root.report(
        clusters.map((c) => aClusterStatus(c, { at: new RealDate(t).toISOString() })),
        new RealDate(t),
      );
      await root.record(oids[i], new RealDate(t + 5000));
      // Each cluster observes what it was asked, every 10 minutes until the next placement.
      for (let m = 10; m < 100 * 60 && i + m / 60 < oids.length; m += 10 * 60) {
        for (const c of clusters) {
          const tip = (await resolveRef(repo, `refs/canopy/placements/${c}`))!;
          if (!seen.has(tip)) seen.set(tip, await readRecord(repo, tip, 'placement.json', 'Placement', { ref: c, warn: () => {} }));
          const p = seen.get(tip);
          const services: ClusterStatus['services'] = {};
          for (const [id, a] of Object.entries(p?.services ?? {})) services[id] = { desired: a.replicas, running: a.replicas, ready: a.replicas, failed: 0 };
          const at = new RealDate(t + (m + 20) * 1000);
          await writeStatus(repo, aClusterStatus(c, { applied: p?.version ?? null, at: at.toISOString(), services }), at);
          written++;
        }
      }
    }
  } finally {
    globalThis.Date = RealDate;
  }
  return written;
}

const run: Bench = async ({ quick, log }) => {
  const n = quick ? 2000 : 10_000;
  const figures: Figure[] = [];
  const t0 = nowMs();
  const big = createBigRepo({ services: 100, apps: 10, clusters: 10 });
  // The fleet's first commit, dated at the start of the history.
  const first = execFileSync('git', ['-C', big.dir, 'commit-tree', `${big.head}^{tree}`, '-m', 'fleet'], {
    encoding: 'utf8',
    env: { ...process.env, ...ENV, GIT_COMMITTER_DATE: `@${START} +0000`, GIT_AUTHOR_DATE: `@${START} +0000` },
  }).trim();
  execFileSync('git', ['-C', big.dir, 'update-ref', 'refs/heads/main', first]);
  const oids = history(big.dir, big.paths, n - 1);
  const repo = await openRepo(big.dir);
  const statuses = await records(repo, oids, big.clusters);
  log(`history: ${oids.length} commits of main with notes, ${statuses} status commits, in ${round((nowMs() - t0) / 1000)} s`);
  const mid = new Date((START + 60 * Math.floor(n / 2) + 30) * 1000);

  const times: number[] = [];
  let shown = '';
  for (let r = 0; r < 7; r++) {
    const s = nowMs();
    const report = await fleetStatusAt(repo, mid);
    times.push(nowMs() - s);
    const states = Object.values(report.services).map((x) => x.state);
    const online = Object.values(report.clusters).filter((c) => c.state === 'online').length;
    shown = `${states.length} services (${states.filter((x) => x === 'converged').length} converged), ${online} of ${Object.keys(report.clusters).length} clusters online, in force ${report.inForce?.slice(0, 12)}`;
  }
  const today: number[] = [];
  for (let r = 0; r < 7; r++) {
    const s = nowMs();
    await fleetStatus(repo);
    today.push(nowMs() - s);
  }
  figures.push(
    judge({
      label: `status --at a middle time, ${oids.length} commits × 100 services (in process)`,
      value: round(median(times)),
      unit: 'ms',
      spread: minMax(times),
      floor: { label: 'status today (fleetStatus)', value: round(median(today)) },
      goal: { op: '<=', value: 1000 },
    }),
  );
  const cliTimes: number[] = [];
  for (let r = 0; r < 3; r++) {
    const s = nowMs();
    const p = canopy(['status', '--repo', big.dir, '--at', mid.toISOString(), '--json']);
    cliTimes.push(nowMs() - s);
    if (p.code !== 0) throw new Error(`canopy status --at: exit ${p.code}: ${p.stderr}`);
  }
  figures.push(
    judge({
      label: 'canopy status --at a middle time --json (process, end to end)',
      value: round(median(cliTimes)),
      unit: 'ms',
      spread: minMax(cliTimes),
      goal: { op: '<=', value: 1000 },
    }),
  );
  return { name: 'status-at', figures, notes: [`at ${mid.toISOString()}: ${shown}; ${statuses} status commits on 10 clusters`] };
};
export default run;
