// Start-up of the commands people and CI run over and over, on the template repository after
// `canopy init` and a `canopy up --runtime sim` run long enough to converge (so status and plan
// have notes, placements and status refs to read): `status`, `wait` (on the converged commit),
// `validate`, `plan` (the last commit against its parent), each run as the `canopy` bin runs
// (node dist/cli/canopy.js), beside `node -e 0`. Runs are interleaved round-robin, one warm-up
// round first, so a busy neighbour on a shared machine slows every command alike. The warm-up
// round also writes each command's compile cache (cli/load-command.ts), as any first run does;
// status and validate are timed without it too (CANOPY_COMPILE_CACHE=off), as on a first run.
import path from 'node:path';
import { rmSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { Bench, Figure } from './types.js';
import { Scope } from './lib/cleanup.js';
import { spawnPart, CLI } from './lib/proc.js';
import { git } from './lib/fleet.js';
import { tempDir } from '../test/helpers/git.js';
import { openRepo } from '../reconciler/git/repo.js';
import { readNote } from '../reconciler/git/notes.js';
import { parseNote } from '../reconciler/core/note.js';
import { median, iqr, round, nowMs, sleep } from './lib/stats.js';

interface Cmd {
  name: string;
  args: string[];
  goalX?: number;
  env?: Record<string, string>;
}

const run: Bench = async ({ quick, log }) => {
  const runs = quick ? 5 : 10;
  const scope = new Scope();
  const work = tempDir('canopy-bench-startup-');
  scope.add(() => {
    if (!process.env.BENCH_KEEP) rmSync(work, { recursive: true, force: true });
  });
  try {
    const dir = path.join(work, 'fleet');
    const init = spawnSync(process.execPath, [CLI, 'init', dir], { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`canopy init: ${init.stderr}`);
    // A second commit, so plan has a change to show and the converged commit is not the first.
    const web = path.join(dir, 'services/shop/web.yaml');
    writeFileSync(web, readFileSync(web, 'utf8').replace('replicas: 2', 'replicas: 3'));
    git(dir, 'commit', '-q', '-am', 'web: 3 replicas');
    const head = git(dir, 'rev-parse', 'HEAD');

    log('canopy init, then canopy up --runtime sim until the template fleet converges');
    const up = spawnPart(['up', '--repo', dir, '--runtime', 'sim'], { name: 'up', logFile: path.join(work, 'up.log'), scope });
    const repo = await openRepo(dir);
    const t0 = nowMs();
    for (;;) {
      const n = parseNote((await readNote(repo, head)) ?? '');
      if (n?.convergedAt) break;
      if (nowMs() - t0 > 60_000) throw new Error(`the template fleet did not converge within 60 s:\n${up.log().slice(-2000)}`);
      if (up.child.exitCode !== null) throw new Error(`canopy up exited:\n${up.log().slice(-2000)}`);
      await sleep(100);
    }
    log(`converged after ${round((nowMs() - t0) / 1000)} s; stopping up`);
    await up.stop();

    const cmds: Cmd[] = [
      { name: 'node -e 0', args: ['-e', '0'] },
      { name: 'canopy status', args: [CLI, 'status', '--repo', dir], goalX: 2 },
      { name: 'canopy validate', args: [CLI, 'validate', dir], goalX: 2 },
      { name: 'canopy wait (converged)', args: [CLI, 'wait', '--repo', dir, '--rev', head, '--quiet'] },
      { name: 'canopy plan', args: [CLI, 'plan', '--repo', dir, '--base', 'HEAD~1', '--head', 'HEAD'] },
      { name: 'canopy --help', args: [CLI, '--help'] },
      { name: 'canopy status (no compile cache)', args: [CLI, 'status', '--repo', dir], env: { CANOPY_COMPILE_CACHE: 'off' } },
      { name: 'canopy validate (no compile cache)', args: [CLI, 'validate', dir], env: { CANOPY_COMPILE_CACHE: 'off' } },
    ];
    // A compile cache of this run's own, empty at the start: the warm-up round writes it.
    const cacheEnv = { XDG_CACHE_HOME: path.join(work, 'cache') };
    const times = new Map<string, number[]>(cmds.map((c) => [c.name, []]));
    const failed = new Map<string, string>(); // a command that fails is reported, not timed
    log(`${runs} interleaved runs of: ${cmds.map((c) => c.name).join(', ')} (after one warm-up round)`);
    for (let r = 0; r <= runs; r++) {
      for (const c of cmds) {
        if (failed.has(c.name)) continue;
        const s = nowMs();
        const p = spawnSync(process.execPath, c.args, {
          cwd: dir,
          stdio: ['ignore', 'ignore', 'pipe'],
          encoding: 'utf8',
          env: { ...process.env, ...cacheEnv, ...c.env },
        });
        const ms = nowMs() - s;
        if (p.status !== 0) {
          failed.set(c.name, `exited ${p.status ?? p.signal}: ${p.stderr.trim().split('\n')[0]}`);
          log(`${c.name} ${failed.get(c.name)}: not timed`);
          continue;
        }
        if (r > 0) times.get(c.name)!.push(ms);
      }
    }
    const bare = median(times.get('node -e 0')!);
    const figures: Figure[] = [];
    for (const c of cmds) {
      const xs = times.get(c.name)!;
      if (failed.has(c.name)) continue;
      log(`${c.name}: median ${round(median(xs))} ms (${round(median(xs) / bare, 2)}× node -e 0)`);
      if (c.name === 'node -e 0') {
        figures.push({ label: c.name, value: round(median(xs)), unit: 'ms', spread: iqr(xs).map((x) => round(x)) as [number, number] });
        continue;
      }
      figures.push({
        label: c.name,
        value: round(median(xs)),
        unit: 'ms',
        spread: iqr(xs).map((x) => round(x)) as [number, number],
        floor: { label: 'node -e 0', value: round(bare) },
        ...(c.goalX ? { goal: { op: '<=' as const, value: round(c.goalX * bare) } } : {}),
      });
    }
    return {
      name: 'startup',
      figures,
      notes: [
        ...[...failed].map(([n, why]) => `${n} FAILED (${why}): not timed`),
        `${runs} runs each, interleaved, median and [p25, p75]; on the template repository (3 services, 2 clusters) after a converged \`canopy up --runtime sim\`; goal for status and validate: ≤ 2× node -e 0 (with the compile cache the first run writes)`,
      ],
    };
  } finally {
    await scope.close();
  }
};
export default run;
