// The node-local service proxy's listeners and UDP sessions, over real sockets on 127.0.0.1:
// a taken port is a clear error, listen is idempotent per (service, policy), bad routes are
// refused, and UDP datagrams reach an endpoint and come back.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import dgram from 'node:dgram';
import net from 'node:net';
import { ServiceProxy } from '../../agents/proxy/index.js';
import { Picker } from '../../agents/proxy/picker.js';

const HOST = '127.0.0.1';

async function udpEcho(name: string): Promise<{ addr: string; close(): Promise<void> }> {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => s.send(`${name}:${m}`, r.port, r.address));
  await new Promise<void>((r) => s.bind(0, HOST, r));
  return { addr: `${HOST}:${s.address().port}`, close: () => new Promise((r) => s.close(() => r())) };
}

async function udpClient(): Promise<{ ask(port: number, msg: string): Promise<string>; close(): void }> {
  const c = dgram.createSocket('udp4');
  await new Promise<void>((r) => c.bind(0, HOST, r));
  return {
    ask: (port, msg) =>
      new Promise((resolve) => {
        c.once('message', (m) => resolve(String(m)));
        c.send(msg, port, HOST);
      }),
    close: () => c.close(),
  };
}

const L = suite('service proxy: listeners, routes, udp');

L('listening on a taken port is a clear error that names host:port', async () => {
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, HOST, r));
  const port = (taken.address() as net.AddressInfo).port;
  const proxy = new ServiceProxy();
  try {
    const err = await proxy.listen('shop/web', 'round-robin', HOST, port).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err, 'listen must fail');
    assert.match(err.message, `shop/web`);
    assert.match(err.message, `${HOST}:${port}`);
    assert.match(err.message, /taken \(EADDRINUSE\)/);
    assert.is(proxy.listening().size, 0);
  } finally {
    await proxy.close();
    await new Promise((r) => taken.close(r));
  }
});

L('listen is idempotent for the same (service, policy); unlisten frees the port', async () => {
  const proxy = new ServiceProxy();
  try {
    const a = await proxy.listen('shop/web', 'round-robin', HOST, 0);
    const [b, c] = await Promise.all([proxy.listen('shop/web', 'round-robin', HOST, 0), proxy.listen('shop/web', 'round-robin', HOST, a.port)]);
    assert.equal(b, a);
    assert.equal(c, a);
    const closest = await proxy.listen('shop/web', 'closest', HOST, 0);
    assert.is.not(closest.port, a.port);
    assert.equal([...proxy.listening().keys()].sort(), ['shop/web|closest', 'shop/web|round-robin']);
    await proxy.unlisten('shop/web');
    assert.is(proxy.listening().size, 0);
    const again = new ServiceProxy();
    assert.equal(await again.listen('shop/other', 'closest', HOST, a.port), { host: HOST, port: a.port });
    await again.close();
  } finally {
    await proxy.close();
  }
});

L('listen for the same key at another port moves it: the old port is freed, its connections end', async () => {
  const server = net.createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const proxy = new ServiceProxy();
  try {
    proxy.setRoute('shop/web', { port: 80, endpoints: [{ addr: `${HOST}:${(server.address() as net.AddressInfo).port}`, tier: 0 }] });
    const first = await proxy.listen('shop/web', 'round-robin', HOST, 0);
    const held = net.connect({ host: HOST, port: first.port });
    held.on('error', () => undefined);
    const ended = new Promise((r) => held.once('close', r));
    await new Promise((r) => held.once('connect', r));
    const moved = await proxy.listen('shop/web', 'round-robin', HOST, 0).then(() => proxy.listen('shop/web', 'round-robin', '127.0.0.2', 0));
    assert.is(moved.host, '127.0.0.2');
    await ended;
    const refused = await new Promise<string>((r) =>
      net.connect({ host: HOST, port: first.port }).once('error', (e: NodeJS.ErrnoException) => r(String(e.code))),
    );
    assert.is(refused, 'ECONNREFUSED');
    assert.equal([...proxy.listening().values()], [{ host: '127.0.0.2', port: moved.port, protocol: 'tcp' }]);
  } finally {
    await proxy.close();
    await new Promise((r) => server.close(r));
  }
});

