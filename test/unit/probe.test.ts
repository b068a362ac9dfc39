// The agent's latency probe: address parsing, real round trips over loopback (plain, through a
// delay proxy, from different local addresses), bounded waits, and the periodic prober.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import net from 'node:net';
import { parseProbe, measureRtt, startProber, type ProbeAddress } from '../../agents/probe.js';
import { startDelayProxy, type DelayProxy } from '../helpers/delay-proxy.js';

// --- parseProbe ----------------------------------------------------------------------------------

const Parse = suite('parseProbe');

const addresses: Array<[string, ProbeAddress | undefined]> = [
  ['host:port is a TCP probe', { kind: 'tcp', host: 'cams.example', port: 443, path: '/' }],
  ['tcp://host:port', { kind: 'tcp', host: '10.0.0.7', port: 8883, path: '/' }],
  ['http://host:port/path', { kind: 'http', host: '127.0.0.1', port: 8080, path: '/healthz' }],
  ['http://host without a port is port 80', { kind: 'http', host: 'cams.example', port: 80, path: '/' }],
  ['[v6]:port', { kind: 'tcp', host: '::1', port: 7000, path: '/' }],
  ['a host without a port', undefined],
  ['port 0', undefined],
  ['port 70000', undefined],
  ['a tcp probe with a path', undefined],
  ['another scheme', undefined],
];
const texts: Record<string, string> = {
  'host:port is a TCP probe': 'cams.example:443',
  'tcp://host:port': 'tcp://10.0.0.7:8883',
  'http://host:port/path': 'http://127.0.0.1:8080/healthz',
  'http://host without a port is port 80': 'http://cams.example',
  '[v6]:port': '[::1]:7000',
  'a host without a port': 'cams.example',
  'port 0': 'cams.example:0',
  'port 70000': 'cams.example:70000',
  'a tcp probe with a path': 'tcp://cams.example:80/x',
  'another scheme': 'udp://cams.example:53',
};
for (const [name, want] of addresses) Parse(`${name}: ${texts[name]}`, () => assert.equal(parseProbe(texts[name]), want));

// --- measureRtt ----------------------------------------------------------------------------------

const Measure = suite('measureRtt');
let web: http.Server;
let webPort = 0;
let silent: net.Server;
const held = new Set<net.Socket>();
let silentPort = 0;
let proxy: DelayProxy;

