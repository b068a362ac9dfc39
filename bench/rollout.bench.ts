// A rollout across the fleet (issue 16: "a benchmark rolls 100 replicas over 10 sim clusters in 3
// waves and reports the rollout's time against the sum of its bake times (goal: at most 10 %
// over)"). The root and 10 clusters as `canopy root|cluster` processes over Mosquitto, each
// cluster with 2 simulated agents (sim runtime, one helper process per cluster: nothing runs, so
// the figure is canopy's own work). One service of 100 replicas, `spread: clusters` (10 per
// cluster), `rollout.waves` [c01] → [c02…c05] → the other five, `bakeSeconds` B (5; 2 with
// --quick). Each of 5 rounds (1 with --quick) commits a new env (a workload change: a rollout)
// and polls the note of that commit until its rollout is `done`, then until the commit
// converged. Rollout time: commit → the note's endedAt; the bakes: waves × B; overhead:
// what the rollout took beyond its bakes (committing, the root's decisions, the clusters applying
// each wave and reporting it ready), as a share of the bakes.
import path from 'node:path';
import { readFileSync } from 'node:fs';
import type { Bench, Figure } from './types.js';
import { BenchFleet, fleetYaml, serviceYaml } from './lib/fleet.js';
import { Scope } from './lib/cleanup.js';
import { median, minMax, nowMs, round, sleep } from './lib/stats.js';
import { readNote, NOTES_REF } from '../reconciler/git/notes.js';
import { resolveRef } from '../reconciler/git/repo.js';
import { parseNote, type NoteRollout } from '../reconciler/core/note.js';

const FLEET = 'benchrollout';
const SERVICE = 'roll/web';
const REPLICAS = 100;
const CLUSTERS = 10;
const NODES = 2;
const WAVES = [{ names: ['c01'] }, { names: ['c02', 'c03', 'c04', 'c05'] }];
/** The rollout's time over the sum of its bakes, percent. */
const GOAL_OVERHEAD = 10;

const names = Array.from({ length: CLUSTERS }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);

function service(round: number, bakeSeconds: number): string {
  return serviceYaml('roll', 'web', {
    runtime: 'process',
    command: ['sleep', '3600'],
    env: { ROUND: String(round) },
    replicas: REPLICAS,
    spread: 'clusters',
    resources: { cpu: 0.05, memory: '16Mi' },
    rollout: { waves: WAVES, bakeSeconds, progressDeadlineSeconds: 120 },
  });
}

/** Poll the notes ref (every 20 ms) until the rollout of SERVICE that `commit` started is done; the record and when it was seen. */
async function waitRollout(f: BenchFleet, commit: string, timeoutMs: number): Promise<{ seenAt: number; r: NoteRollout }> {
  const end = nowMs() + timeoutMs;
  const refFile = path.join(f.repo.gitdir, NOTES_REF);
  let last: string | undefined;
  let r: NoteRollout | undefined;
  for (;;) {
    let head: string | undefined;
    try {
      head = readFileSync(refFile, 'utf8').trim();
    } catch {
      head = await resolveRef(f.repo, NOTES_REF);
    }
    if (head && head !== last) {
      last = head;
      const text = await readNote(f.repo, commit);
      const n = text ? parseNote(text) : undefined;
      if (n?.outcome === 'rejected') throw new Error(`${commit.slice(0, 12)} was rejected: ${JSON.stringify(n.problems)}`);
      r = n?.rollouts?.[SERVICE];
      if (r && r.state !== 'progressing' && r.state !== 'done') throw new Error(`rollout ${r.state}: ${r.reason}`);
      if (r?.state === 'done') return { seenAt: nowMs(), r };
    }
    if (nowMs() > end) throw new Error(`the rollout of ${commit.slice(0, 12)} was not done within ${timeoutMs} ms: ${JSON.stringify(r)}`);
    await sleep(20);
  }
}

