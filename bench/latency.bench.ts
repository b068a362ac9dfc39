// Commit → converged: root, two clusters and ten agents as separate processes over Mosquitto,
// sim runtime. Each of N commits changes one service (replicas and env); latency runs from the
// start of `git commit` to this benchmark's poller (every 5 ms, as `canopy wait` polls every
// 50 ms) seeing the note's convergedAt, and to the root's own convergedAt. The floor, measured
// in the same run: three MQTT QoS 1 round trips through the same broker plus the Git work
// (native `git commit`, and `git notes add` for the note that records convergence).
import type { Bench, Figure } from './types.js';
import { BenchFleet, fleetYaml, clusterYaml, serviceYaml, git } from './lib/fleet.js';
import { Scope } from './lib/cleanup.js';
import { mqttRoundTrips } from './lib/floors.js';
import { median, percentile, iqr, round, nowMs, sleep } from './lib/stats.js';

export const CLUSTERS = { c1: { lat: 48.137, lon: 11.575 }, c2: { lat: 48.857, lon: 2.352 } };
export const AGENTS_PER_CLUSTER = 5;
export const SERVICES = 10;

/** One service of the latency fleet at revision `rev` (the trust benchmark runs the same fleet). */
export const spec = (i: number, rev: number) => ({
  runtime: 'process',
  command: ['sleep', '3600'],
  replicas: 1 + (rev % 3),
  resources: { cpu: 0.1, memory: '16Mi' },
  env: { REV: String(rev), SVC: String(i) },
});

