// A change plan for people: plain text for a terminal, Markdown for a pull-request comment
// (verdict in the heading, a table of what moves, reasons folded away). JSON is the plan itself.
import type { ChangePlan, ServicePlan, ClusterPlan } from './plan-types.js';
import { ago, table } from './render.js';

const short = (oid: string) => oid.slice(0, 12);
const where = (m: Record<string, number>) =>
  Object.entries(m)
    .map(([c, n]) => `${c}×${n}`)
    .join(', ') || '-';
const gains = (d: Record<string, number>) =>
  Object.entries(d)
    .map(([c, n]) => `${c} ${n > 0 ? '+' : '−'}${Math.abs(n)}`)
    .join(', ') || '-';

function changeOf(s: ServicePlan): string {
  if (s.change === 'changed') return `changed: ${s.fields.join(', ')}`;
  if (s.change === 'added') return `added (${s.replicas.after} replica${s.replicas.after === 1 ? '' : 's'})`;
  if (s.change === 'moved') return 'moved (spec unchanged)';
  return s.change;
}

function clusterLine(c: ClusterPlan): string {
  if (!c.reported) return c.note;
  const when = `${c.lastStatus!.slice(0, 19).replace('T', ' ')} UTC${c.ageSeconds !== null ? ` (${ago(c.ageSeconds * 1000)})` : ''}`;
  return `last status ${when}${c.stale ? `; ${c.note}` : ''}`;
}

/** How it was computed, in one line: incremental plans say how little they placed. */
function methodLine(p: ChangePlan): string {
  const m = p.method;
  const n = (x: number) => String(x).replace(/\B(?=(\d{3})+$)/g, ',');
  const of = `${n(m.placed)} of ${n(m.services)} service${m.services === 1 ? '' : 's'}`;
  if (m.kind === 'incremental')
    return `computed from the change: ${of} placed afresh${m.why ? ` (${m.why})` : ', the others keep the clusters recorded for them'}`;
  return `computed in full${m.why ? ` (${m.why})` : ''}: ${of} judged and placed`;
}

function revisions(p: ChangePlan): string {
  return `base ${p.base.rev} ${short(p.base.commit)} → head ${p.head.rev} ${short(p.head.commit)}` + (p.fleet ? ` (fleet ${p.fleet})` : '');
}

function baseNote(p: ChangePlan): string | undefined {
  if (p.base.inForce === p.base.commit) return undefined;
  return p.base.inForce
    ? `base ${short(p.base.commit)} does not validate itself: compared against ${short(p.base.inForce)}, the last good state before it`
    : `no commit at or before base ${short(p.base.commit)} validates: compared against an empty fleet`;
}

export function renderPlanText(p: ChangePlan): string {
  const out = [`canopy plan: ${revisions(p)}`, p.verdict];
  const bn = baseNote(p);
  if (bn) out.push(`(${bn})`);
  if (!p.accepted) {
    out.push('', 'Problems (fix them in a new commit):');
    for (const x of p.problems) out.push(`  ${x.file}:${x.line}:${x.column}: ${x.message}`);
  } else if (p.services.length) {
    out.push(
      '',
      table(
        ['SERVICE', 'CHANGE', 'BEFORE', 'AFTER', 'GAINS/LOSSES'],
        p.services.map((s) => [s.id, changeOf(s), where(s.before), where(s.after), gains(s.delta)]),
      ),
    );
    const placed = p.services.filter((s) => !s.unschedulable);
    if (placed.length) out.push('', 'Why:', ...placed.map((s) => `  ${s.id}: ${s.reason}`));
    const rolling = p.services.filter((s) => s.waves);
    if (rolling.length) {
      out.push('', 'Rollouts (the workload changes: wave by wave, each ready and baked before the next starts):');
      for (const s of rolling) {
        out.push(`  ${s.id}: ${rolloutLine(s)}`);
        s.waves!.forEach((w, i) => void out.push(`    wave ${i + 1}: ${w.join(', ')}${s.rollout?.selectedBy?.[i] ? `  (${s.rollout.selectedBy[i]})` : ''}`));
      }
    }
    const named = p.services.filter((s) => s.names && s.change !== 'removed');
    if (named.length) out.push('', 'Reached by name (round-robin, closest; variables):', ...named.map((s) => `  ${s.id}: ${namesLine(s.names!)}`));
    const un = p.services.filter((s) => s.unschedulable);
    if (un.length) {
      out.push('', 'Unschedulable (reported; the merge still applies the rest):');
      for (const s of un) out.push(`  ${s.id}: ${s.unschedulable}`);
    }
  }
  if (p.basis.caveats.length) {
    out.push('', 'Where the root may decide otherwise:');
    for (const c of p.basis.caveats) out.push(`  - ${c}`);
  }
  out.push('', 'Clusters (planned from their last status, as if all were available):');
  if (!p.clusters.length) out.push('  none has reported yet: fetch refs/canopy/* from the fleet remote, or run the fleet first');
  const w = Math.max(0, ...p.clusters.map((c) => c.name.length));
  for (const c of p.clusters) out.push(`  ${c.name.padEnd(w)}  ${clusterLine(c)}`);
  if (p.accepted) out.push('', `(${methodLine(p)})`);
  return out.join('\n') + '\n';
}