interface Round {
  totalMs: number;
  seenMs: number;
  overheadPct: number;
  /** commit → wave 1 started (the root accepting the commit). */
  firstMs: number;
  /** Per wave: started → ready (the clusters applying it and reporting every replica updated and ready). */
  readyMs: number[];
  /** Per wave: ready → baked (bakeSeconds, and how late the root noticed). */
  bakeMs: number[];
  /** Per wave after the first: the previous wave baked → this one started. */
  gapMs: number[];
}

function measure(r: NoteRollout, committedAt: number, seenAt: number, bakeSeconds: number): Round {
  const t = (iso: string | undefined, what: string) => {
    if (!iso) throw new Error(`the rollout record has no ${what}: ${JSON.stringify(r)}`);
    return Date.parse(iso);
  };
  if (r.waves.length !== 3) throw new Error(`${r.waves.length} waves, expected 3: ${JSON.stringify(r.waves)}`);
  const waves = r.waves.map((w, i) => ({
    started: t(w.startedAt, `wave ${i + 1} startedAt`),
    ready: t(w.readyAt, `wave ${i + 1} readyAt`),
    baked: t(w.bakedAt, `wave ${i + 1} bakedAt`),
  }));
  const totalMs = t(r.endedAt, 'endedAt') - committedAt;
  const bakes = waves.length * bakeSeconds * 1000;
  return {
    totalMs,
    seenMs: seenAt - committedAt,
    overheadPct: (100 * (totalMs - bakes)) / bakes,
    firstMs: waves[0].started - committedAt,
    readyMs: waves.map((w) => w.ready - w.started),
    bakeMs: waves.map((w) => w.baked - w.ready),
    gapMs: waves.slice(1).map((w, i) => w.started - waves[i].baked),
  };
}