L('a bad endpoint or policy is refused with a clear error, the old route kept', async () => {
  const proxy = new ServiceProxy();
  proxy.setRoute('shop/web', { port: 80, endpoints: [{ addr: '10.0.0.1:80', tier: 0 }] });
  assert.throws(() => proxy.setRoute('shop/web', { port: 80, endpoints: [{ addr: '10.0.0.1', tier: 0 }] }), /route of shop\/web: bad endpoint "10.0.0.1"/);
  assert.throws(() => proxy.setRoute('shop/web', { port: 80, endpoints: [{ addr: '[nope]:80', tier: 0 }] }), /not an IPv6 address/);
  assert.equal(proxy.routes().get('shop/web')?.endpoints, [{ addr: '10.0.0.1:80', tier: 0 }]);
  const err = await proxy.listen('shop/web', 'random' as never, HOST, 0).catch((e: Error) => e);
  assert.match(String(err), /unknown policy "random"/);
  await proxy.close();
});

L('a suspect endpoint is tried last, and again first once suspectMs passed', () => {
  let now = 1000;
  const p = new Picker(5000, () => now);
  const eps = [
    { addr: 'a:1', tier: 0 },
    { addr: 'b:1', tier: 0 },
  ];
  assert.equal(
    p.order('s', 'round-robin', eps).map((e) => e.addr),
    ['a:1', 'b:1'],
  );
  p.failed('a:1');
  assert.equal(
    p.order('s', 'round-robin', eps).map((e) => e.addr),
    ['b:1', 'a:1'],
  );
  assert.equal(
    p.order('s', 'round-robin', eps).map((e) => e.addr),
    ['b:1', 'a:1'],
    'skipped while suspect, whatever the turn',
  );
  now += 5001;
  assert.equal(
    p.order('s', 'round-robin', eps).map((e) => e.addr),
    ['b:1', 'a:1'],
  );
  assert.equal(
    p.order('s', 'round-robin', eps).map((e) => e.addr),
    ['a:1', 'b:1'],
    'back in turn',
  );
});

L('udp: datagrams reach an endpoint and the replies come back, one session per client', async () => {
  const [a, b] = await Promise.all([udpEcho('a'), udpEcho('b')]);
  const proxy = new ServiceProxy();
  const clients = [await udpClient(), await udpClient()];
  try {
    proxy.setRoute('dns/resolver', { port: 53, protocol: 'udp', endpoints: [a, b].map((s) => ({ addr: s.addr, tier: 0 })) });
    const { port } = await proxy.listen('dns/resolver', 'round-robin', HOST, 0, 'udp');
    const first = await clients[0].ask(port, 'q1');
    assert.match(first, /^[ab]:q1$/);
    assert.is(await clients[0].ask(port, 'q2'), `${first[0]}:q2`, 'a client stays with its endpoint');
    const other = await clients[1].ask(port, 'q3');
    assert.is(other, `${first[0] === 'a' ? 'b' : 'a'}:q3`, 'the next client goes to the next endpoint');
    assert.is(proxy.stats().udpSessions, 2);
  } finally {
    for (const c of clients) c.close();
    await proxy.close();
    await Promise.all([a.close(), b.close()]);
  }
  assert.is(proxy.stats().udpSessions, 0);
});

L('udp: sessions are capped, the oldest dropped first', async () => {
  const a = await udpEcho('a');
  const proxy = new ServiceProxy({ maxUdpSessions: 2 });
  const clients = [await udpClient(), await udpClient(), await udpClient()];
  try {
    proxy.setRoute('dns/resolver', { port: 53, protocol: 'udp', endpoints: [{ addr: a.addr, tier: 0 }] });
    const { port } = await proxy.listen('dns/resolver', 'closest', HOST, 0, 'udp');
    for (const [i, c] of clients.entries()) assert.is(await c.ask(port, `q${i}`), `a:q${i}`);
    assert.is(proxy.stats().udpSessions, 2);
    assert.is(await clients[0].ask(port, 'again'), 'a:again', 'the dropped client gets a new session');
  } finally {
    for (const c of clients) c.close();
    await proxy.close();
    await a.close();
  }
});

L.run();
