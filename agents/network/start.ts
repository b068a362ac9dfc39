// Wiring of the node's networking: the proxy, the service range routed to this host (on the first
// route, so a fleet that uses no names never touches the host's routing), and the network that
// ties them to the assignment's routes.
import type { Logger } from '../../reconciler/core/log.js';
import type { NodeDesired } from '../../schemas/messages.js';
import { ServiceProxy } from '../proxy/index.js';
import { agentNetwork, type AgentNetwork } from './network.js';
import { DEFAULT_SERVICE_RANGE, parseRange, routeRangeLocally, serviceAddresses } from './service-addresses.js';

export interface NodeNetwork {
  sync(routes: NodeDesired['routes']): Promise<void>;
  workloadEnv: AgentNetwork['workloadEnv'];
  bindings: AgentNetwork['bindings'];
  close(): Promise<void>;
}

export function startNodeNetwork(o: { node: string; stateDir: string; address?: string; range?: string; log: Logger }): NodeNetwork {
  const proxy = new ServiceProxy({ log: o.log });
  let network: AgentNetwork | undefined;
  let opening: Promise<AgentNetwork> | undefined;
  const open = async (): Promise<AgentNetwork> => {
    const nodeAddress = o.address ?? '127.0.0.1';
    if (o.range === 'off') return agentNetwork({ proxy, nodeAddress, log: o.log });
    const range = parseRange(o.range ?? DEFAULT_SERVICE_RANGE);
    const why = await routeRangeLocally(range);
    if (why) {
      o.log.warn(
        `service names off: cannot route ${range.text} to this host (${why}); workloads get CANOPY_ADDR_* on ${nodeAddress}. ` +
          `Run the agent as root, or run \`ip route replace local ${range.text} dev lo\` once, or choose --service-range`,
      );
      return agentNetwork({ proxy, nodeAddress, log: o.log });
    }
    return agentNetwork({ proxy, nodeAddress, addresses: await serviceAddresses(range, o.node, o.stateDir), log: o.log });
  };
  return {
    async sync(routes) {
      if (!network && !Object.keys(routes ?? {}).length) return;
      network ??= await (opening ??= open());
      await network.sync(routes);
    },
    workloadEnv: (r) => network?.workloadEnv(r) ?? { env: {}, hosts: {} },
    bindings: () => network?.bindings() ?? new Map(),
    close: () => proxy.close(),
  };
}
