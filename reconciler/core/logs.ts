// Logs on demand: the bounds every part applies, in one place, and the pieces that enforce them
// (pure, unit-tested): a token bucket per stream (bytes and lines), lines cut at a length, the
// request checks. A chatty workload cannot flood a site's uplink: each stream sends at most
// LOG_BURST_BYTES at once and LOG_RATE_BYTES per second after that, a node serves at most
// MAX_STREAMS_PER_NODE streams and a cluster MAX_STREAMS_PER_CLUSTER; what does not fit is
// dropped and counted, and the count reaches the operator.
import { MAX_LOG_LINE_BYTES, MAX_LOG_TAIL, type LogsMessage } from '../../schemas/messages.js';

export { MAX_LOG_LINE_BYTES, MAX_LOG_TAIL };
/** Steady rate of one stream, bytes of line text per second. */
export const LOG_RATE_BYTES = 64 * 1024;
/** What one stream may send at once (a tail), bytes. */
export const LOG_BURST_BYTES = 512 * 1024;
/** Steady rate of one stream, lines per second, and its burst (a whole tail of short lines). */
export const LOG_RATE_LINES = 1000;
export const LOG_BURST_LINES = MAX_LOG_TAIL;
/** Lines are batched into a chunk at most this often, and a chunk holds at most this many bytes. */
export const LOG_FLUSH_MS = 200;
export const LOG_CHUNK_BYTES = 32 * 1024;
export const LOG_CHUNK_LINES = 2048;
export const MAX_STREAMS_PER_NODE = 4;
export const MAX_STREAMS_PER_CLUSTER = 8;
/** A --follow stream ends by itself this long after its last renewal; the CLI renews every LOG_RENEW_MS. */
export const LOG_LEASE_MS = 15_000;
export const LOG_RENEW_MS = 5_000;
/** A stream without --follow ends after this long, whatever it was sending. */
export const LOG_TAIL_MS = 30_000;
/** A request signed further than this from the receiver's clock is refused (no replay of an old one). */
export const LOG_REQUEST_SKEW_MS = 60_000;
/** `canopy logs --tail` default. */
export const DEFAULT_LOG_TAIL = 100;
/** The process runtime keeps a replica's output in a file rotated at this size, one previous file kept. */
export const PROCESS_LOG_BYTES = 1024 * 1024;

/** A token bucket: `rate` tokens a second, at most `burst` saved up. */
export class TokenBucket {
  private tokens: number;
  private at: number;
  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** Take `n` tokens if there are that many (after refilling up to `now`). */
  take(n: number, now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    if (n > this.tokens) return false;
    this.tokens -= n;
    return true;
  }

  /** Give back `n` tokens taken for something that did not go out after all. */
  refund(n: number): void {
    this.tokens = Math.min(this.burst, this.tokens + n);
  }
}

/** The bound of one stream: bytes and lines, both. Counts what it refused. */
export class LogLimiter {
  private readonly bytes: TokenBucket;
  private readonly lines: TokenBucket;
  dropped = 0;
  sentBytes = 0;
  constructor(now: number, o: { rateBytes?: number; burstBytes?: number; rateLines?: number; burstLines?: number } = {}) {
    this.bytes = new TokenBucket(o.rateBytes ?? LOG_RATE_BYTES, o.burstBytes ?? LOG_BURST_BYTES, now);
    this.lines = new TokenBucket(o.rateLines ?? LOG_RATE_LINES, o.burstLines ?? LOG_BURST_LINES, now);
  }

  /** May `line` go out now? A refused line is counted in `dropped`. */
  admit(line: string, now: number): boolean {
    const size = Buffer.byteLength(line);
    if (this.lines.take(1, now)) {
      if (this.bytes.take(size, now)) {
        this.sentBytes += size;
        return true;
      }
      this.lines.refund(1); // refused for its bytes: it did not spend a line
    }
    this.dropped++;
    return false;
  }
}