Measure.before(async () => {
  web = http.createServer((_, res) => {
    res.writeHead(204);
    res.end();
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
  webPort = (web.address() as net.AddressInfo).port;
  silent = net.createServer((s) => {
    held.add(s);
    s.on('error', () => undefined);
  }); // accepts, never answers
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  silentPort = (silent.address() as net.AddressInfo).port;
  proxy = await startDelayProxy(webPort, { delayMs: 40, byClient: { '127.0.0.2': 5, '127.0.0.3': 60 } });
});
Measure.after(async () => {
  await proxy.close();
  web.closeAllConnections();
  await new Promise((r) => web.close(r));
  for (const s of held) s.destroy();
  await new Promise((r) => silent.close(r));
});

Measure('a TCP handshake on loopback takes well under 20 ms', async () => {
  const ms = await measureRtt(parseProbe(`127.0.0.1:${webPort}`)!);
  assert.ok(ms !== undefined && ms < 20, String(ms));
});

Measure('an HTTP round trip on loopback takes well under 20 ms', async () => {
  const ms = await measureRtt(parseProbe(`http://127.0.0.1:${webPort}/`)!);
  assert.ok(ms !== undefined && ms < 20, String(ms));
});

Measure('through a link holding each chunk 40 ms, an HTTP round trip takes about 80 ms', async () => {
  const ms = await measureRtt(parseProbe(proxy.address('http'))!);
  assert.ok(ms !== undefined && ms >= 78 && ms < 140, String(ms));
});

Measure('a TCP handshake ends at the proxy: its delay is not seen (which is why HTTP probes exist)', async () => {
  const ms = await measureRtt(parseProbe(proxy.address('tcp'))!);
  assert.ok(ms !== undefined && ms < 20, String(ms));
});

Measure('the local address picks the link: 127.0.0.2 sees 2 × 5 ms, 127.0.0.3 sees 2 × 60 ms', async () => {
  const addr = parseProbe(proxy.address('http'))!;
  const [near, far] = await Promise.all([measureRtt(addr, { localAddress: '127.0.0.2' }), measureRtt(addr, { localAddress: '127.0.0.3' })]);
  assert.ok(near !== undefined && near >= 9 && near < 50, `near ${near}`);
  assert.ok(far !== undefined && far >= 118 && far < 200, `far ${far}`);
});

Measure('a refused connection measures nothing', async () => {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise((r) => closed.close(r));
  assert.is(await measureRtt(parseProbe(`127.0.0.1:${port}`)!), undefined);
});

Measure('a target that never answers is given up within the deadline of each sample', async () => {
  const t0 = Date.now();
  assert.is(await measureRtt(parseProbe(`http://127.0.0.1:${silentPort}/`)!, { samples: 3, timeoutMs: 150 }), undefined);
  const took = Date.now() - t0;
  assert.ok(took >= 440 && took < 1500, `took ${took} ms`);
});

Measure('the median of the samples is kept', async () => {
  let i = 0;
  const slowEvery2nd = http.createServer((_, res) => {
    setTimeout(
      () => {
        res.writeHead(204);
        res.end();
      },
      i++ % 2 ? 100 : 0,
    );
  });
  await new Promise<void>((r) => slowEvery2nd.listen(0, '127.0.0.1', () => r()));
  const port = (slowEvery2nd.address() as net.AddressInfo).port;
  const ms = await measureRtt(parseProbe(`http://127.0.0.1:${port}/`)!, { samples: 3 }); // 0, 100, 0 → the median is fast
  slowEvery2nd.closeAllConnections();
  await new Promise((r) => slowEvery2nd.close(r));
  assert.ok(ms !== undefined && ms < 50, String(ms));
});

// --- startProber ---------------------------------------------------------------------------------

const Prober = suite('startProber');
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

Prober('measures the targets with a probe address at once, and tells when figures change', async () => {
  const seen: string[] = [];
  let changes = 0;
  const p = startProber({
    intervalMs: 60_000,
    onChange: () => changes++,
    measure: async (a) => {
      seen.push(`${a.host}:${a.port}`);
      return a.port === 1 ? 12.345 : undefined;
    },
  });
  p.update({ cams: { probe: 'cams:1' }, gone: { probe: 'gone:2' }, point: {} });
  await tick(20);
  assert.equal(seen.sort(), ['cams:1', 'gone:2']);
  assert.equal(p.latency, { cams: 12.3 }, 'rounded to 0.1 ms; no answer is left out');
  assert.is(changes, 1);
  p.update({ cams: { probe: 'cams:1' }, gone: { probe: 'gone:2' }, point: {} });
  await tick(20);
  assert.is(seen.length, 2, 'the same targets again: no new round');
  p.update({});
  assert.equal(p.latency, {}, 'targets taken away are dropped at once');
  assert.is(changes, 2);
  p.stop();
});

Prober('re-measures every interval', async () => {
  let n = 0;
  const p = startProber({ intervalMs: 30, onChange: () => undefined, measure: async () => ++n });
  p.update({ cams: { probe: 'cams:1' } });
  await tick(200);
  p.stop();
  const rounds = n;
  assert.ok(rounds >= 3, `${rounds} rounds`);
  await tick(100);
  assert.is(n, rounds, 'stop stops it');
});

Prober('jitter is not reported: a figure changes only by more than 0.5 ms and 10 %', async () => {
  const figures = [10, 10.4, 10.9, 11.2, 30, 29];
  const seen: number[] = [];
  let changes = 0;
  const p = startProber({
    intervalMs: 15,
    onChange: () => {
      changes++;
      seen.push(p.latency.cams);
    },
    measure: async () => (figures.length > 1 ? figures.shift() : figures[0]),
  });
  p.update({ cams: { probe: 'cams:1' } });
  await tick(250);
  p.stop();
  assert.equal(seen, [10, 11.2, 30]);
  assert.is(changes, 3);
});

Prober('an address it cannot read is skipped', async () => {
  let n = 0;
  const p = startProber({ onChange: () => undefined, measure: async () => ++n });
  p.update({ cams: { probe: 'not an address' } });
  await tick(20);
  assert.is(n, 0);
  assert.equal(p.latency, {});
  p.stop();
});

Parse.run();
Measure.run();
Prober.run();
