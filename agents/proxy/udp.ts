// The UDP side of the node-local proxy: one socket per (service, policy). Each client (its
// address and port) gets a session: a socket connected to the endpoint the picker chose, whose
// replies go back to that client from the listening socket. A session ends after udpIdleMs
// without a datagram either way, or when it errs (the endpoint is then suspect, and the client's
// next datagram opens a session to another); at most maxUdpSessions, the oldest dropped first.
import dgram from 'node:dgram';
import net from 'node:net';
import { type Listener, listenError, type ProxyContext } from './context.js';
import type { HostPort, Policy } from './types.js';

/** Datagrams a session keeps while its socket connects; more are dropped (UDP may lose them). */
const MAX_QUEUED = 64;

interface Session {
  sock: dgram.Socket;
  addr: string;
  timer: NodeJS.Timeout;
  queue: Buffer[] | undefined; // undefined once connected
}

const family = (host: string): 'udp4' | 'udp6' => (net.isIPv6(host) ? 'udp6' : 'udp4');

export class UdpListener implements Listener {
  readonly protocol = 'udp' as const;
  bound: HostPort = { host: '', port: 0 };
  private socket: dgram.Socket | undefined;
  private readonly sessions = new Map<string, Session>();
  private readonly key: string;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly service: string,
    private readonly policy: Policy,
  ) {
    this.key = `${service}|${policy}`;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  listen(host: string, port: number): Promise<HostPort> {
    const sock = dgram.createSocket({ type: family(host), reuseAddr: false });
    return new Promise((resolve, reject) => {
      const failed = (err: NodeJS.ErrnoException) => {
        sock.close();
        reject(listenError(this.service, this.policy, 'udp', host, port, err));
      };
      sock.once('error', failed);
      sock.bind({ address: host, port, exclusive: true }, () => {
        sock.off('error', failed);
        sock.on('error', (err) => this.ctx.log.warn(`proxy for ${this.service} (udp): ${err.message}`));
        sock.on('message', (msg, rinfo) => this.inbound(msg, rinfo));
        this.socket = sock;
        this.bound = { host, port: sock.address().port };
        resolve(this.bound);
      });
    });
  }

  close(): Promise<void> {
    for (const k of [...this.sessions.keys()]) this.end(k);
    const sock = this.socket;
    this.socket = undefined;
    return new Promise((resolve) => (sock ? sock.close(() => resolve()) : resolve()));
  }

  private inbound(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = `${rinfo.address} ${rinfo.port}`;
    const s = this.sessions.get(key) ?? this.open(key, rinfo);
    if (!s) return;
    this.ctx.stats.bytesIn += msg.length;
    s.timer.refresh();
    if (s.queue) {
      if (s.queue.length < MAX_QUEUED) s.queue.push(msg);
    } else s.sock.send(msg);
  }

  private open(key: string, rinfo: dgram.RemoteInfo): Session | undefined {
    const { ctx } = this;
    const route = ctx.route(this.service);
    const e = route ? ctx.picker.order(this.key, this.policy, route.endpoints)[0] : undefined;
    if (!e) {
      ctx.unreachable(this.service, 'no endpoints known');
      return undefined;
    }
    while (this.sessions.size >= ctx.maxUdpSessions) this.end(this.sessions.keys().next().value as string);
    const sock = dgram.createSocket(family(e.host));
    const s: Session = { sock, addr: e.addr, queue: [], timer: setTimeout(() => this.end(key), ctx.udpIdleMs) };
    s.timer.unref();
    this.sessions.set(key, s);
    ctx.stats.udpSessions++;
    sock.on('message', (reply) => {
      ctx.stats.bytesOut += reply.length;
      s.timer.refresh();
      this.socket?.send(reply, rinfo.port, rinfo.address);
    });
    sock.on('error', (err) => {
      ctx.picker.failed(e.addr);
      ctx.stats.retries++;
      ctx.log.debug?.(`proxy for ${this.service} (udp): ${e.addr} failed (${err.message})`);
      this.end(key, s);
    });
    sock.connect(e.port, e.host, () => {
      ctx.picker.worked(e.addr);
      const queued = s.queue ?? [];
      s.queue = undefined;
      for (const m of queued) sock.send(m);
    });
    return s;
  }

  /** End the session of key (only if it is still `only`, when given). */
  private end(key: string, only?: Session): void {
    const s = this.sessions.get(key);
    if (!s || (only && s !== only)) return;
    this.sessions.delete(key);
    this.ctx.stats.udpSessions--;
    clearTimeout(s.timer);
    try {
      s.sock.close();
    } catch {
      // already closed
    }
  }
}
