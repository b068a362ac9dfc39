// The node's side of service networking: for every route its cluster sends (the services its
// workloads may call), the proxy listens twice, once per policy (round-robin, closest), and is
// pointed at the route's endpoints; a replica starting is told where: CANOPY_ADDR_<APP>_<NAME>
// and CANOPY_CLOSEST_<APP>_<NAME> (host:port), and, in a container, the host names
// `<name>.<app>.canopy` and `closest.<name>.<app>.canopy`. With the service range routed to the
// host (service-addresses.ts) each listener has an address of its own at the service's port;
// without it, the node's address at a free port (variables only: names need the range).
import type { NodeDesired, NodeRoute, ReplicaSpec } from '../../schemas/messages.js';
import type { Logger } from '../../reconciler/core/log.js';
import { serviceVariable } from '../../reconciler/core/service-names.js';
import type { ServiceAddresses } from './service-addresses.js';
import type { Answer } from './dns.js';

export type Policy = 'round-robin' | 'closest';
const POLICIES: readonly Policy[] = ['round-robin', 'closest'];

/** The proxy as the network uses it (agents/proxy). */
export interface ProxyPort {
  listen(service: string, policy: Policy, host: string, port: number, protocol?: 'tcp' | 'udp'): Promise<{ host: string; port: number }>;
  unlisten(service: string): Promise<void>;
  setRoute(service: string, route: NodeRoute | undefined): void;
}

interface Bound {
  /** What the listeners were opened for: a new port or protocol opens them again. */
  key: string;
  at: Record<Policy, { host: string; port: number }>;
  /** The listeners have addresses of their own: host names point there. */
  named: boolean;
}

/** How long a lookup of a service the node was not told about waits for its route. */
export const INTEREST_WAIT_MS = 5000;
const LABEL = '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?';
const SERVICE_NAME = new RegExp(`^(closest\\.)?(${LABEL})\\.(${LABEL})\\.canopy$`);

export interface AgentNetwork {
  /** A DNS question for `name` (agents/network/dns.ts): a service name's address, after asking for its route if need be. */
  resolve(name: string, type: number): Promise<Answer>;
  /** Listen for every route of the assignment and point the proxy at its endpoints; close the others. */
  sync(routes: NodeDesired['routes']): Promise<void>;
  /** What a replica is given at start: variables for the services it may call; host names for containers. */
  workloadEnv(r: Pick<ReplicaSpec, 'service' | 'spec'>): { env: Record<string, string>; hosts: Record<string, string>; dns?: string[] };
  /** service → where its listeners are (status, tests). */
  bindings(): Map<string, Bound['at']>;
}

export interface NetworkOptions {
  proxy: ProxyPort;
  /** Undefined: no service range (variables on the node's address only). */
  addresses?: ServiceAddresses;
  /** Where listeners go without a range. */
  nodeAddress: string;
  log: Logger;
  /** A workload looked up a service the node has no route for: ask the cluster for it. */
  interest?(service: string): void;
  /** The node's DNS answer for containers (host), when it runs. */
  dns?: string;
}

/** `<name>.<app>.canopy` (round-robin) or `closest.<name>.<app>.canopy`. */
export function serviceHost(service: string, policy: Policy): string {
  const [app, name] = service.split('/');
  return `${policy === 'closest' ? 'closest.' : ''}${name}.${app}.canopy`;
}

const hostPort = (a: { host: string; port: number }) => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);

export function agentNetwork(o: NetworkOptions): AgentNetwork {
  return new Listeners(o);
}

/** The listeners of one node, per service and policy. */
class Listeners implements AgentNetwork {
  private readonly bound = new Map<string, Bound>();
  private addresses: ServiceAddresses | undefined;
  /** Lookups waiting for a route (interest): each checks again after a sync. */
  private readonly waiting = new Set<() => void>();
  /** The routes of the last sync. */
  private synced: NodeDesired['routes'];

  constructor(private readonly o: NetworkOptions) {
    this.addresses = o.addresses;
  }

