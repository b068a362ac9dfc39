// The benchmark table, as text for the terminal and as markdown for the README.
import type { BenchResult, Figure } from '../types.js';

export function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return x === undefined ? '' : String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

const HEAD = ['benchmark', 'figure', 'value', 'spread', 'floor & ratio', 'goal', 'ok'];

export function rows(results: BenchResult[]): string[][] {
  const out: string[][] = [];
  for (const r of results) {
    if (!r.figures.length) out.push([r.name, '(no figures: see notes)', '', '', '', '', 'ERROR']);
    for (const f of r.figures) out.push(row(r.name, f));
  }
  return out;
}

function row(bench: string, f: Figure): string[] {
  const unit = f.unit === 'x' ? '×' : ` ${f.unit}`;
  const spread = f.spread ? `${fmt(f.spread[0])}–${fmt(f.spread[1])}` : '';
  const floor = f.floor ? `${fmt(f.floor.value)}${unit} (${f.floor.label}); ${fmt(f.value / f.floor.value)}×` : '';
  const goal = f.goal ? `${f.goal.op === '<=' ? '≤' : '≥'} ${fmt(f.goal.value)}${unit}` : '';
  const ok = f.ok === undefined ? '' : f.ok ? 'ok' : 'MISSED';
  return [bench, f.label, `${fmt(f.value)}${unit}`, spread, floor, goal, ok];
}

export function textTable(results: BenchResult[]): string {
  const all = [HEAD, ...rows(results)];
  const w = HEAD.map((_, i) => Math.max(...all.map((r) => [...r[i]].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c + ' '.repeat(w[i] - [...c].length))
      .join('  ')
      .trimEnd();
  return [line(HEAD), w.map((n) => '─'.repeat(n)).join('  '), ...rows(results).map(line)].join('\n');
}

/** Columns padded to their widest cell, as the formatter (npm run lint) keeps the README. */
export function markdownTable(results: BenchResult[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const cells = [HEAD.map(esc), ...rows(results).map((r) => r.map((c, i) => esc(i === 6 && c === 'MISSED' ? '**MISSED**' : c)))];
  const w = HEAD.map((_, i) => Math.max(3, ...cells.map((r) => [...r[i]].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c + ' '.repeat(w[i] - [...c].length)).join(' | ')} |`;
  return [line(cells[0]), `| ${w.map((n) => '-'.repeat(n)).join(' | ')} |`, ...cells.slice(1).map(line)].join('\n');
}
