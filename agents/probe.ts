// Round trips from this node to the fleet's latency targets. A probe address is `host:port` or
// `tcp://host:port` (the time a TCP connection takes to open: one round trip, SYN to SYN-ACK) or
// `http://host[:port]/path` (on an open connection, the time from a HEAD request to the first
// byte of the answer: one round trip plus the server's think time; it also passes through
// proxies, which a TCP handshake does not). A few samples each, the median kept; every sample has
// a deadline; re-measured periodically. Targets that answer no sample are left out, so the
// cluster falls back to an estimate from distance.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../reconciler/core/log.js';

export interface ProbeAddress {
  kind: 'tcp' | 'http';
  host: string;
  port: number;
  path: string;
}

/** `host:port`, `tcp://host:port`, `http://host[:port][/path]`, IPv6 in brackets; undefined when it is none of these. */
export function parseProbe(text: string): ProbeAddress | undefined {
  const m = /^(?:(tcp|http):\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?(\/[^\s]*)?$/.exec(text.trim());
  if (!m) return undefined;
  const kind = (m[1] ?? 'tcp') as 'tcp' | 'http';
  const host = m[2].startsWith('[') ? m[2].slice(1, -1) : m[2];
  const port = m[3] ? Number(m[3]) : kind === 'http' ? 80 : NaN;
  if (!(port >= 1 && port <= 65535)) return undefined;
  if (kind === 'tcp' && m[4]) return undefined;
  return { kind, host, port, path: m[4] ?? '/' };
}

export interface ProbeOptions {
  /** Samples per measurement (default 3); the median is kept. */
  samples?: number;
  /** Deadline of one sample, ms (default 2000). */
  timeoutMs?: number;
  /** Local address to send from (a multi-homed node picks its interface). */
  localAddress?: string;
}

/** The median round trip in ms, or undefined when no sample succeeded. */
export async function measureRtt(addr: ProbeAddress, o: ProbeOptions = {}): Promise<number | undefined> {
  const got: number[] = [];
  for (let i = 0; i < (o.samples ?? 3); i++) {
    try {
      got.push(await sample(addr, o.timeoutMs ?? 2000, o.localAddress));
    } catch {
      /* a lost sample */
    }
  }
  if (!got.length) return undefined;
  got.sort((a, b) => a - b);
  const mid = Math.floor(got.length / 2);
  return got.length % 2 ? got[mid] : (got[mid - 1] + got[mid]) / 2;
}

function sample(addr: ProbeAddress, timeoutMs: number, localAddress?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let sent = 0;
    const socket = net.connect({ host: addr.host, port: addr.port, noDelay: true, ...(localAddress ? { localAddress } : {}) });
    const done = (err?: Error, ms?: number) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      if (err) reject(err);
      else resolve(ms!);
    };
    const timer = setTimeout(() => done(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.once('error', (e) => done(e));
    socket.once('connect', () => {
      if (addr.kind === 'tcp') return done(undefined, performance.now() - t0);
      sent = performance.now();
      socket.write(`HEAD ${addr.path} HTTP/1.1\r\nHost: ${addr.host}\r\nUser-Agent: canopy-probe\r\nConnection: close\r\n\r\n`);
    });
    socket.once('data', () => done(undefined, performance.now() - sent));
    socket.once('end', () => done(new Error('closed without an answer')));
  });
}

export interface Prober {
  /** The targets to measure (those with a probe address); measures at once when they change. */
  update(targets: Record<string, { probe?: string }> | undefined): void;
  /** target → median round trip in ms (0.1 ms resolution, kept while within 0.5 ms or 10 %), for the targets that answered. */
  readonly latency: Record<string, number>;
  stop(): void;
}

export interface ProberOptions extends ProbeOptions {
  /** Re-measure this often (default 30 s). */
  intervalMs?: number;
  /** Told when a figure changes. */
  onChange: () => void;
  log?: Logger;
  /** The measurement (tests inject one). */
  measure?: (addr: ProbeAddress, o: ProbeOptions) => Promise<number | undefined>;
}

export function startProber(o: ProberOptions): Prober {
  let targets = new Map<string, ProbeAddress>();
  let key = '';
  let latency: Record<string, number> = {};
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  let dirty = false;
  const warned = new Set<string>();

  async function round(): Promise<void> {
    const next = await measureAll(targets, () => latency, o, warned);
    if (stopped) return;
    if (JSON.stringify(next) !== JSON.stringify(latency)) {
      latency = next;
      o.onChange();
    }
  }

  function schedule(delayMs: number): void {
    clearTimeout(timer);
    if (stopped || !targets.size) return;
    timer = setTimeout(() => {
      dirty = false;
      running = round().finally(() => {
        running = undefined;
        schedule(dirty ? 0 : (o.intervalMs ?? 30_000));
      });
    }, delayMs);
    timer.unref?.();
  }

  return {
    get latency() {
      return latency;
    },
    update(t) {
      const next = probeTargets(t, warned, o.log);
      const k = JSON.stringify([...next]);
      if (k === key) return;
      key = k;
      targets = next;
      const kept = Object.fromEntries(Object.entries(latency).filter(([n]) => next.has(n)));
      if (Object.keys(kept).length !== Object.keys(latency).length) {
        latency = kept;
        o.onChange();
      }
      if (running !== undefined) dirty = true;
      else schedule(0);
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** The targets that have a probe address that parses, by name in order; each bad one warned of once. */
function probeTargets(t: Record<string, { probe?: string }> | undefined, warned: Set<string>, log?: Logger): Map<string, ProbeAddress> {
  const next = new Map<string, ProbeAddress>();
  for (const [name, target] of Object.entries(t ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!target.probe) continue;
    const addr = parseProbe(target.probe);
    if (addr) next.set(name, addr);
    else if (!warned.has(`parse:${name}`)) {
      warned.add(`parse:${name}`);
      log?.warn(`latency target ${name}: cannot probe "${target.probe}" (expected host:port, tcp://host:port or http://host[:port]/path)`);
    }
  }
  return next;
}

/** One measurement of every target: the new figures, sorted by target; `was` reads the figures as they stand. */
async function measureAll(
  targets: Map<string, ProbeAddress>,
  was: () => Record<string, number>,
  o: ProberOptions,
  warned: Set<string>,
): Promise<Record<string, number>> {
  const measure = o.measure ?? measureRtt;
  const next: Record<string, number> = {};
  await Promise.all(
    [...targets].map(async ([name, addr]) => {
      const ms = await measure(addr, o).catch(() => undefined);
      if (ms === undefined) {
        if (!warned.has(name))
          o.log?.warn(`latency target ${name}: no answer from ${addr.kind}://${addr.host}:${addr.port}; the cluster will estimate from distance`);
        warned.add(name);
        return;
      }
      warned.delete(name);
      // Jitter is not news: a figure moves only when it changes by more than 0.5 ms and 10 %,
      // so the status (and the placement that follows it) stays put on a steady link.
      const before = was()[name];
      next[name] = before !== undefined && Math.abs(ms - before) <= Math.max(0.5, 0.1 * before) ? before : Math.round(ms * 10) / 10;
    }),
  );
  return Object.fromEntries(Object.entries(next).sort(([a], [b]) => (a < b ? -1 : 1)));
}
