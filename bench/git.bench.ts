// Git at fleet scale (issue 3), on a generated 10,000-service repository (test/helpers/big-repo.ts):
//  - diff + validate + place of a one-file change, in process, nested (100 apps × 100) and flat
//    (one directory of 10,000), with native `git diff-tree -r` of the same two commits timed
//    beside it (its process start included: what a tool shelling out to git pays);
//  - the root (in this process, embedded broker, 10 reported clusters): cold start to the first
//    placement, a restart with the parse cache on disk, and a reconcile round per one-file
//    commit: commit → note written, and how many commits the round wrote;
//  - `canopy plan` (in process) for a one-line change on 10,000 services and on 3;
//  - repository growth from one 50-node cluster's status ref over a simulated day of churn,
//    heartbeats stacked and amended, loose and after `git gc`.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { Bench, Figure } from './types.js';
import { judge } from './types.js';
import { median, iqr, minMax, round, nowMs, sleep } from './lib/stats.js';
import { createBigRepo, bigServiceYaml, type BigRepo } from '../test/helpers/big-repo.js';
import { simulateStatusDay } from '../test/helpers/status-day.js';
import { openRepo, listRefs, resolveRef, type Repo } from '../reconciler/git/repo.js';
import { notesIndex, NOTES_REF } from '../reconciler/git/notes.js';
import { loadDesired, type DesiredState } from '../reconciler/root/desired.js';
import { IncrementalPlacer, PlacementDocs } from '../reconciler/root/incremental.js';
import type { ClusterView } from '../reconciler/root/place.js';
import { startRoot } from '../reconciler/root/root.js';
import { startEmbeddedBroker } from '../reconciler/mqtt/broker.js';
import { connectBus } from '../reconciler/mqtt/bus.js';
import { topics } from '../reconciler/mqtt/topics.js';
import { createLogger } from '../reconciler/core/log.js';
import { StatusRecorder } from '../reconciler/cluster/status-ref.js';
import { planChange } from '../reconciler/report/plan.js';
import type { ClusterStatus } from '../schemas/messages.js';
import { tempDir } from '../test/helpers/git.js';
import { benchClusterStatus } from './lib/statuses.js';

const FLEET = 'gitbench';

const statusOf = (cluster: string): ClusterStatus => benchClusterStatus(cluster);

const viewOf = (s: ClusterStatus): ClusterView => ({
  name: s.cluster,
  online: true,
  offlineForMs: 0,
  capacity: s.capacity,
  maxNode: s.maxNode,
  arch: s.arch,
  runtimes: s.runtimes,
  labels: s.labels,
});

/** Change one service (replicas 1 → 2 → 3 …) in one commit. */
function changeOne(big: BigRepo, i: number, replicas: number): string {
  const p = big.paths[(i * 397) % big.paths.length];
  const [, app, file] = p.split('/');
  return big.change({ [p]: bigServiceYaml(app, file.replace(/\.yaml$/, ''), { replicas }) }, `one change ${i}`);
}

