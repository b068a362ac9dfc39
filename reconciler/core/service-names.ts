// How a service is named to the workloads that call it, and the rules on ports and `uses` that
// one descriptor can break on its own. Pure. The variable names are a contract (issue 15):
// `CANOPY_ADDR_<APP>_<NAME>` (round-robin) and `CANOPY_CLOSEST_<APP>_<NAME>` (closest), upper
// case with `-` as `_`, so `a-b/c` and `a/b-c` share one and the fleet index refuses the pair.
import type { ServiceSpec } from '../../schemas/model.js';

/** The variable a workload reads a service's `host:port` from: `CANOPY_ADDR_WEB_API` for web/api. */
export function serviceVariable(app: string, name: string, policy: 'addr' | 'closest' = 'addr'): string {
  const part = (s: string) => s.toUpperCase().replace(/-/g, '_');
  return `CANOPY_${policy === 'addr' ? 'ADDR' : 'CLOSEST'}_${part(app)}_${part(name)}`;
}

/** `8080/tcp`: a port as Docker and the placement name it (protocol tcp unless given). */
export function portKey(port: number, protocol: 'tcp' | 'udp' | undefined): string {
  return `${port}/${protocol ?? 'tcp'}`;
}

/**
 * The host ports a replica of this spec takes on its node, as `8080/tcp`, in declared order: its
 * published ones; a process listens on the node itself, so at `hostPort` or else `port`.
 */
export function hostPortsOf(spec: Pick<ServiceSpec, 'ports'> & { runtime?: ServiceSpec['runtime'] }): string[] {
  const process = spec.runtime === 'process';
  return (spec.ports ?? []).flatMap((p) => {
    const port = p.hostPort ?? (process ? p.port : undefined);
    return port === undefined ? [] : [portKey(port, p.protocol)];
  });
}

export interface PortIssue {
  at: string[];
  message: string;
}

/** One service listing a port (or a host port) twice for one protocol. */
export function portIssues(spec: Pick<ServiceSpec, 'ports'>): PortIssue[] {
  const out: PortIssue[] = [];
  const seen = new Map<string, number>();
  const seenHost = new Map<string, number>();
  (spec.ports ?? []).forEach((p, i) => {
    const key = portKey(p.port, p.protocol);
    const first = seen.get(key);
    if (first !== undefined)
      out.push({ at: ['spec', 'ports', String(i), 'port'], message: `spec.ports[${i}].port: ${key} is listed twice (also spec.ports[${first}])` });
    else seen.set(key, i);
    if (p.hostPort === undefined) return;
    const host = portKey(p.hostPort, p.protocol);
    const firstHost = seenHost.get(host);
    if (firstHost !== undefined) {
      out.push({
        at: ['spec', 'ports', String(i), 'hostPort'],
        message: `spec.ports[${i}].hostPort: host port ${host} is listed twice (also spec.ports[${firstHost}])`,
      });
    } else seenHost.set(host, i);
  });
  return out;
}

/** How workloads name a service with ports (its first port): host names and variables; undefined without ports. */
export function serviceNames(
  id: string,
  spec: Pick<ServiceSpec, 'ports'>,
): { host: string; closest: string; port: number; variables: [string, string] } | undefined {
  const first = spec.ports?.[0];
  if (!first) return undefined;
  const [app, name] = id.split('/');
  return {
    host: `${name}.${app}.canopy`,
    closest: `closest.${name}.${app}.canopy`,
    port: first.port,
    variables: [serviceVariable(app, name, 'addr'), serviceVariable(app, name, 'closest')],
  };
}
