// Status at a glance: one table of services, one of clusters.
import type { FleetReport } from './fleet-status.js';

export function renderStatus(r: FleetReport, now = new Date()): string {
  const out: string[] = [];
  if (!r.head) return 'No commits on main yet: add descriptors under services/ and commit.\n';
  const h = r.head;
  out.push(`fleet ${r.fleet ?? '?'}   main ${h.commit.slice(0, 12)}: ${h.outcome}${h.convergedAt ? `, converged ${h.convergedAt}` : ''}` +
    (r.inForce && r.inForce !== h.commit ? `   (in force: ${r.inForce.slice(0, 12)})` : ''));
  for (const p of h.problems ?? []) out.push(`  ${p.file}:${p.line}:${p.column}: ${p.message}`);
  out.push('');
  const srows = Object.entries(r.services).sort(([a], [b]) => byCodePoint(a, b)).map(([id, s]) => [
    id, `${s.running}/${s.desired}`, s.state, Object.entries(s.clusters).map(([c, n]) => `${c}:${n}`).join(' ') || '-', s.reason,
  ]);
  out.push(table(['SERVICE', 'READY', 'STATE', 'CLUSTERS', 'REASON'], srows));
  out.push('');
  const crows = Object.entries(r.clusters).sort(([a], [b]) => byCodePoint(a, b)).map(([c, s]) => [
    c, s.state, `${s.nodes.online}/${s.nodes.total}`, s.applied ? `#${s.applied.seq} ${s.applied.commit.slice(0, 12)}` : '-',
    s.lastHeartbeat ? ago(now.getTime() - Date.parse(s.lastHeartbeat)) : 'never',
  ]);
  out.push(table(['CLUSTER', 'STATE', 'NODES', 'APPLIED', 'LAST HEARD'], crows));
  return out.join('\n') + '\n';
}

/**
 * Names (DNS labels, app/name ids) in code-point order: for their characters the order
 * localeCompare gives, without starting ICU's collator (about 8 ms on a command's first sort).
 */
export const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}
