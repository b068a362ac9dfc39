// A simulated day of a 50-node cluster's status, driven through StatusRecorder with a fake clock,
// to measure how much its status ref makes the repository grow. Churn: a replica fails and is
// restarted every few minutes, a node is lost and comes back twice, a deploy every hour (one
// replica replaced), and capacity wobbles by ±1 % on every report.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ClusterStatus } from '../../schemas/messages.js';
import { openRepo } from '../../reconciler/git/repo.js';
import { StatusRecorder, statusRef, type RecorderOptions } from '../../reconciler/cluster/status-ref.js';
import { prng } from './builders.js';
import { tempDir } from './git.js';

export interface DayOptions extends RecorderOptions {
  hours?: number; // default 24
  nodes?: number; // default 50
  services?: number; // default 20
  reportEverySeconds?: number; // default 5
  refreshSeconds?: number; // statusRefreshSeconds, default 60
  failEveryMinutes?: number; // default 4
}

export interface DayResult {
  dir: string;
  hours: number;
  reports: number;
  commits: { changed: number; heartbeat: number; onRef: number };
  /** Bytes of loose object files written (compressed), and of the repository's objects after `git gc`. */
  looseBytes: number;
  looseFiles: number;
  afterGcBytes: number;
  ms: number;
}

const T0 = Date.parse('2026-03-02T00:00:00Z');

export async function simulateStatusDay(o: DayOptions = {}): Promise<DayResult> {
  const hours = o.hours ?? 24;
  const nodes = o.nodes ?? 50;
  const every = (o.reportEverySeconds ?? 5) * 1000;
  const failEvery = (o.failEveryMinutes ?? 4) * 60_000;
  const dir = path.join(tempDir('canopy-status-day-'), 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  const repo = await openRepo(dir);
  const rec = new StatusRecorder(repo, 'site-a', { name: 'canopy cluster site-a', email: 'site-a@canopy.invalid' }, o);
  const rng = prng(11);
  const ids = Array.from({ length: o.services ?? 20 }, (_, i) => `app-${i % 4}/svc-${i}`);
  const desired = new Map(ids.map((id, i) => [id, 2 + (i % 5)]));
  const down = new Map<string, { until: number }>(); // a failed replica, restarted at `until`
  const nodeDown: Array<[number, number]> = [
    [6, 6.1],
    [18, 18.1],
  ].map(([a, b]) => [T0 + a * 3600_000, T0 + b * 3600_000]);
  let seq = 1;
  const commit = (n: number) => ((n * 2654435761) % 2 ** 32).toString(16).padStart(8, '0').repeat(5);
  const counts = { changed: 0, heartbeat: 0 };
  let reports = 0;
  const started = Date.now();
  for (let t = T0; t < T0 + hours * 3600_000; t += every) {
    const lost = nodeDown.some(([a, b]) => t >= a && t < b);
    // After a loss, the lost node's replicas are re-placed within a minute.
    const replacing = nodeDown.some(([a]) => t >= a && t < a + 60_000);
    if ((t - T0) % failEvery === 0) down.set(ids[rng.int(0, ids.length - 1)], { until: t + 30_000 });
    const hour = Math.floor((t - T0) / 3600_000);
    if ((t - T0) % 3600_000 === 0 && t > T0) seq++;
    const rolling = (t - T0) % 3600_000 < 20_000 && t > T0; // a deploy replaces one replica
    const services: ClusterStatus['services'] = {};
    for (const [i, id] of ids.entries()) {
      const want = desired.get(id)!;
      let running = want,
        failed = 0;
      const f = down.get(id);
      if (f && t < f.until) {
        running--;
        failed++;
      } else if (f) down.delete(id);
      if (replacing && i < 2) running--;
      if (rolling && i === hour % ids.length) running--;
      services[id] = { desired: want, running, failed };
    }
    const online = lost ? nodes - 1 : nodes;
    const wobble = 1 + (rng.next() - 0.5) * 0.02;
    const status: ClusterStatus = {
      kind: 'cluster-status',
      cluster: 'site-a',
      at: new Date(t).toISOString(),
      applied: { commit: commit(seq), seq, epoch: 0 },
      capacity: { cpu: 4 * online, memoryMi: Math.round(8192 * online * wobble), gpu: 0 },
      free: { cpu: rng.int(0, 40) / 2, memoryMi: rng.int(0, 100_000), gpu: 0 },
      maxNodeFree: { cpu: 2, memoryMi: 4096, gpu: 0 },
      maxNode: { cpu: 4, memoryMi: 8192, gpu: 0 },
      shapes: [{ cpu: 4, memoryMi: 8192, gpu: 0 }],
      arch: ['amd64'],
      runtimes: ['container', 'process'],
      labels: { region: 'eu' },
      location: { lat: 48.1, lon: 11.5 },
      nodes: { total: nodes, online },
      services,
    };
    reports++;
    const r = await rec.record(status, (o.refreshSeconds ?? 60) * 1000);
    if (r !== 'unchanged') counts[r]++;
  }
  const ms = Date.now() - started;
  const onRef = Number(execFileSync('git', ['-C', dir, 'rev-list', '--count', statusRef('site-a')], { encoding: 'utf8' }).trim());
  const loose = looseObjects(path.join(dir, '.git', 'objects'));
  execFileSync('git', ['-C', dir, 'gc', '--quiet', '--prune=now']);
  return {
    dir,
    hours,
    reports,
    commits: { ...counts, onRef },
    looseBytes: loose.bytes,
    looseFiles: loose.files,
    afterGcBytes: dirBytes(path.join(dir, '.git', 'objects')),
    ms,
  };
}

function looseObjects(objects: string): { bytes: number; files: number } {
  let bytes = 0,
    files = 0;
  for (const d of readdirSync(objects)) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue;
    for (const f of readdirSync(path.join(objects, d))) {
      bytes += statSync(path.join(objects, d, f)).size;
      files++;
    }
  }
  return { bytes, files };
}

function dirBytes(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((n, f) => n + dirBytes(path.join(p, f)), 0);
}
