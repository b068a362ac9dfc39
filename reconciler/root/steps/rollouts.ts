// Steps of the root's rollouts (../rollouts.ts says how they run). `startRollouts`, after a
// commit is accepted: a service with a `rollout` whose workload changed starts one from the last
// spec that was ready (what its clusters hold, or what a rollout under way rolled from); one the
// commit did not change carries on, and its record goes into the new note too. `runWaves`, after
// placing and on its own (loop key `rollout`): each rollout under way moves on as far as the
// clusters allow; clusters whose spec it changes get new placements (the delegate step writes
// them), the notes say what happened, and the loop looks again when a bake or a deadline ends.
import { renderNote, type CommitNote } from '../../core/note.js';
import { assignmentHash } from '../placement-docs.js';
import { wavesOf } from '../../core/waves.js';
import { sameVersion } from '../../core/version.js';
import { advance, rolloutConfig, type Rolling, type WaveView } from '../rollouts.js';
import type { RootPorts } from '../ports.js';
import type { RootState } from '../state.js';
import type { Pass, Placed, StepResult } from './pass.js';

export function startRollouts(state: RootState, ports: Pick<RootPorts, 'now'>, pass: Pass): StepResult {
  const { good, pending } = state;
  if (!good || !pending) return;
  for (const id of pass.removed) state.rollouts.delete(id);
  for (const id of pass.changed) {
    const svc = good.services.get(id);
    const was = state.rollouts.get(id);
    if (!svc?.spec.rollout) {
      state.rollouts.delete(id);
      continue;
    }
    // What clusters are told it runs: its workload and the secrets it uses (a secret set anew rolls out too).
    const to = { spec: svc.spec, hash: assignmentHash(svc) };
    if (was && was.to.hash === to.hash) {
      // The same workload (replicas or constraints changed): the rollout goes on as it was.
      was.cfg = rolloutConfig(svc.spec.rollout);
      continue;
    }
    const held = state.docs.entry(id);
    const from = was && was.note.state !== 'done' ? was.from : held && { spec: held.spec, hash: held.specHash };
    const fromCommit = was && was.note.state !== 'done' ? was.note.from.commit : (was?.note.commit ?? pass.before);
    if (!from || from.hash === to.hash || !fromCommit) {
      state.rollouts.delete(id);
      continue;
    }
    const r: Rolling = {
      id,
      note: {
        state: 'progressing',
        commit: pending.commit,
        from: { commit: fromCommit, specHash: from.hash },
        to: to.hash,
        startedAt: ports.now().toISOString(),
        waves: [],
      },
      origin: pending,
      from,
      to,
      cfg: rolloutConfig(svc.spec.rollout),
      wave: 0,
      given: new Set(),
    };
    state.rollouts.set(r);
  }
  // The head's note tells every rollout not finished, also those an earlier commit started.
  const carried = [...state.rollouts.values()].filter((r) => r.note.state !== 'done' || r.origin === pending);
  if (carried.length) pending.rollouts = Object.fromEntries(carried.map((r) => [r.id, r.note]));
}

export function runWaves(state: RootState, ports: Pick<RootPorts, 'now' | 'book' | 'queue' | 'log' | 'metrics' | 'notify'>, pass: Pass): StepResult {
  const { good } = state;
  if (!good || !state.rollouts.size) return;
  const now = ports.now().getTime();
  const view = waveView(state, ports);
  const decisions = state.placer.current;
  const respec: string[] = [];
  const origins = new Set<CommitNote>();
  let wake = Infinity;
  for (const r of [...state.rollouts.values()]) {
    if (r.note.state !== 'progressing') continue;
    if (!r.note.waves.length) r.note.waves = wavesFor(state, r, decisions.get(r.id)?.clusters);
    const a = advance(r, now, view);
    if (a.respec) respec.push(r.id);
    if (a.noted) origins.add(r.origin);
    if (a.noted && r.note.state !== 'progressing') ports.metrics.rollouts.inc({ outcome: r.note.state });
    if (a.noted && String(r.note.state) === 'rolled-back')
      ports.notify?.emit({ event: 'rolled-back', commit: r.origin.commit, service: r.id, reason: r.note.reason ?? 'the rollout failed' });
    if (a.wakeMs !== undefined) wake = Math.min(wake, a.wakeMs);
    if (a.noted)
      ports.log.info(
        `rollout ${r.id}: ${r.note.state}${r.note.state === 'progressing' ? `, wave ${r.wave + 1}/${r.note.waves.length}` : ''}${r.note.reason ? `: ${r.note.reason}` : ''}`,
      );
  }
  if (wake < Infinity) ports.queue.enqueueAfter('rollout', wake + 20);
  // The notes of the commits that started rollouts which moved (the pending note: by the record step).
  for (const n of origins) if (n !== state.pending) pass.notes.set(n.commit, renderNote(n));
  if (origins.has(state.pending!)) state.failingUnwritten = true;
  const touched = state.docs.update(decisions, respec, good.services);
  pass.placed = mergeTouched(pass.placed, touched, decisions, state);
  // Finished: the record is kept in the notes; the root forgets it (specFor gives the desired spec).
  for (const r of [...state.rollouts.values()]) if (r.note.state === 'done' && r.origin !== state.pending) state.rollouts.delete(r.id);
}

/** The clusters of each wave, among those the service is placed on, by the labels they report. */
function wavesFor(state: RootState, r: Rolling, clusters: Map<string, number> | undefined): Array<{ clusters: string[] }> {
  const on = [...(clusters ?? [])]
    .filter(([, n]) => n > 0)
    .map(([name]) => {
      const st = state.clusters.get(name)?.status;
      return { name, labels: st?.labels, operator: st?.operator };
    });
  return wavesOf(r.to.spec.rollout?.waves, on).map((c) => ({ clusters: c }));
}

function waveView(state: RootState, ports: Pick<RootPorts, 'book'>): WaveView {
  return {
    online: (c) => !!state.clusters.get(c)?.online,
    airGapped: (c) => !!state.clusters.get(c)?.airGapped,
    ready(c, id, hash) {
      const doc = ports.book.get(c);
      const a = doc?.services[id];
      if (!doc || !a) return { ok: false, why: `${c}: not placed there yet` };
      if (a.specHash !== hash) return { ok: false, why: `${c}: not given the new spec yet` };
      const st = state.clusters.get(c)?.status;
      if (!st || !sameVersion(st.applied, doc.version)) return { ok: false, why: `${c}: has not applied placement #${doc.version.seq} yet` };
      const s = st.services[id];
      const updated = s?.updated ?? s?.ready ?? s?.running ?? 0;
      if (s && updated >= a.replicas && s.running <= a.replicas) return { ok: true };
      const why = `${c}: ${updated}/${a.replicas} ready on the new spec${s?.failed ? `, ${s.failed} failed` : ''}${s?.message ? ` (${s.message})` : ''}`;
      return { ok: false, why, failing: !!s?.failed };
    },
  };
}

/** The pass's placement with the clusters a rollout re-specced added (a rollout pass has none of its own). */
export function mergeTouched(placed: Placed | undefined, touched: Map<string, string[]>, decisions: Placed['result']['decisions'], state: RootState): Placed {
  const out: Placed = placed ?? {
    result: { decisions, recomputed: new Set(), removed: new Set(), before: new Map(), full: false },
    touched: new Map(),
    failedOver: false,
    clusters: [...state.clusters.keys()],
  };
  for (const [c, ids] of touched) out.touched.set(c, [...new Set([...(out.touched.get(c) ?? []), ...ids])]);
  return out;
}
