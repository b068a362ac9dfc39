// Shapes shared by the node-local service proxy (agents/proxy): the policies, a route as the
// cluster hands it to the node (NodeDesired.routes: the port callers use and every endpoint with
// its tier), the counters, and the parsing of `host:port` / `[v6]:port` endpoints.
import net from 'node:net';
import type { NodeRoute } from '../../schemas/messages.js';

/** round-robin: every endpoint in turn; closest: the lowest tier, in turn within it. */
export type Policy = 'round-robin' | 'closest';
export type Protocol = 'tcp' | 'udp';
export type ProxyRoute = NodeRoute;
export type RouteEndpoint = NodeRoute['endpoints'][number];

export interface ProxyLog {
  info(m: string): void;
  warn(m: string): void;
  debug?(m: string): void;
}

export interface ProxyStats {
  /** TCP connections accepted, in total. */
  connections: number;
  /** TCP connections open now. */
  active: number;
  /** Connect attempts that failed and were tried on another endpoint (or gave up). */
  retries: number;
  /** TCP connections closed because no endpoint took them (none known, or each one failed). */
  failed: number;
  /** Bytes from clients to endpoints (closed TCP connections, and UDP datagrams). */
  bytesIn: number;
  /** Bytes from endpoints back to clients. */
  bytesOut: number;
  /** UDP sessions open now. */
  udpSessions: number;
}

export const emptyStats = (): ProxyStats => ({ connections: 0, active: 0, retries: 0, failed: 0, bytesIn: 0, bytesOut: 0, udpSessions: 0 });

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port` or `[v6]:port` → {host, port}; a clear error for anything else. */
export function parseAddr(addr: string): HostPort {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(addr) ?? /^([^:[\]]+):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw new Error(`bad endpoint "${addr}": expected host:port or [v6]:port with a port from 1 to 65535`);
  if (addr.startsWith('[') && net.isIPv6(m[1]) === false) throw new Error(`bad endpoint "${addr}": "${m[1]}" in brackets is not an IPv6 address`);
  return { host: m[1], port };
}

/** The way an address is written in logs and keys: `[v6]:port` for IPv6. */
export function formatAddr(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A route whose endpoints were checked: each parsed once, so a connection does no parsing. */
export interface ParsedRoute {
  port: number;
  protocol: Protocol;
  endpoints: Array<RouteEndpoint & HostPort>;
}

export function parseRoute(service: string, route: ProxyRoute): ParsedRoute {
  const endpoints = route.endpoints.map((e) => {
    if (!Number.isInteger(e.tier) || e.tier < 0) throw new Error(`route of ${service}: endpoint ${e.addr} has a bad tier ${e.tier}`);
    try {
      return { ...e, ...parseAddr(e.addr) };
    } catch (err) {
      throw new Error(`route of ${service}: ${(err as Error).message}`);
    }
  });
  return { port: route.port, protocol: route.protocol ?? 'tcp', endpoints };
}
