// What the node-local service proxy (agents/proxy) costs, in one run, side by side with going
// direct: a server process, a proxy process (a ServiceProxy, as the agent will run it) and this
// process as the client, all on 127.0.0.1. (1) request latency: a small HTTP-like request and
// its response, over one kept-alive connection and over a fresh connection each time, direct
// vs through the proxy, p50 and p99; (2) stream throughput: one connection carrying 512 MiB
// (64 MiB with --quick) to a sink, direct vs proxy; (3) the proxy's memory: RSS and heap of a
// fresh proxy process before and after it listens for N services. Rounds alternate direct,
// proxy, proxy, direct (ABBA) so a drift of the shared machine hits both alike; warm-up first.
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { ServiceProxy } from '../agents/proxy/index.js';
import { Scope } from './lib/cleanup.js';
import { median, percentile, round } from './lib/stats.js';
import type { Bench, Figure } from './types.js';

const CHILD = '--proxy-bench-child';
const HOST = '127.0.0.1';
const REQ = Buffer.from('GET /item/42 HTTP/1.1\r\nHost: shop-web.canopy\r\nUser-Agent: bench\r\n\r\n');
const RESP = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n\r\n{"id":42,"ok":1}');
const CHUNK = Buffer.alloc(64 * 1024, 7);

// ---- child processes: the server, the proxy, the proxy whose memory is measured ----

/** Answers each REQ-sized request with RESP; the sink reads a stream and answers its length. */
async function serve(): Promise<Record<string, number>> {
  const rr = net.createServer({ noDelay: true }, (s) => {
    let pending = 0;
    s.on('data', (d) => {
      pending += d.length;
      while (pending >= REQ.length) {
        pending -= REQ.length;
        s.write(RESP);
      }
    });
    s.on('error', () => undefined);
  });
  const sink = net.createServer({ allowHalfOpen: true }, (s) => {
    let n = 0;
    s.on('data', (d) => (n += d.length));
    s.on('end', () => s.end(String(n)));
    s.on('error', () => undefined);
  });
  const port = (srv: net.Server) => new Promise<number>((r) => srv.listen(0, HOST, () => r((srv.address() as net.AddressInfo).port)));
  return { rr: await port(rr), sink: await port(sink) };
}

async function proxyTo(rr: string, sink: string): Promise<Record<string, number>> {
  const proxy = new ServiceProxy();
  proxy.setRoute('bench/rr', { port: 80, endpoints: [{ addr: rr, tier: 0 }] });
  proxy.setRoute('bench/sink', { port: 80, endpoints: [{ addr: sink, tier: 0 }] });
  return {
    rr: (await proxy.listen('bench/rr', 'closest', HOST, 0)).port,
    sink: (await proxy.listen('bench/sink', 'round-robin', HOST, 0)).port,
  };
}

/** RSS and heap of this process before and after listening for n services (both policies), each with 4 endpoints. */
async function memory(n: number): Promise<Record<string, number>> {
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  const sample = async () => {
    await new Promise((r) => setTimeout(r, 200));
    gc();
    const m = process.memoryUsage();
    return { rss: m.rss, heap: m.heapUsed };
  };
  const proxy = new ServiceProxy();
  await proxy.listen('warm/up', 'closest', HOST, 0);
  await proxy.unlisten('warm/up');
  const before = await sample();
  for (let i = 0; i < n; i++) {
    const endpoints = [1, 2, 3, 4].map((k) => ({ addr: `10.0.${k}.${i % 250}:${8000 + i}`, tier: k - 1 }));
    proxy.setRoute(`app/svc-${i}`, { port: 8000, endpoints });
    await proxy.listen(`app/svc-${i}`, 'round-robin', HOST, 0);
    await proxy.listen(`app/svc-${i}`, 'closest', HOST, 0);
  }
  const after = await sample();
  return { rssBefore: before.rss, rssAfter: after.rss, heapBefore: before.heap, heapAfter: after.heap };
}

async function child(role: string, args: string[]): Promise<void> {
  const out =
    role === 'server' ? await serve() : role === 'proxy' ? await proxyTo(args[0], args[1]) : role === 'memory' ? await memory(Number(args[0])) : undefined;
  if (!out) throw new Error(`unknown child role ${role}`);
  process.stdout.write(`${JSON.stringify(out)}\n`);
  if (role === 'memory') process.exit(0);
}