  async resolve(name: string): Promise<Answer> {
    const m = SERVICE_NAME.exec(name);
    if (!m) return name === 'canopy' || name.endsWith('.canopy') ? 'nxdomain' : 'forward';
    const service = `${m[4]}/${m[2]}`;
    const policy: Policy = m[1] ? 'closest' : 'round-robin';
    if (!this.named(service, policy)) {
      this.o.interest?.(service);
      // Wait for its route: the cluster asks the root, which adds it to the cluster's placement.
      await new Promise<void>((resolve) => {
        const check = () => this.named(service, policy) && done();
        const done = () => {
          clearTimeout(t);
          this.waiting.delete(check);
          resolve();
        };
        const t = setTimeout(done, INTEREST_WAIT_MS);
        this.waiting.add(check);
      });
    }
    const at = this.named(service, policy);
    return at ? { address: at } : 'nxdomain';
  }

  async sync(routes: NodeDesired['routes'] = {}): Promise<void> {
    // Every pass calls it; the routes change only with a new assignment (a new object). A
    // service it could not listen for is tried again at the next pass.
    if (routes === this.synced) return;
    this.synced = routes;
    const { o, bound } = this;
    for (const [service, route] of Object.entries(routes)) {
      try {
        await this.bind(service, route);
        o.proxy.setRoute(service, route);
      } catch (e) {
        o.log.warn(`service ${service}: cannot listen for it: ${(e as Error).message}`);
        this.synced = undefined;
      }
    }
    for (const service of [...bound.keys()]) {
      if (routes[service]) continue;
      await o.proxy.unlisten(service);
      o.proxy.setRoute(service, undefined);
      bound.delete(service);
      for (const p of POLICIES) this.addresses?.release(`${service}|${p}`);
    }
    await this.addresses?.save().catch((e) => o.log.warn(`saving service addresses: ${(e as Error).message}`));
    for (const check of [...this.waiting]) check();
  }

  workloadEnv(r: Pick<ReplicaSpec, 'service' | 'spec'>): { env: Record<string, string>; hosts: Record<string, string>; dns?: string[] } {
    const app = r.service.split('/')[0];
    const uses = new Set(r.spec.uses ?? []);
    const env: Record<string, string> = {};
    const hosts: Record<string, string> = {};
    for (const [service, b] of this.bound) {
      const [a, name] = service.split('/');
      // Host names for every route the node has; variables for what the replica may call.
      if (b.named) for (const p of POLICIES) hosts[serviceHost(service, p)] = b.at[p].host;
      if (a !== app && !uses.has(service)) continue;
      env[serviceVariable(a, name, 'addr')] = hostPort(b.at['round-robin']);
      env[serviceVariable(a, name, 'closest')] = hostPort(b.at.closest);
    }
    return { env, hosts, ...(this.o.dns ? { dns: [this.o.dns] } : {}) };
  }

  bindings(): Map<string, Bound['at']> {
    return new Map([...this.bound].map(([k, b]) => [k, b.at]));
  }

  private named(service: string, policy: Policy): string | undefined {
    const b = this.bound.get(service);
    return b?.named ? b.at[policy].host : undefined;
  }

  private async bind(service: string, route: NodeRoute): Promise<void> {
    const key = `${route.port}/${route.protocol ?? 'tcp'}`;
    const have = this.bound.get(service);
    if (have?.key === key) return;
    if (have) await this.o.proxy.unlisten(service);
    const at = {} as Bound['at'];
    let named = true;
    for (const policy of POLICIES) {
      const r = await this.listenOne(service, policy, route);
      at[policy] = r.at;
      named &&= r.named;
    }
    this.bound.set(service, { key, at, named });
    this.o.log.debug?.(`service ${service}: ${POLICIES.map((p) => `${p} at ${hostPort(at[p])}`).join(', ')}`);
  }

  /** At an address of its own on the service's port; else (no range) the node's address at a free port. */
  private async listenOne(service: string, policy: Policy, route: NodeRoute): Promise<{ at: { host: string; port: number }; named: boolean }> {
    const { o } = this;
    for (let attempt = 0; this.addresses && attempt < 8; attempt++) {
      const host = this.addresses.addressFor(`${service}|${policy}`, attempt);
      try {
        return { at: await o.proxy.listen(service, policy, host, route.port, route.protocol), named: true };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') continue; // another node on this host took it: the next one
        if (code !== 'EADDRNOTAVAIL') throw e;
        o.log.warn(
          `service addresses in ${this.addresses.range.text} are not local to this host (${(e as Error).message}): names will not resolve; variables use ${o.nodeAddress}`,
        );
        this.addresses = undefined;
      }
    }
    return { at: await o.proxy.listen(service, policy, o.nodeAddress, 0, route.protocol), named: false };
  }
}
