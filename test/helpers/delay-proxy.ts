// A TCP proxy that gives a link real delay: every chunk, either way, is held for N ms before it
// is passed on (order kept), so anything that waits for an answer through it waits 2 × N more.
// The delay may depend on the client's address: agents that send their probes from different
// local addresses (127.0.0.2, 127.0.0.3, … all reach loopback on Linux) see different links.
import net from 'node:net';

export interface DelayProxy {
  port: number;
  /** `http://127.0.0.1:PORT/` and the like. */
  address(scheme?: string, path?: string): string;
  /** The one-way delay for clients from `from` (an IP address), or for all others when omitted. */
  setDelay(ms: number, from?: string): void;
  readonly connections: number;
  close(): Promise<void>;
}

export async function startDelayProxy(
  targetPort: number,
  o: { delayMs?: number; byClient?: Record<string, number>; targetHost?: string } = {},
): Promise<DelayProxy> {
  let fallback = o.delayMs ?? 0;
  const byClient = new Map(Object.entries(o.byClient ?? {}));
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const delayFor = (addr: string | undefined) => byClient.get((addr ?? '').replace(/^::ffff:/, '')) ?? fallback;

  /** Pass `from`'s data to `to`, each chunk `ms()` later than it came, never overtaking the one before. */
  const relay = (from: net.Socket, to: net.Socket, ms: () => number) => {
    let last = 0;
    from.on('data', (chunk) => {
      const at = Math.max(Date.now() + ms(), last);
      last = at;
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, at - Date.now());
    });
    from.on('end', () => setTimeout(() => to.end(), Math.max(0, last - Date.now())));
  };

  const server = net.createServer({ noDelay: true }, (client) => {
    connections++;
    const upstream = net.connect({ port: targetPort, host: o.targetHost ?? '127.0.0.1', noDelay: true });
    sockets.add(client);
    sockets.add(upstream);
    const ms = () => delayFor(client.remoteAddress);
    relay(client, upstream, ms);
    relay(upstream, client, ms);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', () => setTimeout(end, ms()));
    upstream.on('error', end).on('close', () => setTimeout(end, ms()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    address: (scheme = 'http', path = '/') => `${scheme}://127.0.0.1:${port}${scheme === 'tcp' ? '' : path}`,
    setDelay(ms, from) {
      if (from) byClient.set(from, ms);
      else fallback = ms;
    },
    get connections() {
      return connections;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
