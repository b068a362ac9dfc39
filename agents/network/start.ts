// Wiring of the node's networking: the proxy, the service range routed to this host, the DNS
// answer containers resolve through, and the network that ties them to the assignment's routes.
// A node with a container runtime opens it at start (a container's first lookup of a name its
// node was not told about must reach the DNS answer); a process-only node on its first route.
import type { Logger } from '../../reconciler/core/log.js';
import type { NodeDesired } from '../../schemas/messages.js';
import { ServiceProxy } from '../proxy/index.js';
import { startDns, type DnsServer } from './dns.js';
import { agentNetwork, type AgentNetwork, type NetworkOptions } from './network.js';
import { DEFAULT_SERVICE_RANGE, parseRange, routeRangeLocally, serviceAddresses, type ServiceAddresses } from './service-addresses.js';

export interface NodeNetwork {
  sync(routes: NodeDesired['routes']): Promise<void>;
  workloadEnv: AgentNetwork['workloadEnv'];
  bindings: AgentNetwork['bindings'];
  close(): Promise<void>;
}

export interface NodeNetworkOptions {
  node: string;
  stateDir: string;
  address?: string;
  range?: string;
  /** Open at the first sync even without routes (a node that runs containers). */
  eager?: boolean;
  /** A workload looked up a service the node was not told about. */
  interest(service: string): void;
  log: Logger;
}

export function startNodeNetwork(o: NodeNetworkOptions): NodeNetwork {
  const proxy = new ServiceProxy({ log: o.log });
  let network: AgentNetwork | undefined;
  let opening: Promise<AgentNetwork> | undefined;
  let dns: DnsServer | undefined;
  const open = async (): Promise<AgentNetwork> => {
    const opts: NetworkOptions = { proxy, nodeAddress: o.address ?? '127.0.0.1', log: o.log, interest: o.interest };
    const addresses = await serviceRange(o, opts.nodeAddress);
    if (!addresses) return agentNetwork(opts);
    const netOpts: NetworkOptions = { ...opts, addresses };
    const net = agentNetwork(netOpts);
    const host = addresses.addressFor('dns|udp');
    try {
      dns = await startDns({ host, resolve: (name, type) => net.resolve(name, type), log: o.log });
      netOpts.dns = host; // read at each workload's start
    } catch (e) {
      o.log.warn(`no DNS answer for service names at ${host}:53 (${(e as Error).message}): containers resolve only the names their node knew at their start`);
    }
    return net;
  };
  return {
    async sync(routes) {
      if (!network && !o.eager && !Object.keys(routes ?? {}).length) return;
      network ??= await (opening ??= open());
      await network.sync(routes);
    },
    workloadEnv: (r) => network?.workloadEnv(r) ?? { env: {}, hosts: {} },
    bindings: () => network?.bindings() ?? new Map(),
    async close() {
      await dns?.close();
      await proxy.close();
    },
  };
}

/** The service range, routed to this host; undefined (said once) when it cannot be. */
async function serviceRange(o: NodeNetworkOptions, nodeAddress: string): Promise<ServiceAddresses | undefined> {
  if (o.range === 'off') return undefined;
  const range = parseRange(o.range ?? DEFAULT_SERVICE_RANGE);
  const why = await routeRangeLocally(range);
  if (!why) return serviceAddresses(range, o.node, o.stateDir);
  o.log.warn(
    `service names off: cannot route ${range.text} to this host (${why}); workloads get CANOPY_ADDR_* on ${nodeAddress}. ` +
      `Run the agent as root, or run \`ip route replace local ${range.text} dev lo\` once, or choose --service-range`,
  );
  return undefined;
}
