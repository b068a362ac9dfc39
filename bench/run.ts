// `npm run bench [-- --quick] [-- --readme] [-- NAME...]`: runs every bench/*.bench.ts (or those
// named), one after the other, prints each benchmark's progress and then one table, writes
// bench/results/<name>.json and bench/results/latest.json with the machine it ran on, and with
// --readme rewrites the table in README.md between <!-- bench:start --> and <!-- bench:end -->.
import os from 'node:os';
import path from 'node:path';
import { readdirSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import type { Bench, BenchResult } from './types.js';
import { judge } from './types.js';
import { cleanupAll } from './lib/cleanup.js';
import { textTable, markdownTable } from './lib/table.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = path.resolve(here, '../..'); // the package
const resultsDir = path.join(root, 'bench', 'results');

const USAGE = `Usage: npm run bench [-- --quick] [-- --readme] [-- NAME...]

  --quick    smaller sizes and fewer repeats (a smoke run, about 2 minutes)
  --readme   rewrite the README's table (between <!-- bench:start --> and <!-- bench:end -->)
  NAME       run only these benchmarks (${available().join(', ')})
`;

function available(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith('.bench.js'))
    .map((f) => f.slice(0, -'.bench.js'.length))
    .sort();
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  loadavg: number[];
  date: string;
  revision: string;
}

/** The commit measured, and whether the work tree had uncommitted changes. */
function revision(): string {
  const run = (...a: string[]) => spawnSync('git', ['-C', root, ...a], { encoding: 'utf8' }).stdout?.trim() ?? '';
  const head = run('rev-parse', '--short=12', 'HEAD') || 'unknown';
  return run('status', '--porcelain', '--untracked-files=no') ? `${head} + uncommitted changes` : head;
}

function machine(): Machine {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    date: new Date().toISOString(),
    revision: revision(),
  };
}

export function machineLine(m: Machine, quick: boolean): string {
  return (
    `${m.date.slice(0, 10)} at ${m.revision}, on ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.os}` +
    ` (load average ${m.loadavg[0]} at the start; a shared machine)${quick ? ', --quick' : ''}`
  );
}

async function main(argv: string[]): Promise<number> {
  const flags = new Set(argv.filter((a) => a.startsWith('--')));
  for (const f of flags)
    if (!['--quick', '--readme', '--help'].includes(f)) {
      process.stderr.write(`unknown option ${f}\n\n${USAGE}`);
      return 2;
    }
  if (flags.has('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const quick = flags.has('--quick');
  const names = argv.filter((a) => !a.startsWith('--'));
  const all = available();
  for (const n of names)
    if (!all.includes(n)) {
      process.stderr.write(`no benchmark "${n}" (have: ${all.join(', ')})\n`);
      return 2;
    }
  const chosen = names.length ? all.filter((n) => names.includes(n)) : all;
  const m = machine();
  const t0 = Date.now();
  const say = (line: string) => {
    const s = Math.round((Date.now() - t0) / 1000);
    process.stdout.write(`[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}\n`);
  };
  say(`canopy bench${quick ? ' --quick' : ''}: ${chosen.join(', ')}`);
  say(machineLine(m, quick));
  mkdirSync(resultsDir, { recursive: true });

  const results: BenchResult[] = [];
  let failed = 0;
  for (const name of chosen) {
    const started = Date.now();
    const loadBefore = os.loadavg()[0];
    say(`── ${name} (load average ${loadBefore.toFixed(2)} on ${m.cores} cores)`);
    let result: BenchResult;
    try {
      const mod = (await import(pathToFileURL(path.join(here, `${name}.bench.js`)).href)) as { default: Bench };
      result = await mod.default({ quick, log: (l) => say(`${name}: ${l}`) });
      result.figures = result.figures.map(judge);
    } catch (e) {
      failed++;
      say(`${name}: FAILED: ${(e as Error).stack ?? e}`);
      result = { name, figures: [], notes: [`failed: ${(e as Error).message}`] };
    } finally {
      await cleanupAll((l) => say(`${name}: ${l}`));
    }
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    const load = { before: loadBefore, after: os.loadavg()[0] };
    for (const n of result.notes ?? []) say(`${name}: note: ${n}`);
    say(`${name}: done in ${seconds} s (load average ${load.after.toFixed(2)})`);
    results.push(result);
    writeFileSync(path.join(resultsDir, `${name}.json`), JSON.stringify({ machine: m, quick, seconds, loadavg1: load, ...result }, null, 2) + '\n');
  }
  writeFileSync(
    path.join(resultsDir, 'latest.json'),
    JSON.stringify({ machine: m, quick, seconds: Math.round((Date.now() - t0) / 1000), results }, null, 2) + '\n',
  );

  process.stdout.write(`\n${textTable(results)}\n\n${machineLine(m, quick)}\n`);
  const missed = results.flatMap((r) => r.figures.filter((f) => f.ok === false).map((f) => `${r.name}: ${f.label}`));
  if (missed.length) process.stdout.write(`\nMissed goals (causes in bench/results/<name>.json notes):\n${missed.map((x) => `  - ${x}`).join('\n')}\n`);
  process.stdout.write(`\nResults: ${path.relative(process.cwd(), resultsDir) || '.'}/latest.json\n`);
  if (flags.has('--readme')) {
    writeReadme(results, m, quick);
    process.stdout.write('README.md: benchmark table updated\n');
  }
  return failed ? 1 : 0;
}

/**
 * The README's table: this run's results, then the last saved result of every other benchmark
 * (bench/results/<name>.json), each named with the run it comes from.
 */
function writeReadme(results: BenchResult[], m: Machine, quick: boolean): void {
  const file = path.join(root, 'README.md');
  const text = readFileSync(file, 'utf8');
  const start = '<!-- bench:start -->',
    end = '<!-- bench:end -->';
  const i = text.indexOf(start),
    j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README.md has no ${start} … ${end} section`);
  const all = [...results];
  const earlier: string[] = [];
  for (const name of available()) {
    if (results.some((r) => r.name === name)) continue;
    try {
      const saved = JSON.parse(readFileSync(path.join(resultsDir, `${name}.json`), 'utf8')) as BenchResult & { machine: Machine; quick: boolean };
      all.push({ name: saved.name, figures: saved.figures, notes: saved.notes });
      earlier.push(`${name}: ${machineLine(saved.machine, saved.quick)}`);
    } catch {
      /* never run here */
    }
  }
  all.sort((a, b) => a.name.localeCompare(b.name));
  const body = [
    start,
    '',
    markdownTable(all),
    '',
    `Measured ${machineLine(m, quick)}.`,
    ...(earlier.length ? ['', 'From earlier runs:', '', ...earlier.map((e) => `- ${e}`)] : []),
    '',
    end,
  ].join('\n');
  writeFileSync(file, text.slice(0, i) + body + text.slice(j + end.length));
}

let interrupted = false;
const onSignal = (sig: string) => {
  if (interrupted) process.exit(130);
  interrupted = true;
  process.stderr.write(`\n${sig}: cleaning up…\n`);
  void cleanupAll().then(() => process.exit(130));
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

// Exit explicitly: a benchmark's leftover handle (a socket, a timer) must not keep the run alive.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (e) => {
    process.stderr.write(`bench: ${(e as Error).stack}\n`);
    await cleanupAll();
    process.exit(1);
  },
);
