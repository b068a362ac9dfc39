// Rules for a service's `health` and `rollout` that their schema cannot say: exactly one way to
// probe, and a port the probe can reach (the agent connects to a port the service lists in
// spec.ports: a container's is published there, a process listens on it); a rollout that can
// move (maxUnavailable and maxSurge not both 0) and waves that each select something.
import type { ServiceSpec } from '../../schemas/model.js';
import { portKey } from './service-names.js';

export interface HealthIssue {
  at: string[];
  message: string;
}

const KINDS = ['http', 'tcp', 'exec'] as const;

export function healthIssues(spec: Pick<ServiceSpec, 'health' | 'ports'>): HealthIssue[] {
  const h = spec.health;
  if (!h) return [];
  const given = KINDS.filter((k) => h[k] !== undefined);
  if (given.length === 0) {
    return [{ at: ['spec', 'health'], message: 'spec.health: give one of http, tcp, exec (how the agent probes a replica)' }];
  }
  if (given.length > 1) {
    return [
      {
        at: ['spec', 'health', given[1]],
        message: `spec.health: has both ${given[0]} and ${given[1]}: give exactly one of http, tcp, exec`,
      },
    ];
  }
  const kind = given[0];
  if (kind === 'exec') return [];
  const port = (h[kind] as { port: number }).port;
  const tcp = (spec.ports ?? []).filter((p) => (p.protocol ?? 'tcp') === 'tcp').map((p) => p.port);
  if (tcp.includes(port)) return [];
  const listed = tcp.length ? `one of spec.ports (${tcp.map((p) => portKey(p, 'tcp')).join(', ')})` : 'listed: the service has no tcp port in spec.ports';
  return [
    {
      at: ['spec', 'health', kind, 'port'],
      message: `spec.health.${kind}.port: ${port} is not ${listed}, so the probe could never reach it`,
    },
  ];
}

/** A rollout that could never replace a replica, or a wave that selects every cluster. */
export function rolloutIssues(spec: Pick<ServiceSpec, 'rollout'>): HealthIssue[] {
  const r = spec.rollout;
  if (!r) return [];
  const out: HealthIssue[] = [];
  if (r.maxUnavailable === 0 && r.maxSurge === 0) {
    out.push({
      at: ['spec', 'rollout', 'maxSurge'],
      message: 'spec.rollout: maxUnavailable and maxSurge are both 0, so no replica could ever be replaced: allow one of them (for example maxSurge: 1)',
    });
  }
  (r.waves ?? []).forEach((w, i) => {
    if (!w.names && !w.operator && !Object.keys(w.matchLabels ?? {}).length)
      out.push({
        at: ['spec', 'rollout', 'waves', String(i)],
        message: `spec.rollout.waves[${i}]: selects every cluster: give names, matchLabels or operator`,
      });
  });
  return out;
}