/** `3 waves; bakeSeconds 60, progressDeadlineSeconds 600, autoRollback on; in each cluster maxUnavailable 1, maxSurge 1`. */
export function rolloutLine(s: ServicePlan): string {
  const r = s.rollout;
  const n = s.waves?.length ?? 0;
  const waves = `${n} wave${n === 1 ? '' : 's'}`;
  if (!r) return waves;
  return `${waves}; bakeSeconds ${r.bakeSeconds}, progressDeadlineSeconds ${r.progressDeadlineSeconds}, autoRollback ${r.autoRollback ? 'on' : 'off'}; in each cluster maxUnavailable ${r.maxUnavailable}, maxSurge ${r.maxSurge}`;
}

/** `web.shop.canopy:8080, closest.web.shop.canopy:8080 (CANOPY_ADDR_SHOP_WEB, CANOPY_CLOSEST_SHOP_WEB); host port 8080/tcp on its node`. */
export function namesLine(n: NonNullable<ChangePlan['services'][number]['names']>): string {
  const host = n.hostPorts.length ? `; host port ${n.hostPorts.join(', ')} on its node (two replicas never share one)` : '';
  return `${n.host}, ${n.closest} (${n.variables.join(', ')})${host}`;
}

const cell = (s: string) => md(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
function md(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function renderPlanMarkdown(p: ChangePlan): string {
  const un = p.services.filter((s) => s.unschedulable);
  const icon = !p.accepted ? '❌' : un.length ? '⚠️' : '✅';
  const out = ['<!-- canopy-plan -->', `### canopy plan: ${icon} ${md(p.verdict)}`, ''];
  out.push(`\`${md(p.base.rev)}\` ${short(p.base.commit)} → \`${md(p.head.rev)}\` ${short(p.head.commit)}` + (p.fleet ? ` · fleet **${md(p.fleet)}**` : ''));
  const bn = baseNote(p);
  if (bn) out.push('', `_${md(bn)}_`);
  if (!p.accepted) {
    out.push('', 'Merging this would be rejected whole. Problems (fix them in a new commit):', '');
    for (const x of p.problems) out.push(`- \`${x.file}:${x.line}:${x.column}\`: ${md(x.message)}`);
  } else if (p.services.length) {
    out.push('', '| service | change | before | after | gains / losses |', '| --- | --- | --- | --- | --- |');
    for (const s of p.services)
      out.push(`| \`${s.id}\` | ${cell(changeOf(s))} | ${cell(where(s.before))} | ${cell(where(s.after))} | ${cell(gains(s.delta))} |`);
    if (un.length) {
      out.push('', '**Unschedulable** (reported; the merge still applies the rest):', '');
      for (const s of un) out.push(`- \`${s.id}\`: ${md(s.unschedulable!)}`);
    }
    const rolling = p.services.filter((s) => s.waves);
    if (rolling.length) {
      out.push('', '**Rollouts** (the workload changes: wave by wave, each ready and baked before the next starts):', '');
      for (const s of rolling) {
        out.push(`- \`${s.id}\`: ${md(rolloutLine(s))}`);
        s.waves!.forEach((w, i) => void out.push(`  ${i + 1}. ${md(w.join(', '))}${s.rollout?.selectedBy?.[i] ? ` (${md(s.rollout.selectedBy[i])})` : ''}`));
      }
    }
    const placed = p.services.filter((s) => !s.unschedulable);
    if (placed.length) {
      out.push('', '<details><summary>Why there</summary>', '');
      for (const s of placed) out.push(`- \`${s.id}\`: ${md(s.reason)}`);
      out.push('', '</details>');
    }
  } else out.push('', 'No service changes where it runs.');
  if (p.accepted && p.basis.caveats.length) {
    out.push('', '**Where the root may decide otherwise:**', '');
    for (const c of p.basis.caveats) out.push(`- ${md(c)}`);
  }
  out.push('', `<details><summary>Clusters (${p.clusters.filter((c) => c.reported).length} considered, from their last status)</summary>`, '');
  if (!p.clusters.length) out.push('- none has reported yet: fetch `refs/canopy/*` from the fleet remote');
  for (const c of p.clusters) out.push(`- **${md(c.name)}**: ${c.stale ? '⚠️ ' : ''}${md(clusterLine(c))}`);
  if (p.accepted) out.push('', `_${md(methodLine(p))}_`);
  out.push('', '</details>');
  return out.join('\n') + '\n';
}
