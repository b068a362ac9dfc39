// Step 6 of a pass: the node's status, as the runtime shows it plus the starts that failed and
// the replicas the admission rules refused, sent to the cluster (retained) when it changed, and
// after every reconnect: the MQTT session, not a stream of equal messages, is the node's heartbeat.
import { MAX_INTEREST, MAX_REPLICA_ENDPOINTS, type NodeStatus, type ReplicaSpec, type ReplicaState } from '../../schemas/messages.js';
import { canonicalJson } from '../../reconciler/core/ids.js';
import { portKey } from '../../reconciler/core/service-names.js';
import type { NodeFacts } from '../node-facts.js';
import type { AgentState } from '../state.js';
import { WAITING } from '../health/readiness.js';

export interface ReportPorts {
  isConnected(): boolean;
  publish(status: NodeStatus): Promise<void>;
}

/** The status as it stands; `at` is the time of the report. */
export function nodeStatus(s: AgentState, facts: NodeFacts, at: string): NodeStatus {
  // A refused replica is reported as its refusal, whatever the runtime still shows of it.
  const refused = new Map<string, ReplicaState>();
  for (const [id, a] of s.admission) if (a.refused) refused.set(id, a.refused);
  const replicas: ReplicaState[] = [...refused.values()];
  const specs = new Map((s.assignment?.replicas ?? []).map((r) => [r.id, r]));
  for (const r of s.observed) {
    if (refused.has(r.id)) continue;
    const spec = specs.get(r.id);
    const current = r.state === 'running' && spec?.specHash === r.specHash;
    const endpoints = current ? endpointsOf(spec, facts.address, r.published) : [];
    replicas.push({
      id: r.id,
      service: r.service,
      specHash: r.specHash,
      state: r.state,
      ...(r.message ? { message: r.message } : {}),
      since: r.since,
      ...(r.state === 'running' ? readiness(s, r.id, current ? spec : undefined) : {}),
      ...(endpoints.length ? { endpoints } : {}),
      ...(r.image ? { image: r.image } : {}),
    });
  }
  const seen = new Set(s.observed.map((r) => r.id));
  for (const [id, e] of s.startErrors) if (!seen.has(id) && !refused.has(id)) replicas.push(e);
  for (const [id, e] of s.healthStopped) if (!seen.has(id) && !refused.has(id) && !s.startErrors.has(id)) replicas.push(e);
  // Code-unit order, not localeCompare: ids are ASCII and any fixed order will do, while the
  // ICU collator maps 2.7 MB of the node binary's collation data into an agent's RSS.
  replicas.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const latency = Object.entries(s.latency);
  return {
    kind: 'node-status',
    node: facts.node,
    at,
    ...trustsOf(facts),
    appliedSeq: s.assignment?.seq ?? null,
    capacity: facts.capacity,
    arch: facts.arch,
    runtimes: facts.runtimes,
    labels: facts.labels,
    ...(facts.location ? { location: facts.location } : {}),
    ...(facts.address ? { address: facts.address } : {}),
    ...(latency.length ? { latency: Object.fromEntries(latency.map(([k, ms]) => [k, { ms }])) } : {}),
    replicas,
    ...(s.interest.size ? { interest: [...s.interest].sort().slice(0, MAX_INTEREST) } : {}),
  };
}

/**
 * A running replica's readiness: without a probe, ready while it runs; with one, as its probes
 * last told (agents/health), not ready until the first passes. A replica of another spec than the
 * one assigned (being replaced) is not ready.
 */
export function readiness(s: AgentState, id: string, spec: ReplicaSpec | undefined): { ready: boolean; notReady?: string } {
  if (!spec) return { ready: false, notReady: 'not the assigned spec' };
  if (!spec.spec.health) return { ready: true };
  const h = s.health.get(id);
  if (h?.ready) return { ready: true };
  return { ready: false, notReady: (h?.notReady ?? WAITING).slice(0, 500) };
}

/** True when the status was published. */
export async function reportStatus(s: AgentState, facts: NodeFacts, p: ReportPorts, at: string): Promise<boolean> {
  const status = nodeStatus(s, facts, at);
  s.status = status;
  const key = canonicalJson({ ...status, at: undefined });
  if (key === s.reportedKey) return false;
  if (!p.isConnected()) return false;
  s.reportedKey = key;
  await p.publish(status);
  return true;
}

/**
 * Where a replica is reached from outside its node, one per port in the spec's order (the first is
 * the service's address): `<address>:<hostPort>`; a process listens on the node itself, so at its
 * port; a container port without hostPort at the port the runtime published it at (`published`).
 * A first port with no endpoint gives none (endpoints[0] must be the service's). At most MAX_REPLICA_ENDPOINTS.
 */
export function endpointsOf(r: ReplicaSpec, address: string | undefined, published?: Record<string, number>): string[] {
  if (!address) return [];
  const host = address.includes(':') ? `[${address}]` : address;
  const out: string[] = [];
  for (const p of r.spec.ports ?? []) {
    const port = p.hostPort ?? (r.spec.runtime === 'process' ? p.port : published?.[portKey(p.port, p.protocol)]);
    if (port === undefined) {
      if (!out.length) return [];
      continue;
    }
    const e = `${host}:${port}`;
    if (!out.includes(e)) out.push(e);
  }
  return out.slice(0, MAX_REPLICA_ENDPOINTS);
}

function trustsOf(facts: NodeFacts): { trusts?: string[] } {
  const t = facts.trusts?.();
  return t?.length ? { trusts: t } : {};
}
