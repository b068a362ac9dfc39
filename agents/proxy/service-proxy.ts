// The node-local service proxy (docs/networking.md, "The node-local proxy"): the agent listens,
// per service its workloads may call and per policy (round-robin, closest), on a port of the
// node's address, and hands each connection (TCP) or client (UDP) to one of the service's
// endpoints, as the cluster last told it (NodeDesired.routes → setRoute). A pure library over
// real sockets: it knows nothing of the agent, and the agent decides what to listen on.
import type { Listener, ProxyContext } from './context.js';
import { Picker } from './picker.js';
import { TcpListener } from './tcp.js';
import { UdpListener } from './udp.js';
import {
  emptyStats,
  formatAddr,
  type HostPort,
  type ParsedRoute,
  parseRoute,
  type Policy,
  type Protocol,
  type ProxyLog,
  type ProxyRoute,
  type ProxyStats,
} from './types.js';

export interface ServiceProxyOptions {
  log?: ProxyLog;
  /** How long one connect to an endpoint may take before the next is tried (default 1000 ms). */
  connectTimeoutMs?: number;
  /** How long an endpoint that failed is tried last (default 5000 ms). */
  suspectMs?: number;
  /** A UDP session without a datagram for this long ends (default 60 s). */
  udpIdleMs?: number;
  /** At most this many UDP sessions per listener, the oldest dropped first (default 1024). */
  maxUdpSessions?: number;
}

const POLICIES: readonly Policy[] = ['round-robin', 'closest'];
const QUIET_MS = 60_000;
const silent: ProxyLog = { info: () => undefined, warn: () => undefined };

export class ServiceProxy {
  private readonly listeners = new Map<string, Listener>(); // service|policy
  private readonly pending = new Map<string, Promise<HostPort>>();
  private readonly table = new Map<string, { route: ProxyRoute; parsed: ParsedRoute }>();
  private readonly warned = new Map<string, number>(); // service → last "unreachable" warning
  private readonly counters: ProxyStats = emptyStats();
  private readonly ctx: ProxyContext;
  private closed = false;

  constructor(opts: ServiceProxyOptions = {}) {
    const log = opts.log ?? silent;
    this.ctx = {
      route: (service) => this.table.get(service)?.parsed,
      picker: new Picker(opts.suspectMs ?? 5000),
      stats: this.counters,
      log,
      connectTimeoutMs: opts.connectTimeoutMs ?? 1000,
      udpIdleMs: opts.udpIdleMs ?? 60_000,
      maxUdpSessions: opts.maxUdpSessions ?? 1024,
      unreachable: (service, why) => {
        const last = this.warned.get(service);
        if (last !== undefined && Date.now() - last < QUIET_MS) return;
        this.warned.set(service, Date.now());
        log.warn(`proxy for ${service}: connections closed, ${why} (logged once a minute)`);
      },
    };
  }

  /**
   * Listen for (service, policy) at host:port (port 0: any free port); resolves to the address
   * bound. The same key at the same host, port (or 0) and protocol again: the same address. At
   * another: the old listener is closed (with its connections) and the new one opened.
   */
  listen(service: string, policy: Policy, host: string, port: number, protocol: Protocol = 'tcp'): Promise<HostPort> {
    if (this.closed) return Promise.reject(new Error('the proxy is closed'));
    if (!service) return Promise.reject(new Error('proxy listen: no service named'));
    if (!POLICIES.includes(policy)) return Promise.reject(new Error(`proxy listen for ${service}: unknown policy "${policy}" (round-robin or closest)`));
    if (protocol !== 'tcp' && protocol !== 'udp') return Promise.reject(new Error(`proxy listen for ${service}: unknown protocol "${protocol}" (tcp or udp)`));
    if (!Number.isInteger(port) || port < 0 || port > 65535) return Promise.reject(new Error(`proxy listen for ${service}: bad port ${port}`));
    const key = `${service}|${policy}`;
    const before = this.pending.get(key) ?? Promise.resolve(undefined);
    const next = before.catch(() => undefined).then(() => this.bind(key, service, policy, host, port, protocol));
    this.pending.set(key, next);
    const clear = () => {
      if (this.pending.get(key) === next) this.pending.delete(key);
    };
    next.then(clear, clear);
    return next;
  }

  private async bind(key: string, service: string, policy: Policy, host: string, port: number, protocol: Protocol): Promise<HostPort> {
    const old = this.listeners.get(key);
    if (old && old.protocol === protocol && old.bound.host === host && (port === 0 || port === old.bound.port)) return { ...old.bound };
    if (old) {
      this.listeners.delete(key);
      await old.close();
    }
    if (this.closed) throw new Error('the proxy is closed');
    const l = protocol === 'udp' ? new UdpListener(this.ctx, service, policy) : new TcpListener(this.ctx, service, policy);
    const bound = await l.listen(host, port);
    if (this.closed) {
      await l.close();
      throw new Error('the proxy is closed');
    }
    this.listeners.set(key, l);
    this.ctx.log.info(`proxy for ${service} (${policy}, ${protocol}) listening at ${formatAddr(bound.host, bound.port)}`);
    return { ...bound };
  }

  /** Stop listening for service (every policy), ending the connections and sessions open through it. */
  async unlisten(service: string): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const policy of POLICIES) {
      const key = `${service}|${policy}`;
      await this.pending.get(key)?.catch(() => undefined);
      const l = this.listeners.get(key);
      if (!l) continue;
      this.listeners.delete(key);
      this.ctx.picker.forget(key);
      closing.push(l.close());
    }
    await Promise.all(closing);
  }

  /** Replace the endpoints of service (undefined: none). Connections in flight go on; new ones use these. */
  setRoute(service: string, route: ProxyRoute | undefined): void {
    if (!route) {
      this.table.delete(service);
      return;
    }
    const parsed = parseRoute(service, route); // throws on a bad endpoint, before anything changes
    this.table.set(service, { route: structuredClone(route), parsed });
    if (parsed.endpoints.length) this.warned.delete(service);
  }

  routes(): Map<string, ProxyRoute> {
    return new Map([...this.table].map(([s, r]) => [s, structuredClone(r.route)]));
  }

  /** Where each (service, policy) listens: `service|policy` → {host, port, protocol}. */
  listening(): Map<string, HostPort & { protocol: Protocol }> {
    return new Map([...this.listeners].map(([k, l]) => [k, { ...l.bound, protocol: l.protocol }]));
  }

  stats(): ProxyStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.pending.values()].map((p) => p.catch(() => undefined)));
    const all = [...this.listeners.values()];
    this.listeners.clear();
    await Promise.all(all.map((l) => l.close()));
  }
}