if (process.argv[2] === CHILD)
  child(process.argv[3], process.argv.slice(4)).catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });

function start(scope: Scope, role: string, ...args: string[]): Promise<{ proc: ChildProcess; out: Record<string, number> }> {
  const proc = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), CHILD, role, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  scope.add(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) resolve({ proc, out: JSON.parse(buf.split('\n')[0]) });
    });
    proc.once('exit', (code) => reject(new Error(`bench child ${role} exited (${code}) before it was ready`)));
  });
}

// ---- the client: this process ----

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: HOST, port, noDelay: true }, () => resolve(s));
    s.once('error', reject);
  });
}

/** One request and its whole response on s; resolves to the round trip in ms. */
function request(s: net.Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const t0 = performance.now();
    const onData = (d: Buffer) => {
      got += d.length;
      if (got < RESP.length) return;
      s.off('data', onData);
      s.off('error', reject);
      resolve(performance.now() - t0);
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write(REQ);
  });
}

async function keptAlive(port: number, n: number): Promise<number[]> {
  const s = await connect(port);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await request(s));
  s.destroy();
  return out;
}

/** Connect, one request, close: the time from connect to the whole response. */
async function fresh(port: number, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const s = await connect(port);
    await request(s);
    out.push(performance.now() - t0);
    s.destroy();
  }
  return out;
}

/** Write bytes to the sink as fast as it takes them; MB/s until it has acknowledged them all. */
async function stream(port: number, bytes: number): Promise<number> {
  const s = await connect(port);
  const t0 = performance.now();
  const ack = new Promise<string>((resolve, reject) => {
    let a = '';
    s.on('data', (d) => (a += d));
    s.once('end', () => resolve(a));
    s.once('error', reject);
  });
  for (let sent = 0; sent < bytes; sent += CHUNK.length) if (!s.write(CHUNK)) await new Promise((r) => s.once('drain', r));
  s.end();
  const got = Number(await ack);
  const secs = (performance.now() - t0) / 1000;
  s.destroy();
  if (got !== bytes) throw new Error(`sink got ${got} bytes of ${bytes}`);
  return bytes / 1e6 / secs;
}

/** ABBA rounds of fn on the direct and the proxied port, pooled. */
async function abba<T>(rounds: number, direct: number, proxied: number, fn: (port: number) => Promise<T>): Promise<{ direct: T[]; proxy: T[] }> {
  const r = { direct: [] as T[], proxy: [] as T[] };
  for (let i = 0; i < rounds; i++)
    for (const which of ['direct', 'proxy', 'proxy', 'direct'] as const) r[which].push(await fn(which === 'direct' ? direct : proxied));
  return r;
}

function latencyFigures(kind: string, d: number[], p: number[], goal?: number): Figure[] {
  const added = median(p) - median(d);
  return [
    { label: `${kind}: direct p50`, value: round(median(d), 3), unit: 'ms', spread: [round(percentile(d, 25), 3), round(percentile(d, 75), 3)] },
    {
      label: `${kind}: proxy p50`,
      value: round(median(p), 3),
      unit: 'ms',
      spread: [round(percentile(p, 25), 3), round(percentile(p, 75), 3)],
      floor: { label: 'direct p50', value: round(median(d), 3) },
    },
    {
      label: `${kind}: added p50`,
      value: round(added, 3),
      unit: 'ms',
      ...(goal === undefined ? {} : { goal: { op: '<=' as const, value: goal } }),
    },
    {
      label: `${kind}: proxy p99`,
      value: round(percentile(p, 99), 3),
      unit: 'ms',
      floor: { label: 'direct p99', value: round(percentile(d, 99), 3) },
    },
  ];
}

