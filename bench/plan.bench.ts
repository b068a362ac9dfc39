// `canopy plan` for a one-line change, at 10,000 services and at 3 (the floor it should be about
// as fast as), in process and as the command a user or CI runs. The fleets are generated
// (test/helpers/big-repo.ts) and their placement refs, status refs and notes written as the root
// and clusters write them (test/helpers/root-record.ts), so plan reads what it reads in a clone
// of a running fleet. Also timed: the same plan computed in full (what plan did before it
// followed the change), the first plan after the root placed again (its records changed), and
// a plan with nothing kept from earlier ones (.git/canopy emptied: a fresh clone, or CI without
// a cache).
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench, Figure } from './types.js';
import { median, minMax, round, nowMs } from './lib/stats.js';
import type { ClusterStatus } from '../schemas/messages.js';
import { createBigRepo, bigServiceYaml, type BigRepo } from '../test/helpers/big-repo.js';
import { RootRecorder } from '../test/helpers/root-record.js';
import { openRepo } from '../reconciler/git/repo.js';
import { planChange } from '../reconciler/report/plan.js';
import { benchClusterStatus } from './lib/statuses.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(here, '../cli/canopy.js');

const statusOf = (cluster: string): ClusterStatus => benchClusterStatus(cluster);

interface Fleet {
  big: BigRepo;
  root: RootRecorder;
  label: string;
}

async function fleet(services: number, layout: 'nested' | 'flat' = 'nested'): Promise<Fleet> {
  const big = services < 10 ? createBigRepo({ services, apps: 1, clusters: 2 }) : createBigRepo({ services, layout });
  const root = new RootRecorder(await openRepo(big.dir));
  await root.report(big.clusters.map(statusOf));
  if (!(await root.record(big.head))) throw new Error('generated fleet does not validate');
  return { big, root, label: `${services.toLocaleString('en-US')} services${layout === 'flat' ? ', flat' : ''}` };
}

/** A pull request changing one line (replicas) of one service, on top of main. */
function onePr(f: Fleet, i: number): string {
  const p = f.big.paths[(i * 397) % f.big.paths.length];
  const [, app, file] = p.split('/');
  return f.big.commitOn('pr', f.big.head, { [p]: bigServiceYaml(app, file.replace(/\.yaml$/, ''), { replicas: 2 + (i % 5) }) }, `pr ${i}`);
}

async function inProcess(f: Fleet, rounds: number, full = false): Promise<number[]> {
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    onePr(f, r);
    const t0 = nowMs();
    const p = await planChange(await openRepo(f.big.dir), { base: 'main', head: 'pr', full });
    out.push(nowMs() - t0);
    if (!p.accepted || p.services.length !== 1) throw new Error(`unexpected plan: ${p.verdict}`);
  }
  return out;
}

function cli(f: Fleet, rounds: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    onePr(f, r);
    const t0 = nowMs();
    const res = spawnSync(process.execPath, [CLI, 'plan', '--repo', f.big.dir, '--base', 'main', '--head', 'pr', '--format', 'markdown'], { encoding: 'utf8' });
    out.push(nowMs() - t0);
    if (res.status !== 0) throw new Error(`canopy plan exited ${res.status}: ${res.stderr}`);
  }
  return out;
}

function nodeStart(rounds: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = nowMs();
    execFileSync(process.execPath, ['-e', '0']);
    out.push(nowMs() - t0);
  }
  return out;
}

/** The root places a new commit of main (one service changed): the placement records change. */
async function rootMoves(f: Fleet, i: number): Promise<void> {
  const p = f.big.paths[(i * 7919) % f.big.paths.length];
  const [, app, file] = p.split('/');
  await f.root.record(f.big.change({ [p]: bigServiceYaml(app, file.replace(/\.yaml$/, ''), { replicas: 1, image: `canopy/busybox:${i}` }) }, `main ${i}`));
}

