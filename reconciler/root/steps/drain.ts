// Steps of retiring a cluster (../drain.ts decides). `takeRetired`, after a commit is accepted:
// the retired clusters it declares (clusters/<c>.yaml spec.retired: true); the placer's views
// carry them, so the place step that follows moves their services elsewhere while the retired
// clusters keep their entries. `drain`, after placing and on its own (loop key `drain`, queued by
// every status while something drains): each retired cluster's services whose replicas elsewhere
// are ready (or all of them when it is unreachable) leave its placement; the delegate step writes
// it. The pending note names what moved off a retired cluster, and why.
import type { Placement } from '../../../schemas/messages.js';
import { drainDecision, readyAsGiven, retiredOf, type DrainView } from '../drain.js';
import type { RootPorts } from '../ports.js';
import type { RootState } from '../state.js';
import type { Pass, StepResult } from './pass.js';
import { mergeTouched } from './rollouts.js';

export function takeRetired(state: RootState, ports: Pick<RootPorts, 'log'>, pass: Pass): StepResult {
  if (!pass.commit?.result?.ok || !state.good) return;
  const was = new Set(state.drain.retired);
  if (!state.drain.setRetired(retiredOf(state.good.index?.accepted('Cluster') ?? []))) return;
  for (const c of state.drain.retired) if (!was.has(c)) ports.log.info(`cluster ${c} retired: its services drain to the other clusters`);
  for (const c of was) if (!state.drain.retired.has(c)) ports.log.info(`cluster ${c} no longer retired`);
}

export function drain(state: RootState, ports: Pick<RootPorts, 'book' | 'log'>, pass: Pass): StepResult {
  const { good, drain: d } = state;
  if (!good || !d.retired.size) return;
  const decisions = state.placer.current;
  const view = drainView(state, (c) => ports.book.get(c));
  const dropped: string[] = [];
  let active = false;
  for (const c of d.retired) {
    const held = Object.keys(state.docs.assignments(c)).filter((id) => !decisions.get(id)?.clusters.get(c));
    if (!held.length) continue;
    noteMoved(state, c, held);
    const { drop, keep } = drainDecision(c, held, (id) => decisions.get(id)?.clusters, view);
    for (const [id, why] of drop) {
      d.drop(c, id);
      dropped.push(id);
      ports.log.info(`${id}: dropped from ${c} (${why})`);
    }
    if (keep.size) active = true;
    if (drop.size && !view.reachable(c)) forgetRunning(state, c);
  }
  d.active = active;
  if (!dropped.length) return;
  const touched = state.docs.update(decisions, [...new Set(dropped)], good.services);
  pass.placed = mergeTouched(pass.placed, touched, decisions, state);
}

function drainView(state: RootState, placement: (c: string) => Pick<Placement, 'version' | 'services'> | undefined): DrainView {
  return {
    reachable(c) {
      const st = state.clusters.get(c);
      return !!st && (st.online || !!st.unheard);
    },
    readyOn(x, id) {
      const st = state.clusters.get(x);
      return readyAsGiven(x, id, !!st?.online, placement(x), st?.status);
    },
  };
}

/** The pending commit's note names the services moved off a retired cluster (record.ts words them). */
function noteMoved(state: RootState, c: string, held: string[]): void {
  const { pending } = state;
  if (!pending || pending.convergedAt) return;
  if (state.drain.moved?.commit !== pending.commit) state.drain.moved = { commit: pending.commit, from: new Map() };
  const changed = (pending.changed ??= {});
  for (const id of held) {
    if (state.drain.moved.from.has(id)) continue;
    state.drain.moved.from.set(id, c);
    // A placeholder the record step fills in from the decision (where it went, why).
    changed[id] ??= { desired: 0, placed: 0, clusters: {}, reason: '' };
  }
}

/** An unreachable retired cluster runs nothing as far as convergence counts, until it reports again. */
function forgetRunning(state: RootState, c: string): void {
  const st = state.clusters.get(c);
  if (!st?.status || !Object.keys(st.status.services).length) return;
  const empty = { ...st.status, services: {} };
  state.counts.statusChanged(st.status, empty, state.good?.services);
  st.status = empty;
}