/** A line cut at MAX_LOG_LINE_BYTES (on a character boundary), marked as cut. */
export function cutLine(line: string, max = MAX_LOG_LINE_BYTES): string {
  if (line.length <= max / 4 || Buffer.byteLength(line) <= max) return line;
  let cut = Buffer.from(line).subarray(0, max).toString('utf8');
  // A character split at the end decodes as U+FFFD: leave it out.
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return `${cut} …[cut]`;
}

/** Splits a byte stream into lines: whole lines out, the rest kept for the next chunk (bounded). */
export class LineSplitter {
  private rest = '';
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    const text = this.rest + chunk;
    const parts = text.split('\n');
    this.rest = parts.pop() ?? '';
    // A "line" that never ends is cut where it passes the limit, not kept growing.
    if (Buffer.byteLength(this.rest) > MAX_LOG_LINE_BYTES) {
      parts.push(this.rest);
      this.rest = '';
    }
    for (const p of parts) this.onLine(cutLine(p.endsWith('\r') ? p.slice(0, -1) : p));
  }

  /** The last line, unfinished when the stream ended. */
  end(): void {
    if (this.rest) this.onLine(cutLine(this.rest));
    this.rest = '';
  }
}

/** The last `n` lines of `text` (a whole file's tail). */
export function lastLines(text: string, n: number): string[] {
  if (n <= 0) return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-n).map((l) => cutLine(l));
}

type Request = Extract<LogsMessage, { kind: 'logs-request' | 'node-logs-request' }>;

/** Why a request is refused (its signed time too far from ours), or undefined. */
export function staleRequest(r: Request, now: number): string | undefined {
  const skew = r.at - now;
  if (Math.abs(skew) <= LOG_REQUEST_SKEW_MS) return undefined;
  return `request ${r.id} was signed ${Math.round(Math.abs(skew) / 1000)} s ${skew < 0 ? 'ago' : 'ahead'} (more than ${LOG_REQUEST_SKEW_MS / 1000} s): refused as a replay or a wrong clock`;
}

/** The replicas of `service` in `assignment` (replica id → node) that `replica` names, by node. */
export function replicasByNode(assignment: ReadonlyMap<string, string>, service: string, replica?: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [id, node] of assignment) {
    const hash = id.lastIndexOf('#');
    if (id.slice(0, hash) !== service) continue;
    if (replica !== undefined && replica !== id && replica !== id.slice(hash + 1)) continue;
    out.set(node, [...(out.get(node) ?? []), id].sort());
  }
  return out;
}

/**
 * The streams a part serves (the cluster's relays, a node's readers), keyed by their id: at most
 * `max` at a time, each with a lease — a tail's runs LOG_TAIL_MS, a --follow's LOG_LEASE_MS and
 * is renewed by the operator; a stream past its lease is ended by its owner.
 */
export class StreamTable<S extends { leaseUntil: number }> {
  private readonly streams = new Map<string, S>();

  /** `who` names the part in a refusal: "cluster munich", "node n1". */
  constructor(
    private readonly max: number,
    private readonly who: string,
  ) {}

  get size(): number {
    return this.streams.size;
  }
  get(key: string): S | undefined {
    return this.streams.get(key);
  }
  has(key: string): boolean {
    return this.streams.has(key);
  }
  /** Why no stream can start now (the part serves its maximum), or undefined. */
  full(): string | undefined {
    return this.streams.size >= this.max ? `${this.who} already serves ${this.max} log streams: try again later` : undefined;
  }
  add(key: string, s: S): void {
    this.streams.set(key, s);
  }
  delete(key: string): void {
    this.streams.delete(key);
  }
  entries(): Array<[string, S]> {
    return [...this.streams];
  }
  /** The streams whose lease ran out by `now`. */
  expired(now: number): Array<[string, S]> {
    return this.entries().filter(([, s]) => now > s.leaseUntil);
  }
}

/** The lease a new stream starts with. */
export const firstLease = (follow: boolean, now: number): number => now + (follow ? LOG_LEASE_MS : LOG_TAIL_MS);

/** A renewal (the operator's, every LOG_RENEW_MS) extends the lease; it never shortens it. */
export function renewLease(s: { leaseUntil: number }, now: number): void {
  s.leaseUntil = Math.max(s.leaseUntil, now + LOG_LEASE_MS);
}
