// Step 2 of a pass: judge the assignment's replicas by the node's admission rules (admission.ts).
// Each is judged once per spec: a refused replica stays refused, reported as failed with the
// reason and never started (plan.ts stops one the runtime shows), until its spec changes or the
// agent is restarted with other rules. An admitted process keeps the absolute path of the
// executable it was judged by, and the runtime is handed that path.
import type { ReplicaSpec } from '../../schemas/messages.js';
import type { Logger } from '../../reconciler/core/log.js';
import { admitSpec, admitsAll, type AdmissionPolicy } from '../admission.js';
import type { Admitted, AgentState } from '../state.js';

export interface AdmitPorts {
  /** The rules in force (default: admit anything). */
  admission?: AdmissionPolicy;
  /** argv[0] as the process runtime would run it, given the workload's env (default: not looked up). */
  findExecutable?(command: string, env: Record<string, string> | undefined): string | undefined;
  log: Logger;
  /** Wall time, ms since the epoch: when a refusal began. */
  now(): number;
}

export function admitReplicas(s: AgentState, p: AdmitPorts): void {
  if (!p.admission || admitsAll(p.admission)) return;
  const next = new Map<string, Admitted>();
  for (const r of s.assignment?.replicas ?? []) {
    const before = s.admission.get(r.id);
    next.set(r.id, before?.specHash === r.specHash ? before : judge(s, p, p.admission, r));
  }
  s.admission = next;
}

function judge(s: AgentState, p: AdmitPorts, policy: AdmissionPolicy, r: ReplicaSpec): Admitted {
  const argv = r.spec.runtime === 'process' && policy.commands ? r.spec.command : undefined;
  const exe = argv?.length ? p.findExecutable?.(argv[0], r.spec.env) : undefined;
  const v = admitSpec(policy, r.spec, exe);
  if (v.ok) return { specHash: r.specHash, ...(argv && exe ? { command: [exe, ...argv.slice(1)] } : {}) };
  p.log.with({ service: r.service }).warn(`${r.id}: ${v.reason}`);
  s.startErrors.delete(r.id);
  s.restarts.delete(r.id);
  const since = new Date(p.now()).toISOString();
  return { specHash: r.specHash, refused: { id: r.id, service: r.service, specHash: r.specHash, state: 'failed', message: v.reason, since } };
}
