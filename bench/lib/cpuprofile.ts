// Summarise a V8 .cpuprofile (from `node --cpu-prof`) by where the time went: self time per
// package (node_modules/<pkg>), per canopy file, per Node internal, plus GC and idle.
//   node dist/bench/lib/cpuprofile.js FILE.cpuprofile [TOP] [--from-ms MS] [--by-function]
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export function bucketOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `npm:${nm[1]}`;
  if (url.startsWith('node:')) return url.replace(/^node:internal\/(modules|deps)\/.*/, 'node:internal/$1/…');
  const d = /\/dist\/(.+)$/.exec(url);
  return d ? `canopy:${d[1]}` : url;
}

/** Self time by bucket; with `fromMs`, only samples taken that long after the profile began. */
export function summarise(p: Profile, by: (url: string, fn: string) => string = bucketOf, fromMs = 0): { totalMs: number; rows: Array<[string, number]> } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let at = 0;
  p.samples.forEach((id, i) => {
    at += (p.timeDeltas[i] ?? 0) / 1000;
    if (at < fromMs) return;
    const n = byId.get(id)!;
    const k = by(n.callFrame.url, n.callFrame.functionName);
    self.set(k, (self.get(k) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  });
  return { totalMs: (p.endTime - p.startTime) / 1000 - fromMs, rows: [...self].sort((a, b) => b[1] - a[1]) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const flag = (f: string) => {
    const i = args.indexOf(f);
    return i < 0 ? undefined : (args.splice(i, f === '--by-function' ? 1 : 2)[1] ?? 'yes');
  };
  const fromMs = Number(flag('--from-ms') ?? 0);
  const byFn = flag('--by-function');
  const p = JSON.parse(readFileSync(args[0], 'utf8')) as Profile;
  const by = byFn ? (url: string, fn: string) => `${bucketOf(url, fn)} ${fn || '(anonymous)'}` : bucketOf;
  const { totalMs, rows } = summarise(p, by, fromMs);
  const busy = rows.filter(([k]) => k !== '(idle)' && !k.startsWith('(idle)')).reduce((s, [, ms]) => s + ms, 0);
  process.stdout.write(`profile: ${totalMs.toFixed(0)} ms, ${busy.toFixed(0)} ms busy (${((100 * busy) / totalMs).toFixed(2)} % of one core)\n`);
  for (const [k, ms] of rows.slice(0, Number(args[1] ?? 25))) process.stdout.write(`${ms.toFixed(1).padStart(9)} ms  ${k}\n`);
}
