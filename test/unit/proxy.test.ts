// The node-local service proxy (agents/proxy) over real sockets on 127.0.0.1: echo servers that
// answer with their name, the proxy in front, and what each connection reached.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { ServiceProxy } from '../../agents/proxy/index.js';

const HOST = '127.0.0.1';

/** A TCP server that answers "<name>:<what it got>" when the client half-closes. */
async function echo(name: string, host = HOST): Promise<{ addr: string; port: number; close(): Promise<void> }> {
  const open = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('end', () => s.end(`${name}:${got}`));
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as net.AddressInfo).port;
  const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const close = () =>
    new Promise<void>((r) => {
      for (const s of open) s.destroy();
      server.close(() => r());
    });
  return { addr, port, close };
}

/** Send msg, half-close, and read everything until the proxy or the server closes. */
function ask(port: number, msg = 'hi', host = HOST): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host, port, allowHalfOpen: true }, () => c.end(msg));
    let got = '';
    c.on('data', (d) => (got += d));
    c.on('error', reject);
    c.on('close', () => resolve(got));
  });
}

/** A port nothing listens on (bound and closed again): a connect there is refused. */
async function deadAddr(): Promise<string> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, HOST, r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return `${HOST}:${port}`;
}

/** How many answers came from each server, by name. */
function counts(answers: string[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const a of answers) {
    const name = a.split(':')[0];
    m[name] = (m[name] ?? 0) + 1;
  }
  return m;
}

const T = suite('service proxy (tcp)');

T('round-robin spreads connections evenly over three endpoints', async () => {
  const servers = await Promise.all(['a', 'b', 'c'].map((n) => echo(n)));
  const proxy = new ServiceProxy();
  try {
    proxy.setRoute('shop/web', { port: 80, endpoints: servers.map((s) => ({ addr: s.addr, tier: 0 })) });
    const { port } = await proxy.listen('shop/web', 'round-robin', HOST, 0);
    const got: string[] = [];
    for (let i = 0; i < 9; i++) got.push(await ask(port, `m${i}`));
    assert.equal(counts(got), { a: 3, b: 3, c: 3 });
    assert.ok(
      got.every((g, i) => g.endsWith(`:m${i}`)),
      got.join(' '),
    );
    assert.equal(proxy.stats().connections, 9);
  } finally {
    await proxy.close();
    await Promise.all(servers.map((s) => s.close()));
  }
});

T('closest takes tier 0, then tier 1 in turn once tier 0 is gone', async () => {
  const [near, far1, far2] = await Promise.all(['near', 'far1', 'far2'].map((n) => echo(n)));
  const proxy = new ServiceProxy();
  try {
    const endpoints = [
      { addr: far1.addr, tier: 1 },
      { addr: near.addr, tier: 0 },
      { addr: far2.addr, tier: 1 },
    ];
    proxy.setRoute('shop/web', { port: 80, endpoints });
    const { port } = await proxy.listen('shop/web', 'closest', HOST, 0);
    const first: string[] = [];
    for (let i = 0; i < 4; i++) first.push(await ask(port));
    assert.equal(counts(first), { near: 4 });
    await near.close();
    const then: string[] = [];
    for (let i = 0; i < 4; i++) then.push(await ask(port));
    assert.equal(counts(then), { far1: 2, far2: 2 });
    assert.is(proxy.stats().retries, 1, 'the closed tier-0 endpoint is tried once, then skipped while suspect');
  } finally {
    await proxy.close();
    await Promise.all([far1.close(), far2.close()]);
  }
});

