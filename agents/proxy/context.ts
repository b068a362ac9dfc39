// What the proxy's listeners share with the ServiceProxy that owns them: the routes, the picker,
// the counters, the log and the limits; and the error a listener gives when its port is taken.
import type { Picker } from './picker.js';
import { formatAddr, type HostPort, type ParsedRoute, type Policy, type Protocol, type ProxyLog, type ProxyStats } from './types.js';

export interface ProxyContext {
  route(service: string): ParsedRoute | undefined;
  readonly picker: Picker;
  readonly stats: ProxyStats;
  readonly log: ProxyLog;
  readonly connectTimeoutMs: number;
  readonly udpIdleMs: number;
  readonly maxUdpSessions: number;
  /** No endpoint took a connection of service (none known, or each failed): logged at most once a minute per service. */
  unreachable(service: string, why: string): void;
}

/** One listening socket: a (service, policy) on host:port. */
export interface Listener {
  readonly protocol: Protocol;
  readonly bound: HostPort;
  /** Stop listening and end what is open through it. */
  close(): Promise<void>;
}

export function listenError(service: string, policy: Policy, protocol: Protocol, host: string, port: number, err: NodeJS.ErrnoException): Error {
  const at = formatAddr(host, port);
  const why =
    err.code === 'EADDRINUSE'
      ? 'the port is taken (EADDRINUSE)'
      : err.code === 'EADDRNOTAVAIL'
        ? 'the address is not one of this host (EADDRNOTAVAIL)'
        : err.code === 'EACCES'
          ? 'not allowed to bind it (EACCES)'
          : err.message;
  return Object.assign(new Error(`proxy for ${service} (${policy}, ${protocol}) cannot listen at ${at}: ${why}`), { code: err.code });
}