/** In process, as the root does it: diff + validate (incremental) + place (incremental); beside it native diff-tree. */
async function onePath(big: BigRepo, rounds: number, log: (l: string) => void) {
  const repo = await openRepo(big.dir);
  const cache = new Map();
  const first = await loadDesired(repo, big.head, undefined, cache);
  if (!first.ok) throw new Error('generated repository does not validate');
  let state: DesiredState = first.state;
  const views = big.clusters.map((c) => viewOf(statusOf(c)));
  const placer = new IncrementalPlacer();
  const docs = new PlacementDocs();
  for (let i = 0; i < 2; i++) {
    const p = placer.place([...state.services.values()], views, placer.allocation, 'bestfit');
    docs.update(p.decisions, [...p.recomputed, ...p.removed], state.services);
  }
  const ours: number[] = [],
    native: number[] = [],
    full: string[] = [];
  for (let r = 0; r < rounds; r++) {
    const before = state.commit;
    const commit = changeOne(big, r, 2 + (r % 3));
    const t0 = nowMs();
    const res = await loadDesired(repo, commit, state, cache, { consume: true });
    if (!res.ok) throw new Error('a one-file change was rejected');
    state = res.state;
    const svcs = state.services;
    const p = placer.place(
      () => [...svcs.values()],
      views,
      placer.allocation,
      'bestfit',
      {},
      { changed: res.changed, removed: res.removed, get: (id) => svcs.get(id), size: svcs.size },
    );
    docs.update(p.decisions, [...p.recomputed, ...p.removed], state.services);
    ours.push(nowMs() - t0);
    if (p.full) full.push(p.why ?? '');
    const t1 = nowMs();
    execFileSync('git', ['-C', big.dir, 'diff-tree', '-r', before, commit], { stdio: ['ignore', 'pipe', 'ignore'] });
    native.push(nowMs() - t1);
  }
  if (full.length) log(`${big.layout}: ${full.length} round(s) placed everything: ${[...new Set(full)].join('; ')}`);
  return { ours, native };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

const run: Bench = async ({ quick, log }) => {
  const services = quick ? 2000 : 10_000;
  const rounds = quick ? 10 : 30;
  const figures: Figure[] = [];
  const notes: string[] = [];

  // --- diff + validate + place of a one-file change -------------------------------------------
  for (const layout of ['nested', 'flat'] as const) {
    const t0 = nowMs();
    const big = createBigRepo({ services, layout });
    log(`${layout}: generated ${services} services in ${Math.round(nowMs() - t0)} ms (${big.dir})`);
    const { ours, native } = await onePath(big, rounds, log);
    const m = median(ours),
      n = median(native);
    log(`${layout}: diff+validate+place median ${round(m, 2)} ms, native git diff-tree ${round(n, 2)} ms`);
    figures.push(
      judge({
        label: `one-file change, ${layout}: diff + validate + place`,
        value: round(m, 2),
        unit: 'ms',
        spread: iqr(ours).map((x) => round(x, 2)) as [number, number],
        floor: { label: 'native git diff-tree -r of the same commits (a process)', value: round(n, 2) },
        goal: { op: '<=', value: 20 },
      }),
    );
    // Paired by round (the same commits, timed back to back), so a noisy moment hits both sides.
    const ratios = ours.map((o, i) => o / native[i]);
    figures.push(
      judge({
        label: `one-file change, ${layout}: ratio to native git diff-tree -r, paired by round`,
        value: round(median(ratios), 2),
        unit: 'x',
        spread: iqr(ratios).map((x) => round(x, 2)) as [number, number],
        goal: { op: '<=', value: 1 },
      }),
    );
  }

  // --- the root: cold start, restart, reconcile rounds ------------------------------------------
  const big = createBigRepo({ services, layout: 'nested' });
  const broker = await startEmbeddedBroker();
  const bus = await connectBus({ url: broker.url, clientId: 'git-bench', log: createLogger('bus', 'warn') });
  const t = topics(FLEET);
  for (const c of big.clusters) await bus.publish(t.clusterStatus(c), statusOf(c), { retain: true });
  const repo = await openRepo(big.dir);
  const placedAll = async (r: Repo) => (await listRefs(r, 'refs/canopy/placements/')).size === big.clusters.length;
  const notedHead = async (r: Repo, c: string) => (await notesIndex(r)).has(c);
  const starts: number[] = [];
  try {
    for (const label of ['cold start (no parse cache)', 'restart (parse cache on disk; one commit came meanwhile)']) {
      if (starts.length) changeOne(big, 999, 5);
      const head = big.head;
      const t0 = nowMs();
      const rootBus = await connectBus({ url: broker.url, clientId: `git-bench-root-${starts.length}`, log: createLogger('bus', 'warn') });
      const root = await startRoot({ repo: await openRepo(big.dir), bus: rootBus, fleet: FLEET, log: createLogger('root', 'warn') });
      await waitFor('first placement', async () => (await notedHead(repo, head)) && (await placedAll(repo)), 600_000);
      starts.push(nowMs() - t0);
      log(`root ${label}: ${Math.round(starts[starts.length - 1])} ms to the first placement of ${services} services`);
      if (starts.length === 2) {
        // Reconcile rounds on the running root: commit → note, and what each round wrote.
        const times: number[] = [];
        const wrote: number[] = [];
        for (let r = 0; r < rounds; r++) {
          const before = new Map([...(await listRefs(repo, 'refs/canopy/placements/')), ['notes', (await resolveRef(repo, NOTES_REF)) ?? '']]);
          const c = changeOne(big, 1000 + r, 2 + (r % 3));
          const t1 = nowMs();
          await waitFor('note on the new head', () => notedHead(repo, c), 30_000);
          times.push(nowMs() - t1);
          await root.idle();
          const after = new Map([...(await listRefs(repo, 'refs/canopy/placements/')), ['notes', (await resolveRef(repo, NOTES_REF)) ?? '']]);
          let commits = 0;
          const touched: string[] = [];
          for (const [ref, oid] of after) {
            if (before.get(ref) === oid) continue;
            touched.push(ref);
            commits += Number(
              execFileSync('git', ['-C', big.dir, 'rev-list', '--count', before.get(ref) ? `${before.get(ref)}..${oid}` : oid], { encoding: 'utf8' }).trim(),
            );
          }
          wrote.push(commits);
          if (r === 0) log(`round 1 wrote ${commits} commit(s), to ${touched.join(', ')}`);
        }
        figures.push({
          label: 'reconcile round: commit → note written (running root)',
          value: round(median(times), 1),
          unit: 'ms',
          spread: iqr(times).map((x) => round(x, 1)) as [number, number],
        });
        figures.push(
          judge({
            label: 'reconcile round: commits written (placement refs + notes)',
            value: median(wrote),
            unit: 'commits',
            spread: minMax(wrote),
            goal: { op: '<=', value: 2 },
          }),
        );
      }
      await root.stop();
      await rootBus.close();
    }
  } finally {
    await bus.close();
    await broker.close();
  }
  figures.push({ label: `root cold start → first placement (${services} services, 10 clusters)`, value: Math.round(starts[0]), unit: 'ms' });
  figures.push({ label: 'root restart → first placement (parse cache on disk)', value: Math.round(starts[1]), unit: 'ms' });

  // --- canopy plan -----------------------------------------------------------------------------
  for (const c of big.clusters) await new StatusRecorder(repo, c, { name: c, email: `${c}@canopy.invalid` }).record(statusOf(c), 60_000);
  const small = createBigRepo({ services: 3, apps: 1, clusters: 2 });
  const planTimes = async (b: BigRepo) => {
    const out: number[] = [];
    for (let r = 0; r < (quick ? 3 : 5); r++) {
      changeOne(b, r, 3 + r);
      const t0 = nowMs();
      await planChange(await openRepo(b.dir), { base: 'HEAD~1', head: 'HEAD' });
      out.push(nowMs() - t0);
    }
    return out;
  };
  const planBig = await planTimes(big),
    planSmall = await planTimes(small);
  figures.push({
    label: `canopy plan, one-line change, ${services} services (in process)`,
    value: Math.round(median(planBig)),
    unit: 'ms',
    spread: minMax(planBig).map(Math.round) as [number, number],
    floor: { label: '3 services', value: round(median(planSmall), 1) },
  });

  // --- status history growth -------------------------------------------------------------------
  const hours = quick ? 4 : 24;
  for (const heartbeats of ['stack', 'amend'] as const) {
    const d = await simulateStatusDay({ heartbeats, hours });
    const perDay = (x: number) => Math.round((x * 24) / hours);
    log(
      `status day (${heartbeats}): ${d.commits.changed} change and ${d.commits.heartbeat} heartbeat commits in ${hours} h, ${d.commits.onRef} on the ref; ${d.looseFiles} loose objects, ${d.looseBytes} bytes; ${d.afterGcBytes} bytes after gc (${d.ms} ms)`,
    );
    figures.push(
      judge({
        label: `status ref growth per day, 50 nodes, heartbeats ${heartbeats}: after git gc`,
        value: round(perDay(d.afterGcBytes) / 1e6, 3),
        unit: 'MB',
        goal: { op: '<=', value: 1 },
      }),
    );
    figures.push({
      label: `status ref growth per day, heartbeats ${heartbeats}: loose objects (compressed bytes)`,
      value: round(perDay(d.looseBytes) / 1e6, 3),
      unit: 'MB',
    });
    figures.push({
      label: `status ref commits per day, heartbeats ${heartbeats}: on the ref (changes + heartbeats)`,
      value: perDay(d.commits.onRef),
      unit: 'commits',
    });
  }
  notes.push(
    `${services} services (nested: 100 apps; flat: one directory); ${rounds} one-file changes per layout; 10 clusters reported over an embedded broker; native git ${execFileSync('git', ['--version'], { encoding: 'utf8' }).trim()} (diff-tree timed as a process, as a tool shelling out pays it)`,
  );
  notes.push(
    `status day: 50 nodes, 20 services, a replica failing every 4 min and restarted 30 s later, a node lost twice for 6 min, a deploy every hour, capacity wobbling ±1 % on every 5 s report; statusRefreshSeconds 60${quick ? `; ${hours} simulated hours, scaled to a day` : ''}`,
  );
  notes.push(`work dirs under ${path.dirname(tempDir('canopy-git-bench-'))}`);
  return { name: 'git', figures, notes };
};

export default run;
