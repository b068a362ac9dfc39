// One contract suite for the bus (reconciler/mqtt/bus.ts) run against each broker canopy speaks
// to: Mosquitto (deployments) and aedes (embedded by canopy up). Links are cut for real through
// a TCP proxy; brokers are really stopped and started. Plus what the bus does with a broker that
// sends garbage. Waits have deadlines so a broken test ends; nothing is timed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { startMosquitto, freePort } from '../helpers/mosquitto.js';
import { startProxy, type TcpProxy } from '../helpers/proxy.js';
import { startEmbeddedBroker } from '../../reconciler/mqtt/broker.js';
import { connectBus, type Bus } from '../../reconciler/mqtt/bus.js';
import { createLogger, type Logger } from '../../reconciler/core/log.js';

interface Broker {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

async function until<T>(what: string, probe: () => T | undefined | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function recorder(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: createLogger('bus', 'debug', (l) => lines.push(l)) };
}

interface Inbox {
  topic: string;
  body: string;
  at: number;
}
async function inbox(bus: Bus, pattern: string): Promise<Inbox[]> {
  const got: Inbox[] = [];
  await bus.subscribe(pattern, (topic, payload) => got.push({ topic, body: payload.toString(), at: Date.now() }));
  return got;
}

function contract(name: string, make: () => Promise<Broker>) {
  const t = suite(`bus on ${name}`);
  let broker: Broker;
  const open: Bus[] = [];
  let n = 0;
  const bus = async (o: { via?: TcpProxy; onlineTopic?: string; keepaliveSeconds?: number; log?: Logger } = {}) => {
    const b = await connectBus({
      url: o.via ? o.via.url() : broker.url,
      clientId: `${name}-${process.pid}-${++n}`,
      log: o.log ?? createLogger('bus', 'silent'),
      onlineTopic: o.onlineTopic,
      keepaliveSeconds: o.keepaliveSeconds ?? 2,
    });
    open.push(b);
    return b;
  };
  const topic = (s: string) => `test/${name}/${process.pid}/${s}`;

  t.before(async () => {
    broker = await make();
  });
  t.after.each(async () => {
    for (const b of open.splice(0)) await b.close().catch(() => undefined);
  });
  t.after(async () => {
    await broker.stop();
  });

  t('publish and subscribe: JSON at QoS 1, wildcards + and #, stats counted', async () => {
    const a = await bus();
    const b = await bus();
    const plus = await inbox(b, topic('clusters/+/status'));
    const hash = await inbox(b, topic('clusters/#'));
    await a.publish(topic('clusters/c1/status'), { kind: 'x', n: 1, text: 'ü ✓' });
    await a.publish(topic('clusters/c1/nodes/n1/status'), 'raw text');
    await until('both on #', () => hash.length === 2);
    await until('one on +', () => plus.length === 1);
    assert.equal(JSON.parse(plus[0].body), { kind: 'x', n: 1, text: 'ü ✓' });
    assert.is(hash[1].body, 'raw text');
    assert.is(a.stats.published, 2);
    // One delivery per message even where two of its subscriptions match (the broker may send
    // one copy or two); each handler whose pattern matches sees it.
    assert.ok(b.stats.received >= 2 && b.stats.bytesIn > 0, JSON.stringify(b.stats));
  });

  t('retained: a late subscriber gets the last one; clear() removes it', async () => {
    const a = await bus();
    await a.publish(topic('r'), { v: 1 }, { retain: true });
    await a.publish(topic('r'), { v: 2 }, { retain: true });
    const late = await bus();
    const got = await inbox(late, topic('r'));
    await until('the retained message', () => got.length === 1);
    assert.equal(JSON.parse(got[0].body), { v: 2 });
    await a.clear(topic('r'));
    const later = await bus();
    const none = await inbox(later, topic('r'));
    const probe = await inbox(later, topic('probe'));
    await a.publish(topic('probe'), 'after'); // ordered after any retained delivery
    await until('the probe', () => probe.length === 1);
    assert.equal(none, []);
  });

  t('online topic: {online:true} retained on connect, {online:false} on close', async () => {
    const watcher = await bus();
    const seen = await inbox(watcher, topic('online'));
    const part = await bus({ onlineTopic: topic('online') });
    await until('online true', () => seen.some((m) => JSON.parse(m.body).online === true));
    await part.close();
    await until('online false', () => JSON.parse(seen[seen.length - 1].body).online === false);
    const late = await bus();
    const retained = await inbox(late, topic('online'));
    await until('the retained flag', () => retained.length === 1);
    assert.is(JSON.parse(retained[0].body).online, false);
  });

  t('last will: a part whose connection dies without a word is announced offline by the broker', async () => {
    const proxy = await startProxy(broker.port);
    try {
      const watcher = await bus();
      const seen = await inbox(watcher, topic('will'));
      await bus({ via: proxy, onlineTopic: topic('will'), keepaliveSeconds: 1 });
      await until('online true', () => seen.some((m) => JSON.parse(m.body).online === true));
      proxy.cut('reset');
      const will = await until('the last will', () => seen.find((m) => JSON.parse(m.body).online === false));
      assert.is(JSON.parse(will.body).kind, 'online');
    } finally {
      await proxy.close();
    }
  });

  t('QoS 1 across a cut link: a publish made while the link is dead arrives after it heals', async () => {
    const proxy = await startProxy(broker.port);
    try {
      const { log, lines } = recorder();
      const sub = await bus();
      const got = await inbox(sub, topic('q1'));
      const pub = await bus({ via: proxy, keepaliveSeconds: 1, log });
      let connects = 0;
      pub.onConnect(() => {
        connects++;
      });
      proxy.cut('blackhole'); // packets vanish; neither end knows yet
      const sent = pub.publish(topic('q1'), { n: 42 });
      await until('the client to notice the dead link', () => lines.some((l) => /keepalive timeout|offline/i.test(l)), 20_000);
      proxy.restore();
      await until('a reconnect', () => connects >= 1);
      await sent; // resolved by the PUBACK after the resend
      await until('the message', () => got.length >= 1);
      assert.equal(JSON.parse(got[0].body), { n: 42 });
    } finally {
      await proxy.close();
    }
  });

  t('broker restart: every bus reconnects, resubscribes, calls onConnect again and re-announces itself', async () => {
    const watcherLog = recorder();
    const part = await bus({ onlineTopic: topic('restart/online') });
    const watcher = await bus({ log: watcherLog.log });
    const got = await inbox(watcher, topic('restart/#'));
    let connects = 0;
    part.onConnect(() => {
      connects++;
    });
    await until('online before', () => got.some((m) => m.topic.endsWith('/online')));
    await broker.stop();
    await until('both to see the broker gone', () => !part.isConnected() && !watcher.isConnected());
    const mark = got.length;
    await broker.start();
    await until('reconnected', () => part.isConnected() && watcher.isConnected() && connects >= 1, 30_000);
    // The online flag is back (a broker without persistence lost it): live, or retained when the
    // watcher resubscribed after it went out. The subscription works without anyone asking anew.
    await until('online again', () => got.slice(mark).some((m) => m.topic.endsWith('/online') && JSON.parse(m.body).online === true));
    await part.publish(topic('restart/after'), { ok: true });
    await until('a message after the restart', () => got.some((m) => m.topic.endsWith('/after')));
  });

  t('a handler that throws is logged and the others still run', async () => {
    const { log, lines } = recorder();
    const a = await bus({ log });
    const got: string[] = [];
    await a.subscribe(topic('h'), () => {
      throw new Error('boom');
    });
    await a.subscribe(topic('h'), (_t, p) => got.push(p.toString()));
    await a.publish(topic('h'), 'x');
    await until('the second handler', () => got.length === 1);
    assert.ok(
      lines.some((l) => /error .*handler failed: Error: boom/.test(l)),
      lines.join('\n'),
    );
  });

  t('drop(): counted every time, logged as a warning once per topic', async () => {
    const { log, lines } = recorder();
    const a = await bus({ log });
    a.drop('t/1', 't/1: not JSON');
    a.drop('t/1', 't/1: not JSON');
    a.drop('t/2', 't/2: /kind: must be one of node-desired');
    assert.is(a.stats.dropped, 3);
    assert.is(lines.filter((l) => / warn .*dropped bad message/.test(l)).length, 2);
    assert.is(lines.filter((l) => / debug .*dropped bad message/.test(l)).length, 1);
  });

  return t;
}

// --- the brokers -------------------------------------------------------------------------------
const mosquitto = contract('mosquitto', async () => {
  const m = await startMosquitto();
  let up = true;
  return {
    url: m.url,
    port: m.port,
    stop: async () => {
      if (up) {
        up = false;
        await m.stop();
      }
    },
    // The helper's restart() is stop + start on the same port and configuration.
    start: async () => {
      await m.restart();
      up = true;
    },
  };
});

const aedes = contract('aedes', async () => {
  const port = await freePort();
  let b = await startEmbeddedBroker({ port });
  let up = true;
  return {
    url: b.url,
    port,
    stop: async () => {
      if (up) {
        up = false;
        await b.close();
      }
    },
    start: async () => {
      b = await startEmbeddedBroker({ port });
      up = true;
    },
  };
});

// --- a broker that sends garbage -----------------------------------------------------------------
const garbage = suite('bus: a broker that breaks the protocol');

garbage('malformed packets after CONNACK: logged, the connection dropped and retried, no crash', async () => {
  const { log, lines } = recorder();
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.once('data', () => {
      s.write(Buffer.from([0x20, 0x02, 0x00, 0x00])); // CONNACK, accepted
      // A PUBLISH whose remaining length runs past the topic length it declares, then a
      // packet of the reserved type 15 with a length field that never ends.
      setTimeout(() => s.write(Buffer.from([0x30, 0x03, 0x00, 0x09, 0x61, 0xf0, 0xff, 0xff, 0xff, 0xff, 0x7f])), 20);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const b = await connectBus({ url: `mqtt://127.0.0.1:${port}`, clientId: `garbage-${process.pid}`, log, keepaliveSeconds: 2 });
  try {
    await until('a warning about the stream', () => lines.some((l) => / warn .*mqtt 127\.0\.0\.1:\d+: /.test(l)));
    await until('a reconnect attempt', () => connections >= 2);
    assert.ok(lines.every((l) => !/handler failed/.test(l)));
  } finally {
    await b.close().catch(() => undefined);
    closeAll(server, sockets);
  }
});

garbage('a broker that refuses the connection (CONNACK code 5): connectBus fails at once with a clear error', async () => {
  const sockets = new Set<net.Socket>();
  let connects = 0;
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.once('data', () => {
      connects++;
      s.write(Buffer.from([0x20, 0x02, 0x00, 0x05]));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const { log } = recorder();
  const err = await connectBus({ url: `mqtt://127.0.0.1:${port}`, clientId: `refused-${process.pid}`, log }).catch((e: Error) => e);
  closeAll(server, sockets);
  assert.instance(err, Error);
  // Retrying cannot change the broker's mind: one attempt, and a message that says what to give.
  assert.match(
    (err as Error).message,
    /the MQTT broker at mqtt:\/\/127\.0\.0\.1:\d+ refused a client without credentials: not authorized; .*give a credential/,
  );
  assert.is(connects, 1);
});

/**
 * A fake broker's end: its accepted connections too, not only the listener (server.close()
 * alone leaves them open, and one a client opened just before it gave up kept this file's
 * process alive after every test had passed).
 */
function closeAll(server: net.Server, sockets: Set<net.Socket>): void {
  server.close();
  for (const s of sockets) s.destroy();
}

mosquitto.run();
aedes.run();
garbage.run();
