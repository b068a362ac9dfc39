// A TCP proxy between a process and what it talks to (broker, Git server), for cutting links
// for real. `cut('reset')` drops every connection and refuses new ones, as a dead host would;
// `cut('blackhole')` keeps sockets open but passes nothing, as a pulled cable would (peers
// notice only by their keepalives). `restore()` heals the link.
import net from 'node:net';

export interface TcpProxy {
  port: number;
  url(scheme?: string): string;
  cut(mode?: 'reset' | 'blackhole'): void;
  restore(): void;
  readonly bytes: { up: number; down: number };
  resetCounters(): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let mode: 'open' | 'reset' | 'blackhole' = 'open';
  const pairs = new Set<{ a: net.Socket; b: net.Socket }>();
  const held = new Set<net.Socket>();
  const bytes = { up: 0, down: 0 };
  const server = net.createServer({ noDelay: true }, (client) => {
    if (mode === 'reset') {
      client.destroy();
      return;
    }
    if (mode === 'blackhole') {
      held.add(client);
      client.on('error', () => undefined);
      client.on('close', () => held.delete(client));
      return;
    }
    const upstream = net.connect({ port: targetPort, host: targetHost, noDelay: true });
    const pair = { a: client, b: upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d) => {
      if (mode === 'open') {
        bytes.up += d.length;
        upstream.write(d);
      }
    });
    upstream.on('data', (d) => {
      if (mode === 'open') {
        bytes.down += d.length;
        client.write(d);
      }
    });
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: (scheme = 'mqtt') => `${scheme}://127.0.0.1:${port}`,
    bytes,
    resetCounters() {
      bytes.up = 0;
      bytes.down = 0;
    },
    cut(m = 'reset') {
      mode = m;
      if (m === 'reset')
        for (const p of [...pairs]) {
          p.a.destroy();
          p.b.destroy();
        }
    },
    restore() {
      // Black-holed sockets are dead to both ends: drop them so peers reconnect.
      for (const p of [...pairs])
        if (mode === 'blackhole') {
          p.a.destroy();
          p.b.destroy();
        }
      for (const s of held) s.destroy();
      mode = 'open';
    },
    async close() {
      for (const p of pairs) {
        p.a.destroy();
        p.b.destroy();
      }
      for (const s of held) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