const run: Bench = async ({ quick, log }) => {
  const commits = quick ? 20 : 100;
  const scope = new Scope();
  const f = new BenchFleet('benchlat', scope);
  try {
    const files: Record<string, string> = { 'fleet.yaml': fleetYaml('benchlat') };
    for (const [c, at] of Object.entries(CLUSTERS)) files[`clusters/${c}.yaml`] = clusterYaml(c, at.lat, at.lon);
    for (let i = 0; i < SERVICES; i++) files[`services/lat/svc-${i}.yaml`] = serviceYaml('lat', `svc-${i}`, spec(i, 0));
    const first = await f.init(files);
    await f.startBroker();
    log(`Mosquitto on ${f.broker.url}; starting 2 clusters, ${2 * AGENTS_PER_CLUSTER} agents (sim) and the root as separate processes`);
    for (const c of Object.keys(CLUSTERS)) {
      f.startCluster(c);
      for (let n = 1; n <= AGENTS_PER_CLUSTER; n++) f.startAgent(c, `${c}-n${n}`, { cpu: 4, memory: '8Gi' });
    }
    for (const p of f.parts.values()) await p.waitForLog(/running/);
    f.startRoot();
    await f.waitConverged(first, 60_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${f.tails()}`);
    });
    log('fleet converged on its first commit; measuring the floors');

    const rtts = await mqttRoundTrips(f.broker.url, quick ? 100 : 300);
    const rtt = median(rtts);
    // Native `git notes add` on a ref of its own (the root owns refs/notes/canopy).
    const noteMs: number[] = [];
    const head = git(f.dir, 'rev-parse', 'HEAD');
    for (let i = 0; i < 10; i++) {
      const t0 = nowMs();
      git(f.dir, 'notes', '--ref', 'bench-floor', 'add', '-f', '-m', `floor ${i}`, head);
      noteMs.push(nowMs() - t0);
    }
    log(`MQTT QoS 1 round trip p50 ${round(rtt, 3)} ms (p99 ${round(percentile(rtts, 99), 3)}); git notes add p50 ${round(median(noteMs))} ms`);

    log(`${commits} one-service commits, one at a time`);
    const seen: number[] = [],
      rootSaid: number[] = [],
      accepted: number[] = [],
      gitMs: number[] = [];
    let timeouts = 0;
    const slow: number[] = [];
    for (let k = 1; k <= commits; k++) {
      const i = k % SERVICES;
      const c = f.commit({ [`services/lat/svc-${i}.yaml`]: serviceYaml('lat', `svc-${i}`, spec(i, k)) }, `svc-${i}: rev ${k}`);
      gitMs.push(c.gitMs);
      try {
        const { seenAt, note } = await f.waitConverged(c.commit, 15_000);
        seen.push(seenAt - c.startedAt);
        rootSaid.push(Date.parse(note.convergedAt!) - c.startedAt);
        accepted.push(Date.parse(note.at) - c.startedAt);
        if (seenAt - c.startedAt > 500) {
          slow.push(k);
          log(
            `commit ${k} slow: git commit ${round(c.gitMs)} ms, root accepted +${round(Date.parse(note.at) - c.startedAt)} ms, root converged +${round(Date.parse(note.convergedAt!) - c.startedAt)} ms, seen +${round(seenAt - c.startedAt)} ms (${c.commit.slice(0, 12)})`,
          );
        }
      } catch (e) {
        timeouts++;
        seen.push(15_000);
        log(`commit ${k}: ${(e as Error).message}`);
      }
      if (k % 10 === 0) log(`${k}/${commits}: p50 ${round(median(seen))} ms, max ${round(Math.max(...seen))} ms so far`);
      await sleep(50 + Math.random() * 200); // not in step with the 2 s heartbeats
    }

    const floor = 3 * rtt + median(gitMs) + median(noteMs);
    const floorLabel = '3 MQTT RTT + git commit + git notes add';
    const figures: Figure[] = [
      {
        label: 'commit → converged p50 (poller sees note)',
        value: round(median(seen)),
        unit: 'ms',
        spread: [round(percentile(seen, 25)), round(percentile(seen, 75))],
        floor: { label: floorLabel, value: round(floor, 2) },
        goal: { op: '<=', value: 250 },
      },
      {
        label: 'commit → converged p99 (poller sees note)',
        value: round(percentile(seen, 99)),
        unit: 'ms',
        spread: [round(percentile(seen, 90)), round(Math.max(...seen))],
        floor: { label: floorLabel, value: round(floor, 2) },
        goal: { op: '<=', value: 1000 },
      },
      { label: 'commit → root’s convergedAt p50', value: round(median(rootSaid)), unit: 'ms', spread: iqr(rootSaid).map((x) => round(x)) as [number, number] },
      { label: 'commit → root’s convergedAt p99', value: round(percentile(rootSaid, 99)), unit: 'ms' },
      {
        label: 'commit → root accepted (note.at) p50',
        value: round(median(accepted)),
        unit: 'ms',
        spread: iqr(accepted).map((x) => round(x)) as [number, number],
      },
    ];
    return {
      name: 'latency',
      figures,
      notes: [
        `${commits} commits, each changing one of ${SERVICES} services (replicas 1–3 and env); 2 clusters × ${AGENTS_PER_CLUSTER} sim agents, root, clusters and agents as separate processes over Mosquitto ${f.broker.url}; fleet default timings (heartbeat 2 s)`,
        `floor parts: MQTT QoS 1 round trip p50 ${round(rtt, 3)} ms (p99 ${round(percentile(rtts, 99), 3)} ms, ${rtts.length} trips); native git commit p50 ${round(median(gitMs))} ms; git notes add p50 ${round(median(noteMs))} ms`,
        'times run from the start of `git commit` (commit times in Git have 1 s resolution); the poller reads refs/notes/canopy every 5 ms (canopy wait: every 50 ms)',
        ...(slow.length ? [`commits over 500 ms: ${slow.join(', ')} (breakdown in the progress lines)`] : []),
        ...(timeouts ? [`${timeouts} commit(s) did not converge within 15 s (counted as 15 s)`] : []),
      ],
    };
  } finally {
    await scope.close();
  }
};
export default run;