const run: Bench = async ({ quick, log }) => {
  const rounds = quick ? 1 : 5;
  const bakeSeconds = quick ? 2 : 5;
  const scope = new Scope();
  const f = new BenchFleet(FLEET, scope, {}, 'canopy-rollout-');
  try {
    const files: Record<string, string> = {
      'fleet.yaml': fleetYaml(FLEET, { heartbeatSeconds: 1, unreachableAfterSeconds: 30, statusRefreshSeconds: 600 }),
      'services/roll/web.yaml': service(0, bakeSeconds),
    };
    names.forEach((c, i) => {
      files[`clusters/${c}.yaml`] =
        `apiVersion: canopy/v1\nkind: Cluster\nmetadata: {name: ${c}}\nspec: {location: {lat: ${48 + i / 10}, lon: ${11 + i / 10}}, nodes: ${NODES}}\n`;
    });
    const first = await f.init(files);
    await f.startBroker();
    log(`Mosquitto on ${f.broker.url}; ${CLUSTERS} clusters (canopy cluster) × ${NODES} sim nodes (one process per cluster); ${SERVICE}: ${REPLICAS} replicas`);
    for (const c of names) f.startCluster(c);
    for (const c of names) f.startSimNodes(c, NODES);
    for (const p of f.parts.values()) await p.waitForLog(/running|^ready/m, 60_000);
    f.startRoot();
    const placed = await f.waitConverged(first, 120_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${f.tails()}`);
    });
    const per = (placed.note.changed?.[SERVICE] as { clusters?: Record<string, number> } | undefined)?.clusters ?? {};
    log(`converged on round 0: ${JSON.stringify(per)}`);
    await sleep(2000); // every cluster's status settled
    const all: Round[] = [];
    for (let k = 1; k <= rounds; k++) {
      const c = f.commit({ 'services/roll/web.yaml': service(k, bakeSeconds) }, `round ${k}: a new env`);
      const { seenAt, r } = await waitRollout(f, c.commit, 180_000).catch((e) => {
        throw new Error(`${(e as Error).message}\n${f.tails()}`);
      });
      const m = measure(r, c.startedAt, seenAt, bakeSeconds);
      all.push(m);
      const ms = (xs: number[]) => xs.map((x) => `${round(x)} ms`).join(', ');
      log(
        `round ${k}: done in ${round(m.totalMs / 1000, 2)} s (bakes ${3 * bakeSeconds} s; overhead ${round(m.overheadPct, 1)} %): ` +
          `commit → wave 1 ${round(m.firstMs)} ms; started → ready ${ms(m.readyMs)}; ready → baked ${ms(m.bakeMs)}; baked → next started ${ms(m.gapMs)}`,
      );
      await f.waitConverged(c.commit, 60_000).catch((e) => {
        throw new Error(`round ${k}: the rollout is done but the commit did not converge: ${(e as Error).message}`);
      });
      await sleep(1000);
    }
    const fig = (label: string, xs: number[], unit: string, digits = 0, goal?: Figure['goal']): Figure => ({
      label,
      value: round(median(xs), digits),
      unit,
      ...(xs.length > 1 ? { spread: minMax(xs).map((x) => round(x, digits)) as [number, number] } : {}),
      ...(goal ? { goal } : {}),
    });
    const figures: Figure[] = [
      fig(
        `commit → rollout done, ${REPLICAS} replicas, 3 waves × bakeSeconds ${bakeSeconds}`,
        all.map((m) => m.totalMs / 1000),
        's',
        2,
      ),
      { label: 'sum of the bakes', value: 3 * bakeSeconds, unit: 's' },
      fig(
        'rollout time over the bakes',
        all.map((m) => m.overheadPct),
        '%',
        1,
        { op: '<=', value: GOAL_OVERHEAD },
      ),
      fig(
        'rollout time beyond the bakes',
        all.map((m) => m.totalMs - 3 * bakeSeconds * 1000),
        'ms',
      ),
      fig(
        'commit → wave 1 started',
        all.map((m) => m.firstMs),
        'ms',
      ),
      ...[0, 1, 2].map((i) =>
        fig(
          `wave ${i + 1} (${['1 cluster', '4 clusters', '5 clusters'][i]}, ${[10, 40, 50][i]} replicas): started → ready`,
          all.map((m) => m.readyMs[i]),
          'ms',
        ),
      ),
      fig(
        'wave ready → baked, beyond bakeSeconds (max of 3 waves)',
        all.map((m) => Math.max(...m.bakeMs) - bakeSeconds * 1000),
        'ms',
      ),
      fig(
        'wave baked → next wave started (max of 2)',
        all.map((m) => Math.max(...m.gapMs)),
        'ms',
      ),
    ];
    return {
      name: 'rollout',
      figures,
      notes: [
        `${CLUSTERS} clusters (canopy cluster processes) × ${NODES} sim nodes, the root, one Mosquitto; ${SERVICE}: ${REPLICAS} replicas, spread: clusters (${JSON.stringify(per)}), rollout.waves [names c01], [names c02–c05], then the other five; bakeSeconds ${bakeSeconds}; heartbeatSeconds 1; ${rounds} round(s), each a commit changing the env; medians (spread: min–max)`,
        'rollout defaults inside each cluster (maxUnavailable 1, maxSurge 1): a cluster replaces its 10 replicas a few at a time, each step waiting for its agents to report the replaced ones ready; a wave is ready once every cluster of it reports all 10 updated: most of the time beyond the bakes is these steps',
        'rollout time: git commit started → the note’s endedAt (the root’s clock, this machine); the bakes: 3 × bakeSeconds; overhead: (rollout − bakes) / bakes. What is not bake: the root noticing the commit, and per wave the clusters placing the new spec on their nodes, the agents reporting, and the clusters reporting every replica updated and ready',
        `the time beyond the bakes does not grow with bakeSeconds: the overhead in % is that time over 3 × bakeSeconds (${bakeSeconds} s here${quick ? '; 5 s in the full run' : '; 2 s with --quick'})`,
        `seen by a poller of the notes ref: ${all.map((m) => `${round(m.seenMs / 1000, 2)} s`).join(', ')}`,
      ],
    };
  } finally {
    await scope.close();
  }
};
export default run;