const run: Bench = async ({ quick, log }) => {
  const n = quick ? 2000 : 10_000;
  const rounds = quick ? 5 : 9;
  const figures: Figure[] = [];
  const t0 = nowMs();
  const big = await fleet(n),
    small = await fleet(3);
  log(`generated and placed ${big.label} and ${small.label} in ${Math.round(nowMs() - t0)} ms (${big.big.dir})`);

  const ms = (xs: number[]) => round(median(xs), 1);
  const spread = (xs: number[]) => minMax(xs).map((x) => round(x, 1)) as [number, number];
  // Interleaved, so that both sizes see the same load on a shared machine.
  const ipBig: number[] = [],
    ipSmall: number[] = [],
    cliBig: number[] = [],
    cliSmall: number[] = [],
    node: number[] = [];
  for (let r = 0; r < rounds; r++) {
    ipBig.push(...(await inProcess(big, 1)));
    ipSmall.push(...(await inProcess(small, 1)));
    cliBig.push(...cli(big, 1));
    cliSmall.push(...cli(small, 1));
    node.push(...nodeStart(1));
  }
  const fullBig = await inProcess(big, quick ? 2 : 3, true);
  // The first plan after the root placed again (its placement records changed since the last plan).
  const afterRoot: number[] = [];
  for (let r = 0; r < (quick ? 2 : 4); r++) {
    await rootMoves(big, r);
    afterRoot.push(...cli(big, 1));
  }
  // Nothing kept from an earlier plan (a fresh clone, CI without a cache of .git/canopy).
  const cold: number[] = [];
  for (let r = 0; r < (quick ? 2 : 3); r++) {
    for (const f of ['plan-cache.json', 'plan-index.json', 'parse-cache.json']) rmSync(path.join(big.big.dir, '.git', 'canopy', f), { force: true });
    cold.push(...cli(big, 1));
  }
  log(`in process: ${big.label} ${ms(ipBig)} ms, ${small.label} ${ms(ipSmall)} ms; in full ${ms(fullBig)} ms`);
  log(
    `command: ${big.label} ${ms(cliBig)} ms, ${small.label} ${ms(cliSmall)} ms, node -e 0 ${ms(node)} ms; first after the root placed again ${ms(afterRoot)} ms`,
  );

  figures.push({
    label: `plan, one-line change, ${big.label}, in process`,
    value: ms(ipBig),
    unit: 'ms',
    spread: spread(ipBig),
    floor: { label: small.label, value: ms(ipSmall) },
  });
  figures.push({
    label: `plan, one-line change, ${big.label}, in process: computed in full (as before)`,
    value: ms(fullBig),
    unit: 'ms',
    spread: spread(fullBig),
  });
  figures.push({
    label: `canopy plan --format markdown, one-line change, ${big.label}`,
    value: ms(cliBig),
    unit: 'ms',
    spread: spread(cliBig),
    floor: { label: small.label, value: ms(cliSmall) },
  });
  figures.push({
    label: `canopy plan, ${big.label}: first after the root placed again`,
    value: ms(afterRoot),
    unit: 'ms',
    spread: spread(afterRoot),
    floor: { label: small.label, value: ms(cliSmall) },
  });
  figures.push({
    label: `canopy plan, ${big.label}: nothing kept from earlier plans (fresh clone)`,
    value: ms(cold),
    unit: 'ms',
    spread: spread(cold),
    floor: { label: small.label, value: ms(cliSmall) },
  });
  figures.push({ label: 'node -e 0 (process start floor)', value: ms(node), unit: 'ms', spread: spread(node) });
  return {
    name: 'plan',
    figures,
    notes: [
      `${big.label} (100 apps) and ${small.label} (2 clusters); ${big.big.clusters.length} clusters reported; placement refs, status refs and notes written as the root and clusters write them`,
      `each round: a pull request changing replicas of one service, planned against main; ${rounds} rounds, sizes interleaved`,
    ],
  };
};

export default run;
