// A history as a timeline, one line per event (UTC, to the second), for people; the JSON form
// is the History object itself.
import { keyName } from '../core/note.js';
import type { History, HistoryEvent, Observation } from './history.js';
import { describeRollout } from './history-rollouts.js';

const short = (oid: string) => oid.slice(0, 12);
const time = (iso: string) => iso.slice(0, 19).replace('T', ' ');

export function renderHistory(h: History): string {
  const out = [
    `${h.service ? `history of ${h.service}` : 'fleet history'}${h.since ? ` since ${time(h.since)}` : ''}${h.until ? ` until ${time(h.until)}` : ''}, from Git alone (times UTC)`,
  ];
  if (!h.events.length)
    out.push('  no events' + (h.since || h.until ? ' in that time' : ': nothing recorded yet (fetch refs/canopy/* and refs/notes/* in a clone)'));
  for (const e of h.events) {
    const [first, ...more] = describe(e, h.service);
    out.push(`${time(e.at)}  ${first}`, ...more.map((m) => `${' '.repeat(21)}${m}`));
  }
  if (h.warnings?.length) out.push('Notes ignored in part (they do not have their shape):', ...h.warnings.map((w) => `  ${w}`));
  for (const r of h.truncated) out.push(`(truncated: ${r} has more history than was walked; narrow it with --since)`);
  return out.join('\n') + '\n';
}

function describe(e: HistoryEvent, service: string | null): string[] {
  switch (e.kind) {
    case 'commit': {
      const signed = e.signature ? `, signed by ${e.signature.signedBy ? keyName(e.signature.signedBy) : 'nobody'}` : '';
      const what = `${short(e.commit)} "${e.subject}" (${e.author}${signed})`;
      if (e.outcome === 'pending') return [`committed ${what}: no outcome recorded yet`];
      if (e.outcome === 'superseded') return [`superseded ${what} by ${short(e.supersededBy ?? '')}`];
      if (e.outcome === 'rejected') {
        const ps = e.problems ?? [];
        return [
          `rejected ${what}: ${ps.length} problem(s), the previous state stayed in force`,
          ...ps.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`),
        ];
      }
      const changes = Object.entries(e.changes ?? {}).map(([id, c]) => {
        const name = service ? '' : `${id} `;
        return 'removed' in c ? `${name}removed` : `${name}${c.placed}/${c.desired} placed: ${c.reason}`;
      });
      const un = Object.entries(e.unschedulable ?? {})
        .filter(([id]) => !e.changes?.[id])
        .map(([id, why]) => `${id} unschedulable: ${why}`);
      const lines = [...changes, ...un];
      if (lines.length <= 1) return [`accepted ${what}: ${lines[0] ?? 'no service changed'}`];
      return [`accepted ${what}:`, ...lines];
    }
    case 'converged':
      return [`converged ${short(e.commit)}`];
    case 'placement': {
      const from = `(commit ${short(e.commit)}, #${e.seq}${e.epoch ? `, epoch ${e.epoch}` : ''})`;
      if (service) {
        const s = e.services[service];
        if (!s) return [`placement ${e.cluster} ${from}`];
        if (s.replicas === 0) return [`removed from ${e.cluster} (was ×${s.was}) ${from}`];
        const verb =
          s.respec && s.replicas === s.was
            ? `new spec on ${e.cluster}×${s.replicas}`
            : `placed on ${e.cluster}×${s.replicas}${s.was ? ` (was ×${s.was})` : ''}`;
        return [`${verb} ${from}${s.reason ? `: ${s.reason}` : ''}`];
      }
      const parts = Object.entries(e.services).map(([id, s]) =>
        s.replicas === 0
          ? `${id} removed (was ×${s.was})`
          : `${id}×${s.replicas}${!s.was ? ' (new)' : s.was !== s.replicas ? ` (was ×${s.was})` : ' (new spec)'}`,
      );
      return [`placement ${e.cluster} ${from}: ${parts.join(', ')}`];
    }
    case 'rollout':
      return [describeRollout(e, service)];
    case 'liveness':
      return [
        e.state === 'online' ? `root: ${e.cluster} back online` : `root: ${e.cluster} unreachable (last heard ${e.lastHeard ? time(e.lastHeard) : 'never'})`,
      ];
    case 'observed': {
      if (service) {
        const o = e.services[service];
        return [`observed on ${e.cluster}: ${o ? counts(o) : 'no longer there'}`];
      }
      const svc = Object.entries(e.services).map(([id, o]) => `${id} ${o ? counts(o) : 'gone'}`);
      return [`observed on ${e.cluster}: ${e.nodes.online}/${e.nodes.total} nodes${svc.length ? `; ${svc.join(', ')}` : ''}`];
    }
  }
}

function counts(o: Observation): string {
  const at = o.endpoints?.length ? `; at ${o.endpoints.slice(0, 8).join(' ')}${o.endpoints.length > 8 ? ` … ${o.endpoints.length - 8} more` : ''}` : '';
  // Running and ready out of desired, when the cluster counts ready replicas (an older one does not).
  const ready = o.ready === undefined || o.running === 0 ? '' : o.ready === o.running ? ' and ready' : `, ${o.ready}/${o.desired} ready`;
  const n = `${o.running}/${o.desired} running${ready}`;
  return `${n}${o.failed ? `, ${o.failed} failed` : ''}${o.message ? ` (${o.message})` : ''}${at}`;
}