const run: Bench = async ({ quick, log }) => {
  const scope = new Scope();
  try {
    const server = await start(scope, 'server');
    const proxy = await start(scope, 'proxy', `${HOST}:${server.out.rr}`, `${HOST}:${server.out.sink}`);
    const [rr, sink] = [server.out.rr, server.out.sink];
    const [prr, psink] = [proxy.out.rr, proxy.out.sink];
    const per = quick ? 300 : 1000;
    const rounds = quick ? 2 : 5;
    await abba(1, rr, prr, (p) => keptAlive(p, per)); // warm-up
    await abba(1, rr, prr, (p) => fresh(p, per / 5));
    const kept = await abba(rounds, rr, prr, (p) => keptAlive(p, per));
    const kd = kept.direct.flat();
    const kp = kept.proxy.flat();
    log(`kept-alive: direct p50 ${round(median(kd), 3)} ms, proxy p50 ${round(median(kp), 3)} ms (${kd.length} requests each)`);
    const fr = await abba(rounds, rr, prr, (p) => fresh(p, per / 5));
    const fd = fr.direct.flat();
    const fp = fr.proxy.flat();
    log(`fresh connection: direct p50 ${round(median(fd), 3)} ms, proxy p50 ${round(median(fp), 3)} ms (${fd.length} requests each)`);
    const bytes = (quick ? 64 : 512) * 1024 * 1024;
    await abba(1, sink, psink, (p) => stream(p, 16 * 1024 * 1024));
    const tp = await abba(quick ? 1 : 2, sink, psink, (p) => stream(p, bytes));
    const [md, mp] = [median(tp.direct), median(tp.proxy)];
    log(`stream: direct ${round(md)} MB/s, proxy ${round(mp)} MB/s`);
    const n = quick ? 50 : 200;
    const mem = (await start(scope, 'memory', String(n))).out;
    const mb = (x: number) => x / 1024 / 1024;
    log(`memory: RSS ${round(mb(mem.rssBefore))} → ${round(mb(mem.rssAfter))} MB, heap ${round(mb(mem.heapBefore))} → ${round(mb(mem.heapAfter))} MB`);
    const figures: Figure[] = [
      ...latencyFigures('kept-alive request', kd, kp, 0.1),
      ...latencyFigures('fresh-connection request', fd, fp),
      { label: 'stream: direct', value: round(md), unit: 'MB/s', spread: [round(Math.min(...tp.direct)), round(Math.max(...tp.direct))] },
      {
        label: 'stream: proxy',
        value: round(mp),
        unit: 'MB/s',
        spread: [round(Math.min(...tp.proxy)), round(Math.max(...tp.proxy))],
        floor: { label: 'direct', value: round(md) },
      },
      { label: 'stream: proxy / direct', value: round(mp / md, 2), unit: 'x', goal: { op: '>=', value: 0.5 } },
      {
        label: `memory: RSS added by ${n} services × 2 listeners`,
        value: round(mb(mem.rssAfter - mem.rssBefore)),
        unit: 'MB',
        floor: { label: 'proxy process RSS before', value: round(mb(mem.rssBefore)) },
      },
      { label: `memory: heap added by ${n} services × 2 listeners`, value: round(mb(mem.heapAfter - mem.heapBefore), 2), unit: 'MB' },
      { label: 'memory: heap per listener', value: round((mem.heapAfter - mem.heapBefore) / (2 * n) / 1024, 2), unit: 'KiB' },
    ];
    return {
      name: 'proxy',
      figures,
      notes: [
        `three processes on 127.0.0.1: a server, a ServiceProxy (one route, one endpoint) and the client (the bench); ${rounds} rounds in the order direct, proxy, proxy, direct after a warm-up round`,
        `request: ${REQ.length} bytes, response ${RESP.length} bytes; kept-alive: ${per} sequential requests per round on one connection; fresh: ${per / 5} per round, timed from connect to the whole response`,
        `stream: ${bytes / 1024 / 1024} MiB through one connection to a sink that acknowledges the count, ${quick ? 1 : 2} ABBA round(s); MB/s = 10^6 bytes/s`,
        'stream through the proxy: three busy processes (client, proxy, sink) on a 2-core machine, where direct has two; every byte crosses user space twice more. Direct varies several-fold between rounds here (see its spread): the ratio is the least steady figure',
        `memory: a fresh proxy process (after gc), before and after listening for ${n} services on both policies (${2 * n} TCP listeners), each route with 4 endpoints`,
      ],
    };
  } finally {
    await scope.close();
  }
};
export default run;