T('a refused endpoint is retried on the next, then skipped while suspect', async () => {
  const live = await echo('live');
  const dead = await deadAddr();
  const proxy = new ServiceProxy({ suspectMs: 60_000 });
  try {
    proxy.setRoute('shop/web', {
      port: 80,
      endpoints: [
        { addr: dead, tier: 0 },
        { addr: live.addr, tier: 0 },
      ],
    });
    const { port } = await proxy.listen('shop/web', 'round-robin', HOST, 0);
    assert.is(await ask(port, 'x'), 'live:x', 'the first connection tries the dead endpoint, then the live one');
    assert.is(proxy.stats().retries, 1);
    for (let i = 0; i < 5; i++) assert.is(await ask(port, `y${i}`), `live:y${i}`);
    assert.is(proxy.stats().retries, 1, 'no more attempts on the suspect endpoint');
    assert.is(proxy.stats().failed, 0);
  } finally {
    await proxy.close();
    await live.close();
  }
});

T('when every endpoint fails, the client is closed after each was tried once', async () => {
  const dead = [await deadAddr(), await deadAddr()];
  const warnings: string[] = [];
  const proxy = new ServiceProxy({ log: { info: () => undefined, warn: (m) => warnings.push(m) } });
  try {
    proxy.setRoute('shop/web', { port: 80, endpoints: dead.map((addr) => ({ addr, tier: 0 })) });
    const { port } = await proxy.listen('shop/web', 'round-robin', HOST, 0);
    assert.is(await ask(port), '');
    assert.is(await ask(port), '');
    const s = proxy.stats();
    assert.is(s.retries, 4, 'two endpoints tried once per connection');
    assert.is(s.failed, 2);
    assert.is(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /shop\/web.*each of its 2 endpoint/);
  } finally {
    await proxy.close();
  }
});

T('setRoute replaces the endpoints; a connection in flight goes on', async () => {
  const [a, b] = await Promise.all([echo('a'), echo('b')]);
  const proxy = new ServiceProxy();
  try {
    proxy.setRoute('shop/web', { port: 80, endpoints: [{ addr: a.addr, tier: 0 }] });
    const { port } = await proxy.listen('shop/web', 'round-robin', HOST, 0);
    const inflight = net.connect({ host: HOST, port, allowHalfOpen: true });
    await new Promise((r) => inflight.once('connect', r));
    inflight.write('early ');
    proxy.setRoute('shop/web', { port: 80, endpoints: [{ addr: b.addr, tier: 0 }] });
    assert.is(await ask(port, 'new'), 'b:new');
    const got = new Promise<string>((resolve) => {
      let s = '';
      inflight.on('data', (d) => (s += d));
      inflight.on('close', () => resolve(s));
    });
    inflight.end('late');
    assert.is(await got, 'a:early late');
    assert.equal(proxy.routes().get('shop/web')?.endpoints, [{ addr: b.addr, tier: 0 }]);
  } finally {
    await proxy.close();
    await Promise.all([a.close(), b.close()]);
  }
});

T('no endpoints: the client is closed at once, and that is logged once', async () => {
  const warnings: string[] = [];
  const proxy = new ServiceProxy({ log: { info: () => undefined, warn: (m) => warnings.push(m) } });
  try {
    const { port } = await proxy.listen('shop/web', 'round-robin', HOST, 0);
    assert.is(await ask(port), '');
    proxy.setRoute('shop/web', { port: 80, endpoints: [] });
    assert.is(await ask(port), '');
    assert.is(proxy.stats().failed, 2);
    assert.is(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /shop\/web.*no endpoints/);
  } finally {
    await proxy.close();
  }
});

T('IPv6 endpoints are written [v6]:port', async () => {
  const v6 = await echo('six', '::1');
  const proxy = new ServiceProxy();
  try {
    proxy.setRoute('shop/web', { port: 80, endpoints: [{ addr: v6.addr, tier: 0 }] });
    assert.match(v6.addr, /^\[::1\]:\d+$/);
    const { port } = await proxy.listen('shop/web', 'closest', '::1', 0);
    assert.is(await ask(port, 'v6', '::1'), 'six:v6');
  } finally {
    await proxy.close();
    await v6.close();
  }
});

T.run();
