// The node's DNS answer for service names: containers resolve through it (Docker's `Dns`), so a
// name the node was never told about (`api.billing.canopy`, outside its workloads' apps and
// `uses`) is asked for, Oakestra's "interest", and answered once its route arrives; every other
// name is forwarded as it came to the host's resolvers. UDP only (a truncated answer from
// upstream is passed on as it is, and the client retries over TCP with upstream directly only if
// it can). The wire format is RFC 1035: a query is one question; an answer points back at it.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/** What a name is: an address, no such name, or not ours (forward it). */
export type Answer = { address: string } | 'nxdomain' | 'forward';

export interface DnsOptions {
  host: string;
  port?: number;
  /** Answer a question; type is the QTYPE (1: A, 28: AAAA, …). May wait (an interest being served). */
  resolve(name: string, type: number): Promise<Answer>;
  /** Resolvers for other names (default: the nameservers of /etc/resolv.conf, port 53). */
  upstream?: Array<{ host: string; port: number }>;
  log: { warn(m: string): void; debug?(m: string): void };
}

export interface DnsServer {
  readonly address: { host: string; port: number };
  close(): Promise<void>;
}

/** The nameservers the host resolves with. */
export function hostResolvers(text = safeRead('/etc/resolv.conf')): string[] {
  const out = [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]).filter((a) => isIP(a));
  return out.length ? out : ['127.0.0.53'];
}

function safeRead(f: string): string {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}

interface Question {
  id: number;
  rd: boolean;
  name: string;
  type: number;
  /** The question's bytes (QNAME, QTYPE, QCLASS): copied into the answer. */
  raw: Buffer;
}

/** The one question of a query, or undefined for anything else (a response, several questions, bad bytes). */
export function parseQuery(msg: Buffer): Question | undefined {
  if (msg.length < 17 || msg[2] & 0x80 || msg.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let i = 12;
  while (i < msg.length && msg[i] !== 0) {
    const len = msg[i];
    if (len > 63 || i + 1 + len > msg.length) return undefined;
    labels.push(msg.toString('latin1', i + 1, i + 1 + len));
    i += 1 + len;
  }
  if (i + 5 > msg.length) return undefined;
  return { id: msg.readUInt16BE(0), rd: !!(msg[2] & 1), name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(i + 1), raw: msg.subarray(12, i + 5) };
}

/** The answer to `q`: rcode 0 with an A record when `address` is given (and asked for), else rcode `rcode`. */
export function answerTo(q: Question, rcode: number, address?: string): Buffer {
  const a = address && q.type === 1 ? address.split('.').map(Number) : undefined;
  const head = Buffer.alloc(12);
  head.writeUInt16BE(q.id, 0);
  head.writeUInt16BE(0x8000 | 0x0400 | (q.rd ? 0x0100 : 0) | 0x0080 | rcode, 2); // QR, AA, RD as asked, RA
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(a ? 1 : 0, 6);
  if (!a) return Buffer.concat([head, q.raw]);
  const rr = Buffer.alloc(16);
  rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
  rr.writeUInt16BE(1, 2); // A
  rr.writeUInt16BE(1, 4); // IN
  rr.writeUInt32BE(5, 6); // TTL 5 s: a name whose address moves is asked again soon
  rr.writeUInt16BE(4, 10);
  Buffer.from(a).copy(rr, 12);
  return Buffer.concat([head, q.raw, rr]);
}

export function startDns(o: DnsOptions): Promise<DnsServer> {
  const upstream = o.upstream ?? hostResolvers().map((host) => ({ host, port: 53 }));
  const sock = dgram.createSocket(isIP(o.host) === 6 ? 'udp6' : 'udp4');
  sock.on('message', (msg, from) => {
    void handle(msg).then(
      (reply) => reply && sock.send(reply, from.port, from.address),
      (e) => o.log.debug?.(`dns: ${(e as Error).message}`),
    );
  });
  const handle = async (msg: Buffer): Promise<Buffer | undefined> => {
    const q = parseQuery(msg);
    if (!q) return undefined;
    const a = await o.resolve(q.name, q.type);
    if (a === 'forward') return forward(msg, upstream).catch(() => answerTo(q, 2)); // SERVFAIL
    if (a === 'nxdomain') return answerTo(q, 3);
    return answerTo(q, 0, a.address);
  };
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(o.port ?? 53, o.host, () => {
      sock.off('error', reject);
      sock.on('error', (e) => o.log.warn(`dns at ${o.host}: ${e.message}`));
      const { port } = sock.address();
      resolve({ address: { host: o.host, port }, close: () => new Promise((r) => sock.close(() => r())) });
    });
  });
}

/** Ask each upstream in turn (2 s each); the first reply goes back as it came. */
async function forward(msg: Buffer, upstream: ReadonlyArray<{ host: string; port: number }>): Promise<Buffer> {
  for (const server of upstream) {
    const reply = await new Promise<Buffer | undefined>((resolve) => {
      const s = dgram.createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
      const t = setTimeout(() => done(undefined), 2000);
      const done = (b: Buffer | undefined) => {
        clearTimeout(t);
        s.close();
        resolve(b);
      };
      s.on('message', (b) => done(b));
      s.on('error', () => done(undefined));
      s.send(msg, server.port, server.host);
    });
    if (reply) return reply;
  }
  throw new Error(`no answer from ${upstream.map((u) => u.host).join(', ')}`);
}
